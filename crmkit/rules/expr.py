"""The rule expression language: small, safe, vectorised.

An expression such as ``stage == "商务谈判" and days_since(created_at) >= 3``
is parsed with Python's :mod:`ast` and then checked against a whitelist of
node types: field names, literals, ``== != < <= > >=``, ``and or not``,
``in [...]``, ``+ - * /`` on numbers and calls of registered functions
(:mod:`crmkit.rules.functions`).  Anything else (attribute access,
subscripts, lambdas, comprehensions, calls of unknown names, dunder names) is
rejected with an :class:`~crmkit.exceptions.ExpressionError` naming the
1-based position in the text.  Nothing is ever executed by Python: the
checked tree is compiled into a tree of small node objects that evaluate over
whole columns of a DataFrame at once (no per-row loop).

Field names may be canonical keys (``stage``), Chinese headers (``客户阶段``)
or English headers; headers with spaces or brackets go between backticks
(```Intent level` == "A"``).  Literals compared with an enumeration field may
be the code or a label in either language (``"商务谈判"`` equals
``"negotiation"``); yes/no fields compare with ``yes``/``是``/``True``; date
fields compare with ``"2026-01-31"``.  Full-width punctuation typed by a
Chinese input method (``（）＝＝“”``) is read as its ASCII counterpart.

Blank values never match a comparison (``<``, ``==``, ...); ``!=`` is the
exact opposite of ``==``, so a blank stage is ``!= "lost"``.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

from ..exceptions import CrmkitError, ExpressionError
from ..i18n import Msg, msg, syntax_message, word
from ..schema import ENTITIES, Entity, Field, norm_token

MAX_LENGTH = 5000
MAX_DEPTH = 60
SUBSET_MIN_ROWS = 2000     # 'and' narrows to the rows still possible ...
SUBSET_SHARE = 0.3         # ... when fewer than this share of rows remain

__all__ = ["Expression", "FieldSet", "EvalContext", "compile_expression", "evaluate_filter", "to_mask"]


# --------------------------------------------------------------------------- fields

@lru_cache(maxsize=1)
def derived_fields() -> dict[str, Field]:
    """The customers' derived fields (schema), by key."""
    return {f.key: f for f in ENTITIES["customers"].derived}


class FieldSet:
    """The names an expression may use for one entity, and their types.

    Entity fields first (key, English or Chinese header, synonyms), then
    derived fields, then (for deals, tickets and orders) the customer's
    fields, reachable directly when the name does not clash and always as
    ``customer_<key>``; then any other column of the frame.
    """

    def __init__(self, entity: str | Entity | None = "customers", fields: Iterable[Field] | None = None,
                 columns: Iterable[str] = (), join_customers: bool | None = None):
        ent = ENTITIES.get(entity, None) if isinstance(entity, str) else entity
        self.entity = ent
        self.fields: dict[str, Field] = {}
        self.lookup: dict[str, str] = {}
        own = list(fields) if fields is not None else (list(ent.fields) if ent is not None else [])
        for f in own:
            self._add(f.key, f, (f.key, f.en, f.zh, *f.synonyms))
        is_customers = ent is not None and ent.key == "customers"
        join = (ent is not None and not is_customers and ent.has("customer_id")) if join_customers is None \
            else join_customers
        self.customer_fields: dict[str, str] = {}   # virtual key -> customer key
        if ent is None or is_customers or join:
            for key, f in derived_fields().items():
                if key not in self.fields:
                    self._add(key, f, (key, f.en, f.zh))
                    if join:
                        self.customer_fields[key] = key
        if join:
            for f in ENTITIES["customers"].fields:
                virtual = "customer_" + f.key
                self._add(virtual, f, (virtual,))
                self.customer_fields[virtual] = f.key
                if f.key not in self.fields:
                    self._add(f.key, f, (f.key, f.en, f.zh, *f.synonyms))
                    self.customer_fields[f.key] = f.key
                else:
                    # a clashing header (e.g. 客户名称 on deals) still reaches the customer
                    for s in (f.en, f.zh, *f.synonyms):
                        self.lookup.setdefault(norm_token(s), virtual)
        for c in columns:
            c = str(c)
            if c not in self.fields:
                self.lookup.setdefault(norm_token(c), c)
                self.lookup.setdefault(c, c)

    def _add(self, key: str, f: Field, spellings) -> None:
        self.fields.setdefault(key, f)
        for s in spellings:
            self.lookup.setdefault(norm_token(s), key)
        self.lookup.setdefault(key, key)

    def resolve(self, name: str) -> str | None:
        return self.lookup.get(name) or self.lookup.get(norm_token(name))

    def field(self, key: str) -> Field | None:
        return self.fields.get(key)

    def with_columns(self, columns: Iterable[str]) -> FieldSet:
        new = object.__new__(FieldSet)
        new.entity, new.fields, new.lookup = self.entity, dict(self.fields), dict(self.lookup)
        new.customer_fields = dict(self.customer_fields)
        for c in columns:
            c = str(c)
            if c not in new.fields:
                new.lookup.setdefault(norm_token(c), c)
                new.lookup.setdefault(c, c)
        return new


