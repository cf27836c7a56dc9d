"""Every number the dashboards and reports show, as plain DataFrames (DESIGN §6).

Pure functions over the typed frames a :class:`~crmkit.workspace.Workspace`
gives (canonical keys, canonical enumeration codes).  Each docstring states
the definition of every column, so a dashboard, a report and an analyst in a
notebook all read the same numbers.  Rates are fractions (0.25 = 25 %); a
rate whose denominator is 0 is NaN (not 0: there was nothing to measure).

>>> from crmkit import analytics as an
>>> an.funnel(ws["customers"])
>>> an.kpi_summary(ws, ws.as_of(), period="month")
"""

from __future__ import annotations

import datetime as _dt_mod
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from .dedupe import find_duplicates
from .i18n import msg
from .schema import ENTITIES, STAGE, TICKET_TYPE

__all__ = [
    "FUNNEL_STAGES", "COMPLETENESS_FIELDS", "completeness_field_keys", "PERIODS", "period_bounds", "in_period", "CalendarPeriod", "calendar_period",
    "stage_counts", "funnel", "weakest_step", "conversion_by_source", "stage_stints", "stage_durations", "days_to_close",
    "cadence_compliance", "tasks_by_owner", "task_list", "ticket_sla", "campaign_kpis", "completeness",
    "customer_completeness", "duplicates", "segments", "value_tiers", "revenue_by_channel", "trend",
    "kpi_summary", "KPIS", "cadence_status", "campaign_totals", "period_tables",
]

#: The open-to-won path of the funnel, in order (``lost`` is off the path).
FUNNEL_STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "won")

#: Customer fields that count for completeness when the schema does not list them
#: (``crmkit.schema.completeness_fields("customers")`` is the source of truth).
COMPLETENESS_FIELDS: tuple[str, ...] = (
    "name", "contact_name", "title", "phone", "email", "industry", "size", "region", "customer_type",
    "source", "intent_level", "stage", "owner", "created_at",
)


def completeness_field_keys() -> tuple[str, ...]:
    """The customer fields the completeness score counts (shared with validation)."""
    from . import schema

    fn = getattr(schema, "completeness_fields", None)
    return tuple(fn("customers")) if fn is not None else COMPLETENESS_FIELDS

#: Report periods: name -> length.
PERIODS = {"week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}


def _rate(num, den):
    """num / den with NaN where den is 0 (works on scalars and arrays)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out if out.ndim else float(out)


def _col(df: pd.DataFrame, key: str, entity: str) -> pd.Series:
    """Column ``key`` of ``df``, or an all-blank column of the schema type."""
    if key in df.columns:
        return df[key]
    return pd.Series([None] * len(df), index=df.index, dtype=ENTITIES[entity].field(key).dtype)


def _ordered(index: pd.Index, codes: Iterable[str]) -> list:
    """Labels of ``index`` in enumeration order, then unknown ones sorted, then NA (blank) last."""
    labels = [x for x in index if not pd.isna(x)]
    codes = list(codes)
    known = [c for c in codes if c in labels]
    others = sorted(str(x) for x in labels if x not in codes)
    blank = [x for x in index if pd.isna(x)][:1]
    return known + others + blank


def _dt(df: pd.DataFrame, key: str, entity: str) -> pd.Series:
    return pd.to_datetime(_col(df, key, entity), errors="coerce")


# --------------------------------------------------------------------------- periods

def period_bounds(as_of: object, period: str = "month", *, previous: bool = False) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` of the report period ending at ``as_of``: ``start < t <= end``.

    ``week`` is the 7 days up to as_of, ``month`` the calendar month length
    up to as_of (e.g. 2026-10-20 10:00 to 2026-11-20 10:00).  With
    ``previous`` the period just before it.
    """
    if period not in PERIODS:
        from .exceptions import UsageError

        raise UsageError(msg("e_period", period=repr(period)))
    end = pd.Timestamp(as_of)
    start = end - PERIODS[period]
    if previous:
        end, start = start, start - PERIODS[period]
    return start, end


class CalendarPeriod(NamedTuple):
    """A calendar month or a Monday-to-Sunday week: ``start <= t < end`` (``label`` e.g. 2026-11, 2026-W47)."""

    start: pd.Timestamp
    end: pd.Timestamp

    closed = "left"

    @property
    def label(self) -> str:
        if self.end - self.start <= pd.Timedelta(days=7):
            iso = self.start.isocalendar()
            return f"{iso[0]}-W{iso[1]:02d}"
        return f"{self.start:%Y-%m}"


def calendar_period(as_of: object, period: str = "month", *, month: str | None = None, week: str | None = None,
                    previous: bool = False) -> CalendarPeriod:
    """The calendar month or ISO week (Monday to Sunday) of a report.

    By default the last full period before ``as_of``'s day (as of
    2026-11-20: October 2026, or the week 2026-11-09 to 2026-11-15);
    ``month="2026-11"`` or ``week="2026-W47"`` chooses another.
    ``previous`` gives the calendar period just before it.
    """
    from .exceptions import UsageError

    if period not in PERIODS:
        raise UsageError(f"unknown period {period!r}: use week or month")
    if period == "month":
        if week is not None:
            raise UsageError("--week goes with --period week")
        if month is not None:
            m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", str(month))
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise UsageError(f"cannot read the month {month!r}: write it as YYYY-MM, e.g. 2026-11")
            start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
        else:
            day = pd.Timestamp(as_of).normalize()
            start = (day.replace(day=1) - pd.DateOffset(months=1)).normalize()
        if previous:
            start = start - pd.DateOffset(months=1)
        end = start + pd.DateOffset(months=1)
        return CalendarPeriod(start, end)
    if month is not None:
        raise UsageError("--month goes with --period month")
    if week is not None:
        m = re.fullmatch(r"\s*(\d{4})-?[Ww](\d{1,2})\s*", str(week))
        try:
            start = pd.Timestamp(_dt_mod.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)) if m else None
        except ValueError:
            start = None
        if start is None:
            raise UsageError(f"cannot read the week {week!r}: write it as YYYY-Www (ISO week, Monday first), "
                             "e.g. 2026-W47")
    else:
        day = pd.Timestamp(as_of).normalize()
        start = day - pd.Timedelta(days=day.weekday() + 7)      # Monday of the last full week
    if previous:
        start = start - pd.Timedelta(days=7)
    return CalendarPeriod(start, start + pd.Timedelta(days=7))


