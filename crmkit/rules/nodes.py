"""The nodes of a compiled rule expression, each evaluated over whole columns.

:mod:`crmkit.rules.compiler` turns checked text into a tree of these nodes:
:class:`Const` and :class:`ListConst` (literals), :class:`Name` (a field),
:class:`Call` (a registered function, handed :class:`Arg` values),
:class:`Not`, :class:`BoolOp` (``and``/``or``), :class:`Arith` (``+ - * /``)
and :class:`Compare` (``== != < <= > >= in``).  ``node.eval(ctx)`` returns a
whole column (a Series) or a scalar for an
:class:`~crmkit.rules.context.EvalContext`; there is no per-row loop.

The value rules live here too: :func:`to_mask` (truth: blanks are False),
:func:`is_na_scalar`, and :func:`coerce_literal`, which turns a literal
compared with a field into the field's in-memory form (``"商务谈判"`` into the
stage code, ``"2026-01-31"`` into a date, ``是`` into True).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import CrmkitError, ExpressionError
from ..i18n import msg, word
from ..normalize import to_datetime
from ..schema import Field, norm_token
from .context import EvalContext

SUBSET_MIN_ROWS = 2000     # 'and' narrows to the rows still possible ...
SUBSET_SHARE = 0.3         # ... when fewer than this share of rows remain

__all__ = ["Arg", "Arith", "BoolOp", "Call", "Compare", "Const", "ListConst", "Name", "Node", "Not",
           "coerce_literal", "is_na_scalar", "scalar_truth", "to_mask"]


# --------------------------------------------------------------------------- values

def to_mask(value, index) -> pd.Series:
    """Truth of a value as a plain bool Series: blanks are False."""
    if isinstance(value, pd.Series):
        dt = value.dtype
        if dt == np.dtype(bool):
            return value
        if pd.api.types.is_bool_dtype(dt):
            return pd.Series(value.to_numpy(dtype=bool, na_value=False), index=value.index)
        if pd.api.types.is_numeric_dtype(dt):
            return pd.Series((value.notna() & (value != 0)).to_numpy(dtype=bool, na_value=False), index=value.index)
        if pd.api.types.is_datetime64_any_dtype(dt):
            return value.notna()
        s = value.astype("string").str.strip()
        return pd.Series((s.notna() & (s != "")).to_numpy(dtype=bool, na_value=False), index=value.index)
    return pd.Series(scalar_truth(value), index=index, dtype=bool)


def scalar_truth(v) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return False
    if isinstance(v, float) and np.isnan(v):
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, list | tuple):
        return bool(v)
    try:
        return bool(v)
    except (TypeError, ValueError):
        return False


def is_na_scalar(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


# --------------------------------------------------------------------------- nodes

class Node:
    pos: int = 1

    def eval(self, ctx: EvalContext):  # pragma: no cover - interface
        raise NotImplementedError

    def key(self, ctx: EvalContext) -> str | None:
        return None


class Const(Node):
    def __init__(self, value, pos: int):
        self.value, self.pos = value, pos

    def eval(self, ctx):
        return self.value


class ListConst(Node):
    def __init__(self, values: list, pos: int):
        self.values, self.pos = values, pos

    def eval(self, ctx):
        return list(self.values)


class Name(Node):
    def __init__(self, name: str, pos: int, resolved: str | None):
        self.name, self.pos, self.resolved = name, pos, resolved

    def key(self, ctx):
        k = ctx.fields.resolve(self.name) if self.resolved is None else self.resolved
        if k is None:
            raise ExpressionError(msg("e_x_unknown_field", name=repr(self.name)), position=self.pos)
        return k

    def eval(self, ctx):
        k = self.key(ctx)
        try:
            return ctx.column(k)
        except KeyError:
            raise ExpressionError(msg("e_x_unknown_field", name=repr(self.name)), position=self.pos) from None


class Arg:
    """One evaluated argument handed to a function: its value, and the field it names (if any)."""

    __slots__ = ("value", "key", "pos", "node")

    def __init__(self, value, key, pos, node):
        self.value, self.key, self.pos, self.node = value, key, pos, node

    def literal(self, what: str = "a literal"):
        if not isinstance(self.node, Const):
            raise ExpressionError(msg("e_x_expected_here", what=word(what)), position=self.pos)
        return self.value


class Call(Node):
    def __init__(self, func, args: list[Node], pos: int):
        self.func, self.args, self.pos = func, args, pos

    def eval(self, ctx):
        args = [Arg(a.eval(ctx), a.key(ctx) if isinstance(a, Name) else None, a.pos, a) for a in self.args]
        try:
            out = self.func.impl(ctx, *args)
        except ExpressionError as exc:
            if exc.position is None:
                exc.position = self.pos
            raise
        except CrmkitError as exc:
            raise ExpressionError(msg("e_x_func", func=self.func.name, detail=exc.message), position=self.pos) from None
        except (TypeError, ValueError, KeyError, OverflowError, ZeroDivisionError, AttributeError) as exc:
            raise ExpressionError(msg("e_x_func_eval", func=self.func.name, detail=str(exc)), position=self.pos) from None
        return out


class Not(Node):
    def __init__(self, operand: Node, pos: int):
        self.operand, self.pos = operand, pos

    def eval(self, ctx):
        v = self.operand.eval(ctx)
        if isinstance(v, pd.Series):
            return ~to_mask(v, ctx.index)
        return not scalar_truth(v)


class BoolOp(Node):
    def __init__(self, is_and: bool, values: list[Node], pos: int):
        self.is_and, self.values, self.pos = is_and, values, pos

    def eval(self, ctx):
        out = None
        for i, node in enumerate(self.values):
            if out is not None:
                n_true = int(out.sum())
                if self.is_and and n_true == 0:
                    return out
                if not self.is_and and n_true == len(out):
                    return out
                if self.is_and and len(out) >= SUBSET_MIN_ROWS and n_true < len(out) * SUBSET_SHARE:
                    # evaluate the rest only where the expression can still be true
                    sub = ctx.subset(out)
                    rest = BoolOp(True, self.values[i:], self.pos).eval(sub)
                    res = np.zeros(len(out), dtype=bool)
                    res[out.to_numpy()] = rest.to_numpy()
                    return pd.Series(res, index=ctx.index)
            m = to_mask(node.eval(ctx), ctx.index)
            out = m if out is None else (out & m if self.is_and else out | m)
        return out


class Arith(Node):
    def __init__(self, op: str, left: Node, right: Node | None, pos: int):
        self.op, self.left, self.right, self.pos = op, left, right, pos

    def eval(self, ctx):
        a = _number(self.left.eval(ctx), self.left.pos)
        if self.right is None:
            return -a
        b = _number(self.right.eval(ctx), self.right.pos)
        try:
            with np.errstate(all="ignore"):
                if self.op == "+":
                    return a + b
                if self.op == "-":
                    return a - b
                if self.op == "*":
                    return a * b
                if isinstance(b, int | float) and b == 0:
                    raise ExpressionError(word("division by zero"), position=self.pos)
                return a / b
        except ExpressionError:
            raise
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise ExpressionError(msg("e_x_compute", op=self.op, detail=str(exc)), position=self.pos) from None


def _number(v, pos):
    if isinstance(v, pd.Series):
        if pd.api.types.is_bool_dtype(v.dtype) or not pd.api.types.is_numeric_dtype(v.dtype):
            raise ExpressionError(word("arithmetic needs numbers (this is not a number field)"), position=pos)
        return v.astype("Float64") if isinstance(v.dtype, pd.Int64Dtype) else v
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ExpressionError(word("arithmetic needs numbers"), position=pos)
    return v


class Compare(Node):
    def __init__(self, left: Node, ops: list[str], rights: list[Node], pos: int):
        self.left, self.ops, self.rights, self.pos = left, ops, rights, pos

    def eval(self, ctx):
        out = None
        left_node, left = self.left, None
        left = left_node.eval(ctx)
        for op, right_node in zip(self.ops, self.rights):
            right = right_node.eval(ctx)
            m = self._one(ctx, op, left_node, left, right_node, right)
            out = m if out is None else out & m
            left_node, left = right_node, right
        return out

    def _one(self, ctx, op, ln, lv, rn, rv) -> pd.Series:
        if op in ("in", "not in"):
            if not isinstance(rn, ListConst):
                raise ExpressionError(msg("e_x_needs_list", op=op), position=rn.pos)
            f = _field_of(ctx, ln)
            values = [coerce_literal(ctx, f, v, rn.pos) for v in rv]
            if isinstance(lv, pd.Series):
                m = _isin(lv, values)
            else:
                m = pd.Series(any(_scalar_eq(lv, v) for v in values), index=ctx.index)
            return ~m if op == "not in" else m
        if isinstance(rn, ListConst) or isinstance(ln, ListConst):
            raise ExpressionError(word("a list [...] may only follow 'in'"), position=rn.pos)
        # coerce a literal on one side to the type of a field on the other
        if isinstance(rn, Const) and not isinstance(ln, Const):
            rv = coerce_literal(ctx, _field_of(ctx, ln), rv, rn.pos, series=lv)
        elif isinstance(ln, Const) and not isinstance(rn, Const):
            lv = coerce_literal(ctx, _field_of(ctx, rn), lv, ln.pos, series=rv)
        if op in ("==", "!="):
            if is_na_scalar(rv) or is_na_scalar(lv):
                other = lv if is_na_scalar(rv) else rv
                m = other.isna() if isinstance(other, pd.Series) else pd.Series(is_na_scalar(other), index=ctx.index)
                if isinstance(other, pd.Series) and not pd.api.types.is_numeric_dtype(other.dtype) \
                        and not pd.api.types.is_datetime64_any_dtype(other.dtype):
                    m = ~to_mask(other, ctx.index)
            else:
                m = self._raw(op="==", a=lv, b=rv, ctx=ctx)
            return ~m if op == "!=" else m
        return self._raw(op=op, a=lv, b=rv, ctx=ctx)

    def _raw(self, *, op, a, b, ctx) -> pd.Series:
        if not isinstance(a, pd.Series) and not isinstance(b, pd.Series):
            try:
                r = {"==": _scalar_eq, "<": lambda x, y: x < y, "<=": lambda x, y: x <= y,
                     ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}[op](a, b)
            except TypeError:
                raise ExpressionError(msg("e_x_compare", a=word(_kind(a)), b=word(_kind(b)), op=op),
                                      position=self.pos) from None
            return pd.Series(scalar_truth(r) if not is_na_scalar(a) and not is_na_scalar(b) else False,
                             index=ctx.index, dtype=bool)
        a2, b2 = _align_kinds(a, b, self.pos, op)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if op == "==":
                    r = a2 == b2
                elif op == "<":
                    r = a2 < b2
                elif op == "<=":
                    r = a2 <= b2
                elif op == ">":
                    r = a2 > b2
                else:
                    r = a2 >= b2
        except (TypeError, ValueError) as exc:
            raise ExpressionError(msg("e_x_compare", a=word(_kind(a)), b=word(_kind(b)), op=op),
                                  position=self.pos) from exc
        return to_mask(r, ctx.index)


def _kind(v) -> str:
    if isinstance(v, pd.Series):
        dt = v.dtype
        if pd.api.types.is_bool_dtype(dt):
            return "a yes/no field"
        if pd.api.types.is_numeric_dtype(dt):
            return "a number field"
        if pd.api.types.is_datetime64_any_dtype(dt):
            return "a date field"
        return "a text field"
    if isinstance(v, bool):
        return "yes/no"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, pd.Timestamp):
        return "a date"
    if isinstance(v, str):
        return "text"
    return "blank" if is_na_scalar(v) else type(v).__name__


def _align_kinds(a, b, pos, op):
    """Refuse comparisons between kinds that never match (text < number)."""
    def kind(v):
        k = _kind(v)
        return k.replace(" field", "").replace("a ", "").replace("an ", "")
    ka, kb = kind(a), kind(b)
    if "blank" in (ka, kb):
        return a, b
    numeric = {"number", "yes/no"}
    if op != "==" and ka != kb and not (ka in numeric and kb in numeric):
        raise ExpressionError(msg("e_x_compare", a=word(_kind(a)), b=word(_kind(b)), op=op), position=pos)
    if op == "==" and ka != kb and not (ka in numeric and kb in numeric):
        # never equal; keep shape
        if isinstance(a, pd.Series):
            return a.astype("object"), b
        return a, b.astype("object")
    return a, b


def _scalar_eq(x, y) -> bool:
    if is_na_scalar(x) or is_na_scalar(y):
        return False
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _isin(s: pd.Series, values: list) -> pd.Series:
    vals = [v for v in values if not is_na_scalar(v)]
    m = s.isin(vals) if vals else pd.Series(False, index=s.index)
    if len(vals) < len(values):
        m = m | s.isna()
    return to_mask(m, s.index)


def _field_of(ctx, node) -> Field | None:
    if isinstance(node, Name):
        return ctx.fields.field(node.key(ctx))
    if isinstance(node, Call):
        return getattr(node.func, "returns_field", None)
    return None


def coerce_literal(ctx, f: Field | None, v, pos, series=None):
    """A literal compared with field ``f``, in the field's in-memory form."""
    if f is None or is_na_scalar(v):
        if isinstance(v, str) and isinstance(series, pd.Series) and pd.api.types.is_datetime64_any_dtype(series.dtype):
            return _to_ts(v, pos)
        return v
    if f.type == "bool":
        if isinstance(v, bool):
            return v
        code = f.enum.lookup.get(norm_token(v)) if f.enum is not None else None
        if code is None:
            code = {"true": "yes", "false": "no"}.get(str(v).strip().lower())
        if code is None:
            raise ExpressionError(msg("e_x_not_bool", value=repr(v), field=f.key), position=pos)
        return code == "yes"
    if f.enum is not None and isinstance(v, str):
        return f.enum.lookup.get(norm_token(v), v)
    if f.type in ("date", "datetime") and isinstance(v, str):
        return _to_ts(v, pos)
    if f.type in ("int", "rating", "number", "money") and isinstance(v, str):
        try:
            return float(v.replace(",", ""))
        except ValueError:
            raise ExpressionError(msg("e_x_not_number", value=repr(v), field=f.key), position=pos) from None
    return v


def _to_ts(v: str, pos: int) -> pd.Timestamp:
    out, bad = to_datetime(pd.Series([v]))
    if bad.iloc[0] or pd.isna(out.iloc[0]):
        raise ExpressionError(msg("e_x_not_date", value=repr(v)), position=pos)
    return pd.Timestamp(out.iloc[0])
