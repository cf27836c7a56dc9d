"""The rule expression language: small, safe, vectorised.

An expression such as ``stage == "商务谈判" and days_since(created_at) >= 3``
is parsed with Python's :mod:`ast` and then checked against a whitelist of
node types: field names, literals, ``== != < <= > >=``, ``and or not``,
``in [...]``, ``+ - * /`` on numbers and calls of registered functions
(:mod:`crmkit.rules.functions`).  Anything else (attribute access,
subscripts, lambdas, comprehensions, calls of unknown names, dunder names) is
rejected with an :class:`~crmkit.exceptions.ExpressionError` naming the
1-based position in the text.  Nothing is ever executed by Python: the
checked tree is compiled into a tree of small node objects
(:mod:`crmkit.rules.nodes`) that evaluate over whole columns of a DataFrame
at once (no per-row loop), in an :class:`~crmkit.rules.context.EvalContext`.

Field names may be canonical keys (``stage``), Chinese headers (``客户阶段``)
or English headers; headers with spaces or brackets go between backticks
(```Intent level` == "A"``).  Literals compared with an enumeration field may
be the code or a label in either language (``"商务谈判"`` equals
``"negotiation"``); yes/no fields compare with ``yes``/``是``/``True``; date
fields compare with ``"2026-01-31"``.  Full-width punctuation typed by a
Chinese input method (``（）＝＝“”``) is read as its ASCII counterpart.

Blank values never match a comparison (``<``, ``==``, ...); ``!=`` is the
exact opposite of ``==``, so a blank stage is ``!= "lost"``.

Entry points: :func:`compile_expression` (text to :class:`Expression`, whose
``evaluate`` gives one bool per row) and :func:`evaluate_filter` (one
expression over a frame, with the workspace's settings and derived fields).
Layers, bottom up: context → nodes → functions → compiler.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Mapping

import pandas as pd

from ..derived import add_derived
from ..exceptions import ExpressionError
from ..i18n import Msg, msg, syntax_message, word
from .context import EvalContext, FieldSet, as_fieldset
from .functions import FUNCTIONS
from .nodes import Arith, BoolOp, Call, Compare, Const, ListConst, Name, Node, Not, to_mask

MAX_LENGTH = 5000
MAX_DEPTH = 60

__all__ = ["Expression", "compile_expression", "evaluate_filter"]


# --------------------------------------------------------------------------- compiling

_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in"}

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
                ctx = ctx.rebind(frame)
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


def compile_expression(text: object, *, fields=None, rule_id: str | None = None) -> Expression:
    """Parse and check ``text``; raise :class:`ExpressionError` (with position) when it is not allowed.

    ``fields``: an entity key (``"customers"``), a :class:`FieldSet`, or a list
    of field keys; when given, unknown field names are reported now rather
    than at evaluation.
    """
    try:
        return _compile(text, as_fieldset(fields))
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
            derived = add_derived(ws, as_of)
            extra = [c for c in derived.columns if c not in frame.columns]
            if extra and "customer_id" in frame.columns:
                d = derived[~derived["customer_id"].duplicated()].set_index("customer_id")[extra]
                joined = d.reindex(frame["customer_id"].to_numpy())
                joined.index = frame.index
                frame = pd.concat([frame, joined], axis=1)
        elif entity != "customers":
            customers = add_derived(ws, as_of)
    expr = compile_expression(text, fields=FieldSet(entity).with_columns(frame.columns))
    ctx = EvalContext(frame, as_of=as_of, entity=entity, settings=settings, messages=messages,
                      customers=customers, lang=lang)
    return expr.evaluate(frame, ctx)