def _fieldset(fields) -> FieldSet | None:
    if fields is None or isinstance(fields, FieldSet):
        return fields
    if isinstance(fields, str | Entity):
        return FieldSet(fields)
    items = list(fields)
    fs = [f for f in items if isinstance(f, Field)]
    names = [str(f) for f in items if not isinstance(f, Field)]
    return FieldSet(None, fields=fs, columns=names, join_customers=False)


# --------------------------------------------------------------------------- evaluation context

class EvalContext:
    """What an expression sees while it evaluates: the frame, 'now' and the workspace around it.

    ``messages``: the Messages table (for ``clicked``, ``messages_since`` ...);
    ``customers``: the customers frame (for fields of a deal's customer);
    ``previous``: ``{field: {record_id: value}}`` from the last run (``changed_to``);
    ``settings``: the workspace settings (cadence, ...);
    ``shared``: a cache that outlives one evaluation (the engine shares it
    between rules; ``version`` must change whenever the frames change).
    """

    def __init__(self, frame: pd.DataFrame, *, as_of=None, entity: str = "customers",
                 settings: Mapping | None = None, messages: pd.DataFrame | None = None,
                 customers: pd.DataFrame | None = None, previous: Mapping | None = None,
                 previous_as_of=None, fields: FieldSet | None = None, lang: str = "en",
                 shared: dict | None = None, version: int = 0):
        from ..settings import defaults

        self.frame = frame
        self.index = frame.index
        self.as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().floor("s")
        self.entity = entity
        self.settings = {**defaults(), **(settings or {})}
        self.messages = messages
        self.customers = customers
        self.previous = previous
        self.previous_as_of = None if previous_as_of is None else pd.Timestamp(previous_as_of)
        base = fields if fields is not None else FieldSet(entity if entity in ENTITIES else None)
        self.fields = base.with_columns(frame.columns)
        self.lang = lang
        self.cache: dict = {}
        self.shared: dict = shared if shared is not None else {}
        self.version = version
        ent = ENTITIES.get(entity)
        self.id_field = ent.id_field if ent is not None else None

    def __len__(self) -> int:
        return len(self.frame)

    def subset(self, mask: pd.Series) -> EvalContext:
        """The same context over the rows where ``mask`` is True."""
        new = object.__new__(EvalContext)
        new.__dict__.update(self.__dict__)
        new._cust_source = self._customers_source()      # per-customer arrays keep their alignment
        new.frame = self.frame[mask.to_numpy()]
        new.index = new.frame.index
        new.cache = {}
        if "customer_pos" in self.cache:
            new.cache["customer_pos"] = self.cache["customer_pos"][mask.to_numpy()]
        return new

    @property
    def record_ids(self) -> pd.Series:
        if self.id_field and self.id_field in self.frame.columns:
            return self.frame[self.id_field]
        return pd.Series(self.frame.index.astype(str), index=self.frame.index)

    @property
    def customer_ids(self) -> pd.Series:
        if "customer_id" in self.frame.columns:
            return self.frame["customer_id"]
        return pd.Series(pd.NA, index=self.index, dtype="string")

    # -- customers as positions: joins and per-customer aggregates without string reindexing

    def _customers_source(self) -> pd.DataFrame:
        src = self.__dict__.get("_cust_source")
        if src is not None:
            return src
        return self.customers if self.customers is not None else self.frame

    @property
    def cust_index(self) -> pd.Series:
        """Unique customer ids of the customers frame (per-customer arrays are aligned with it)."""
        return self._cust()[1]

    def _cust(self):
        src = self._customers_source()
        key = ("cust_index", id(src), len(src))
        got = self.shared.get(key)
        if got is None:
            if "customer_id" in src.columns:
                from ..derived import _unique_ids

                index, rowpos = _unique_ids(src["customer_id"])
            else:
                index, rowpos = pd.Series([], dtype="string"), np.array([], dtype=np.int64)
            got = (src, index, rowpos)
            self.shared[key] = got
        return got

    def positions(self, ids: pd.Series) -> np.ndarray:
        """Positions of ``ids`` in :attr:`cust_index` (-1 when unknown)."""
        from ..derived import id_positions

        return id_positions(self.cust_index, ids)

    @property
    def customer_pos(self) -> np.ndarray:
        if "customer_pos" not in self.cache:
            self.cache["customer_pos"] = self.positions(self.customer_ids)
        return self.cache["customer_pos"]

    def per_customer(self, values: np.ndarray, fill=None, rows: np.ndarray | None = None):
        """A per-customer array (aligned with :attr:`cust_index`) onto the rows (or row positions)."""
        pos = self.customer_pos if rows is None else self.customer_pos[rows]
        ok = pos >= 0
        out = values[np.where(ok, pos, 0)] if len(values) else np.full(len(pos), fill)
        if (~ok).any():
            out = out.copy() if out.dtype != object else out
            if fill is None and out.dtype.kind == "M":
                out[~ok] = np.datetime64("NaT")
            elif fill is None and out.dtype.kind == "f":
                out[~ok] = np.nan
            else:
                out = out.astype(object) if fill is None else out
                out[~ok] = fill
        return out

    def column(self, key: str, rows: np.ndarray | None = None) -> pd.Series:
        """The column ``key`` aligned with the frame (customer fields joined by customer_id).

        ``rows``: integer positions to return only those rows.
        """
        ck = self.fields.customer_fields.get(key)
        if key in self.frame.columns and ck is None:
            col = self.frame[key]
            return col if rows is None else col.iloc[rows]
        if ck is not None and self.customers is not None:
            src, _, rowpos = self._cust()
            if ck not in src.columns:
                raise KeyError(key)
            pos = self.customer_pos if rows is None else self.customer_pos[rows]
            take = np.where(pos >= 0, rowpos[np.where(pos >= 0, pos, 0)] if len(rowpos) else -1, -1)
            col = src[ck]
            arr = col.array.take(take, allow_fill=True)
            idx = self.index if rows is None else self.index[rows]
            return pd.Series(arr, index=idx, name=key)
        if key in self.frame.columns:
            col = self.frame[key]
            return col if rows is None else col.iloc[rows]
        f = self.fields.field(key)
        if f is not None:   # a known field missing from this frame: all blank
            idx = self.index if rows is None else self.index[rows]
            return pd.Series([None] * len(idx), index=idx, dtype=f.dtype)
        raise KeyError(key)


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
    return pd.Series(_scalar_truth(value), index=index, dtype=bool)