def in_period(values: pd.Series, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> pd.Series:
    """Boolean mask: ``start < value <= end`` (``start <= value < end`` for a :class:`CalendarPeriod`);
    blank values are outside."""
    v = pd.to_datetime(values, errors="coerce")
    if getattr(bounds, "closed", "right") == "left":
        return ((v >= bounds[0]) & (v < bounds[1])).fillna(False).astype(bool)
    return ((v > bounds[0]) & (v <= bounds[1])).fillna(False).astype(bool)


# --------------------------------------------------------------------------- funnel

def stage_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per stage: ``stage`` (every code of STAGE, in order) and ``customers``.

    Customers with a blank stage are not counted.
    """
    stage = _col(customers, "stage", "customers")
    counts = stage.value_counts().reindex(list(STAGE.codes), fill_value=0)
    return pd.DataFrame({"stage": pd.array(STAGE.codes, dtype="string"),
                         "customers": counts.to_numpy().astype("int64")})


def funnel(customers: pd.DataFrame) -> pd.DataFrame:
    """The sales funnel from the customers' current stage.

    One row per stage of :data:`FUNNEL_STAGES` (lead, qualified, proposal,
    negotiation, won):

    * ``customers``: customers whose current stage is this one;
    * ``reached``: customers who got at least this far: those at this stage or
      a later one on the path; a ``lost`` customer counts as having reached
      ``lead`` only (where they dropped out is not recorded);
    * ``conversion``: ``reached / reached of the previous stage`` (NaN on the
      first row);
    * ``weakest``: True on the step with the lowest conversion (the first
      such step when several tie).

    Customers with a blank stage are left out.  ``df.attrs["lost"]`` holds the
    number of lost customers.
    """
    counts = stage_counts(customers).set_index("stage")["customers"]
    path = counts.reindex(list(FUNNEL_STAGES)).to_numpy().astype("int64")
    reached = np.cumsum(path[::-1])[::-1].copy()
    reached[0] += int(counts.get("lost", 0))
    conv = np.full(len(path), np.nan)
    conv[1:] = _rate(reached[1:], reached[:-1])
    out = pd.DataFrame({
        "stage": pd.array(FUNNEL_STAGES, dtype="string"),
        "customers": path,
        "reached": reached.astype("int64"),
        "conversion": conv,
    })
    out["weakest"] = False
    step = weakest_step(out)
    if step is not None:
        out.loc[out["stage"] == step, "weakest"] = True
    out.attrs["lost"] = int(counts.get("lost", 0))
    return out


def weakest_step(funnel_frame: pd.DataFrame) -> str | None:
    """The stage whose step into it has the lowest conversion (None when none is measurable)."""
    conv = funnel_frame["conversion"].astype("float64")
    if conv.notna().sum() == 0:
        return None
    return str(funnel_frame.loc[conv.idxmin(), "stage"])


def conversion_by_source(customers: pd.DataFrame) -> pd.DataFrame:
    """Lead conversion by source channel.

    One row per source code present (in the order of the SOURCE enumeration):
    ``customers`` (all customers from that source), ``won`` (stage won),
    ``lost`` (stage lost), ``open`` (any other or blank stage) and
    ``conversion = won / customers``.  Customers with a blank source are
    left out.
    """
    from .schema import SOURCE

    src = _col(customers, "source", "customers")
    stage = _col(customers, "stage", "customers")
    frame = pd.DataFrame({"source": src.astype("string"), "stage": stage.astype("string")}).dropna(subset=["source"])
    won = (frame["stage"] == "won").fillna(False)
    lost = (frame["stage"] == "lost").fillna(False)
    g = pd.DataFrame({"customers": 1, "won": won.astype("int64"), "lost": lost.astype("int64")},
                     index=frame.index).groupby(frame["source"]).sum()
    order = _ordered(g.index, SOURCE.codes)
    g = g.reindex(order)
    out = pd.DataFrame({
        "source": pd.array(order, dtype="string"),
        "customers": g["customers"].to_numpy().astype("int64"),
        "won": g["won"].to_numpy().astype("int64"),
        "lost": g["lost"].to_numpy().astype("int64"),
    })
    out["open"] = out["customers"] - out["won"] - out["lost"]
    out["conversion"] = _rate(out["won"], out["customers"])
    return out


# --------------------------------------------------------------------------- cycle time

def _stage_code(values: pd.Series) -> pd.Series:
    """Stage codes from History text (codes or labels in either language)."""
    from .normalize import to_enum

    codes, _ = to_enum(values.astype("string"), STAGE)
    return codes


def stage_stints(deals: pd.DataFrame, as_of: object, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per time a deal spent in an open stage: ``deal_id``, ``stage``, ``start``, ``end``,
    ``days``, ``current`` (the deal is still in it).

    From History rows (entity deals, field stage; ``at``, ``old``, ``new``):
    the deal entered ``new`` at ``at`` and left it at its next change; before
    its first change it was in ``old`` since ``created_at``.  A deal without
    such rows has one stint: its current stage since ``stage_changed_at`` (or
    ``created_at``).  The stint of an open deal's current stage runs to
    ``as_of``.  Won and lost are end states, not stints.  Negative durations
    (dates after as_of) count as 0.
    """
    as_of = pd.Timestamp(as_of)
    ids = _col(deals, "deal_id", "deals").astype("string")
    stage = _col(deals, "stage", "deals").astype("string")
    created = _dt(deals, "created_at", "deals")
    changed = _dt(deals, "stage_changed_at", "deals").fillna(created)
    open_stages = list(FUNNEL_STAGES[:-1])
    parts = []
    with_history: set = set()
    if history is not None and len(history):
        h = history[(history["entity"].astype("string").str.lower() == "deals").fillna(False)
                    & (history["field"].astype("string") == "stage").fillna(False)]
        h = h[h["record_id"].astype("string").isin(set(ids.dropna()))]
        if len(h):
            h = pd.DataFrame({"deal_id": h["record_id"].astype("string"), "at": pd.to_datetime(h["at"]),
                              "old": _stage_code(h["old"]), "new": _stage_code(h["new"])})
            h = h[h["at"].notna() & (h["at"] <= as_of)].sort_values(["deal_id", "at"], kind="stable")
            with_history = set(h["deal_id"])
            nxt = h.groupby("deal_id")["at"].shift(-1)
            end = nxt.fillna(as_of)
            parts.append(pd.DataFrame({"deal_id": h["deal_id"], "stage": h["new"], "start": h["at"], "end": end,
                                       "current": nxt.isna()}))
            first = h.groupby("deal_id").head(1)
            made = pd.Series(created.to_numpy(), index=ids.to_numpy())
            made = made[~made.index.duplicated()]
            parts.append(pd.DataFrame({"deal_id": first["deal_id"], "stage": first["old"],
                                       "start": made.reindex(first["deal_id"].to_numpy()).to_numpy(),
                                       "end": first["at"], "current": False}))
    plain = ~ids.isin(with_history).fillna(False)
    parts.append(pd.DataFrame({"deal_id": ids[plain], "stage": stage[plain], "start": changed[plain],
                               "end": as_of, "current": True}))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["stage"].isin(open_stages).fillna(False) & out["start"].notna()]
    out["days"] = ((pd.to_datetime(out["end"]) - pd.to_datetime(out["start"])).dt.total_seconds() / 86400.0).clip(lower=0)
    return out.reset_index(drop=True)


