"""The sales pipeline: funnel, conversion by source, stage durations, days to close, follow-up cadence."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..schema import STAGE
from .common import col_of, dt_column, ordered, ratio

#: The open-to-won path of the funnel, in order (``lost`` is off the path).
FUNNEL_STAGES: tuple[str, ...] = ("lead", "qualified", "proposal", "negotiation", "won")


def stage_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers per stage: ``stage`` (every code of STAGE, in order) and ``customers``.

    Customers with a blank stage are not counted.
    """
    stage = col_of(customers, "stage", "customers")
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
    conv[1:] = ratio(reached[1:], reached[:-1])
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
    from ..schema import SOURCE

    src = col_of(customers, "source", "customers")
    stage = col_of(customers, "stage", "customers")
    frame = pd.DataFrame({"source": src.astype("string"), "stage": stage.astype("string")}).dropna(subset=["source"])
    won = (frame["stage"] == "won").fillna(False)
    lost = (frame["stage"] == "lost").fillna(False)
    g = pd.DataFrame({"customers": 1, "won": won.astype("int64"), "lost": lost.astype("int64")},
                     index=frame.index).groupby(frame["source"]).sum()
    order = ordered(g.index, SOURCE.codes)
    g = g.reindex(order)
    out = pd.DataFrame({
        "source": pd.array(order, dtype="string"),
        "customers": g["customers"].to_numpy().astype("int64"),
        "won": g["won"].to_numpy().astype("int64"),
        "lost": g["lost"].to_numpy().astype("int64"),
    })
    out["open"] = out["customers"] - out["won"] - out["lost"]
    out["conversion"] = ratio(out["won"], out["customers"])
    return out



def _stage_code(values: pd.Series) -> pd.Series:
    """Stage codes from History text (codes or labels in either language)."""
    from ..normalize import to_enum

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
    ids = col_of(deals, "deal_id", "deals").astype("string")
    stage = col_of(deals, "stage", "deals").astype("string")
    created = dt_column(deals, "created_at", "deals")
    changed = dt_column(deals, "stage_changed_at", "deals").fillna(created)
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
    stage = col_of(deals, "stage", "deals").astype("string")
    created = dt_column(deals, "created_at", "deals")
    closed = dt_column(deals, "closed_at", "deals").fillna(dt_column(deals, "stage_changed_at", "deals")).fillna(created)
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
    stage = col_of(deals, "stage", "deals").astype("string")
    created = dt_column(deals, "created_at", "deals")
    closed = dt_column(deals, "closed_at", "deals").fillna(dt_column(deals, "stage_changed_at", "deals"))
    amount = pd.to_numeric(col_of(deals, "amount", "deals"), errors="coerce")
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



def _cadences(settings: Mapping | None) -> dict[str, pd.Timedelta]:
    from ..settings import defaults, parse_duration

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
    at = dt_column(interactions, "at", "interactions")
    cid = col_of(interactions, "customer_id", "interactions").astype("string")
    ok = (at.notna() & cid.notna() & (at <= as_of)).to_numpy(dtype=bool)
    ids = col_of(customers, "customer_id", "customers").astype("string")
    last_contact = pd.Series(_latest_per_id(ids, cid[ok], at[ok]), index=customers.index)
    from ..orderstore import is_relation, last_orders

    if is_relation(orders):          # an order source: DuckDB finds each customer's latest order
        orders = last_orders(orders, as_of)
    if orders is not None and len(orders):
        od = dt_column(orders, "order_date", "orders")
        ocid = col_of(orders, "customer_id", "orders").astype("string")
        ook = (od.notna() & ocid.notna() & (od <= as_of)).to_numpy(dtype=bool)
        last_order = pd.Series(_latest_per_id(ids, ocid[ook], od[ook]), index=customers.index)
        last_contact = pd.Series(np.fmax(last_contact.to_numpy(dtype="datetime64[ns]"),
                                         last_order.to_numpy(dtype="datetime64[ns]")), index=customers.index)
    last_contact = last_contact.fillna(dt_column(customers, "first_contact_at", "customers"))
    last_contact = last_contact.fillna(dt_column(customers, "created_at", "customers"))
    stage = col_of(customers, "stage", "customers").astype("string")
    cadence = stage.map({k: v for k, v in cad.items()})
    cadence = pd.to_timedelta(cadence, errors="coerce")
    due = last_contact + cadence
    out = pd.DataFrame({
        "customer_id": ids, "stage": stage, "owner": col_of(customers, "owner", "customers").astype("string"),
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
    out["compliance"] = ratio(out["on_cadence"], out["customers"])
    if key == "owner":
        out = out.sort_values(["overdue", "owner"], ascending=[False, True], ignore_index=True)
    return out