def _scalar_truth(v) -> bool:
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


def _is_na_scalar(v) -> bool:
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
        return not _scalar_truth(v)


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


_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


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


_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}


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
            values = [_coerce_literal(ctx, f, v, rn.pos) for v in rv]
            if isinstance(lv, pd.Series):
                m = _isin(lv, values)
            else:
                m = pd.Series(any(_scalar_eq(lv, v) for v in values), index=ctx.index)
            return ~m if op == "not in" else m
        if isinstance(rn, ListConst) or isinstance(ln, ListConst):
            raise ExpressionError(word("a list [...] may only follow 'in'"), position=rn.pos)
        # coerce a literal on one side to the type of a field on the other
        if isinstance(rn, Const) and not isinstance(ln, Const):
            rv = _coerce_literal(ctx, _field_of(ctx, ln), rv, rn.pos, series=lv)
        elif isinstance(ln, Const) and not isinstance(rn, Const):
            lv = _coerce_literal(ctx, _field_of(ctx, rn), lv, ln.pos, series=rv)
        if op in ("==", "!="):
            if _is_na_scalar(rv) or _is_na_scalar(lv):
                other = lv if _is_na_scalar(rv) else rv
                m = other.isna() if isinstance(other, pd.Series) else pd.Series(_is_na_scalar(other), index=ctx.index)
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
            return pd.Series(_scalar_truth(r) if not _is_na_scalar(a) and not _is_na_scalar(b) else False,
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
    return "blank" if _is_na_scalar(v) else type(v).__name__


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
    if _is_na_scalar(x) or _is_na_scalar(y):
        return False
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _isin(s: pd.Series, values: list) -> pd.Series:
    vals = [v for v in values if not _is_na_scalar(v)]
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


def _coerce_literal(ctx, f: Field | None, v, pos, series=None):
    """A literal compared with field ``f``, in the field's in-memory form."""
    if f is None or _is_na_scalar(v):
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
    from ..normalize import to_datetime

    out, bad = to_datetime(pd.Series([v]))
    if bad.iloc[0] or pd.isna(out.iloc[0]):
        raise ExpressionError(msg("e_x_not_date", value=repr(v)), position=pos)
    return pd.Timestamp(out.iloc[0])


# --------------------------------------------------------------------------- compiling

_FORBIDDEN = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "subscripts ('[...]' after a value) are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "comprehensions are not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.IfExp: "'... if ... else ...' is not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed; use a list [...]",
    ast.JoinedStr: "f-strings are not allowed",
    ast.Starred: "'*' unpacking is not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
}

