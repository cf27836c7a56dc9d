"""``crmkit send``: deliver the queued messages that are due, each at most once, crash or not.

:func:`send_messages` holds the workspace lock for the whole run and:

1. **Recovers** what a killed run left behind: messages ``sending`` in the
   workbook get the outcome the outcome log (:mod:`crmkit.delivery.outcomes`)
   recorded for them; those whose network call may have happened without a
   recorded outcome stay ``sending`` and are reported for a person to set to
   sent or queued.  A ``sending`` message is never picked again.  A message
   ``queued`` in the workbook that the sent ledger (``.crmkit/sent-ledger.jsonl``,
   :mod:`crmkit.delivery.outcomes`) says was handed to a provider -- the
   workbook is an older copy: a restored backup, a stale save -- is set back
   to ``sent`` (``sending`` when it only may have gone) and never sent again.
2. **Selects** the Messages ``queued`` whose ``scheduled_at`` (or
   ``queued_at`` when blank) has come, oldest first.
3. Checks the **guards again** with the customers' data as it is now
   (:mod:`crmkit.delivery.guards`): a message to a customer who unsubscribed,
   withdrew consent, lost the address or whose address bounced since it was
   queued becomes ``suppressed`` with the reason.  A message with a blank
   ``kind`` counts as marketing unless its rule queues service messages.
4. **Sends** in batches of Settings ``send_batch_size``: the batch is first
   logged and saved as ``sending`` (attempts + 1), then each message goes to
   its channel's transport (rate-limited per channel, every step fsynced in
   the outcome log before it is taken), then the outcomes are saved: ``sent``
   (sent_at, address, provider message id) or ``failed`` (failure reason).
   The outcomes of one batch go in the same save as the claim of the next
   (one workbook write per batch, not two: a save of a big campaigns.xlsx
   takes a second or more); the log holds them in between.

Choices made where the issue is silent:

* **Sending hours.**  Outside the send window (Settings ``send_window_start``
  / ``send_window_end`` on working days, :mod:`crmkit.rules.schedule`) nothing
  is sent or written; the summary says when the next window opens.  A run
  that reaches the end of the window stops between two batches.
* **Daily cap at send time.**  Marketing messages beyond Settings
  ``daily_message_cap`` for a customer on the day (counting the messages
  already sent or being sent that day, then this run's in order) stay
  ``queued`` with ``scheduled_at`` moved to the next window of the next
  working day; counted as deferred.
* **Retries.**  A transient failure is retried after Settings
  ``send_retry_delay`` seconds, doubled each time, until the message has had
  ``send_max_attempts`` attempts in all (the ``attempts`` column counts them
  across runs; a message already at the maximum gets one more); a permanent
  failure (e.g. 550 mailbox unknown) fails at once.
* **An unreachable server.**  When one message has used all its attempts on
  transient failures, the channel is paused for the rest of the run: its
  other messages stay ``queued`` untouched (attempts unchanged), counted as
  deferred, and the next run tries again.  Other channels go on.
* **A channel without configuration** (no ``smtp_host``, no webhook URL):
  its messages stay queued, counted as deferred with the reason.
* **Maybe delivered.**  When a transport says the provider may have taken the
  message (the connection broke after the content was handed over), or
  raises something unexpected, the message stays ``sending`` (reported), its
  channel is paused, and it is never retried automatically.
* ``sent_at`` is the run's as-of time plus the time elapsed since the run
  began: the real time for a normal run, and a time coherent with a fixed
  as-of (a sample workspace, ``--as-of``) otherwise.
* ``--limit N`` caps the messages attempted: the messages that would be sent
  after the N-th are left untouched (deferred, reason ``limit``); the
  suppressions and cap deferrals of the whole due list still apply.
* **Duplicate or blank message IDs.**  A due message whose ``message_id`` is
  blank or on another Messages row too (a row copied in Excel) is not sent:
  deferred (``no_id`` / ``duplicate_id``), the duplicated IDs listed for a
  person to fix.  Recovery sets every row of a ``sending`` ID alike.
* A dry run prepares every due message (address, subject, unsubscribe
  header), runs the guards, reads the outcome log without applying it, and
  contacts no server and writes nothing (no lock, no log).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import ExpressionError
from ..i18n import t, tr
from ..io.journal import workspace_lock
from ..rules.params import parse_params
from ..rules.schedule import WorkCalendar
from ..workspace import open_workspace
from .guards import address_of, blocked, marketing_count, over_cap, reason_label
from .outcomes import OutcomeLog, compact, ledger_entries, log_path, plan_recovery, read_events, sent_ledger
from .send_summary import PREVIEW, SendSummary
from .transports import DeliveryFailed, Outgoing, RateLimiter, transports_from_settings

#: the customer columns the guards and the transports read
CONTACT_COLUMNS = ("unsubscribed", "marketing_consent", "email", "phone", "bounced_address", "name", "contact_name")


@dataclass
class _Outcome:
    status: str                  # sent, failed, queued (never went out), sending (may have gone)
    attempts: int
    reason: str | None = None
    provider_id: str | None = None
    at: pd.Timestamp | None = None
    exhausted: bool = False      # a transient failure used up the attempts: the channel pauses
    fatal: bool = False          # nothing can go on this channel as configured: back to queued, channel paused


def send_messages(workspace, *, as_of=None, dry_run: bool = False, limit: int | None = None,
                  transports: dict | None = None, progress: bool = False, wait: float | None = None,
                  env: dict | None = None) -> SendSummary:
    """Send the queued messages of ``workspace`` (a folder or a Workspace) that are due by ``as_of``.

    ``transports`` maps a channel to a Transport (default: built from
    Settings and ``env``, default the process environment); they are closed
    at the end.  Returns a :class:`SendSummary`.  See the module text.
    """
    path = Path(getattr(workspace, "path", workspace))
    ws = open_workspace(path)          # a missing or bad folder is refused before the lock makes .crmkit/ in it
    if dry_run:
        return _Run(ws, as_of, dry_run=True, limit=limit, transports=transports, env=env).dry()
    with workspace_lock(path, wait=wait):
        ws = open_workspace(path)
        run = _Run(ws, as_of, dry_run=False, limit=limit, transports=transports, env=env, progress=progress)
        return run.send()


class _Run:
    """One send run over one workspace."""

    def __init__(self, ws, as_of, *, dry_run: bool, limit: int | None, transports: dict | None,
                 env: dict | None, progress: bool = False):
        self.ws = ws
        self.lang = ws.lang
        self.settings = ws.settings
        self.as_of = ws.as_of(as_of)
        self.began = time.monotonic()
        self.calendar = WorkCalendar(self.settings)
        self.limit = limit
        self.progress = progress
        self.own_transports = transports is None
        self.env = dict(os.environ) if env is None else env
        self.transports = transports
        self.summary = SendSummary(as_of=self.as_of, dry_run=dry_run, lang=self.lang)
        self.frame = ws["messages"].copy()
        self.restored_any = False                         # rows set back from the sent ledger (to be saved)
        self._titles: dict[str, str] | None = None      # subjects by campaign / rule, read on first use
        self.run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # ------------------------------------------------------------------ helpers

    def now(self) -> pd.Timestamp:
        return (self.as_of + pd.Timedelta(seconds=time.monotonic() - self.began)).floor("s")

    def in_window(self, when: pd.Timestamp) -> bool:
        return self.calendar.next_send_time(when) == when

    def setting(self, key: str, default):
        v = self.settings.get(key)
        return default if v is None or (isinstance(v, float) and np.isnan(v)) else v

    def open_transports(self) -> dict:
        if self.transports is None:
            self.transports = transports_from_settings(self.settings, self.env, folder=self.ws.path)
        return self.transports

    def close_transports(self) -> None:
        if self.own_transports and self.transports:
            for tr in self.transports.values():
                try:
                    tr.close()
                except Exception:  # noqa: BLE001, S110 - a connection that fails to close is gone anyway
                    pass

    def save(self) -> None:
        self.ws.replace("messages", self.frame)
        self.ws.save(["campaigns"])
        self.frame = self.ws["messages"].copy()

    # ------------------------------------------------------------------ 1. recovery

    def recover(self, *, apply: bool) -> None:
        status = self.frame["status"].astype("string")
        sending = status == "sending"
        ids = self.frame.loc[sending.fillna(False).to_numpy(), "message_id"].astype("string")
        if not len(ids):
            if apply:
                compact(self.ws.path, ())
            self.restore_from_ledger()
            return
        rec = plan_recovery(read_events(log_path(self.ws.path)), ids.tolist())
        s = self.summary
        s.recovered = rec.applied
        s.recovered_by = Counter({"sent": len(rec.sent), "failed": len(rec.failed), "queued": len(rec.queued)})
        s.recovered_by = +s.recovered_by
        s.left_sending = sorted(rec.unsure)
        if not apply:
            self.restore_from_ledger()
            return
        row: dict[str, list] = {}            # every row of an id: a copied row must not keep ``sending`` alone
        for idx, mid in ids.items():
            row.setdefault(str(mid), []).append(idx)
        for mid, ev in rec.sent.items():
            self._set(row[mid], status="sent", sent_at=pd.Timestamp(ev.get("at")), attempts=ev.get("attempt"),
                      address=ev.get("address"), provider_message_id=ev.get("provider_message_id"),
                      failure_reason=None)
        for mid, ev in rec.failed.items():
            self._set(row[mid], status="failed", attempts=ev.get("attempt"), failure_reason=ev.get("reason"))
        for mid, n in rec.queued.items():
            self._set(row[mid], status="queued", attempts=n or None)
        if rec.applied:
            self.save()
        compact(self.ws.path, rec.unsure)
        self.restore_from_ledger()

    def restore_from_ledger(self) -> None:
        """Queued rows whose ID the sent ledger holds go back to sent / sending (in the frame; saved later)."""
        ledger = sent_ledger(self.ws.path)
        if not ledger:
            return
        f = self.frame
        ids = f["message_id"].astype("string")
        queued = (f["status"].astype("string") == "queued").fillna(False).to_numpy()
        hit = queued & ids.isin(list(ledger)).fillna(False).to_numpy() & self.id_problems().isna().to_numpy()
        if not hit.any():
            return
        rows = f.index[hit]
        found = [str(m) for m in ids[hit]]
        full = ledger_entries(self.ws.path, [m for m in found if "channel" not in ledger[m]])
        s = self.summary
        for idx, mid in zip(rows, found, strict=True):
            e = {**ledger[mid], **full.get(mid, {})}
            if e.get("state") == "sent":
                at = pd.Timestamp(e["sent_at"]) if e.get("sent_at") else None
                self._set(idx, status="sent", failure_reason=None)
                for col, v in (("sent_at", at), ("address", e.get("address")),
                               ("provider_message_id", e.get("provider_message_id"))):
                    if v is not None:
                        self._set(idx, **{col: v})
                s.restored["sent"] += 1
            else:
                self._set(idx, status="sending", failure_reason=t("send_ledger_maybe", self.lang))
                s.restored["sending"] += 1
        self.restored_any = True
        s.left_sending = sorted(set(s.left_sending) | {m for m in found if ledger[m].get("state") != "sent"})

    def id_problems(self) -> pd.Series:
        """Rows of the frame whose message_id is blank (``no_id``) or on more than one row (``duplicate_id``)."""
        ids = self.frame["message_id"].astype("string").str.strip()
        blank = (ids.isna() | (ids == "")).fillna(True)
        dup = ids.duplicated(keep=False).fillna(False) & ~blank
        out = pd.Series(None, index=self.frame.index, dtype="object")
        out[blank.to_numpy()] = "no_id"
        out[dup.to_numpy()] = "duplicate_id"
        return out

    def _set(self, idx, **values) -> None:
        for col, v in values.items():
            if col == "attempts" and v is not None:
                v = int(v)
            self.frame.loc[idx, col] = pd.NA if v is None else v

    # ------------------------------------------------------------------ 2-3. selection and guards

    def _kinds(self, msgs: pd.DataFrame) -> pd.Series:
        """marketing or service per message: the kind column; blank is marketing unless the rule queues service."""
        kind = msgs["kind"].astype("string") if "kind" in msgs else pd.Series(pd.NA, index=msgs.index, dtype="string")
        service_rules = set()
        rules = self.ws["rules"]
        if len(rules) and "action" in rules:
            for rid, action, params in zip(rules["rule_id"], rules["action"], rules.get("params", [None] * len(rules)),
                                           strict=True):
                if str(action) != "queue_message":
                    continue
                try:
                    k = (parse_params(params).get("kind") or "marketing").strip().lower()
                except ExpressionError:
                    continue
                if k == "service":
                    service_rules.add(str(rid))
        service = msgs["rule_id"].astype("string").isin(service_rules).fillna(False)
        return kind.fillna(pd.Series(np.where(service, "service", "marketing"), index=msgs.index, dtype="string"))

    def select(self) -> pd.DataFrame:
        """The due messages, oldest first, with columns for the guards (kind, address, reason ...)."""
        f = self.frame
        status = f["status"].astype("string")
        when = f["scheduled_at"].fillna(f["queued_at"])
        due = ((status == "queued").fillna(False) & (when.isna() | (when <= self.as_of)).fillna(False))
        d = f[due.to_numpy()].copy()
        d["_when"] = when[due.to_numpy()]
        d["_pos"] = np.arange(len(d))
        d = d.sort_values(["_when", "_pos"], kind="stable", na_position="first")
        d["kind_"] = self._kinds(d)
        cust = self.ws["customers"]
        cust = cust[~cust["customer_id"].astype("string").duplicated()].copy()
        cust.index = cust["customer_id"].astype("string").to_numpy()
        ids = d["customer_id"].astype("string")
        contacts = pd.DataFrame({c: (cust[c].reindex(ids.to_numpy()).to_numpy() if c in cust else pd.NA)
                                 for c in CONTACT_COLUMNS}, index=d.index)
        known = ids.isin(cust.index).fillna(False).to_numpy()
        channel = d["channel"].astype("object")
        reason = blocked(channel, d["kind_"], contacts)
        reason[~known] = "no_customer"
        d["address_"] = address_of(channel, contacts)
        d["reason_"] = reason
        for c in ("name", "contact_name"):
            d[c + "_"] = contacts[c]
        return d

    def daily_cap(self, d: pd.DataFrame) -> pd.Series:
        """True for the marketing messages beyond the daily cap (counting messages sent or sending that day)."""
        cap = int(self.setting("daily_message_cap", 2))
        open_ = (d["plan_"] == "send") & d["reason_"].isna() & (d["kind_"].astype("string").str.strip().str.lower() != "service").fillna(True)
        out = pd.Series(False, index=d.index)
        if not open_.any():
            return out
        f = self.frame
        gone = f[f["status"].astype("string").isin(["sent", "sending"]).fillna(False).to_numpy()].copy()
        if len(gone):
            gone["kind"] = self._kinds(gone)
        ids = d.loc[open_, "customer_id"].astype("string")
        already = marketing_count(gone, ids, self.as_of.normalize())
        out[open_] = over_cap(ids, already, cap).to_numpy()
        return out

    def plan(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(messages to attempt, the due frame with a ``plan_`` column: send, suppress or a deferral code)."""
        s = self.summary
        d = self.select()
        s.due = len(d)
        d["plan_"] = "send"
        if not len(d):
            return d, d
        problem = self.id_problems().reindex(d.index)
        d.loc[problem.notna().to_numpy(), "plan_"] = problem[problem.notna()].to_numpy()
        s.duplicate_ids = sorted({str(m).strip() for m, p in zip(d["message_id"], problem, strict=True)
                                  if p == "duplicate_id"})
        if not self.in_window(self.as_of):
            s.next_window = self.calendar.next_send_time(self.as_of)
            d.loc[(d["plan_"] == "send").to_numpy(), "plan_"] = "outside_hours"
            return d.iloc[0:0], d
        d.loc[(d["reason_"].notna() & (d["plan_"] == "send")).to_numpy(), "plan_"] = "suppress"
        d.loc[self.daily_cap(d).to_numpy(), "plan_"] = "daily_cap"
        transports = self.open_transports()
        unconfigured = ~d["channel"].astype("string").isin(list(transports)).fillna(False)
        d.loc[(unconfigured & (d["plan_"] == "send")).to_numpy(), "plan_"] = "not_configured"
        if self.limit is not None:
            go = np.flatnonzero((d["plan_"] == "send").to_numpy())
            d.iloc[go[self.limit:], d.columns.get_loc("plan_")] = "limit"   # only the messages to send are cut
        return d[(d["plan_"] == "send").to_numpy()], d

    def count_plan(self, d: pd.DataFrame) -> None:
        s = self.summary
        for code, chan, plan in zip(d["reason_"], d["channel"].astype("string"), d["plan_"], strict=True):
            chan = str(chan) if chan is not pd.NA else "-"
            if plan == "suppress":
                s.suppressed[str(code)] += 1
                s.channel(chan)["suppressed"] += 1
            elif plan != "send":
                s.deferred[plan] += 1
                s.channel(chan)["deferred"] += 1

    def mark_planned(self, d: pd.DataFrame) -> None:
        """Write the suppressions (with their reason) and the cap deferrals (next sending day) into the frame."""
        cap = int(self.setting("daily_message_cap", 2))
        sup = d[(d["plan_"] == "suppress").to_numpy()]
        if len(sup):
            labels = [reason_label(str(c), self.lang, cap=cap) for c in sup["reason_"]]
            self.frame.loc[sup.index, "status"] = "suppressed"
            self.frame.loc[sup.index, "suppressed_reason"] = labels
        later = d[(d["plan_"] == "daily_cap").to_numpy()].index
        if len(later):
            self.frame.loc[later, "scheduled_at"] = self.calendar.next_send_time(
                self.as_of.normalize() + pd.Timedelta(days=1))

    # ------------------------------------------------------------------ the dry run

    def dry(self) -> SendSummary:
        self.recover(apply=False)
        try:
            todo, d = self.plan()
            self.count_plan(d)
            s = self.summary
            s.would_send = len(todo)
            for chan, n in todo["channel"].astype("string").value_counts().items():
                s.channel(str(chan))["would_send"] += int(n)
            for _, m in todo.head(PREVIEW).iterrows():
                out = self.outgoing(m)
                s.preview.append({"message_id": out.message_id, "customer_id": out.customer_id,
                                  "channel": out.channel, "address": out.address, "subject": out.subject,
                                  "unsubscribe": self.unsubscribe_of(out), "content": out.content})
        finally:
            self.close_transports()
        return self.summary

    def unsubscribe_of(self, out) -> str | None:
        """The List-Unsubscribe header the e-mail would carry (built as for sending; None: none)."""
        build = getattr(self.transports.get(out.channel), "build", None)
        if build is None:
            return None
        try:
            return build(out).get("List-Unsubscribe")
        except DeliveryFailed:
            return None

    # ------------------------------------------------------------------ 4. sending

    def outgoing(self, m: pd.Series) -> Outgoing:
        def text(v) -> str:
            return "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)

        return Outgoing(
            message_id=text(m["message_id"]), customer_id=text(m["customer_id"]), channel=text(m["channel"]),
            address=text(m["address_"]), subject=self.subject_of(m), content=text(m["content"]),
            kind=text(m["kind_"]) or "marketing", customer_name=text(m["name_"]),
            contact_name=text(m["contact_name_"]), campaign_id=text(m.get("campaign_id")) or None,
            rule_id=text(m.get("rule_id")) or None, lang=self.lang)

    def subject_of(self, m: pd.Series) -> str:
        """The message's subject; else its campaign's (when plain text) or name; else its rule's name."""
        v = m.get("subject")
        if isinstance(v, str) and v.strip():
            return v.strip()
        if self._titles is None:
            self._titles = {}
            camps = self.ws["campaigns"]
            for cid, subj, name in zip(camps["campaign_id"].astype("string"),
                                       camps["subject"] if "subject" in camps else [None] * len(camps),
                                       camps["name"], strict=True):
                subj = subj if isinstance(subj, str) and subj.strip() and "{" not in subj else None
                self._titles["c:" + str(cid)] = (subj or name or "").strip() if isinstance(subj or name, str) else ""
            rules = self.ws["rules"]
            for rid, name in zip(rules["rule_id"].astype("string"), rules["name"], strict=True):
                self._titles["r:" + str(rid)] = name.strip() if isinstance(name, str) else ""
        for key in ("c:" + str(m.get("campaign_id")), "r:" + str(m.get("rule_id"))):
            if self._titles.get(key):
                return self._titles[key]
        return ""

    def send(self) -> SendSummary:
        try:
            self.recover(apply=True)
            todo, d = self.plan()
            self.count_plan(d)
            if (d["plan_"].isin(["suppress", "daily_cap"])).any():
                self.mark_planned(d)
            if not len(todo) and (self.restored_any or d["plan_"].isin(["suppress", "daily_cap"]).any()):
                self.save()
            if len(todo):
                self.loop(todo)
            still = self.frame["status"].astype("string") == "sending"
            self.summary.left_sending = sorted(
                self.frame.loc[still.fillna(False).to_numpy(), "message_id"].astype("string").tolist())
        finally:
            self.close_transports()
        return self.summary

    def loop(self, todo: pd.DataFrame) -> None:
        """Claim, send and record ``todo`` batch by batch.

        One save per batch: the save that marks a batch ``sending`` also holds
        the outcomes of the batch before it (and, the first time, the
        suppressions and cap deferrals); the last outcomes are saved at the end.
        Whatever a kill keeps from being saved is in the outcome log.
        """
        size = max(1, int(self.setting("send_batch_size", 20)))
        limiter = RateLimiter.from_settings(self.settings)
        paused: dict[str, str] = {}    # channel -> why its other messages wait (a deferral code)
        rest = todo
        bar = self._bar(len(todo))
        with OutcomeLog(self.ws.path, self.run_id) as log:
            while len(rest):
                if not self.in_window(self.now()):
                    self._defer(rest, "outside_hours")
                    self.summary.next_window = self.calendar.next_send_time(self.now())
                    break
                chan = rest["channel"].astype("string")
                held = chan.isin(list(paused)).fillna(False).to_numpy()
                if held.any():
                    for ch, code in paused.items():
                        self._defer(rest[(chan == ch).fillna(False).to_numpy()], code)
                    rest = rest[~held]
                    continue
                batch, rest = rest.iloc[:size], rest.iloc[size:]
                before = {str(mid): int(a) if pd.notna(a) else 0
                          for mid, a in zip(batch["message_id"], self.frame.loc[batch.index, "attempts"], strict=True)}
                log.write("claim", at=self.now().isoformat(), messages=before)
                self.frame.loc[batch.index, "status"] = "sending"
                self.frame.loc[batch.index, "attempts"] = [before[str(m)] + 1 for m in batch["message_id"]]
                self.save()
                for idx, m in batch.iterrows():
                    mid, ch = str(m["message_id"]), str(m["channel"])
                    if ch in paused:
                        self._apply(idx, m, _Outcome("queued", before[mid]))
                        self._count_deferred(ch, paused[ch])
                        continue
                    out = self.attempt(log, m, before[mid], limiter)
                    if out.fatal:
                        paused[ch] = "channel_error"
                        self.summary.channel_errors.setdefault(ch, out.reason or "")
                        self._count_deferred(ch, "channel_error")
                    elif out.exhausted or out.status == "sending":
                        paused[ch] = "channel_unavailable"
                    self._apply(idx, m, out)
                    if bar is not None:
                        bar.update(1)
        self.save()
        if bar is not None:
            bar.close()

    def _bar(self, total: int):
        if not self.progress:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=total, desc=t("send_bar", self.lang), unit="", leave=False)

    def _defer(self, rows: pd.DataFrame, code: str) -> None:
        for ch in rows["channel"].astype("string"):
            self._count_deferred(str(ch), code)

    def _count_deferred(self, chan: str, code: str) -> None:
        self.summary.deferred[code] += 1
        self.summary.channel(chan)["deferred"] += 1

    def attempt(self, log: OutcomeLog, m: pd.Series, before: int, limiter) -> _Outcome:
        """Try one message until it is sent, fails for good, or may have gone (never twice after that)."""
        out = self.outgoing(m)
        transport = self.transports[out.channel]
        most = max(int(self.setting("send_max_attempts", 3)), before + 1)
        delay = max(0.0, float(self.setting("send_retry_delay", 2.0)))
        n = before
        while True:
            n += 1
            limiter.wait(out.channel)
            log.write("sending", id=out.message_id, attempt=n, at=self.now().isoformat(), channel=out.channel)
            try:
                got = transport.send(out)
            except DeliveryFailed as exc:
                reason = tr(exc.reason, self.lang)
                if exc.maybe_sent:
                    log.write("unknown", id=out.message_id, attempt=n, reason=reason)
                    return _Outcome("sending", n, t("send_maybe_sent", self.lang).format(detail=reason))
                if exc.fatal:       # the message is not at fault: it waits for the Settings to be put right
                    log.write("failed", id=out.message_id, attempt=n, reason=reason, final=False)
                    return _Outcome("queued", n, reason, fatal=True)
                final = not exc.transient or n >= most
                log.write("failed", id=out.message_id, attempt=n, reason=reason, final=final)
                if final:
                    return _Outcome("failed", n, reason, exhausted=exc.transient)
                time.sleep(delay * 2 ** (n - before - 1))
                continue
            except Exception as exc:  # noqa: BLE001 - the provider may have taken it: a person decides
                reason = f"{type(exc).__name__}: {exc}"
                log.write("unknown", id=out.message_id, attempt=n, reason=reason)
                return _Outcome("sending", n, t("send_maybe_sent", self.lang).format(detail=reason))
            at = self.now()
            pid = getattr(got, "provider_message_id", None)
            log.write("sent", id=out.message_id, attempt=n, at=at.isoformat(), provider_message_id=pid,
                      address=out.address or None, channel=out.channel)
            return _Outcome("sent", n, provider_id=pid, at=at)

    def _apply(self, idx, m: pd.Series, out: _Outcome) -> None:
        s = self.summary
        chan = str(m["channel"])
        if out.status == "sent":
            self._set(idx, status="sent", sent_at=out.at, attempts=out.attempts, failure_reason=None,
                      address=(str(m["address_"]) if pd.notna(m["address_"]) else None),
                      provider_message_id=out.provider_id)
            s.sent += 1
            s.channel(chan)["sent"] += 1
        elif out.status == "failed":
            self._set(idx, status="failed", attempts=out.attempts, failure_reason=out.reason)
            s.failed += 1
            s.channel(chan)["failed"] += 1
            s.failures.append((str(m["message_id"]), out.reason or ""))
        elif out.status == "sending":
            self._set(idx, status="sending", attempts=out.attempts, failure_reason=out.reason)
        else:
            self._set(idx, status="queued", attempts=out.attempts or None)
