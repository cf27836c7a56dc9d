"""Per-page data of the dashboards: the joins and choices a page makes from the domain modules' frames.

Every number comes from :mod:`crmkit.analytics`, :mod:`crmkit.rfm`, :mod:`crmkit.clv`,
:mod:`crmkit.dedupe` or :mod:`crmkit.validate`; this module picks the rows
a page's filters choose, adds names to IDs, and lists the columns each
table shows (``*_COLUMNS``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..analytics import scope_workspace
from ..clv import WorkspaceCLV, workspace_clv
from ..dedupe import find_duplicates
from ..exceptions import DataError
from ..i18n import t as _t
from ..normalize import mask_contact
from ..schema import (
    ACTION,
    CHANNEL,
    ENTITIES,
    OUTCOME,
    RFM_SEGMENT,
    SOURCE,
    TASK_PRIORITY,
    TASK_STATUS,
    VALUE_TIER,
    Enum,
)
from ..validate import validate_workspace
from .context import Context
from .formatting import Card, column_label, display_frame, enum_label, esc
from .widgets import (
    ALL,
    enum_options,
    in_period,
    kpi_period_options,
    owner_options,
    period_bounds,
    period_options,
)


def trend_freq(period: str) -> tuple[str, int]:
    """The trend's bucket and length for a period filter: days for short periods, weeks, months."""
    return {"7d": ("D", 7), "30d": ("D", 30), "90d": ("W", 13), "365d": ("M", 12)}.get(period, ("M", 24))


def scoped(ctx: Context, period: str, owner: object, source: object):
    """The workspace as the Overview's filters choose it (:func:`crmkit.analytics.scope_workspace`):
    customers of ``owner`` from ``source`` created in ``period``; their orders, tickets, tasks ..."""
    start, end = period_bounds(period, ctx.as_of)
    return scope_workspace(ctx.ws, owner=None if owner in (None, "", ALL) else str(owner),
                           source=None if source in (None, "", ALL) else str(source),
                           created=None if start is None else (start, end))


def scope_note(lang: str, kpi_period: str, owner: object, source: object, period: str) -> str:
    """The line under the Overview's filters that says what every figure on the page covers."""
    who = _t("dash_all_owners", lang) if owner in (None, "", ALL) else str(owner)
    channel = _t("dash_all", lang) if source in (None, "", ALL) else enum_label(SOURCE, source, lang)
    created = dict((v, k) for k, v in period_options(lang)).get(period, str(period))
    kpi = dict((v, k) for k, v in kpi_period_options(lang)).get(kpi_period, str(kpi_period))
    text = _t("dash_scope", lang).format(owner=who, channel=channel, created=created, kpi_period=kpi)
    return f'<div class="crmkit-scope" data-scope="1">{esc(text)}</div>'


# --------------------------------------------------------------------------- dashboard tables

TASK_COLUMNS = ["task_id", "title", "customer_name", "due_at", "priority", "days_overdue", "created_by"]
FOLLOW_UP_COLUMNS = ["customer_id", "name", "contact_name", "phone", "stage", "last_contact", "due_at", "days_late"]
ACTION_COLUMNS = ["at", "rule_id", "rule_name", "record_id", "customer_name", "action", "outcome", "detail"]
CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "target_count", "sent", "opened", "clicked", "converted", "bounced",
                    "unsubscribed", "reach", "target_reach",
                    "open_rate", "target_open", "conversion", "target_conversion", "revenue", "cost", "roi",
                    "below_target"]