_CONSTANT_NAMES = {"true": True, "false": False, "yes": True, "no": False, "是": True, "否": False,
                   "none": None, "null": None}
_WORD_OPS = re.compile(r"(?<![\w`])(and|or|not|in|is|true|false|none|null)(?![\w`])", re.IGNORECASE)


class Expression:
    """A compiled rule expression; :meth:`evaluate` gives a boolean Series."""

    def __init__(self, text: str, root: Node, names: set[str], calls: list[tuple[str, list[Node]]]):
        self.text = text
        self._root = root
        self.names = names
        self.calls = calls

    def __repr__(self) -> str:
        return f"<Expression {self.text!r}>"

    @property
    def changed_fields(self) -> list[str]:
        """Field names used as the first argument of ``changed_to``."""
        out = []
        for fname, args in self.calls:
            if fname == "changed_to" and args and isinstance(args[0], Name):
                out.append(args[0].resolved or args[0].name)
        return out

    def evaluate(self, frame: pd.DataFrame, context: EvalContext | Mapping | None = None) -> pd.Series:
        """True where the expression holds, one bool per row of ``frame``."""
        try:
            ctx = context if isinstance(context, EvalContext) else EvalContext(frame, **dict(context or {}))
            if ctx.frame is not frame:
                ctx = _rebind(ctx, frame)
            value = self._root.eval(ctx)
            return to_mask(value, frame.index).rename(None)
        except ExpressionError as exc:
            if not exc.expression:
                exc.expression = self.text
            raise
        except RecursionError:
            raise ExpressionError(word("expression is nested too deeply"), expression=self.text) from None
        except Exception as exc:  # noqa: BLE001 - the language never leaks Python errors
            raise ExpressionError(msg("e_x_eval", detail=f"{type(exc).__name__}: {exc}"), expression=self.text) from None


def _rebind(ctx: EvalContext, frame: pd.DataFrame) -> EvalContext:
    new = object.__new__(EvalContext)
    new.__dict__.update(ctx.__dict__)
    new.frame, new.index, new.cache = frame, frame.index, {}
    new.fields = ctx.fields.with_columns(frame.columns)
    return new


