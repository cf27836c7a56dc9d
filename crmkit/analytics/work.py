"""Tasks and tickets: overdue work by owner, task lists, ticket SLA compliance."""

from __future__ import annotations

import pandas as pd

from ..i18n import msg
from ..schema import TICKET_TYPE
from .common import col_of, dt_column, ordered, ratio


def _task_flags(tasks: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    status = col_of(tasks, "status", "tasks").astype("string")
    due = dt_column(tasks, "due_at", "tasks")
    done_at = dt_column(tasks, "done_at", "tasks")
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
    owner = col_of(tasks, "owner", "tasks").astype("string")
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
        from ..exceptions import UsageError

        raise UsageError(msg("e_task_list", when=repr(when)))
    flags = _task_flags(tasks, as_of)
    sel = {"today": flags["overdue"] | flags["due_today"], "overdue": flags["overdue"], "open": flags["open"]}[when]
    if owner is not None:
        sel &= (col_of(tasks, "owner", "tasks").astype("string") == owner).fillna(False)
    out = tasks[sel].copy()
    out["overdue"] = flags.loc[sel, "overdue"].to_numpy()
    due = dt_column(out, "due_at", "tasks")
    out["days_overdue"] = ((as_of - due).dt.total_seconds() // 86400).clip(lower=0).fillna(0).astype("int64")
    out.loc[~out["overdue"], "days_overdue"] = 0
    return out.sort_values("due_at", kind="stable", na_position="last")



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
    group = col_of(tickets, key, "tickets").astype("string")
    status = col_of(tickets, "status", "tickets").astype("string")
    due = dt_column(tickets, "sla_due_at", "tickets")
    resp = dt_column(tickets, "first_response_at", "tickets")
    created = dt_column(tickets, "created_at", "tickets")
    sat = pd.to_numeric(col_of(tickets, "satisfaction", "tickets"), errors="coerce").astype("float64")
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
        g = g.reindex(ordered(g.index, TICKET_TYPE.codes))
    else:
        g = g.sort_index()
    out = g.reset_index(names=key)
    out[key] = out[key].astype("string")
    for c in cols:
        out[c] = out[c].astype("float64" if c == "sat_sum" else "int64")
    out["pending"] = out["with_sla"] - out["met"] - out["breached"]
    out["compliance"] = ratio(out["met"], out["met"] + out["breached"])
    out["satisfaction"] = ratio(out["sat_sum"], out["rated"])
    out = out.drop(columns="sat_sum")
    return out[[key, "tickets", "open", "with_sla", "met", "breached", "pending", "compliance", "rated",
                "satisfaction", "low_satisfaction", "avg_response_hours"]]