SEGMENT_COLUMNS = ["customer_id", "name", "contact_name", "phone", "email", "owner", "stage", "recency_days",
                   "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "value_tier"]
DUPLICATE_COLUMNS = ["group", "key", "match_value", "customer_id", "name", "contact_name", "phone", "email", "owner"]
ISSUE_COLUMNS = ["sheet", "row", "column", "value", "severity", "reason"]
ISSUE_COUNT_COLUMNS = ["sheet", "column", "severity", "problems"]


def under_performance(kpis: pd.DataFrame, lang: str) -> pd.Series:
    """Per campaign, the rates below target in words ('' when on target everywhere)."""
    parts = []
    for col, key in (("reach_ok", "col_reach"), ("open_ok", "col_open_rate"), ("conversion_ok", "col_conversion")):
        miss = (kpis[col] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712 - NA stays unflagged
        parts.append(np.where(miss, _t(key, lang), ""))
    joined = ["、".join(p for p in row if p) if lang == "zh" else ", ".join(p for p in row if p)
              for row in zip(*parts)] if parts and len(kpis) else []
    return pd.Series(joined, index=kpis.index, dtype="string")


def task_enums() -> dict[str, Enum]:
    return {"priority": TASK_PRIORITY, "status": TASK_STATUS}


def default_rep(ctx: Context) -> str | None:
    """The rep a 'My day' page opens on: the first rep of the Team sheet who has open tasks, else the first one."""
    options = [v for _, v in owner_options(ctx, ctx.lang, include_all=False)]
    if not options:
        return None
    if ctx.role == "rep" and ctx.user in options:       # team mode: a rep's own day
        return ctx.user
    team = ctx.ws["team"]
    reps = team.loc[team["role"].astype("string") == "rep", "name"].astype(str).tolist() if "role" in team else []
    tasks = ctx.ws["tasks"]
    busy = set(tasks.loc[(tasks["status"].astype("string") == "open").fillna(False), "owner"].dropna().astype(str))
    for name in reps + options:
        if name in busy and name in options:
            return name
    return reps[0] if reps and reps[0] in options else options[0]


def mark_done(ctx: Context, task_id: str, owner: str | None) -> bool:
    """Mark ``task_id`` done from the My day page: in team mode only a task of the visitor's scope,
    recorded in History as done by the signed-in member (the write goes to the whole workspace)."""
    from ..exceptions import UsageError
    from ..i18n import msg
    from ..tasks import mark_task_done

    if ctx.user is not None:
        tasks = ctx.ws["tasks"]
        if not (tasks["task_id"].astype("string") == str(task_id)).fillna(False).any():
            raise UsageError(msg("e_scope_task", task=task_id))
    return mark_task_done(ctx.path, task_id, by=ctx.user or owner)


def customer_names(customers: pd.DataFrame) -> pd.Series:
    return customers.drop_duplicates("customer_id").set_index("customer_id")["name"]


def with_customer_names(frame: pd.DataFrame, customers: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
    """``frame`` plus ``customer_name`` looked up from ``customers`` by ``column``."""
    out = frame.copy()
    names = customer_names(customers)
    out["customer_name"] = names.reindex(out[column].astype("string")).to_numpy() if len(out) else pd.Series(
        dtype="string")
    return out


def task_options(open_tasks: pd.DataFrame, lang: str) -> list[tuple[str, str]]:
    """(label, task_id) pairs for the 'mark done' picker: soonest due first."""
    if open_tasks.empty:
        return [(_t("dash_no_open_tasks", lang), "")]
    due = open_tasks["due_at"].dt.strftime("%m-%d %H:%M").fillna("")
    labels = open_tasks["task_id"].astype(str) + " · " + open_tasks["title"].fillna("").astype(str) + " · " + due
    return list(zip(labels.tolist(), open_tasks["task_id"].astype(str).tolist()))


def follow_ups_due(status: pd.DataFrame, customers: pd.DataFrame, owner: str | None,
                   as_of: pd.Timestamp) -> pd.DataFrame:
    """Customers of ``owner`` past their stage's follow-up cadence (rows of
    :func:`crmkit.analytics.cadence_status` with ``on_cadence`` False), most late first, with contact
    details and ``days_late`` (whole days since the follow-up was due)."""
    late = status[~status["on_cadence"].astype(bool)]
    if owner not in (None, ALL):
        late = late[(late["owner"] == owner).fillna(False).to_numpy(dtype=bool)]
    info = customers.drop_duplicates("customer_id").set_index("customer_id")
    out = late[["customer_id", "stage", "last_contact", "due_at"]].copy()
    ids = out["customer_id"].astype("string")
    for col in ("name", "contact_name", "phone"):
        out[col] = info[col].reindex(ids).to_numpy() if col in info else None
    out["days_late"] = ((pd.Timestamp(as_of) - out["due_at"]).dt.total_seconds() // 86400).astype("Int64")
    return out.sort_values("due_at", kind="stable")


def rule_actions(rule_log: pd.DataFrame, rules: pd.DataFrame, customer_ids: pd.Series, period: str,
                 as_of: pd.Timestamp, limit: int = 50) -> pd.DataFrame:
    """RuleLog rows about the given customers (entity customers) in the period, latest first, with rule names."""
    log = rule_log
    about = (log["entity"].astype("string").isin(["customers", "customer"]).fillna(False)
             & log["record_id"].astype("string").isin(customer_ids.astype("string")).fillna(False))
    when = in_period(log["at"], period, as_of) & (pd.to_datetime(log["at"], errors="coerce") <= as_of).fillna(True)
    out = log[about & when].sort_values("at", ascending=False).head(limit).copy()
    names = rules.drop_duplicates("rule_id").set_index("rule_id")["name"] if len(rules) else pd.Series(dtype="string")
    out["rule_name"] = names.reindex(out["rule_id"].astype("string")).to_numpy() if len(out) else pd.Series(
        dtype="string")
    return out


def with_record_names(log: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """RuleLog rows plus ``customer_name`` for rows about a customer."""
    return with_customer_names(log, customers, column="record_id")


def with_customers(scores: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """RFM scores (indexed by customer_id) joined to the customers' own columns, one row per customer."""
    base = customers.drop_duplicates("customer_id").drop(
        columns=[c for c in scores.columns if c in customers.columns and c != "customer_id"])
    sc = scores.copy()
    if "customer_id" not in sc.columns:
        sc = sc.rename_axis("customer_id").reset_index()
    sc["customer_id"] = sc["customer_id"].astype("string")
    base = base.assign(customer_id=base["customer_id"].astype("string"))
    return base.merge(sc, on="customer_id", how="left")


def segment_options(lang: str) -> list[tuple[str, str]]:
    return enum_options(RFM_SEGMENT, lang, "dash_all_segments")


def segment_name(code: str, lang: str) -> str:
    return _t("dash_all_segments", lang) if code in (None, "", ALL) else enum_label(RFM_SEGMENT, code, lang)


def tier_name(code: str, lang: str) -> str:
    return enum_label(VALUE_TIER, code, lang)


def invalid_values(ws) -> pd.DataFrame:
    """Every problem :func:`crmkit.validate.validate_workspace` finds (file, sheet, row, column, value,
    severity, reason), for the data quality page."""
    return validate_workspace(ws).issues


def issues_of(issues: pd.DataFrame, customers: pd.DataFrame, everything: bool) -> pd.DataFrame:
    """The issues of the chosen customers' rows (Customers sheet) — or all issues when nothing is filtered."""
    if everything or issues.empty:
        return issues
    sheet_names = {ENTITIES["customers"].en, ENTITIES["customers"].zh}
    rows = pd.to_numeric(issues["row"], errors="coerce")
    keep = issues["sheet"].astype("string").isin(sheet_names).fillna(False) & rows.isin(customers.index)
    return issues[keep.to_numpy(dtype=bool)]


def issue_counts(issues: pd.DataFrame) -> pd.DataFrame:
    """Problems per sheet, column and severity, most first."""
    if issues.empty:
        return pd.DataFrame(columns=["sheet", "column", "severity", "problems"])
    g = issues.groupby(["sheet", "column", "severity"], dropna=False).size().rename("problems").reset_index()
    return g.sort_values("problems", ascending=False, kind="stable", ignore_index=True)


def issue_frame(issues: pd.DataFrame, lang: str, columns: Sequence[str] = tuple(ISSUE_COLUMNS),
                show_full_contacts: bool = False) -> pd.DataFrame:
    """Problems (or their counts) as a table for people: severity in words, headers in ``lang``,
    phone numbers and e-mails masked like everywhere else."""
    out = issues.copy()
    if not show_full_contacts and {"field", "value"} <= set(out.columns):
        contact = out["field"].astype("string").isin(["phone", "email"]).fillna(False).to_numpy(dtype=bool)
        out["value"] = out["value"].astype("string").where(~contact, mask_contact(out["value"]))
    if "severity" in out:
        out["severity"] = out["severity"].map(lambda v: _t(str(v), lang) if isinstance(v, str) else v)
    return display_frame(out, lang, columns=list(columns))


def duplicate_rows(customers: pd.DataFrame, keys=None, show_full_contacts: bool = False,
                   lang: str = "en", region: str | None = None) -> pd.DataFrame:
    """The customers in duplicate groups (:func:`crmkit.dedupe.find_duplicates`) with their details;
    matching phone numbers and e-mails are masked like the contact columns.  ``region`` is
    Settings ``phone_region`` (how numbers without a country code are read; CN when None)."""
    found = find_duplicates(customers, keys=keys, region=region or "CN")
    if found is None or not len(found):
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    info = customers.drop_duplicates("customer_id").set_index("customer_id")
    out = found.copy()
    for col in ("name", "contact_name", "phone", "email", "owner"):
        out[col] = info[col].reindex(out["customer_id"].astype("string")).to_numpy()
    if not show_full_contacts:
        contact = out["key"].astype("string").isin(["phone", "email"]).fillna(False).to_numpy(dtype=bool)
        out["match_value"] = out["match_value"].astype("string").where(~contact, mask_contact(out["match_value"]))
    out["key"] = out["key"].astype("string").map(lambda k: _t(f"key_{k}", lang) if isinstance(k, str) else k)
    return out.sort_values(["group", "customer_id"], kind="stable", ignore_index=True)


def action_enums() -> dict[str, Enum]:
    return {"action": ACTION, "outcome": OUTCOME}


def campaign_frame(kpis: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The campaign table: :func:`crmkit.analytics.campaign_kpis` plus the rates below target, in ``lang``."""
    shown = kpis.rename(columns={"target": "target_count"}).assign(below_target=under_performance(kpis, lang))
    return display_frame(shown, lang, entity="campaigns", columns=CAMPAIGN_COLUMNS)


# --------------------------------------------------------------------------- launching a campaign

PLAN_SAMPLE_COLUMNS = ["customer_id", "name", "address", "subject", "text"]


def campaign_options(campaigns: pd.DataFrame) -> list[tuple[str, str]]:
    """The campaign picker: ``CP01 · name`` for each campaign with an ID (sheet order)."""
    ids = campaigns["campaign_id"].astype("string").str.strip()
    names = campaigns["name"].astype("string").fillna("")
    return [(f"{i} · {n}".rstrip(" ·"), str(i)) for i, n in zip(ids, names) if isinstance(i, str) and i]


def campaign_plan_html(plan, lang: str, *, show_full_contacts: bool = False) -> str:
    """A :class:`crmkit.delivery.campaign.CampaignPlan` on the page: audience, already, suppressed,
    to queue (cards), the suppressions by reason, and the sample messages (contacts masked)."""
    from .formatting import Card, cards_html, table_html

    queued_key = "camp_queued" if plan.launched else "camp_to_queue"
    cards = cards_html([
        Card("audience", _t("camp_audience", lang), plan.audience, "int"),
        Card("already", _t("camp_already", lang), plan.already, "int"),
        Card("suppressed", _t("camp_suppressed", lang), sum(plan.suppressed.values()), "int"),
        Card("queued" if plan.launched else "to_queue", _t(queued_key, lang), plan.queued, "int"),
    ], lang)
    labels = plan.reason_labels(lang)
    reasons = "".join(f'<li data-reason="{esc(code)}" data-count="{n}">{esc(labels[code])}: {n}</li>'
                      for code, n in plan.suppressed.items())
    when = f"{plan.scheduled_at:%Y-%m-%d %H:%M}"
    head = _t("camp_title", lang).format(id=plan.campaign_id, name=plan.name,
                                          channel=enum_label(CHANNEL, plan.channel, lang),
                                          as_of=f"{plan.as_of:%Y-%m-%d %H:%M}")
    samples = pd.DataFrame(plan.samples, columns=PLAN_SAMPLE_COLUMNS)
    if not show_full_contacts and len(samples):
        samples["address"] = mask_contact(samples["address"])
    shown = samples.rename(columns={"customer_id": column_label("customer_id", lang, "customers"),
                                    "name": column_label("name", lang, "customers"),
                                    "address": _t("camp_address", lang), "subject": _t("camp_subject", lang),
                                    "text": _t("camp_text", lang)})
    if plan.channel != "email":
        shown = shown.drop(columns=[_t("camp_subject", lang)])
    return (f'<div class="crmkit-campaign-plan" data-campaign="{esc(plan.campaign_id)}" '
            f'data-audience="{plan.audience}" data-already="{plan.already}" '
            f'data-suppressed="{sum(plan.suppressed.values())}" data-queued="{plan.queued}" '
            f'data-launched="{int(plan.launched)}">'
            f'<div class="crmkit-note">{esc(head)} · {esc(_t("camp_scheduled_at", lang))} {esc(when)}</div>'
            f"{cards}"
            + (f'<ul class="crmkit-reasons">{reasons}</ul>' if reasons else "")
            + f'<div class="crmkit-h2">{esc(_t("camp_samples", lang))}</div>'
            + table_html(shown, table_id="crmkit-campaign-samples", empty=_t("camp_no_samples", lang), lang=lang)
            + "</div>")


# --------------------------------------------------------------------------- CLV view (Customers & RFM)

CLV_TOP_COLUMNS = ["customer_id", "name", "owner", "rfm_segment", "p_alive", "expected_purchases", "expected_spend",
                   "clv"]
CLV_CALL_COLUMNS = ["customer_id", "name", "contact_name", "phone", "owner", "days_since_purchase", "p_alive", "clv",
                    "value_at_risk"]
#: how each CLV column is shown (formatting.fmt_value kinds)
CLV_KINDS = {"p_alive": "pct", "expected_purchases": "number", "expected_spend": "money", "clv": "money",
             "value_at_risk": "money", "days_since_purchase": "days"}


def clv_or_reason(ws, as_of: object) -> tuple[WorkspaceCLV | None, DataError | None]:
    """:func:`crmkit.clv.workspace_clv` for the CLV view, or the error saying why the orders cannot be fitted
    (no purchases, too few repeat buyers, every amount the same): the view shows it instead of numbers."""
    try:
        return workspace_clv(ws, as_of), None
    except DataError as exc:
        return None, exc


def clv_notice_html(error: DataError, lang: str) -> str:
    """The reason the CLV view has no numbers, in ``lang``."""
    return f'<div class="crmkit-note crmkit-clv-msg">ⓘ {esc(error.text(lang))}</div>'


def clv_view(result: WorkspaceCLV, customers: pd.DataFrame, lang: str, *, n: int = 10,
             show_full_contacts: bool = False) -> tuple[list[Card], pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The CLV view for the customers a page's filters chose (rows of ``customers``, with customer_id).

    Returns the cards (total CLV, expected purchases within the horizon, mean P(alive) of the buyers,
    repeat buyers), the top ``n`` customers by CLV, the top ``n`` of the call list
    (:meth:`WorkspaceCLV.call_list`) and the formats of their columns, headers in ``lang``.
    """
    ids = customers["customer_id"].astype("string").drop_duplicates()
    table = result.table.reindex(ids.to_numpy())
    bought = table["T"].notna()
    cards = [
        Card("clv_total", _t("clv_total", lang), float(table["clv"].sum()), "money"),
        Card("clv_purchases", _t("clv_total_purchases", lang), float(table["expected_purchases"].sum()), "number"),
        Card("clv_p_alive", _t("clv_mean_p_alive", lang),
             float(table.loc[bought, "p_alive"].mean()) if bought.any() else None, "pct"),
        Card("clv_repeat_buyers", _t("col_repeat_buyers", lang), int((table["frequency"] > 0).sum()), "int"),
    ]
    base = customers.drop_duplicates("customer_id").assign(customer_id=lambda d: d["customer_id"].astype("string"))
    base = base.drop(columns=[c for c in result.table.columns if c in base.columns])
    top = table[bought].sort_values("clv", ascending=False, kind="stable").head(n)
    top = top.rename_axis("customer_id").reset_index().merge(base, on="customer_id", how="left")
    calls = result.call_list(len(result.table))
    calls = calls[calls.index.isin(ids)].head(n)
    calls = calls.rename_axis("customer_id").reset_index().merge(base, on="customer_id", how="left")
    kinds = {column_label(c, lang, "customers"): k for c, k in CLV_KINDS.items()}
    return (cards,
            display_frame(top, lang, entity="customers", columns=CLV_TOP_COLUMNS),
            display_frame(calls, lang, entity="customers", columns=CLV_CALL_COLUMNS,
                          show_full_contacts=show_full_contacts),
            kinds)