def compile_expression(text: object, *, fields=None, rule_id: str | None = None) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` (with position) when it is not allowed.

    ``fields``: an entity key (``"customers"``), a :class:`FieldSet`, or a list
    of field keys; when given, unknown field names are reported now rather
    than at evaluation.
    """
    try:
        return _compile(text, _fieldset(fields))
    except ExpressionError as exc:
        exc.rule_id = exc.rule_id or rule_id
        if not exc.expression:
            exc.expression = "" if text is None else str(text)[:200]
        raise
    except RecursionError:
        raise ExpressionError(word("expression is nested too deeply"), rule_id=rule_id,
                              expression=str(text)[:200]) from None
    except Exception as exc:  # noqa: BLE001 - the language never leaks Python errors
        raise ExpressionError(msg("e_x_read", detail=type(exc).__name__), rule_id=rule_id,
                              expression=str(text)[:200]) from None


def _compile(text: object, fields: FieldSet | None) -> Expression:
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        raise ExpressionError(word("the expression is empty"))
    src = str(text)
    if not src.strip():
        raise ExpressionError(word("the expression is empty"))
    if len(src) > MAX_LENGTH:
        raise ExpressionError(msg("e_x_too_long", n=MAX_LENGTH))
    prepared, backticks = _prepare(src)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(prepared, mode="eval")
    except SyntaxError as exc:
        pos = exc.offset if exc.lineno in (None, 1) and exc.offset else len(src.rstrip()) + 1
        text = (exc.msg or "syntax error").replace("invalid syntax", "syntax error")
        pos = max(1, min(pos, len(src) + 1))
        raise ExpressionError(syntax_message(text), position=pos) from None
    except (ValueError, MemoryError, OverflowError):
        raise ExpressionError(word("cannot read the expression (invalid characters or too complex)")) from None
    comp = _Compiler(prepared, backticks, fields)
    root = comp.node(tree.body, 0)
    return Expression(src, root, comp.names, comp.calls)


def _prepare(src: str) -> tuple[str, dict[str, str]]:
    """Same-length rewrite: one line, ASCII punctuation outside strings, backtick names."""
    s = src.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    out = []
    outside_spans = []
    backticks: dict[str, str] = {}
    i, n = 0, len(s)
    seg_start = 0
    while i < n:
        ch = s[i]
        if ch in "\"'“‘":
            closers = {'"': '"', "'": "'", "“": "”\"", "‘": "’'"}[ch]
            outside_spans.append((seg_start, i))
            out.append('"' if ch in "\"“" else "'")
            quote = out[-1]
            j = i + 1
            while j < n and s[j] not in closers:
                c = s[j]
                if c == "\\" and j + 1 < n:
                    out.append(c)
                    out.append(s[j + 1])
                    j += 2
                    continue
                out.append(c)
                j += 1
            if j < n:
                out.append(quote)
                j += 1
            i = j
            seg_start = i
            continue
        if ch == "`":
            j = s.find("`", i + 1)
            if j < 0:
                raise ExpressionError(word("a name opened with ` is never closed"), position=i + 1)
            name = s[i + 1:j].strip()
            length = j - i + 1
            if not name:
                raise ExpressionError(word("empty name between backticks"), position=i + 1)
            ph = f"bq{len(backticks)}"
            if len(ph) > length:
                raise ExpressionError(msg("e_x_unknown_field", name=repr(name)), position=i + 1)
            ph = ph + "_" * (length - len(ph))
            backticks[ph] = name
            out.append(ph)
            i = j + 1
            continue
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif ch in "\u3000\u00a0":
            ch = " "
        elif ch in "”’":
            ch = '"' if ch == "”" else "'"
        out.append(ch)
        i += 1
    outside_spans.append((seg_start, n))
    text = "".join(out)
    # lower-case word operators typed in capitals (AND, OR, NOT, IN, TRUE ...) outside strings
    chars = list(text)
    for a, b in outside_spans:
        for m in _WORD_OPS.finditer(text, a, b):
            w = m.group(1)
            if w != w.lower() and w.lower() in ("and", "or", "not", "in", "is"):
                chars[m.start():m.end()] = list(w.lower())
    return "".join(chars), backticks


