"""Functions of the rule expression language, registered by name.

Each function receives the :class:`~crmkit.rules.context.EvalContext` and its
evaluated arguments (:class:`~crmkit.rules.nodes.Arg`: ``.value`` is a Series
or a literal, ``.key`` the field a bare name refers to) and returns a whole
column at once.  Add one with::

    @function("days_since", args=1, doc="Whole calendar days from the date to the run time.")
    def days_since(ctx, field): ...

Day counts are calendar days between dates (times of day are ignored), so a
customer created on 2026-08-22 is ``days_since(created_at) == 90`` on
2026-11-20 at any hour.

The registry sits below the compiler: it builds on the nodes and the context,
and :mod:`crmkit.rules.compiler` looks names up in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import pandas as pd

from ..analytics.products import low_stock_mask
from ..exceptions import ExpressionError
from ..i18n import msg, word
from ..schema import STAGE, Field, norm_token
from ..settings import parse_duration
from .defaults import tag_spellings
from .nodes import Const, Name, coerce_literal, is_na_scalar


@dataclass
class Function:
    name: str
    impl: Callable
    min_args: int
    max_args: int
    doc: str = ""
    literal_args: tuple[int, ...] = ()      # argument positions that must be literals
    field_args: tuple[int, ...] = ()        # argument positions that must be field names
    returns_field: Field | None = None
    examples: list[str] = dc_field(default_factory=list)

    def check(self, args) -> None:
        for i in self.literal_args:
            i = i if i >= 0 else len(args) + i
            if 0 <= i < len(args) and not isinstance(args[i], Const):
                raise ExpressionError(msg("e_x_arg_literal", name=self.name, i=i + 1),
                                      position=args[i].pos)
        for i in self.field_args:
            if i < len(args) and not isinstance(args[i], Name):
                raise ExpressionError(msg("e_x_arg_field", name=self.name, i=i + 1), position=args[i].pos)


FUNCTIONS: dict[str, Function] = {}


def function(name: str, *, args: int | tuple[int, int] = 1, doc: str = "", literal_args=(), field_args=(),
             returns: Field | None = None):
    """Register an expression function under ``name``."""
    lo, hi = (args, args) if isinstance(args, int) else args

    def deco(fn):
        FUNCTIONS[name] = Function(name, fn, lo, hi, doc or (fn.__doc__ or "").strip(), tuple(literal_args),
                                   tuple(field_args), returns)
        return fn

    return deco


# --------------------------------------------------------------------------- helpers

def _dates(ctx, arg) -> pd.Series:
    v = arg.value
    if not isinstance(v, pd.Series):
        if v is None:
            return pd.Series(pd.NaT, index=ctx.index, dtype="datetime64[ns]")
        try:
            ts = pd.Timestamp(v)
        except (ValueError, TypeError):
            raise ExpressionError(word("expected a date field"), position=arg.pos) from None
        return pd.Series(ts, index=ctx.index).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(v.dtype):
        return v
    if pd.api.types.is_numeric_dtype(v.dtype) or pd.api.types.is_bool_dtype(v.dtype):
        raise ExpressionError(word("expected a date field"), position=arg.pos)
    return pd.to_datetime(v.astype("object"), errors="coerce", format="mixed").astype("datetime64[ns]")


def _day_diff(later: pd.Series | pd.Timestamp, earlier: pd.Series | pd.Timestamp, index) -> pd.Series:
    """Whole calendar days ``later - earlier`` as Int64 (blank stays blank)."""
    if isinstance(later, pd.Timestamp):
        later = pd.Series(later.normalize(), index=index)
    else:
        later = later.dt.normalize()
    if isinstance(earlier, pd.Timestamp):
        earlier = pd.Series(earlier.normalize(), index=index)
    else:
        earlier = earlier.dt.normalize()
    days = (later - earlier).dt.days
    return days.astype("Int64")


def _text(ctx, arg) -> pd.Series:
    v = arg.value
    if isinstance(v, pd.Series):
        return v.astype("string")
    return pd.Series("" if v is None else str(v), index=ctx.index, dtype="string")


def _literal_text(arg, what="text") -> str:
    v = arg.value
    if isinstance(v, pd.Series) or v is None:
        raise ExpressionError(msg("e_x_expected_quotes", what=word(what)), position=arg.pos)
    return str(v)


def _number_literal(arg, what="a number of days") -> float:
    v = arg.value
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ExpressionError(msg("e_x_expected", what=word(what)), position=arg.pos)
    return float(v)


# --------------------------------------------------------------------------- dates

@function("days_since", args=1, doc="Whole calendar days from the date to the run time (blank stays blank).")
def days_since(ctx, field):
    return _day_diff(ctx.as_of, _dates(ctx, field), ctx.index)


@function("days_until", args=1, doc="Whole calendar days from the run time to the date (negative when past).")
def days_until(ctx, field):
    return _day_diff(_dates(ctx, field), ctx.as_of, ctx.index)


@function("days_until_anniversary", args=1,
          doc="Days until the next yearly return of the date's month and day (0 = today); for birthdays.")
def days_until_anniversary(ctx, field):
    d = _dates(ctx, field)
    today = ctx.as_of.normalize()
    month = d.dt.month
    day = d.dt.day

    def on_year(year: int) -> pd.Series:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        dd = day.where(~((month == 2) & (day == 29)) | leap, 28)
        frame = pd.DataFrame({"year": year, "month": month, "day": dd})
        ok = d.notna()
        out = pd.Series(pd.NaT, index=d.index, dtype="datetime64[ns]")
        if ok.any():
            out[ok] = pd.to_datetime(frame[ok].astype(int), errors="coerce")
        return out

    this_year = on_year(today.year)
    nxt = on_year(today.year + 1)
    when = this_year.where(this_year >= today, nxt)
    return _day_diff(when, today, ctx.index)


# --------------------------------------------------------------------------- text and tags

@function("is_blank", args=1, doc="True where the field (or value) is empty.")
def is_blank(ctx, field):
    v = field.value
    if not isinstance(v, pd.Series):
        return pd.Series(is_na_scalar(v) or (isinstance(v, str) and not v.strip()), index=ctx.index)
    if pd.api.types.is_datetime64_any_dtype(v.dtype) or pd.api.types.is_numeric_dtype(v.dtype) \
            or pd.api.types.is_bool_dtype(v.dtype):
        return v.isna()
    s = v.astype("string").str.strip()
    return (s.isna() | (s == "")).astype(bool)


@function("contains", args=2, literal_args=(1,),
          doc="True where the text field contains the given text (case-insensitive).")
def contains(ctx, field, text):
    needle = _literal_text(text).casefold()
    ck = ("casefold", field.key, id(ctx.frame), len(ctx.frame), ctx.version)
    got = ctx.shared.get(ck) if field.key is not None else None
    if got is not None and got[0] is ctx.frame:
        s = got[1]
    else:
        s = _text(ctx, field).str.casefold()
        if field.key is not None:
            ctx.shared[ck] = (ctx.frame, s)
    if not needle:
        return s.notna()
    hit = s.str.contains(needle, regex=False)
    return pd.Series(hit.to_numpy(dtype=bool, na_value=False), index=ctx.index)


@function("has_tag", args=(1, 2), literal_args=(-1,), doc='has_tag("vip") on the tags field, or has_tag(field, "x").')
def has_tag(ctx, *args):
    if len(args) == 1:
        tag_arg = args[0]
        key = ctx.fields.resolve("tags") or "tags"
        tags = ctx.column(key)
    else:
        tags, tag_arg, key = args[0].value, args[1], args[0].key
    tag = _literal_text(tag_arg, "a tag").strip().casefold()
    if not tag:
        raise ExpressionError(word("has_tag(): the tag is empty"), position=tag_arg.pos)
    spellings = tag_spellings(tag)        # a default tag matches its code and its labels (to_reactivate, 待激活)
    if not isinstance(tags, pd.Series):
        return pd.Series(bool(spellings & {x.strip().casefold() for x in re.split(_TAG_SEP, str(tags or ""))}),
                         index=ctx.index)
    pos, values = _tag_pairs(ctx, tags, key)
    out = np.zeros(len(ctx.index), dtype=bool)
    out[pos[np.isin(values, list(spellings)) if len(spellings) > 1 else values == tag]] = True
    return pd.Series(out, index=ctx.index)


_TAG_SEP = r"\s*[;,，；、|]\s*"


def _tag_pairs(ctx, tags: pd.Series, key) -> tuple[np.ndarray, np.ndarray]:
    """(row position, lower-case tag) for every tag of every row, cached while the data stay the same."""
    ck = ("tag_pairs", key, id(ctx.frame), len(ctx.frame), ctx.version)
    got = ctx.shared.get(ck) if key is not None else None
    if got is not None and got[0] is ctx.frame:
        return got[1]
    s = pd.Series(tags.to_numpy(dtype=object, na_value=None), index=pd.RangeIndex(len(tags)))
    s = s[s.notna()].astype(str)
    s = s[s.str.strip() != ""]
    if len(s):
        parts = s.str.casefold().str.split(_TAG_SEP, regex=True).explode()
        parts = parts[parts.notna() & (parts != "")]
        res = (parts.index.to_numpy(dtype=np.int64), parts.str.strip().to_numpy(dtype=object))
    else:
        res = (np.array([], dtype=np.int64), np.array([], dtype=object))
    if key is not None:
        ctx.shared[ck] = (ctx.frame, res)
    return res


# --------------------------------------------------------------------------- changes since the last run

@function("changed_to", args=2, field_args=(0,), literal_args=(1,),
          doc="True where the field holds the value now but did not at the previous run.")
def changed_to(ctx, field, value):
    key = field.key
    f = ctx.fields.field(key)
    target = coerce_literal(ctx, f, value.value, value.pos)
    cur = field.value
    cur_eq = (cur == target).fillna(False).astype(bool) if isinstance(cur, pd.Series) else \
        pd.Series(cur == target, index=ctx.index)
    prev_map = None if ctx.previous is None else ctx.previous.get(key)
    if prev_map is None:
        # no earlier snapshot: trust a "<field>_changed_at" column when there is one
        comp = f"{key}_changed_at"
        if comp in ctx.frame.columns:
            since = ctx.previous_as_of if ctx.previous_as_of is not None else ctx.as_of - pd.Timedelta(days=7)
            at = pd.to_datetime(ctx.frame[comp], errors="coerce")
            recent = (at > since.normalize() - pd.Timedelta(microseconds=1)) & (at <= ctx.as_of)
            return cur_eq & recent.fillna(False).astype(bool)
        return pd.Series(False, index=ctx.index)
    prev = ctx.record_ids.map(prev_map)
    if isinstance(target, bool):
        prev_eq = prev.map(lambda v: v is True or v == "True" or v is np.True_)
    else:
        prev_eq = prev.astype("string") == str(target)
    prev_eq = pd.Series(prev_eq, index=ctx.index).fillna(False).astype(bool)
    return cur_eq & ~prev_eq


# --------------------------------------------------------------------------- products

@function("low_stock", args=0,
          doc="True where a product on sale has stock at or below its reorder level (blank stock or level: never).")
def low_stock(ctx):
    cols = {k: ctx.frame[k] for k in ("stock", "reorder_level", "status") if k in ctx.frame.columns}
    if "stock" not in cols or "reorder_level" not in cols:
        raise ExpressionError(msg("e_x_low_stock"))
    return low_stock_mask(pd.DataFrame(cols, index=ctx.index))


# --------------------------------------------------------------------------- messages

def _message_time(m: pd.DataFrame) -> pd.Series:
    t = m["sent_at"] if "sent_at" in m else pd.Series(pd.NaT, index=m.index, dtype="datetime64[ns]")
    for col in ("scheduled_at", "queued_at"):
        if col in m:
            t = t.fillna(m[col])
    return t


def _ns(s: pd.Series | None, n: int) -> np.ndarray:
    if s is None:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    return pd.to_datetime(s, errors="coerce").to_numpy(dtype="datetime64[ns]")


def _message_table(ctx) -> dict:
    """Messages as numpy arrays with customer positions, cached while the table is unchanged.

    The engine only ever appends messages, so a longer table that starts
    with the cached one reuses the cached rows.
    """
    m = ctx.messages
    src = ctx.customers_source()
    key = ("messages", id(src))
    got = ctx.shared.get(key)
    if got is not None and got[0] is m:
        return got[1]
    if m is None or len(m) == 0:
        tab = {"pos": np.array([], dtype=np.int64), "t": np.array([], dtype="datetime64[ns]"),
               "opened": np.array([], dtype="datetime64[ns]"), "clicked": np.array([], dtype="datetime64[ns]"),
               "delivered": np.array([], dtype=bool), "frame": m}
    else:
        start = 0
        old = got[1] if got is not None else None
        if old is not None and old["frame"] is not None and 0 < len(old["frame"]) <= len(m) \
                and list(old["frame"].columns) == list(m.columns) \
                and m.index[len(old["frame"]) - 1] == old["frame"].index[-1]:
            start = len(old["frame"])
        tail = m.iloc[start:]
        n = len(tail)
        status = tail["status"] if "status" in tail else pd.Series(pd.NA, index=tail.index)
        part = {
            "pos": ctx.positions(tail["customer_id"]),
            "t": _ns(_message_time(tail), n),
            "opened": _ns(tail.get("opened_at"), n),
            "clicked": _ns(tail.get("clicked_at"), n),
            "delivered": ~status.isin(["suppressed", "failed"]).to_numpy(dtype=bool, na_value=False),
        }
        if start:
            part = {k: np.concatenate([old[k], v]) for k, v in part.items()}
        tab = {**part, "frame": m}
    ctx.shared[key] = (m, tab)
    return tab


def _which_mask(ctx, tab: dict, which: str | None) -> np.ndarray:
    n = len(tab["pos"])
    ok = tab["pos"] >= 0
    if which is None:
        return ok
    ck = ("which", id(tab["frame"]), n, which)
    got = ctx.shared.get(ck)
    if got is None:
        m = tab["frame"]
        hit = np.zeros(n, dtype=bool)
        for col in ("rule_id", "campaign_id"):
            if col in m:
                hit |= (m[col].astype("string").str.strip() == which).to_numpy(dtype=bool, na_value=False)
        ctx.shared[ck] = got = hit
    return ok & got


def _which(arg) -> str | None:
    if arg is None:
        return None
    return _literal_text(arg, "a rule or campaign id").strip()


def _n_customers(ctx) -> int:
    return len(ctx.cust_index)


@function("messages_since", args=(1, 2), literal_args=(0, 1),
          doc='Messages sent or queued to the customer in the last N days (optionally of one rule or campaign).')
def messages_since(ctx, days, which=None):
    n = _number_literal(days)
    tab = _message_table(ctx)
    sel = _which_mask(ctx, tab, _which(which)) & tab["delivered"]
    cutoff = np.datetime64(ctx.as_of - pd.Timedelta(days=n), "ns")
    sel &= tab["t"] >= cutoff
    counts = np.bincount(tab["pos"][sel], minlength=_n_customers(ctx))
    return pd.Series(ctx.per_customer(counts, fill=0), index=ctx.index).astype("Int64")


@function("days_since_message", args=(0, 1), literal_args=(0,),
          doc="Days since the latest message (of a rule or campaign) to the customer; blank when none.")
def days_since_message(ctx, which=None):
    tab = _message_table(ctx)
    sel = _which_mask(ctx, tab, _which(which)) & tab["delivered"] & ~np.isnat(tab["t"])
    last = np.full(_n_customers(ctx), np.datetime64("NaT"), dtype="datetime64[ns]")
    if sel.any():
        g = pd.Series(tab["t"][sel]).groupby(tab["pos"][sel]).max()
        last[g.index.to_numpy()] = g.to_numpy(dtype="datetime64[ns]")
    when = pd.Series(ctx.per_customer(last), index=ctx.index, dtype="datetime64[ns]")
    return _day_diff(ctx.as_of, when, ctx.index)


def _any_per_customer(ctx, sel: np.ndarray) -> pd.Series:
    flags = np.zeros(_n_customers(ctx), dtype=bool)
    flags[_message_table(ctx)["pos"][sel]] = True
    return pd.Series(ctx.per_customer(flags, fill=False).astype(bool), index=ctx.index)


@function("clicked", args=(0, 1), literal_args=(0,),
          doc="True where the customer clicked a message (of a rule or campaign).")
def clicked(ctx, which=None):
    tab = _message_table(ctx)
    c = tab["clicked"]
    sel = _which_mask(ctx, tab, _which(which)) & ~np.isnat(c) & (c <= np.datetime64(ctx.as_of, "ns"))
    return _any_per_customer(ctx, sel)


@function("opened_since", args=(1, 2), literal_args=(0, 1),
          doc="True where the customer opened a message in the last N days (of a rule or campaign).")
def opened_since(ctx, days, which=None):
    n = _number_literal(days)
    tab = _message_table(ctx)
    o = tab["opened"]
    lo = np.datetime64(ctx.as_of - pd.Timedelta(days=n), "ns")
    sel = _which_mask(ctx, tab, _which(which)) & ~np.isnat(o) & (o >= lo) & (o <= np.datetime64(ctx.as_of, "ns"))
    return _any_per_customer(ctx, sel)


# --------------------------------------------------------------------------- settings

@function("cadence_days", args=1, doc="Follow-up cadence of a stage in days (Settings cadence_<stage>).")
def cadence_days(ctx, stage):
    table = {}
    for code in STAGE.codes:
        v = ctx.settings.get(f"cadence_{code}")
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        try:
            table[code] = parse_duration(v) / pd.Timedelta(days=1)
        except Exception:  # noqa: BLE001 - a bad setting means no cadence for that stage
            continue
    v = stage.value
    if isinstance(v, pd.Series):
        codes = v.astype("string")
        lookup = STAGE.lookup
        codes = codes.map(lambda x: lookup.get(norm_token(x), x) if isinstance(x, str) else x) \
            if not codes.dropna().isin(list(STAGE.codes)).all() else codes
        return codes.map(table).astype("Float64")
    code = STAGE.lookup.get(norm_token(v), v) if isinstance(v, str) else v
    return table.get(code, np.nan)
