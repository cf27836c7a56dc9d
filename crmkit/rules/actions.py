"""Rule actions, registered by name.

An action receives a :class:`RuleRun` (the rule, its parameters, the
records that matched and the engine's working tables) and returns one row
per record: ``record_id, customer_id, outcome, detail, target``.  Side
effects go through the run (``run.add_rows`` for new tasks, tickets and
messages; ``run.set_values`` for field changes, which also writes History),
so a dry run can plan everything and write nothing.  A new action is one
decorated function::

    @action("create_task", params=("title", "due", "to", "priority", "notes"))
    def create_task(run): ...

Choices made here (DESIGN §4 is silent):

* ``notify`` and ``escalate`` have no mail server to use.  They are logged in
  RuleLog (detail holds recipient and text) *and* create a light task for the
  recipient (title = the text, due at once, ``created_by rule:<id>``) so the
  note shows in "My day"; ``task=no`` turns the task off.  A ``cc`` is only
  logged.  ``to=owner`` on a record without an owner falls back to the
  manager (Team sheet).
* ``queue_message`` with ``channel=preferred`` uses the customer's preferred
  channel; ``phone`` becomes SMS, blank becomes e-mail.  Messages without an
  address for their channel are suppressed (no e-mail / no phone), as are
  marketing messages to unsubscribed or non-consenting customers and those
  over the daily cap.  Suppressed messages are kept as Messages rows with
  their reason, and logged.  A message held back by the daily cap is logged
  as ``skipped``: the rule tries again on a later day (other suppressions
  count as handled for the rule's period).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..delivery.guards import blocked, marketing_count, over_cap, reason_label
from ..delivery.render import MessageTemplate
from ..exceptions import ExpressionError, TemplateError
from ..i18n import msg, t
from ..schema import CHANNEL, ENTITIES, TASK_PRIORITY, TICKET_PRIORITY, TICKET_TYPE, Field, norm_token
from .params import duration, flag

if TYPE_CHECKING:  # pragma: no cover
    from .engine import RuleRun

ACTIONS: dict[str, Callable[[RuleRun], pd.DataFrame]] = {}
#: The parameters each action understands (a typo is reported instead of ignored).
ACTION_PARAMS: dict[str, tuple[str, ...]] = {}


def action(name: str, params: tuple[str, ...] | None = None):
    """Register an action under ``name`` (``params``: the parameter names it accepts; None = any)."""
    def deco(fn):
        ACTIONS[name] = fn
        if params is not None:
            ACTION_PARAMS[name] = params
        return fn
    return deco


# --------------------------------------------------------------------------- helpers

def render(template: str | None, run: RuleRun) -> pd.Series:
    """Fill ``{field}`` placeholders from each matched record through the sandboxed renderer.

    A placeholder that names no field is an error of the rule (found by a dry run), never a
    half-rendered message or task.
    """
    idx = run.rows
    if template is None:
        return pd.Series("", index=idx, dtype="object")
    fields = run.ctx.fields
    try:
        tpl = MessageTemplate(template, lambda name: fields.resolve(name.strip()), known=list(fields.fields))
        values = pd.DataFrame({key: display(run.column(key), fields.field(key), run.lang) for key in tpl.fields},
                              index=idx)
        return tpl.render_frame(values, ids=run.record_ids())
    except (TemplateError, KeyError) as exc:
        text = exc.message if isinstance(exc, TemplateError) else msg("e_tpl_field", name=str(exc), known="-")
        raise ExpressionError(text, rule_id=run.rule.rule_id) from None


def display(s: pd.Series, f: Field | None, lang: str) -> pd.Series:
    """Values as a user reads them: labels for codes, dates as yyyy-mm-dd, blanks as ''."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        has_time = (s.dropna() != s.dropna().dt.normalize()).any()
        text = s.dt.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d")
        return text.astype("object").where(s.notna(), "")
    if f is not None and f.enum is not None:
        if f.type == "bool":
            yes, no = t("yes", lang), t("no", lang)
            return s.map(lambda v: "" if pd.isna(v) else (yes if v else no)).astype("object")
        labels = {c.code: c.label(lang) for c in f.enum.choices}
        return s.astype("object").map(lambda v: "" if v is None or v is pd.NA or v != v else labels.get(v, str(v)))
    if pd.api.types.is_float_dtype(s.dtype):
        return s.map(lambda v: "" if pd.isna(v) else (f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}")) \
            .astype("object")
    return s.astype("object").map(lambda v: "" if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                                  else str(v))


def _choice(value: str | None, enum, default: str, name: str, run: RuleRun) -> str:
    if value is None or not str(value).strip():
        return default
    code = enum.lookup.get(norm_token(value))
    if code is None:
        raise ExpressionError(msg("e_p_choice", name=name, value=repr(value), codes=", ".join(enum.codes)),
                              rule_id=run.rule.rule_id)
    return code


def recipients(run: RuleRun, spec: str | None, *, default: str = "owner") -> pd.Series:
    """Who ``to=owner|manager|<name>`` means for each matched record (owner falls back to manager)."""
    spec = (spec or default).strip()
    low = spec.lower()
    if low in ("owner", "负责人", "assignee"):
        owner = run.owner()
        return owner.fillna(run.default_manager())
    if low in ("manager", "主管", "经理"):
        return run.manager_of(run.owner())
    return pd.Series(spec, index=run.rows, dtype="object")


def _result(run: RuleRun, outcome, detail, target=None) -> pd.DataFrame:
    idx = run.rows
    return pd.DataFrame({
        "record_id": run.record_ids().to_numpy(),
        "customer_id": run.customer_ids().to_numpy(),
        "outcome": outcome if not isinstance(outcome, pd.Series) else outcome.to_numpy(),
        "detail": detail.to_numpy() if isinstance(detail, pd.Series) else detail,
        "target": (target.to_numpy() if isinstance(target, pd.Series) else target) if target is not None else None,
    }, index=idx)


def _fmt_time(ts) -> str:
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- tasks and tickets

@action("create_task", params=("title", "due", "to", "priority", "notes"))
def create_task(run: RuleRun) -> pd.DataFrame:
    p = run.params
    due = duration(p.get("due", "1d"), name="due", rule_id=run.rule.rule_id)
    priority = _choice(p.get("priority"), TASK_PRIORITY, "normal", "priority", run)
    title = render(p.get("title") or run.rule.name, run)
    owner = recipients(run, p.get("to"))
    notes = render(p["notes"], run) if p.get("notes") else None
    return _tasks(run, title, owner, run.as_of + due, priority, notes)


def _tasks(run, title, owner, due_at, priority, notes=None, *, detail_prefix=""):
    action_word = t("run_task", run.lang)
    ok = owner.notna() & (owner.astype("string").str.strip() != "").fillna(False)
    n = int(ok.sum())
    ids = pd.Series(pd.NA, index=run.rows, dtype="object")
    if n:
        ids[ok] = run.new_ids("tasks", n)
        rows = pd.DataFrame({
            "task_id": ids[ok].to_numpy(),
            "customer_id": run.customer_ids()[ok].to_numpy(),
            "title": title[ok].to_numpy(),
            "owner": owner[ok].to_numpy(),
            "due_at": pd.Timestamp(due_at),
            "status": "open",
            "priority": priority,
            "created_by": f"rule:{run.rule.rule_id}",
            "created_at": run.as_of,
        })
        if notes is not None:
            rows["notes"] = notes[ok].to_numpy()
        run.add_rows("tasks", rows)
    due_txt = _fmt_time(due_at)
    detail = (detail_prefix + action_word + " " + ids.astype("string").fillna("") + " " + t("run_for", run.lang) + " "
              + owner.astype("string").fillna("") + ", " + t("run_due", run.lang) + " " + due_txt + ": " + title)
    detail = detail.where(ok, t("reason_no_recipient", run.lang) + ": " + title)
    outcome = pd.Series(np.where(ok, "done", "failed"), index=run.rows)
    return _result(run, outcome, detail, ids)


@action("create_ticket", params=("type", "priority", "sla", "title", "to"))
def create_ticket(run: RuleRun) -> pd.DataFrame:
    p = run.params
    typ = _choice(p.get("type"), TICKET_TYPE, "inquiry", "type", run)
    priority = _choice(p.get("priority"), TICKET_PRIORITY, "normal", "priority", run)
    sla = duration(p.get("sla", "24h"), name="sla", rule_id=run.rule.rule_id)
    title = render(p.get("title") or run.rule.name, run)
    assignee = recipients(run, p.get("to"))
    cust = run.customer_ids()
    ok = cust.notna()
    n = int(ok.sum())
    ids = pd.Series(pd.NA, index=run.rows, dtype="object")
    if n:
        ids[ok] = run.new_ids("tickets", n)
        run.add_rows("tickets", pd.DataFrame({
            "ticket_id": ids[ok].to_numpy(), "customer_id": cust[ok].to_numpy(), "title": title[ok].to_numpy(),
            "type": typ, "priority": priority, "status": "open", "assignee": assignee[ok].to_numpy(),
            "created_at": run.as_of, "sla_due_at": run.as_of + sla,
        }))
    detail = (t("run_ticket", run.lang) + " " + ids.astype("string").fillna("") + " (" + TICKET_TYPE.label(typ, run.lang)
              + ", " + TICKET_PRIORITY.label(priority, run.lang) + ", " + t("run_sla", run.lang) + " "
              + _fmt_time(run.as_of + sla) + ") " + t("run_for", run.lang) + " " + assignee.astype("string").fillna("-")
              + ": " + title)
    detail = detail.where(ok, t("reason_no_customer", run.lang))
    return _result(run, pd.Series(np.where(ok, "done", "failed"), index=run.rows), detail, ids)


# --------------------------------------------------------------------------- notifications

@action("notify", params=("to", "cc", "text", "message", "task", "due"))
def notify(run: RuleRun) -> pd.DataFrame:
    p = run.params
    text = render(p.get("text") or p.get("message") or run.rule.name, run)
    to = recipients(run, p.get("to"))
    return _note(run, to, text, p, priority="normal", word="notify")


@action("escalate", params=("to", "cc", "text", "task", "due"))
def escalate(run: RuleRun) -> pd.DataFrame:
    p = run.params
    text = render(p.get("text") or run.rule.name, run)
    to = recipients(run, p.get("to"), default="manager")
    return _note(run, to, text, p, priority="high", word="escalate")


def _note(run, to, text, p, *, priority, word):
    cc = recipients(run, p["cc"]) if p.get("cc") else None
    head = t("run_to", run.lang) + " " + to.astype("string").fillna("-")
    if cc is not None:
        head = head + " (" + t("run_cc", run.lang) + " " + cc.astype("string").fillna("-") + ")"
    detail = head + ": " + text
    ok = to.notna() & (to.astype("string").str.strip() != "").fillna(False)
    if flag(p.get("task"), True):
        due = run.as_of + duration(p.get("due", "0m"), name="due", rule_id=run.rule.rule_id)
        res = _tasks(run, text, to, due, priority, notes=detail)
        res["detail"] = np.where(ok, (detail + " [" + res["target"].astype("string").fillna("") + "]").to_numpy(),
                                 res["detail"].to_numpy())
        return res
    outcome = pd.Series(np.where(ok, "done", "failed"), index=run.rows)
    return _result(run, outcome, detail.where(ok, t("reason_no_recipient", run.lang) + ": " + text))


# --------------------------------------------------------------------------- fields and tags

@action("add_tag", params=("tag", "tags"))
def add_tag(run: RuleRun) -> pd.DataFrame:
    return _tag(run, add=True)


@action("remove_tag", params=("tag", "tags"))
def remove_tag(run: RuleRun) -> pd.DataFrame:
    return _tag(run, add=False)


def _tag(run: RuleRun, *, add: bool) -> pd.DataFrame:
    tags = [x.strip() for x in re.split(r"[;,，；]", run.params.get("tag") or run.params.get("tags") or "") if x.strip()]
    if not tags:
        raise ExpressionError(msg("e_p_missing", name="tag"), rule_id=run.rule.rule_id)
    cust_rows = run.customer_rows()
    cur = run.runner.frames["customers"].loc[cust_rows.dropna().to_numpy(), "tags"].astype("string")
    new = cur.fillna("")
    from .defaults import tag_spellings

    for tag in tags:
        forms = tag_spellings(tag)        # a default tag and its label are one tag (to_reactivate, 待激活)
        norm = ";" + new.str.casefold() + ";"
        has = pd.Series(False, index=new.index)
        for low in forms:
            has = has | norm.str.contains(";" + low + ";", regex=False)
        if add:
            new = new.where(has, (new + ";" + tag).str.strip(";"))
        else:
            parts = new.str.split(";")
            new = parts.map(lambda xs, forms=forms: ";".join(x for x in xs if x.strip().casefold() not in forms))
    new = new.astype("string").replace("", pd.NA)
    run.set_values("customers", new.index, "tags", new)
    ok = cust_rows.notna()
    word = "+" if add else "-"
    detail = pd.Series(f"{t('run_tags', run.lang)} {word} " + ";".join(tags), index=run.rows).where(ok, t("reason_no_customer", run.lang))
    return _result(run, pd.Series(np.where(ok, "done", "failed"), index=run.rows), detail)


@action("set", params=("field", "value"))
def set_field(run: RuleRun) -> pd.DataFrame:
    from ..io.typing import convert_column

    p = run.params
    name = p.get("field")
    if not name:
        raise ExpressionError(msg("e_p_missing", name="field"), rule_id=run.rule.rule_id)
    key = run.ctx.fields.resolve(name)
    target_entity = run.rule.entity
    if key is not None and key in run.ctx.fields.customer_fields and not ENTITIES[target_entity].has(key):
        target_entity, key = "customers", run.ctx.fields.customer_fields[key]
    ent = ENTITIES[target_entity]
    fields = {f.key: f for f in run.runner.ws_fields(target_entity)}
    if key is None or key not in fields or fields[key].derived or key == ent.id_field:
        raise ExpressionError(msg("e_p_not_settable", name=repr(name), entity=target_entity),
                              rule_id=run.rule.rule_id)
    f = fields[key]
    raw = p.get("value", "")
    if f.type in ("date", "datetime") and str(raw).strip().lower() in ("now", "today", "现在", "今天"):
        value = run.as_of.normalize() if f.type == "date" else run.as_of
        values = pd.Series(value, index=[0], dtype="datetime64[ns]")
    else:
        values, bad = convert_column(pd.Series([raw], dtype="object"), f)
        if bad.iloc[0]:
            raise ExpressionError(msg("e_p_value_fit", value=repr(raw), field=key, type=f.type),
                                  rule_id=run.rule.rule_id)
    v = values.iloc[0]
    if target_entity == run.rule.entity:
        rows = pd.Series(run.rows, index=run.rows)
    else:
        rows = run.customer_rows()
    ok = rows.notna()
    # a cell holding the user's formula is theirs: never overwritten, so the rule is skipped there
    held = ok & rows.isin(list(_formula_rows(run, target_entity, key)))
    ok_set = ok & ~held
    new = pd.Series([v] * int(ok_set.sum()), index=rows[ok_set].to_numpy(), dtype=values.dtype)
    run.set_values(target_entity, new.index, key, new)
    shown = display(values, f, run.lang).iloc[0]
    detail = pd.Series(f"{f.header(run.lang)} = {shown}", index=run.rows).where(ok, t("reason_no_customer", run.lang))
    if held.any():
        detail = detail.where(~held.to_numpy(), t("reason_formula_cell", run.lang).format(field=f.header(run.lang)))
    outcome = np.select([held.to_numpy(), ok.to_numpy()], ["skipped", "done"], "failed")
    return _result(run, pd.Series(outcome, index=run.rows), detail)


def _formula_rows(run: RuleRun, entity: str, key: str) -> set:
    """Rows (Excel row numbers, the frame's index) of ``entity`` whose ``key`` cell holds a formula."""
    cache = run.runner.__dict__.setdefault("_formula_rows", {})
    if entity not in cache:
        found: dict[str, set[int]] = {}
        ws = run.runner.ws
        try:
            from ..io.formulas import entity_formula_rows

            ent = ws.entity(entity) if hasattr(ws, "entity") else ENTITIES[entity]
            found = entity_formula_rows(ws.file(ent.workbook), ent)
        except Exception:  # noqa: BLE001 - no workbook on disk (a frame in memory): no formula cells
            found = {}
        cache[entity] = found
    return cache[entity].get(key, set())


# --------------------------------------------------------------------------- assignment

@action("assign_owner", params=("by", "among", "to"))
def assign_owner(run: RuleRun) -> pd.DataFrame:
    p = run.params
    by = (p.get("by") or "routing").strip().lower()
    among = [x.strip() for x in re.split(r"[,，;；]", p.get("among", "")) if x.strip()] or None
    owners = pd.Series(pd.NA, index=run.rows, dtype="object")
    how = pd.Series("", index=run.rows, dtype="object")
    if by == "routing":
        routing = run.runner.routing()
        todo = pd.Series(True, index=run.rows)
        for i, (match, spec) in enumerate(routing):
            if not todo.any():
                break
            if match:
                sub = run.ctx.frame.loc[todo[todo].index]
                try:
                    expr = run.runner.compile(match, run.rule.entity)
                    hit = expr.evaluate(sub, run.ctx)
                except ExpressionError as exc:
                    run.runner.error(run.rule.rule_id, msg("e_run_routing", row=i + 2, detail=exc.message), exc.position)
                    continue
                rows = hit[hit].index
            else:
                rows = todo[todo].index
            if len(rows) == 0:
                continue
            owners[rows] = run.runner.pick_owners(spec, len(rows))
            how[rows] = t("run_routing_row", run.lang).format(row=i + 2)
            todo[rows] = False
        if todo.any():   # nothing matched: least-loaded among the reps
            rows = todo[todo].index
            owners[rows] = run.runner.pick_owners("least_loaded", len(rows))
            how[rows] = "least_loaded"
    elif by in ("round_robin", "least_loaded"):
        spec = by + (":" + ",".join(among) if among else "")
        owners[:] = run.runner.pick_owners(spec, len(run.rows))
        how[:] = by
    else:
        owners[:] = p.get("by") or p.get("to")
        how[:] = "fixed"
    ok = owners.notna()
    field = {"customers": "owner", "deals": "owner", "tickets": "assignee"}.get(run.rule.entity)
    if field is None:       # orders: the customer's owner
        rows = run.customer_rows()
        ok &= rows.notna()
        run.set_values("customers", rows[ok].to_numpy(), "owner",
                       pd.Series(owners[ok].to_numpy(), index=rows[ok].to_numpy(), dtype="string"))
    else:
        run.set_values(run.rule.entity, owners[ok].index, field, owners[ok].astype("string"))
    detail = (t("run_owner", run.lang) + " = " + owners.astype("string").fillna("") + " (" + how + ")").where(
        ok, t("reason_no_recipient", run.lang))
    return _result(run, pd.Series(np.where(ok, "done", "failed"), index=run.rows), detail, owners)


# --------------------------------------------------------------------------- messages


@action("queue_message", params=("channel", "kind", "content", "text", "subject", "delay"))
def queue_message(run: RuleRun) -> pd.DataFrame:
    p = run.params
    lang = run.lang
    content = p.get("content") or p.get("text")
    if not content:
        raise ExpressionError(msg("e_p_missing", name="content"), rule_id=run.rule.rule_id)
    kind = (p.get("kind") or "marketing").strip().lower()
    if kind not in ("marketing", "service"):
        raise ExpressionError(msg("e_p_kind", kind=repr(kind)), rule_id=run.rule.rule_id)
    ch = (p.get("channel") or "preferred").strip()
    if ch.lower() in ("preferred", "偏好", "首选"):
        pref = run.column("preferred_channel").astype("string")
        channel = pref.map({"email": "email", "sms": "sms", "wecom": "wecom", "phone": "sms"}).fillna("email")
        channel = channel.astype("object")
    else:
        code = CHANNEL.lookup.get(norm_token(ch))
        if code is None:
            raise ExpressionError(msg("e_p_channel", channel=repr(ch)),
                                  rule_id=run.rule.rule_id)
        channel = pd.Series(code, index=run.rows, dtype="object")
    delay = duration(p.get("delay", "0m"), name="delay", rule_id=run.rule.rule_id)
    scheduled = run.runner.calendar.next_send_time(run.as_of + delay)
    text = render(content, run)
    subject = render(p["subject"], run) if p.get("subject") else None
    cust_ids = run.customer_ids()
    contacts = pd.DataFrame({c: run.column(c) for c in ("unsubscribed", "marketing_consent", "email", "phone",
                                                         "bounced_address")}, index=run.rows)
    reason = blocked(channel, kind, contacts)
    reason[cust_ids.isna().to_numpy()] = "no_customer"
    if kind == "marketing":
        cap = int(run.runner.settings.get("daily_message_cap") or 0)
        open_ = reason.isna()
        already = marketing_count(run.runner.frames["messages"], cust_ids[open_], scheduled, run.runner.marketing_rules)
        over = pd.Series(False, index=run.rows)
        over[open_] = over_cap(cust_ids[open_], already, cap)
        reason[(over & reason.isna()).to_numpy()] = "daily_cap"
    suppressed = reason.notna()
    n = len(run.rows)
    ids = pd.Series(run.new_ids("messages", n) if n else [], index=run.rows, dtype="object")
    labels = reason.map(lambda c: None if c is None or c is pd.NA else _reason_label(c, run))
    send_ok = ~suppressed & cust_ids.notna()
    rows = pd.DataFrame({
        "message_id": ids.to_numpy(),
        "customer_id": cust_ids.to_numpy(),
        "rule_id": run.rule.rule_id,
        "channel": channel.to_numpy(),
        "content": text.to_numpy(),
        "status": np.where(suppressed, "suppressed", "queued"),
        "suppressed_reason": labels.to_numpy(),
        "kind": kind,
        "subject": None if subject is None else subject.to_numpy(),
        "queued_at": run.as_of,
        "scheduled_at": pd.Series(scheduled, index=run.rows).where(~suppressed).to_numpy(),
    })
    rows = rows[cust_ids.notna().to_numpy()]
    run.add_rows("messages", rows)
    shown_channel = channel.map({c: CHANNEL.label(c, lang) for c in CHANNEL.codes}).fillna(channel).astype("string")
    detail = (shown_channel + " " + ids.astype("string") + " " + t("run_scheduled", lang) + " "
              + _fmt_time(scheduled) + ": " + text)
    detail = detail.where(~suppressed, t("run_suppressed", lang) + ": " + labels.astype("string").fillna(""))
    outcome = pd.Series(np.where(suppressed, "suppressed", "done"), index=run.rows)
    outcome[(reason == "daily_cap").to_numpy(dtype=bool, na_value=False)] = "skipped"   # tried again tomorrow
    outcome[~send_ok & ~suppressed] = "failed"
    return _result(run, outcome, detail, ids)


def _reason_label(code: str, run: RuleRun) -> str:
    return reason_label(code, run.lang, cap=int(run.runner.settings.get("daily_message_cap") or 0))