class _Compiler:
    def __init__(self, text: str, backticks: dict[str, str], fields: FieldSet | None):
        from .functions import FUNCTIONS

        self.functions = FUNCTIONS
        self.text = text
        self.backticks = backticks
        self.fields = fields
        self.names: set[str] = set()
        self.calls: list[tuple[str, list[Node]]] = []
        # byte offset -> character position (ast col_offset counts UTF-8 bytes)
        self._b2c = {}
        b = 0
        for ci, ch in enumerate(text):
            self._b2c[b] = ci
            b += len(ch.encode("utf-8", "surrogatepass"))
        self._b2c[b] = len(text)

    def pos(self, node: ast.AST) -> int:
        off = getattr(node, "col_offset", 0) or 0
        return self._b2c.get(off, 0) + 1

    def fail(self, text: str, node: ast.AST):
        raise ExpressionError(text if isinstance(text, Msg) else word(text), position=self.pos(node))

    def node(self, n: ast.AST, depth: int) -> Node:
        if depth > MAX_DEPTH:
            self.fail("the expression is nested too deeply", n)
        d = depth + 1
        for typ, text in _FORBIDDEN.items():
            if isinstance(n, typ):
                self.fail(text, n)
        if isinstance(n, ast.Constant):
            v = n.value
            if isinstance(v, bool) or v is None or isinstance(v, str):
                return Const(v, self.pos(n))
            if isinstance(v, int | float):
                if isinstance(v, int) and abs(v) > 10 ** 15:
                    self.fail("number too large", n)
                return Const(v, self.pos(n))
            self.fail(msg("e_x_literal_kind", kind=type(v).__name__), n)
        if isinstance(n, ast.Name):
            return self.name(n)
        if isinstance(n, ast.BoolOp):
            return BoolOp(isinstance(n.op, ast.And), [self.node(v, d) for v in n.values], self.pos(n))
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.Not):
                return Not(self.node(n.operand, d), self.pos(n))
            if isinstance(n.op, ast.USub):
                inner = self.node(n.operand, d)
                if isinstance(inner, Const) and isinstance(inner.value, int | float) \
                        and not isinstance(inner.value, bool):
                    return Const(-inner.value, self.pos(n))
                return Arith("-", inner, None, self.pos(n))
            if isinstance(n.op, ast.UAdd):
                return self.node(n.operand, d)
            self.fail("operator '~' is not allowed; use not", n)
        if isinstance(n, ast.BinOp):
            op = _ARITH.get(type(n.op))
            if op is None:
                hint = {ast.BitAnd: "; use and", ast.BitOr: "; use or", ast.Pow: ""}.get(type(n.op), "")
                self.fail(msg("e_x_operator", op=str(self._op_text(n)), hint=word(hint)), n)
            left, right = self.node(n.left, d), self.node(n.right, d)
            for side in (left, right):
                if isinstance(side, Const) and not (isinstance(side.value, int | float)
                                                    and not isinstance(side.value, bool)):
                    raise ExpressionError(word("arithmetic needs numbers"), position=side.pos)
                if isinstance(side, ListConst):
                    raise ExpressionError(word("arithmetic needs numbers"), position=side.pos)
            return Arith(op, left, right, self.pos(n))
        if isinstance(n, ast.Compare):
            ops = []
            for o in n.ops:
                if isinstance(o, ast.Is | ast.IsNot):
                    self.fail("'is' is not allowed; use == or !=", n)
                ops.append(_CMP[type(o)])
            return Compare(self.node(n.left, d), ops, [self.node(c, d) for c in n.comparators], self.pos(n))
        if isinstance(n, ast.List | ast.Tuple):
            vals = []
            for e in n.elts:
                c = self.node(e, d)
                if not isinstance(c, Const):
                    raise ExpressionError(word("a list may only hold literals such as \"a\" or 3"), position=c.pos)
                vals.append(c.value)
            return ListConst(vals, self.pos(n))
        if isinstance(n, ast.Call):
            return self.call(n, d)
        self.fail(msg("e_x_node_here", kind=type(n).__name__), n)
        raise AssertionError  # pragma: no cover

    def _op_text(self, n: ast.BinOp) -> str:
        names = {ast.Pow: "'**'", ast.Mod: "'%'", ast.FloorDiv: "'//'", ast.BitAnd: "'&'", ast.BitOr: "'|'",
                 ast.BitXor: "'^'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.MatMult: "'@'"}
        return names.get(type(n.op), type(n.op).__name__)

    def name(self, n: ast.Name) -> Node:
        raw = self.backticks.get(n.id, n.id)
        if raw.startswith("__") or "__" in n.id and n.id not in self.backticks:
            self.fail(msg("e_x_name", name=repr(raw)), n)
        if raw in self.functions:
            self.fail(msg("e_x_is_function", name=raw), n)
        resolved = None
        if self.fields is not None:
            resolved = self.fields.resolve(raw)
        if resolved is None and n.id not in self.backticks and raw.lower() in _CONSTANT_NAMES:
            return Const(_CONSTANT_NAMES[raw.lower()], self.pos(n))
        if self.fields is not None and resolved is None:
            self.fail(msg("e_x_unknown_field", name=repr(raw)), n)
        self.names.add(resolved or raw)
        return Name(raw, self.pos(n), resolved)

    def call(self, n: ast.Call, d: int) -> Node:
        if not isinstance(n.func, ast.Name):
            if isinstance(n.func, ast.Attribute):
                self.fail("attribute access ('.') is not allowed", n.func)
            self.fail("only functions called by name are allowed", n)
        fname = n.func.id
        if fname.startswith("__") or "__" in fname:
            self.fail(msg("e_x_name", name=repr(fname)), n)
        func = self.functions.get(fname) or self.functions.get(fname.lower())
        if func is None:
            self.fail(msg("e_x_unknown_function", name=repr(fname)), n)
        if n.keywords:
            self.fail(msg("e_x_no_keywords", name=fname), n.keywords[0].value)
        args = [self.node(a, d) for a in n.args]
        lo, hi = func.min_args, func.max_args
        if not lo <= len(args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            self.fail(msg("e_x_nargs" if hi != 1 else "e_x_nargs1", name=fname, want=want, got=len(args)), n)
        func.check(args)
        self.calls.append((func.name, args))
        return Call(func, args, self.pos(n))


# --------------------------------------------------------------------------- convenience

def evaluate_filter(text: str, frame: pd.DataFrame, as_of=None, ws=None, *, entity: str = "customers",
                    messages: pd.DataFrame | None = None) -> pd.Series:
    """Evaluate one expression over ``frame`` (e.g. a campaign audience over customers).

    With ``ws``, settings and messages come from the workspace; when the frame
    lacks derived fields (``days_since_interaction`` ...) they are added.
    """
    settings = None
    lang = "en"
    customers = None
    if ws is not None:
        settings = ws.settings
        lang = ws.lang
        if messages is None:
            messages = ws["messages"]
        if as_of is None:
            as_of = ws.as_of()
        if entity == "customers" and "days_since_interaction" not in frame.columns:
            from ..derived import add_derived

            derived = add_derived(ws, as_of)
            extra = [c for c in derived.columns if c not in frame.columns]
            if extra and "customer_id" in frame.columns:
                d = derived[~derived["customer_id"].duplicated()].set_index("customer_id")[extra]
                joined = d.reindex(frame["customer_id"].to_numpy())
                joined.index = frame.index
                frame = pd.concat([frame, joined], axis=1)
        elif entity != "customers":
            from ..derived import add_derived

            customers = add_derived(ws, as_of)
    expr = compile_expression(text, fields=FieldSet(entity).with_columns(frame.columns))
    ctx = EvalContext(frame, as_of=as_of, entity=entity, settings=settings, messages=messages,
                      customers=customers, lang=lang)
    return expr.evaluate(frame, ctx)