def stage_durations(deals: pd.DataFrame, as_of: object, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Average days deals spend in each stage.

    Open stages (lead, qualified, proposal, negotiation): over the stints of
    :func:`stage_stints` (with ``history``, the completed ones too; without
    it, each open deal's age in its current stage).  Won and lost: days from
    creation to ``closed_at`` (or ``stage_changed_at``).  Columns: ``stage``,
    ``deals`` (stints counted), ``avg_days``, ``median_days``, ``max_days``.
    Deals with a blank stage or no usable date are left out; negative
    durations count as 0.
    """
    as_of = pd.Timestamp(as_of)
    stints = stage_stints(deals, as_of, history)
    stage = _col(deals, "stage", "deals").astype("string")
    created = _dt(deals, "created_at", "deals")
    closed = _dt(deals, "closed_at", "deals").fillna(_dt(deals, "stage_changed_at", "deals")).fillna(created)
    is_closed = stage.isin(["won", "lost"]).fillna(False)
    closed_days = ((closed - created).dt.total_seconds() / 86400.0).clip(lower=0)
    frame = pd.concat([stints[["stage", "days"]],
                       pd.DataFrame({"stage": stage[is_closed], "days": closed_days[is_closed]})]).dropna()
    g = frame.groupby("stage")["days"].agg(["count", "mean", "median", "max"])
    g = g.reindex(list(STAGE.codes))
    return pd.DataFrame({
        "stage": pd.array(STAGE.codes, dtype="string"),
        "deals": g["count"].fillna(0).to_numpy().astype("int64"),
        "avg_days": g["mean"].to_numpy().astype("float64"),
        "median_days": g["median"].to_numpy().astype("float64"),
        "max_days": g["max"].to_numpy().astype("float64"),
    })


def days_to_close(deals: pd.DataFrame) -> pd.DataFrame:
    """Days from a deal's creation to its close, for won and for lost deals.

    Rows ``won`` and ``lost``: ``deals`` (closed deals with both dates),
    ``avg_days``, ``median_days`` (``closed_at - created_at`` in days; a blank
    ``closed_at`` falls back to ``stage_changed_at``) and ``amount`` (sum).
    """
    stage = _col(deals, "stage", "deals").astype("string")
    created = _dt(deals, "created_at", "deals")
    closed = _dt(deals, "closed_at", "deals").fillna(_dt(deals, "stage_changed_at", "deals"))
    amount = pd.to_numeric(_col(deals, "amount", "deals"), errors="coerce")
    days = ((closed - created).dt.total_seconds() / 86400.0).clip(lower=0)
    rows = []
    for outcome in ("won", "lost"):
        sel = (stage == outcome).fillna(False) & days.notna()
        d = days[sel]
        rows.append({"outcome": outcome, "deals": int(sel.sum()),
                     "avg_days": float(d.mean()) if len(d) else np.nan,
                     "median_days": float(d.median()) if len(d) else np.nan,
                     "amount": float(amount[sel].fillna(0).sum())})
    out = pd.DataFrame(rows)
    out["outcome"] = out["outcome"].astype("string")
    return out


# --------------------------------------------------------------------------- follow-up cadence

def _cadences(settings: Mapping | None) -> dict[str, pd.Timedelta]:
    from .settings import defaults, parse_duration

    s = dict(defaults())
    s.update(settings or {})
    out = {}
    for stage in FUNNEL_STAGES:
        v = s.get(f"cadence_{stage}")
        if v is not None and str(v).strip():
            out[stage] = parse_duration(v)
    return out


def _latest_per_id(ids: pd.Series, keys: pd.Series, when: pd.Series) -> np.ndarray:
    """For each of ``ids``, the latest ``when`` among the rows whose key is that id (NaT when none).

    The ids and the keys are numbered together in one factorize and the
    maximum is taken on the numbers: a few times faster than a string
    group-by and a reindex over hundreds of thousands of interactions.
    """
    codes, uniques = pd.factorize(pd.concat([ids, keys], ignore_index=True))
    n = len(ids)
    floor = np.iinfo(np.int64).min          # below every date; NaT's own integer
    latest = np.full(len(uniques), floor, dtype=np.int64)
    np.maximum.at(latest, codes[n:], when.to_numpy(dtype="datetime64[ns]").view(np.int64))
    mine = np.where(codes[:n] >= 0, latest[np.maximum(codes[:n], 0)], floor)
    return mine.view("datetime64[ns]")


def cadence_status(customers: pd.DataFrame, interactions: pd.DataFrame, settings: Mapping | None,
                   as_of: object, *, orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per customer: ``stage``, ``owner``, ``last_contact``, ``due_at``, ``on_cadence``.

    ``last_contact`` is the latest activity at or before ``as_of`` (an
    interaction, or with ``orders`` given an order: activity is any
    interaction or order, as ``days_since_activity``), else
    the customer's ``first_contact_at``, else ``created_at`` (a new customer
    is not late before the first cadence has passed).  ``due_at =
    last_contact + cadence of the stage`` (Settings ``cadence_<stage>``);
    ``on_cadence`` is ``as_of <= due_at``.  Only customers in a stage with a
    cadence (lead, qualified, proposal, negotiation, won) are listed; lost
    and blank-stage customers are not followed up on a cadence.
    """
    as_of = pd.Timestamp(as_of)
    cad = _cadences(settings)
    at = _dt(interactions, "at", "interactions")
    cid = _col(interactions, "customer_id", "interactions").astype("string")
    ok = (at.notna() & cid.notna() & (at <= as_of)).to_numpy(dtype=bool)
    ids = _col(customers, "customer_id", "customers").astype("string")
    last_contact = pd.Series(_latest_per_id(ids, cid[ok], at[ok]), index=customers.index)
    if orders is not None and len(orders):
        od = _dt(orders, "order_date", "orders")
        ocid = _col(orders, "customer_id", "orders").astype("string")
        ook = (od.notna() & ocid.notna() & (od <= as_of)).to_numpy(dtype=bool)
        last_order = pd.Series(_latest_per_id(ids, ocid[ook], od[ook]), index=customers.index)
        last_contact = pd.Series(np.fmax(last_contact.to_numpy(dtype="datetime64[ns]"),
                                         last_order.to_numpy(dtype="datetime64[ns]")), index=customers.index)
    last_contact = last_contact.fillna(_dt(customers, "first_contact_at", "customers"))
    last_contact = last_contact.fillna(_dt(customers, "created_at", "customers"))
    stage = _col(customers, "stage", "customers").astype("string")
    cadence = stage.map({k: v for k, v in cad.items()})
    cadence = pd.to_timedelta(cadence, errors="coerce")
    due = last_contact + cadence
    out = pd.DataFrame({
        "customer_id": ids, "stage": stage, "owner": _col(customers, "owner", "customers").astype("string"),
        "last_contact": last_contact, "due_at": due,
    })
    out["on_cadence"] = (due >= as_of).fillna(False).astype(bool)
    return out[cadence.notna()]


def cadence_compliance(customers: pd.DataFrame, interactions: pd.DataFrame, settings: Mapping | None,
                       as_of: object, *, by: str = "stage", orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """Follow-up cadence compliance per stage (or per ``by="owner"``).

    Counts the customers of :func:`cadence_status`: ``customers``,
    ``on_cadence`` (followed up within the stage's cadence), ``overdue``
    (``customers - on_cadence``) and ``compliance = on_cadence / customers``.
    By stage: one row per cadence stage in funnel order; by owner: one row per
    owner (blank owner as NA), most overdue first.
    """
    st = cadence_status(customers, interactions, settings, as_of, orders=orders)
    key = "stage" if by == "stage" else "owner"
    g = st.groupby(st[key], dropna=False)["on_cadence"].agg(["count", "sum"])
    if key == "stage":
        g = g.reindex([s for s in FUNNEL_STAGES if s in _cadences(settings)], fill_value=0)
    out = pd.DataFrame({
        key: pd.array(g.index, dtype="string"),
        "customers": g["count"].to_numpy().astype("int64"),
        "on_cadence": g["sum"].to_numpy().astype("int64"),
    })
    out["overdue"] = out["customers"] - out["on_cadence"]
    out["compliance"] = _rate(out["on_cadence"], out["customers"])
    if key == "owner":
        out = out.sort_values(["overdue", "owner"], ascending=[False, True], ignore_index=True)
    return out


# --------------------------------------------------------------------------- tasks

def _task_flags(tasks: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    status = _col(tasks, "status", "tasks").astype("string")
    due = _dt(tasks, "due_at", "tasks")
    done_at = _dt(tasks, "done_at", "tasks")
    day0 = as_of.normalize()
    day1 = day0 + pd.Timedelta(days=1)
    is_open = (status == "open").fillna(False)
    return pd.DataFrame({
        "open": is_open,
        "overdue": is_open & (due < as_of).fillna(False),
        "due_today": is_open & ((due >= as_of) & (due < day1)).fillna(False),
        "later": is_open & ((due >= day1) | due.isna()).fillna(False),
        "done_today": ((status == "done") & (done_at >= day0) & (done_at < day1)).fillna(False),
    }, index=tasks.index)


def tasks_by_owner(tasks: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Today's and overdue tasks per owner.

    Per owner (blank owner as NA): ``open`` (status open), ``overdue`` (open
    and due before ``as_of``), ``due_today`` (open, due from ``as_of`` to the
    end of its day), ``later`` (open, due after today or without a due
    time), ``done_today`` (status done, done_at on as_of's day).  ``open =
    overdue + due_today + later``.  Most overdue first.
    """
    as_of = pd.Timestamp(as_of)
    flags = _task_flags(tasks, as_of).astype("int64")
    owner = _col(tasks, "owner", "tasks").astype("string")
    cols = ["open", "overdue", "due_today", "later", "done_today"]
    if flags.empty:
        return pd.DataFrame({"owner": pd.array([], dtype="string"), **{c: pd.Series(dtype="int64") for c in cols}})
    g = flags.groupby(owner, dropna=False)[cols].sum()
    out = g.reset_index(names="owner")
    out["owner"] = out["owner"].astype("string")
    return out.sort_values(["overdue", "due_today", "owner"], ascending=[False, False, True], ignore_index=True)


def task_list(tasks: pd.DataFrame, as_of: object, owner: str | None = None, when: str = "today") -> pd.DataFrame:
    """The task rows a rep works on, soonest due first.

    ``when``: ``today`` (open tasks overdue or due by the end of as_of's day),
    ``overdue`` (open, due before as_of), ``open`` (all open tasks).  With
    ``owner`` only that person's tasks.  The task columns plus ``overdue``
    (bool) and ``days_overdue`` (whole days past due, 0 when not overdue).
    """
    as_of = pd.Timestamp(as_of)
    if when not in ("today", "overdue", "open"):
        from .exceptions import UsageError

        raise UsageError(msg("e_task_list", when=repr(when)))
    flags = _task_flags(tasks, as_of)
    sel = {"today": flags["overdue"] | flags["due_today"], "overdue": flags["overdue"], "open": flags["open"]}[when]
    if owner is not None:
        sel &= (_col(tasks, "owner", "tasks").astype("string") == owner).fillna(False)
    out = tasks[sel].copy()
    out["overdue"] = flags.loc[sel, "overdue"].to_numpy()
    due = _dt(out, "due_at", "tasks")
    out["days_overdue"] = ((as_of - due).dt.total_seconds() // 86400).clip(lower=0).fillna(0).astype("int64")
    out.loc[~out["overdue"], "days_overdue"] = 0
    return out.sort_values("due_at", kind="stable", na_position="last")


# --------------------------------------------------------------------------- tickets

def ticket_sla(tickets: pd.DataFrame, as_of: object, *, by: str = "type") -> pd.DataFrame:
    """Ticket SLA compliance and satisfaction, per ticket type (or ``by="assignee"``).

    * ``tickets``: all tickets; ``open``: status other than closed;
    * ``with_sla``: tickets with an ``sla_due_at``;
    * ``met``: first response at or before ``sla_due_at``;
    * ``breached``: first response after ``sla_due_at``, or no response yet
      and ``sla_due_at`` before ``as_of``;
    * ``pending``: no response yet and still within the SLA;
    * ``compliance = met / (met + breached)``;
    * ``rated``: tickets with a satisfaction score, ``satisfaction``: its
      mean (1-5), ``low_satisfaction``: scores <= 3;
    * ``avg_response_hours``: mean hours from creation to first response.

    Rows follow the TICKET_TYPE order (blank type as NA, last).
    """
    as_of = pd.Timestamp(as_of)
    key = "type" if by == "type" else "assignee"
    group = _col(tickets, key, "tickets").astype("string")
    status = _col(tickets, "status", "tickets").astype("string")
    due = _dt(tickets, "sla_due_at", "tickets")
    resp = _dt(tickets, "first_response_at", "tickets")
    created = _dt(tickets, "created_at", "tickets")
    sat = pd.to_numeric(_col(tickets, "satisfaction", "tickets"), errors="coerce").astype("float64")
    has_sla = due.notna()
    met = has_sla & resp.notna() & (resp <= due)
    breached = has_sla & ((resp.notna() & (resp > due)) | (resp.isna() & (due < as_of)))
    frame = pd.DataFrame({
        "tickets": 1,
        "open": (status != "closed").fillna(True).astype("int64"),
        "with_sla": has_sla.astype("int64"),
        "met": met.fillna(False).astype("int64"),
        "breached": breached.fillna(False).astype("int64"),
        "rated": sat.notna().astype("int64"),
        "sat_sum": sat.fillna(0.0),
        "low_satisfaction": (sat <= 3).fillna(False).astype("int64"),
        "resp_hours": (resp - created).dt.total_seconds() / 3600.0,
    }, index=tickets.index)
    cols = ["tickets", "open", "with_sla", "met", "breached", "rated", "sat_sum", "low_satisfaction"]
    g = frame.groupby(group, dropna=False)[cols].sum()
    g["avg_response_hours"] = frame.groupby(group, dropna=False)["resp_hours"].mean()
    if key == "type":
        g = g.reindex(_ordered(g.index, TICKET_TYPE.codes))
    else:
        g = g.sort_index()
    out = g.reset_index(names=key)
    out[key] = out[key].astype("string")
    for c in cols:
        out[c] = out[c].astype("float64" if c == "sat_sum" else "int64")
    out["pending"] = out["with_sla"] - out["met"] - out["breached"]
    out["compliance"] = _rate(out["met"], out["met"] + out["breached"])
    out["satisfaction"] = _rate(out["sat_sum"], out["rated"])
    out = out.drop(columns="sat_sum")
    return out[[key, "tickets", "open", "with_sla", "met", "breached", "pending", "compliance", "rated",
                "satisfaction", "low_satisfaction", "avg_response_hours"]]


# --------------------------------------------------------------------------- campaigns

def campaign_kpis(campaigns: pd.DataFrame, messages: pd.DataFrame, settings: Mapping | None = None,
                  as_of: object = None) -> pd.DataFrame:
    """Reach, open and conversion rates against targets, and ROI, per campaign.

    Over the campaign's messages (``messages.campaign_id``):

    * ``target``: the campaign's messages that are due (one per audience
      member, failed and suppressed ones included); ``queued``: messages not
      due yet, left out of every rate so that a campaign scheduled for later
      does not look unreached.  With ``as_of``, a message is due when its
      ``scheduled_at`` (else the campaign's ``send_at``, else ``queued_at``)
      is at or before ``as_of``; without it, every message not in status
      queued is due;
    * ``sent``: status sent; ``opened``/``clicked``/``converted``: messages
      with ``opened_at``/``clicked_at``/``converted_at``;
    * ``reach = sent / target``; ``open_rate = opened / sent``;
      ``conversion = clicked / opened``;
    * ``revenue``: sum of the messages' revenue; ``cost``: the campaign's cost;
      ``roi = (revenue - cost) / cost`` (NaN without a cost);
    * ``target_reach``/``target_open``/``target_conversion``: the campaign's
      own targets, else Settings (default 0.85 / 0.25 / 0.10);
    * ``reach_ok``/``open_ok``/``conversion_ok``: rate >= target (NA when
      the rate cannot be measured).

    One row per campaign, in the Campaigns sheet order; messages of
    unknown campaigns are ignored.
    """
    from .settings import defaults

    s = dict(defaults())
    s.update(settings or {})
    mid = _col(messages, "campaign_id", "messages").astype("string")
    status = _col(messages, "status", "messages").astype("string")
    if as_of is None:
        queued = (status == "queued").fillna(False)
    else:
        send_at = pd.to_datetime(_col(campaigns, "send_at", "campaigns"), errors="coerce")
        send_at = pd.Series(send_at.to_numpy(), index=_col(campaigns, "campaign_id", "campaigns").astype("string"))
        send_at = send_at[~send_at.index.duplicated()]
        due = _dt(messages, "scheduled_at", "messages")
        due = due.fillna(pd.Series(send_at.reindex(mid.to_numpy()).to_numpy(), index=messages.index))
        due = due.fillna(_dt(messages, "queued_at", "messages"))
        queued = (due > pd.Timestamp(as_of)).fillna(False)
    m = pd.DataFrame({
        "target": (~queued).astype("int64"),
        "queued": queued.astype("int64"),
        "sent": ((status == "sent").fillna(False) & ~queued).astype("int64"),
        "opened": (_dt(messages, "opened_at", "messages").notna() & ~queued).astype("int64"),
        "clicked": (_dt(messages, "clicked_at", "messages").notna() & ~queued).astype("int64"),
        "converted": (_dt(messages, "converted_at", "messages").notna() & ~queued).astype("int64"),
        "revenue": pd.to_numeric(_col(messages, "revenue", "messages"), errors="coerce").fillna(0.0).where(~queued, 0.0),
    }, index=messages.index)
    g = m[mid.notna()].groupby(mid[mid.notna()]).sum()
    ids = _col(campaigns, "campaign_id", "campaigns").astype("string")
    g = g.reindex(ids.to_numpy()).fillna(0)
    out = pd.DataFrame({
        "campaign_id": ids.to_numpy(),
        "name": _col(campaigns, "name", "campaigns").astype("string").to_numpy(),
        "channel": _col(campaigns, "channel", "campaigns").astype("string").to_numpy(),
    })
    out["campaign_id"] = out["campaign_id"].astype("string")
    for c in ("target", "queued", "sent", "opened", "clicked", "converted"):
        out[c] = g[c].to_numpy().astype("int64")
    out["revenue"] = g["revenue"].to_numpy().astype("float64")
    out["cost"] = pd.to_numeric(_col(campaigns, "cost", "campaigns"), errors="coerce").to_numpy(dtype="float64")
    out["reach"] = _rate(out["sent"], out["target"])
    out["open_rate"] = _rate(out["opened"], out["sent"])
    out["conversion"] = _rate(out["clicked"], out["opened"])
    out["roi"] = _rate(out["revenue"] - out["cost"].fillna(0), out["cost"].fillna(0))
    for rate, tkey in (("reach", "target_reach"), ("open_rate", "target_open"), ("conversion", "target_conversion")):
        own = pd.to_numeric(_col(campaigns, tkey, "campaigns"), errors="coerce").to_numpy(dtype="float64")
        out[tkey] = np.where(np.isnan(own), float(s[tkey]), own)
        ok = pd.array(out[rate] >= out[tkey], dtype="boolean")
        ok[out[rate].isna().to_numpy()] = pd.NA
        out[rate.replace("_rate", "") + "_ok"] = ok
    first = ["campaign_id", "name", "channel", "target", "queued", "sent", "opened", "clicked", "converted", "revenue",
             "cost", "reach", "open_rate", "conversion", "roi", "target_reach", "target_open", "target_conversion"]
    return out[first + ["reach_ok", "open_ok", "conversion_ok"]]


def campaign_totals(kpis: pd.DataFrame) -> dict[str, float]:
    """Totals over a :func:`campaign_kpis` frame: counts summed, rates recomputed from the sums."""
    t = {c: float(kpis[c].sum()) for c in ("target", "queued", "sent", "opened", "clicked", "converted", "revenue")}
    cost = float(kpis["cost"].fillna(0).sum())
    t.update(cost=cost, reach=_rate(t["sent"], t["target"]), open_rate=_rate(t["opened"], t["sent"]),
             conversion=_rate(t["clicked"], t["opened"]), roi=_rate(t["revenue"] - cost, cost))
    return t


# --------------------------------------------------------------------------- data quality

def _filled(s: pd.Series) -> pd.Series:
    if s.dtype == "string" or s.dtype == object:
        return s.notna() & (s.astype("string").str.strip() != "").fillna(False)
    return s.notna()


def customer_completeness(customers: pd.DataFrame, fields: Iterable[str] | None = None) -> pd.Series:
    """Per customer: the share of ``fields`` (default :func:`completeness_field_keys`) that are filled."""
    fields = list(fields or completeness_field_keys())
    if not fields:
        return pd.Series(np.nan, index=customers.index)
    filled = pd.DataFrame({f: _filled(_col(customers, f, "customers")) for f in fields}, index=customers.index)
    return filled.mean(axis=1).astype("float64")


def completeness(customers: pd.DataFrame, target: float = 0.9, fields: Iterable[str] | None = None) -> pd.DataFrame:
    """Data completeness of the customers, per field.

    One row per field of ``fields`` (default :func:`completeness_field_keys`, the
    fields validation counts too):
    ``field``, ``filled`` (customers with a value), ``customers`` (all),
    ``rate = filled / customers`` and ``ok = rate >= target``.  The overall
    completeness (the mean of the per-customer shares, which equals the mean
    of these rates; 1.0 without customers, as in validation) is in
    ``df.attrs["overall"]`` and ``df.attrs["customers_below_target"]`` counts
    customers under the target.
    """
    fields = list(fields or completeness_field_keys())
    n = len(customers)
    filled = [int(_filled(_col(customers, f, "customers")).sum()) for f in fields]
    out = pd.DataFrame({"field": pd.array(fields, dtype="string"), "filled": np.asarray(filled, dtype="int64"),
                        "customers": np.full(len(fields), n, dtype="int64")})
    out["rate"] = _rate(out["filled"], out["customers"])
    out["ok"] = pd.array(out["rate"] >= target, dtype="boolean")
    per = customer_completeness(customers, fields)
    out.attrs["overall"] = float(per.mean()) if n else 1.0
    out.attrs["customers_below_target"] = int((per < target).sum())
    out.attrs["target"] = float(target)
    return out


def duplicates(customers: pd.DataFrame, keys: Iterable[str] | None = None, *, region: str | None = "CN") -> pd.DataFrame:
    """Possible duplicate customers per match key (via :func:`crmkit.dedupe.find_duplicates`).

    One row per key that matched: ``key``, ``groups`` (groups with a member
    matched on that key) and ``customers`` (customers matched on that key).
    A group found through several keys appears under each, so the totals are
    in ``df.attrs["groups"]`` (distinct groups, as ``crmkit dedupe`` counts
    them) and ``df.attrs["customers"]`` (customers in any group).
    """
    found = find_duplicates(customers, keys=list(keys) if keys else None, region=region)
    if found is None or len(found) == 0:
        out = pd.DataFrame({"key": pd.array([], dtype="string"), "groups": pd.Series(dtype="int64"),
                            "customers": pd.Series(dtype="int64")})
        out.attrs.update(groups=0, customers=0)
        return out
    g = found.groupby("key").agg(groups=("group", "nunique"), customers=("customer_id", "count")).reset_index()
    g["key"] = g["key"].astype("string")
    g = g.astype({"groups": "int64", "customers": "int64"})
    g.attrs.update(groups=int(found["group"].nunique()), customers=int(len(found)))
    return g


# --------------------------------------------------------------------------- segments and revenue

def segments(scores: pd.DataFrame) -> pd.DataFrame:
    """RFM segment sizes and revenue: :func:`crmkit.rfm.segment_summary`."""
    from .rfm import segment_summary

    return segment_summary(scores)


def value_tiers(scores: pd.DataFrame) -> pd.DataFrame:
    """Value tier sizes and revenue: :func:`crmkit.rfm.tier_summary`."""
    from .rfm import tier_summary

    return tier_summary(scores)


def revenue_by_channel(orders: pd.DataFrame, bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> pd.DataFrame:
    """Orders and revenue per sales channel (``channel``, ``orders``, ``revenue``).

    ``orders``: rows with amount >= 0 (returns are not orders); ``revenue``:
    net sum of amounts, returns included.  With ``bounds`` (see
    :func:`period_bounds`) only orders dated in that period.  Blank channel as NA.
    """
    from .schema import ORDER_CHANNEL

    date = _dt(orders, "order_date", "orders")
    sel = date.notna() if bounds is None else in_period(date, bounds)
    o = orders[sel]
    amount = pd.to_numeric(_col(o, "amount", "orders"), errors="coerce").fillna(0.0)
    ch = _col(o, "channel", "orders").astype("string")
    g = pd.DataFrame({"orders": (amount >= 0).astype("int64"), "revenue": amount}).groupby(ch, dropna=False).sum()
    g = g.reindex(_ordered(g.index, ORDER_CHANNEL.codes))
    out = g.reset_index(names="channel")
    out["channel"] = out["channel"].astype("string")
    return out.astype({"orders": "int64", "revenue": "float64"})


def trend(customers: pd.DataFrame, orders: pd.DataFrame, as_of: object, freq: str = "W",
          periods: int = 12) -> pd.DataFrame:
    """New customers, orders and revenue per period, for the ``periods`` periods up to ``as_of``.

    ``freq`` is a pandas frequency (``W`` weeks ending Sunday, ``MS``/``M``
    months, ``D`` days).  Columns: ``period`` (start of the period),
    ``new_customers`` (created_at in it), ``orders`` (amount >= 0),
    ``revenue`` (net amount).  Dates after ``as_of`` are ignored.
    """
    as_of = pd.Timestamp(as_of)
    f = {"M": "MS", "W": "W-MON"}.get(freq, freq)
    end = as_of.normalize()
    idx = pd.period_range(end=end, periods=periods, freq={"MS": "M", "W-MON": "W-SUN"}.get(f, f))
    start = idx[0].start_time
    created = _dt(customers, "created_at", "customers")
    odate = _dt(orders, "order_date", "orders")
    amount = pd.to_numeric(_col(orders, "amount", "orders"), errors="coerce").fillna(0.0)
    c_ok = created.notna() & (created >= start) & (created <= as_of)
    o_ok = odate.notna() & (odate >= start) & (odate <= as_of)
    pfreq = idx.freq
    nc = created[c_ok].dt.to_period(pfreq).value_counts().reindex(idx, fill_value=0)
    op = odate[o_ok].dt.to_period(pfreq)
    no = (amount[o_ok] >= 0).groupby(op).sum().reindex(idx, fill_value=0)
    rv = amount[o_ok].groupby(op).sum().reindex(idx, fill_value=0.0)
    return pd.DataFrame({
        "period": idx.start_time,
        "new_customers": nc.to_numpy().astype("int64"),
        "orders": no.to_numpy().astype("int64"),
        "revenue": rv.to_numpy().astype("float64"),
    })


# --------------------------------------------------------------------------- manager KPIs

#: KPI code -> (kind, settings key of its target or None, higher_is_better)
KPIS: dict[str, tuple[str, str | None, bool]] = {
    "revenue": ("money", "target_revenue_month", True),
    "orders": ("count", None, True),
    "new_customers": ("count", None, True),
    "won_customers": ("count", None, True),
    "lead_conversion": ("rate", "target_lead_conversion", True),
    "follow_up_compliance": ("rate", "target_follow_up_compliance", True),
    "overdue_tasks": ("count", None, False),
    "sla_compliance": ("rate", "target_sla_compliance", True),
    "satisfaction": ("score", "target_satisfaction", True),
    "reach": ("rate", "target_reach", True),
    "open_rate": ("rate", "target_open", True),
    "conversion": ("rate", "target_conversion", True),
    "campaign_roi": ("rate", None, True),
    "completeness": ("rate", "completeness_target", True),
    "duplicate_groups": ("count", None, False),
}


def period_tables(ws, as_of: object, period: str = "month", *, previous: bool = False,
                  bounds: tuple | None = None) -> dict[str, pd.DataFrame]:
    """The period-scoped slices of a workspace: orders, customers created, tickets created,
    messages queued and their campaigns, within :func:`period_bounds` (or the ``bounds`` given,
    e.g. a :class:`CalendarPeriod`)."""
    bounds = bounds if bounds is not None else period_bounds(as_of, period, previous=previous)
    orders = ws["orders"]
    customers = ws["customers"]
    tickets = ws["tickets"]
    messages = ws["messages"]
    return {
        "bounds": bounds,
        "orders": orders[in_period(_dt(orders, "order_date", "orders"), bounds)],
        "customers": customers[in_period(_dt(customers, "created_at", "customers"), bounds)],
        "tickets": tickets[in_period(_dt(tickets, "created_at", "tickets"), bounds)],
        "messages": messages[in_period(_dt(messages, "queued_at", "messages"), bounds)],
    }


def _period_values(ws, as_of: pd.Timestamp, period: str, previous: bool, bounds=None) -> dict[str, float]:
    p = period_tables(ws, as_of, period, previous=previous, bounds=bounds)
    start, end = p["bounds"]
    s = ws.settings
    orders = p["orders"]
    amount = pd.to_numeric(_col(orders, "amount", "orders"), errors="coerce").fillna(0.0)
    sla = ticket_sla(p["tickets"], end)
    camp = campaign_kpis(ws["campaigns"], p["messages"], s, as_of=end)
    camp = camp[camp["target"] > 0]
    ct = campaign_totals(camp)
    deals = ws["deals"]
    won = (_col(deals, "stage", "deals") == "won").fillna(False) & in_period(
        _dt(deals, "closed_at", "deals").fillna(_dt(deals, "stage_changed_at", "deals")), (start, end))
    cust = ws["customers"]
    cust_then = cust[(_dt(cust, "created_at", "customers") <= end).fillna(True)]
    cad = cadence_compliance(cust_then, ws["interactions"], s, end, orders=ws["orders"])
    rated = sla["rated"].sum()
    return {
        "revenue": float(amount.sum()),
        "orders": int((amount >= 0).sum()),
        "new_customers": int(len(p["customers"])),
        "won_customers": int(won.sum()),
        "follow_up_compliance": _rate(cad["on_cadence"].sum(), cad["customers"].sum()),
        "sla_compliance": _rate(sla["met"].sum(), sla["met"].sum() + sla["breached"].sum()),
        "satisfaction": _rate((sla["satisfaction"].fillna(0) * sla["rated"]).sum(), rated),
        "reach": ct["reach"], "open_rate": ct["open_rate"], "conversion": ct["conversion"],
        "campaign_roi": ct["roi"],
    }


def kpi_summary(ws, as_of: object = None, period: str = "month", *,
                duplicates_frame: pd.DataFrame | None = None, bounds: tuple | None = None,
                previous_bounds: tuple | None = None) -> pd.DataFrame:
    """The manager's KPIs with targets, for the period ending ``as_of``.

    One row per KPI of :data:`KPIS`: ``kpi`` (code; label with
    ``i18n.t("kpi_" + code)``), ``kind`` (rate/count/money/score),
    ``value``, ``previous`` (same KPI for the previous period; NA for
    snapshots that cannot be rebuilt), ``target`` (from Settings; NA when
    none), ``ok`` (value meets target: >= for most, NA without target or
    value).  Definitions:

    * revenue / orders: net amount / purchases (amount >= 0) of orders dated
      in the period; target ``target_revenue_month`` (month reports only,
      when > 0);
    * new_customers: customers created in the period; won_customers: deals
      won (closed) in the period;
    * lead_conversion (snapshot): customers at stage won / customers with a
      stage (:func:`funnel`), target ``target_lead_conversion``;
    * follow_up_compliance: :func:`cadence_compliance` as of the period end
      (customers created by then), target ``target_follow_up_compliance``;
    * overdue_tasks (snapshot): open tasks past due (:func:`tasks_by_owner`);
    * sla_compliance / satisfaction: :func:`ticket_sla` over tickets created in
      the period, targets ``target_sla_compliance`` / ``target_satisfaction``;
    * reach / open_rate / conversion / campaign_roi: :func:`campaign_kpis`
      over messages queued in the period, rates recomputed from the summed
      counts; targets ``target_reach`` / ``target_open`` / ``target_conversion``;
    * completeness (snapshot): :func:`completeness` overall, target
      ``completeness_target``;
    * duplicate_groups (snapshot): distinct groups of possible duplicates
      (:func:`duplicates`, ``attrs["groups"]``; pass ``duplicates_frame`` when
      it is already computed: matching phone numbers is the slow part).
    """
    as_of = ws.as_of(as_of) if as_of is None else pd.Timestamp(as_of)
    s = ws.settings
    bounds = bounds if bounds is not None else period_bounds(as_of, period)
    previous_bounds = previous_bounds if previous_bounds is not None else period_bounds(as_of, period, previous=True)
    cur = _period_values(ws, as_of, period, previous=False, bounds=bounds)
    prev = _period_values(ws, as_of, period, previous=True, bounds=previous_bounds)
    customers = ws["customers"]
    fn = stage_counts(customers)
    with_stage = fn["customers"].sum()
    cur["lead_conversion"] = _rate(fn.loc[fn["stage"] == "won", "customers"].sum(), with_stage)
    cur["overdue_tasks"] = int(tasks_by_owner(ws["tasks"], as_of)["overdue"].sum())
    comp = completeness(customers, float(s.get("completeness_target", 0.9)))
    cur["completeness"] = comp.attrs["overall"]
    dups = duplicates_frame if duplicates_frame is not None else duplicates(
        customers, s.get("dedupe_keys") or None, region=s.get("phone_region") or "CN")
    cur["duplicate_groups"] = int(dups.attrs["groups"])
    rows = []
    for code, (kind, tkey, higher) in KPIS.items():
        target = s.get(tkey) if tkey else None
        if code == "revenue" and (period != "month" or not target):
            target = None
        value = cur.get(code, np.nan)
        value = float(value) if value is not None and not pd.isna(value) else np.nan
        pv = prev.get(code, np.nan)
        pv = float(pv) if pv is not None and not pd.isna(pv) else np.nan
        tv = float(target) if target is not None and not pd.isna(target) else np.nan
        ok = pd.NA if (np.isnan(tv) or np.isnan(value)) else bool(value >= tv if higher else value <= tv)
        rows.append({"kpi": code, "kind": kind, "value": value, "previous": pv, "target": tv, "ok": ok})
    out = pd.DataFrame(rows)
    out["kpi"] = out["kpi"].astype("string")
    out["kind"] = out["kind"].astype("string")
    out["ok"] = out["ok"].astype("boolean")
    out.attrs.update(as_of=as_of, period=period, bounds=bounds, previous_bounds=previous_bounds)
    return out


# --------------------------------------------------------------------------- a workspace seen through filters

#: the sheets that belong to customers (kept for the chosen customers only)
CUSTOMER_SHEETS = ("orders", "interactions", "deals", "tickets", "messages")


class WorkspaceScope:
    """A workspace seen through a dashboard's filters, for every figure of the page alike.

    ``ws[entity]`` gives the chosen customers (``owner``, ``source`` and
    ``created`` = (start, end), both ends included), their orders,
    interactions, deals, tickets and messages; tasks of ``owner`` (and, when
    the customers are narrowed by source or creation date, of the chosen
    customers); every other sheet whole.  Everything else (settings,
    ``as_of()``, ``path`` ...) is the workspace's own, so :func:`kpi_summary`,
    :func:`funnel` and the rest work on it unchanged.
    """

    def __init__(self, ws, *, owner: str | None = None, source: str | None = None,
                 created: tuple[pd.Timestamp | None, pd.Timestamp] | None = None):
        self._ws = ws
        self.owner, self.source, self.created = owner, source, created
        customers = ws["customers"]
        keep = pd.Series(True, index=customers.index)
        if owner is not None:
            keep &= (_col(customers, "owner", "customers").astype("string") == str(owner)).fillna(False)
        if source is not None:
            keep &= (_col(customers, "source", "customers").astype("string") == str(source)).fillna(False)
        if created is not None:
            start, end = created
            when = _dt(customers, "created_at", "customers")
            inside = when <= pd.Timestamp(end)
            if start is not None:
                inside &= when >= pd.Timestamp(start)
            keep &= inside.fillna(False)
        self._keep = keep.to_numpy(dtype=bool)
        self.customer_ids = pd.Index(customers.loc[self._keep, "customer_id"].astype("string").dropna().unique())
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._frames:
            df = self._ws[key]
            if key == "customers":
                df = df[self._keep]
            elif key in CUSTOMER_SHEETS and "customer_id" in df.columns:
                df = df[df["customer_id"].astype("string").isin(self.customer_ids).fillna(False).to_numpy(dtype=bool)]
            elif key == "tasks":
                keep = pd.Series(True, index=df.index)
                if self.owner is not None:
                    keep &= (_col(df, "owner", "tasks").astype("string") == str(self.owner)).fillna(False)
                if self.source is not None or self.created is not None:
                    keep &= _col(df, "customer_id", "tasks").astype("string").isin(self.customer_ids).fillna(False)
                df = df[keep.to_numpy(dtype=bool)]
            self._frames[key] = df
        return self._frames[key]

    def __getattr__(self, name: str):
        return getattr(self._ws, name)

    def __repr__(self) -> str:
        return (f"<WorkspaceScope of {self._ws!r}: owner={self.owner!r} source={self.source!r} "
                f"created={self.created!r}, {len(self.customer_ids)} customers>")


def scope_workspace(ws, *, owner: str | None = None, source: str | None = None,
                    created: tuple[pd.Timestamp | None, pd.Timestamp] | None = None):
    """``ws`` restricted to the customers a dashboard's filters choose (:class:`WorkspaceScope`);
    ``ws`` itself when nothing is filtered.

    >>> kpi_summary(scope_workspace(ws, owner="王经理", source="website_form"), period="month")
    """
    if owner is None and source is None and created is None:
        return ws
    return WorkspaceScope(ws, owner=owner, source=source, created=created)
