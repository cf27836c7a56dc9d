"""Launching a campaign: its audience, the guards, sending hours and the Messages rows (issue 16).

:func:`preview_campaign` plans a launch and writes nothing; :func:`launch_campaign`
queues it.  Both return a :class:`CampaignPlan`: the audience size, the
customers already in the campaign, the suppressions by reason, the number to
queue and three rendered sample messages.

* **Audience.** The Campaigns row's ``audience`` is an expression of the rule
  language, evaluated by the rule engine's own compiler over the customers
  with their derived fields (value_tier, rfm_segment, days_since_interaction
  ...) as of the launch time: a :class:`crmkit.rules.engine.Runner` that runs
  no rule holds the same frames, field names, settings and calendar a rule
  sees.  A bad expression is an error of the campaign (its row, its column,
  the position in the expression): nothing is queued.
* **Content and subject** render through :class:`~crmkit.delivery.render.MessageTemplate`
  with the names a rule's ``{field}`` uses and the same display of values
  (:func:`crmkit.rules.actions.display`).  A blank subject is the campaign's
  name.  An unknown field is an error before anything is queued.
* **Guards** come from :mod:`crmkit.delivery.guards`, as for the
  ``queue_message`` rule action: consent and unsubscribe (a campaign is
  marketing), an address for the channel, a bounced address, the daily cap.
  Every message is scheduled at the first moment inside sending hours and
  off holidays (Settings; the rules' :class:`~crmkit.rules.schedule.WorkCalendar`)
  at or after the launch time, or after the campaign's ``send_at`` when that
  is later.
* **Counting.** Each customer of the audience is counted once: already in
  the campaign, suppressed (by its first reason) or to queue, so the three
  add up to the audience.

Choices made here (the issue is silent):

* **Launching again.** A customer who has a message of the campaign that is
  queued, being sent or sent counts as *already* and gets nothing new.  A
  customer whose earlier messages of the campaign were all suppressed or
  failed is evaluated again: a new row is written only when the message
  would now be queued (no pile of repeated suppressed rows).  A customer
  with no message of the campaign gets a row either way: queued, or
  suppressed with its reason (as a rule does), so the Messages sheet shows
  who was left out and why.
* **No RuleLog.** A launch writes Messages rows only.  RuleLog is the record
  of the rules (its rows decide which records a rule already handled, and
  "My day" lists them as rule actions); a campaign's Messages rows carry the
  campaign id, the status and the reason, which is the same record in the
  place the campaign reports read.  No customer field changes, so there is
  no History row either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import DataError, ExpressionError, TemplateError, UsageError
from ..i18n import msg, t
from ..schema import CHANNEL, ENTITIES, norm_token
from .guards import LIVE, address_of, blocked, marketing_count, over_cap, reason_label
from .render import MessageTemplate

#: the sample messages a plan shows
SAMPLES = 3
#: the customer fields the guards read
CONTACT_FIELDS = ("unsubscribed", "marketing_consent", "email", "phone", "bounced_address")


@dataclass
class CampaignPlan:
    """What a launch does (or, for a preview or a dry run, would do)."""

    campaign_id: str
    name: str
    channel: str
    as_of: pd.Timestamp
    scheduled_at: pd.Timestamp
    audience: int
    already: int
    suppressed: dict[str, int]
    queued: int
    samples: list[dict]
    dry_run: bool = True
    launched: bool = False
    lang: str = "en"
    cap: int = 0
    written: list[Path] = dc_field(default_factory=list)

    def reason_labels(self, lang: str | None = None) -> dict[str, str]:
        """Each suppression reason of the plan in words."""
        return {code: reason_label(code, lang or self.lang, cap=self.cap) for code in self.suppressed}

    def to_dict(self) -> dict:
        """The plan as JSON: campaign_id, audience, suppressed {reason: n}, already, queued, samples, dry_run ..."""
        return {
            "campaign_id": self.campaign_id, "name": self.name, "channel": self.channel,
            "as_of": self.as_of.isoformat(), "scheduled_at": self.scheduled_at.isoformat(),
            "audience": self.audience, "suppressed": dict(self.suppressed),
            "suppressed_labels": self.reason_labels(), "already": self.already, "queued": self.queued,
            "samples": [dict(s) for s in self.samples], "dry_run": self.dry_run,
            "written": [str(p) for p in self.written],
        }

    def preview_lines(self, lang: str | None = None) -> list[str]:
        """Audience, already, suppressions by reason, then the sample messages."""
        L = lang or self.lang
        lines = [t("camp_title", L).format(id=self.campaign_id, name=self.name,
                                             channel=CHANNEL.label(self.channel, L), as_of=f"{self.as_of:%Y-%m-%d %H:%M}"),
                 f"  {t('camp_audience', L)}: {self.audience}",
                 f"  {t('camp_already', L)}: {self.already}",
                 f"  {t('camp_suppressed', L)}: {sum(self.suppressed.values())}"]
        labels = self.reason_labels(L)
        lines += [f"    {labels[code]}: {n}" for code, n in self.suppressed.items()]
        lines.append(f"  {t('camp_to_queue', L)}: "
                     + (t("camp_n_at", L).format(n=self.queued, at=f"{self.scheduled_at:%Y-%m-%d %H:%M}")
                        if self.queued else "0"))
        lines.append(t("camp_samples", L) + ":" if self.samples else t("camp_no_samples", L))
        for i, s in enumerate(self.samples, 1):
            lines.append(f"  {i}. {s['customer_id']} {s['name']} <{s['address'] or '-'}>")
            if self.channel == "email":
                lines.append(f"     {t('camp_subject', L)}: {s['subject']}")
            lines.append(f"     {s['text']}")
        return lines

    def text(self, lang: str | None = None) -> str:
        """The preview, then what was queued (or, for a dry run, that nothing was written)."""
        L = lang or self.lang
        lines = self.preview_lines(L)
        if self.launched:
            lines.append(t("camp_queued_done", L).format(n=self.queued, at=f"{self.scheduled_at:%Y-%m-%d %H:%M}"))
            if self.written:
                lines.append(f"{t('camp_written', L)}: " + ", ".join(str(p) for p in self.written))
        else:
            lines.append(t("camp_dry_run", L))
        return "\n".join(lines)


# --------------------------------------------------------------------------- planning

def _campaign(ws, campaign_id: str) -> tuple[pd.Series, dict]:
    """The Campaigns row of ``campaign_id`` and where it is (file, sheet, row) for an error."""
    camps = ws["campaigns"]
    ids = camps["campaign_id"].astype("string").str.strip()
    want = str(campaign_id).strip()
    hit = (ids == want).fillna(False).to_numpy()
    if not hit.any():
        hit = (ids.str.casefold() == want.casefold()).fillna(False).to_numpy()
    if not hit.any():
        known = tuple(ids.dropna().tolist()[:20]) or "-"
        raise UsageError(msg("e_campaign_unknown", id=want, known=known), file=str(ws.file("campaigns")))
    row = camps[hit].iloc[0]
    where = {"file": str(ws.file("campaigns")), "sheet": ENTITIES["campaigns"].sheet_name(ws.lang),
             "row": int(camps.index[hit][0])}
    return row, where


def _text(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()


def _render(template: str, ctx, rows: np.ndarray, ids: pd.Series, column: str, cid: str, where: dict):
    """``template`` filled for the customers at positions ``rows`` (a rule's field names and display)."""
    from ..rules.actions import display

    fields = ctx.fields
    header = ENTITIES["campaigns"].field(column).header(ctx.lang)
    try:
        tpl = MessageTemplate(template, lambda name: fields.resolve(name.strip()), known=list(fields.fields))
        values = pd.DataFrame({key: display(ctx.column(key, rows=rows), fields.field(key), ctx.lang)
                               for key in tpl.fields}, index=ctx.index[rows])
        return tpl.render_frame(values, ids=ids)
    except (TemplateError, KeyError) as exc:
        detail = exc.message if isinstance(exc, TemplateError) else msg("e_tpl_field", name=str(exc), known="-")
        raise TemplateError(msg("e_campaign_template", id=cid, detail=detail), column=header, **where) from None


def _plan(ws, campaign_id: str, as_of) -> tuple[CampaignPlan, pd.DataFrame]:
    """The plan of a launch and the Messages rows it would write (nothing is written here)."""
    from ..rules.engine import Runner

    ws["customers"]                     # a broken Customers sheet is reported first, as by every command
    row, where = _campaign(ws, campaign_id)
    lang = ws.lang
    cid = _text(row.get("campaign_id"))
    name = _text(row.get("name")) or cid
    ent = ENTITIES["campaigns"]
    channel = CHANNEL.lookup.get(norm_token(_text(row.get("channel"))))
    if channel is None:
        raise DataError(msg("e_campaign_channel", id=cid, channel=repr(_text(row.get("channel"))),
                            codes=tuple(CHANNEL.labels(lang))), column=ent.field("channel").header(lang), **where)
    audience = _text(row.get("audience"))
    if not audience:
        raise DataError(msg("e_campaign_no_audience", id=cid), column=ent.field("audience").header(lang), **where)
    content = _text(row.get("content"))
    if not content:
        raise DataError(msg("e_campaign_no_content", id=cid), column=ent.field("content").header(lang), **where)

    when = ws.as_of(as_of)
    runner = Runner(ws, when, dry_run=True)
    marketing_rules = runner.learn_marketing_rules()
    customers = runner.frames["customers"]
    ctx = runner.context("customers")
    try:
        mask = runner.compile(audience, "customers").evaluate(customers, ctx)
    except ExpressionError as exc:
        pos = msg("camp_at_position", pos=exc.position) if exc.position else ""
        raise DataError(msg("e_campaign_audience", id=cid, expr=repr(audience), detail=exc.message, where=pos),
                        column=ent.field("audience").header(lang), **where) from None
    cust_ids = customers["customer_id"].astype("string").str.strip()
    mask = mask.to_numpy(dtype=bool) & cust_ids.notna().to_numpy()
    mask &= ~cust_ids.duplicated().to_numpy()          # a customer id typed twice gets one message
    pos = np.flatnonzero(mask)
    ids = cust_ids.iloc[pos]

    # earliest: the launch time, or send_at when later; then the first moment inside sending hours
    send_at = row.get("send_at")
    earliest = max(when, pd.Timestamp(send_at)) if send_at is not None and not pd.isna(send_at) else when
    scheduled = runner.calendar.next_send_time(earliest)

    messages = runner.frames["messages"]
    mine = messages[(messages["campaign_id"].astype("string").str.strip() == cid).fillna(False)]
    live = set(mine.loc[mine["status"].isin(list(LIVE)).fillna(False), "customer_id"].dropna().astype(str))
    earlier = set(mine["customer_id"].dropna().astype(str))     # had a row: suppressed or failed only
    already = ids.isin(live).to_numpy()

    idx = ctx.index[pos]
    chan = pd.Series(channel, index=idx, dtype="object")
    contacts = pd.DataFrame({c: ctx.column(c, rows=pos) for c in CONTACT_FIELDS}, index=idx)
    reason = blocked(chan, "marketing", contacts)
    reason[already] = pd.NA
    cap = int(runner.settings.get("daily_message_cap") or 0)
    open_ = (reason.isna() & ~already).to_numpy()
    if open_.any():
        count = marketing_count(messages, ids[open_], scheduled, marketing_rules)
        over = over_cap(ids[open_], count, cap)
        reason.iloc[np.flatnonzero(open_)[over.to_numpy(dtype=bool)]] = "daily_cap"
    suppressed = reason.notna().to_numpy()
    to_queue = ~already & ~suppressed
    # a customer whose earlier message was suppressed or failed gets a new row only when it now goes
    write = to_queue | (suppressed & ~ids.isin(earlier).to_numpy())
    codes = reason[suppressed].astype(str)
    by_reason = {code: int(n) for code, n in codes.value_counts().items()}
    by_reason = {code: by_reason[code] for code in sorted(by_reason, key=lambda c: (-by_reason[c], c))}

    # render what is written, and the samples (those to queue first, else anyone of the audience)
    order = list(np.flatnonzero(to_queue)[:SAMPLES])
    if len(order) < SAMPLES:
        order += [i for i in np.flatnonzero(~to_queue) if i not in order][:SAMPLES - len(order)]
    need = np.flatnonzero(write | np.isin(np.arange(len(pos)), order))
    subject_tpl = _text(row.get("subject")) or name.replace("{", "{{").replace("}", "}}")
    text = _render(content, ctx, pos[need], ids.iloc[need], "content", cid, where)
    subject = _render(subject_tpl, ctx, pos[need], ids.iloc[need], "subject", cid, where)
    address = address_of(chan, contacts)
    samples = [{"customer_id": ids.iloc[i], "name": _text(customers["name"].iloc[pos[i]]),
                "address": _text(address.iloc[i]) or None, "subject": subject.iloc[int(np.searchsorted(need, i))],
                "text": text.iloc[int(np.searchsorted(need, i))],
                "status": "already" if already[i] else ("suppressed" if suppressed[i] else "queued"),
                "reason": reason_label(reason.iloc[i], lang, cap=cap) if suppressed[i] else None}
               for i in order]

    plan = CampaignPlan(campaign_id=cid, name=name, channel=channel, as_of=when, scheduled_at=scheduled,
                        audience=len(pos), already=int(already.sum()), suppressed=by_reason,
                        queued=int(to_queue.sum()), samples=samples, lang=lang, cap=cap)
    sel = np.flatnonzero(write)
    at = np.searchsorted(need, sel)
    n = len(sel)
    rows = pd.DataFrame({
        "message_id": runner.new_ids("messages", n) if n else [],
        "customer_id": ids.iloc[sel].to_numpy(dtype=object),
        "campaign_id": cid,
        "rule_id": None,
        "channel": channel,
        "content": text.iloc[at].to_numpy(),
        "status": np.where(to_queue[sel], "queued", "suppressed"),
        "suppressed_reason": [None if to_queue[i] else reason_label(reason.iloc[i], lang, cap=cap) for i in sel],
        "queued_at": when,
        "scheduled_at": pd.Series(scheduled, index=range(n)).where(to_queue[sel]).to_numpy(),
        "kind": "marketing",
        "subject": subject.iloc[at].to_numpy(),
    })
    return plan, rows


# --------------------------------------------------------------------------- public

def preview_campaign(workspace, campaign_id: str, *, as_of=None) -> CampaignPlan:
    """What launching ``campaign_id`` would do as of ``as_of`` (default: the workspace's as-of, else now).

    ``workspace``: a folder or an open :class:`~crmkit.workspace.Workspace`.  Nothing is written.
    Raises UsageError for an unknown campaign, DataError (TemplateError) for a bad audience,
    channel, content or subject.
    """
    from ..workspace import open_workspace

    ws = open_workspace(workspace) if isinstance(workspace, str | os.PathLike) else workspace
    plan, _ = _plan(ws, campaign_id, as_of)
    return plan


def launch_campaign(workspace, campaign_id: str, *, as_of=None, dry_run: bool = False,
                    wait: float | None = None) -> CampaignPlan:
    """Queue the messages of ``campaign_id`` for its audience; returns the plan with what was queued.

    Under the workspace lock (waiting up to ``wait`` seconds for another run), the
    workspace is read, planned and the new Messages rows saved through the safe
    writer (campaigns.xlsx, all or nothing).  ``dry_run``: the same plan, nothing written.
    """
    from ..io.journal import workspace_lock
    from ..workspace import open_workspace

    if dry_run or not isinstance(workspace, str | os.PathLike):
        if not dry_run and getattr(workspace, "path", None) is not None:
            return launch_campaign(workspace.path, campaign_id, as_of=as_of, wait=wait)
        return preview_campaign(workspace, campaign_id, as_of=as_of)
    path = Path(workspace)
    open_workspace(path)                # a folder that is no workspace is refused before the lock is taken
    with workspace_lock(path, wait=wait):
        ws = open_workspace(path)
        plan, rows = _plan(ws, campaign_id, as_of)
        ws.append("messages", rows)
        plan.written = ws.save() if len(rows) else []
    plan.dry_run, plan.launched = False, True
    return plan
