"""Results coming back: a sending service's event export imported into the Messages sheet.

>>> from crmkit.delivery.results import import_results
>>> res = import_results("events.csv", "my-crm")          # or .xlsx; dry_run=True writes nothing
>>> res.summary()   # source_rows = matched + already_known + unmatched + rejected

The export is read like any import (:func:`crmkit.io.sources.read_source`:
title rows, GBK or UTF-8 with BOM, xlsx), with the columns and event words of
:mod:`crmkit.delivery.events`.  Each row is one event and is matched to one
message:

1. by its id, first against ``provider_message_id`` (filled by the sender),
   then against crmkit's own ``message_id`` (``<...>`` around a Message-ID is
   ignored);
2. else by address and time: the message whose ``address`` (when blank: the
   customer's e-mail for e-mail messages, phone otherwise) is the event's
   address, sent (``sent_at``) at or before the event and at most
   :data:`MATCH_WINDOW_DAYS` days before it; the latest such message wins.

What an event does to its message (events are applied in time order):

* ``open``, ``click``, ``conversion``: fill ``opened_at``, ``clicked_at``,
  ``converted_at``; the earliest time wins.  A click implies an open: it also
  fills a blank (or later) ``opened_at``.  A conversion's amount adds to
  ``revenue``; the same conversion (message, time, amount) never adds twice,
  in one file or over several imports (the conversions counted are kept in
  ``.crmkit/results_state.json``, saved with the workbooks).
* ``delivered``: news only for a message left ``sending`` by an interrupted
  send: it becomes ``sent`` (``sent_at`` filled when blank).
* ``hard_bounce`` (a bounce without kind): ``bounced_at``, status ``failed``
  and ``failure_reason`` on the message; the address joins the customer's
  ``bounced_address`` (History row).
* ``soft_bounce`` (a full mailbox, a deferral): the service tries again and the
  address stays usable: only a blank ``failure_reason`` is filled, so that a
  person sees it; status and address are left alone.
* ``unsubscribe`` and ``complaint``: ``unsubscribed_at`` on the message; the
  customer's ``unsubscribed`` becomes yes (History row).  A later import of
  the same event leaves the customer alone, even if a person re-subscribed
  them in between.

Every source row is accounted for, exactly once: **matched** (it brought new
information), **already known** (a duplicate, or nothing new), **unmatched**
(no message found, listed with the reason) or **rejected** (an unknown event,
an unreadable or missing time, a bad amount, no id and no address; listed with
file, row, column, value and reason).  History rows say ``by =
"results:<file name>"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import normalize as nz
from ..exceptions import WorkbookError
from ..i18n import current_lang, lang_is_set, msg, t
from ..io.journal import workspace_lock
from ..io.safety import state_dir
from ..io.sources import SourceTable, read_source
from ..merge import changes
from ..phones import to_phone
from ..schema import norm_token
from ..workspace import open_workspace
from .events import EXPORT, RESULT_EVENT

#: How far back an event matched by address may reach for the message it answers.
MATCH_WINDOW_DAYS = 60
#: At most this many unmatched and rejected rows are listed in ``summary()`` (the counts cover all).
LIST_LIMIT = 200
STATE_FILE = "results_state.json"
OUTCOMES = ("matched", "already_known", "unmatched", "rejected")
#: The Messages fields an event reads or fills.
MESSAGE_FIELDS = ("message_id", "customer_id", "status", "sent_at", "opened_at", "clicked_at", "converted_at",
                  "revenue", "bounced_at", "failure_reason", "unsubscribed_at")

#: Headers that name the event column for sure (``type`` and ``status`` may be something else).
EVENT_HEADERS = frozenset(norm_token(h) for h in ("event", "event type", "event_name", "事件", "事件类型"))
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}:?\d{2})$")
_EPOCH = re.compile(r"\d{10}(?:\d{3})?(?:\.\d+)?")


@dataclass
class ResultsSummary:
    """What an import of results did (or, in a dry run, would do) with every row of the file."""

    file: str
    workspace: str
    lang: str = "en"
    dry_run: bool = False
    source_rows: int = 0
    outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    events: dict[str, int] = field(default_factory=dict)       # rows per event (rejected rows left out)
    applied: dict[str, int] = field(default_factory=dict)      # matched rows per event
    unmatched_rows: list[dict] = field(default_factory=list)
    rejected_rows: list[dict] = field(default_factory=list)
    customers_changed: int = 0
    written: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.outcome["rejected"] else 0

    def summary(self, limit: int = LIST_LIMIT) -> dict:
        return {"file": self.file, "workspace": self.workspace, "dry_run": self.dry_run,
                "source_rows": self.source_rows, **self.outcome, "events": dict(self.events),
                "applied": dict(self.applied), "customers_changed": self.customers_changed,
                "unmatched_rows": self.unmatched_rows[:limit], "rejected_rows": self.rejected_rows[:limit],
                "unmatched_rows_truncated": max(0, len(self.unmatched_rows) - limit),
                "rejected_rows_truncated": max(0, len(self.rejected_rows) - limit),
                "match_window_days": MATCH_WINDOW_DAYS, "written": list(self.written)}

    def text(self, limit: int = 20) -> str:
        lang = self.lang
        head = t("res_title", lang).format(file=Path(self.file).name, rows=self.source_rows)
        counts = ", ".join(f"{t('res_' + k, lang)} {self.outcome[k]}" for k in OUTCOMES)
        lines = [head, counts]
        if self.events:
            lines.append(t("res_events", lang) + ": " + ", ".join(
                f"{RESULT_EVENT.label(k, lang)} {n} ({t('res_new', lang)} {self.applied.get(k, 0)})"
                for k, n in self.events.items()))
        for key, rows in (("res_unmatched_rows", self.unmatched_rows), ("res_rejected_rows", self.rejected_rows)):
            if rows:
                lines.append(t(key, lang) + ":")
                lines += [f"  {t('row', lang)} {r['row']}: " + (f"{r['column']} = {r['value']!r}: " if r.get(
                    "column") else (f"{r['value']}: " if r.get("value") else "")) + r["reason"] for r in rows[:limit]]
                if len(rows) > limit:
                    lines.append("  " + t("res_more", lang).format(n=len(rows) - limit))
        if self.dry_run:
            lines.append(t("res_dry_run", lang))
        elif self.written:
            lines.append(f"{t('import_written', lang)}: {', '.join(self.written)}")
        else:
            lines.append(t("import_nothing_written", lang))
        return "\n".join(lines)


# --------------------------------------------------------------------------- entry point

def import_results(source: str | os.PathLike, workspace: str | os.PathLike, *, dry_run: bool = False,
                   as_of: object = None, sheet: str | None = None, wait: float | None = None) -> ResultsSummary:
    """Import the event export ``source`` into the Messages sheet of ``workspace`` (see the module doc).

    Raises :class:`~crmkit.exceptions.WorkbookError` (exit 2) for a file that
    cannot be read as a table or lacks an event column or any id or address
    column.  A dry run reads and matches everything and writes nothing.
    """
    table = read_source(source, EXPORT, sheet=sheet)
    _check_columns(table)
    path = Path(workspace)
    if dry_run:
        return _run(table, open_workspace(path), dry_run=True, as_of=as_of)
    with workspace_lock(path, wait=wait):
        return _run(table, open_workspace(path), dry_run=False, as_of=as_of)


def _check_columns(table: SourceTable) -> None:
    """Refuse an export without an event column or without any id or recipient column.

    When several columns could be the event (``status`` before ``event``, as
    in exports whose status is an SMTP code), the one named event wins.
    """
    named = [h for h in table.headers if norm_token(h) in EVENT_HEADERS]
    if named and table.matched.get(named[0]) != "event":
        table.matched = {h: k for h, k in table.matched.items() if k != "event"}
        table.matched[named[0]] = "event"
    keys = set(table.matched.values())
    if "event" not in keys:
        raise WorkbookError(msg("e_res_no_event", headers=", ".join(table.headers)), file=table.file,
                            sheet=table.sheet, row=table.header_row)
    if not keys & {"provider_message_id", "message_id", "address"}:
        raise WorkbookError(msg("e_res_no_key", headers=", ".join(table.headers)), file=table.file,
                            sheet=table.sheet, row=table.header_row)


def _run(table: SourceTable, ws, *, dry_run: bool, as_of: object) -> ResultsSummary:
    now = ws.as_of(as_of)
    lang = current_lang() if lang_is_set() else ws.lang
    res = ResultsSummary(file=table.file, workspace=str(ws.path), lang=lang, dry_run=dry_run,
                         source_rows=len(table.data))
    ev = _events(table, ws, res)
    messages = ws["messages"].copy()
    customers = ws["customers"].copy()
    ev = _match(ev, messages, customers, ws, res)
    state = _load_state(ws.path)
    before = customers.copy()
    touched_msg, touched_cust = _apply(ev, messages, customers, state, res)
    counted = sum(res.outcome.values())
    assert counted == res.source_rows, f"{counted} rows accounted for, {res.source_rows} read"
    if touched_cust:
        rows = customers.index.isin(list(touched_cust))
        hist = changes(before.loc[rows, ["unsubscribed", "bounced_address"]],
                       customers.loc[rows, ["unsubscribed", "bounced_address"]],
                       customers.loc[rows, "customer_id"], "customers", now, f"results:{Path(table.file).name}")
        res.customers_changed = int(hist["record_id"].nunique()) if len(hist) else 0
    if dry_run or not (touched_msg or touched_cust):
        return res
    ws.replace("messages", messages)
    if touched_cust:
        ws.replace("customers", customers)
        ws.append("history", hist)
    extra = {state_dir(ws.path) / STATE_FILE: json.dumps(state, ensure_ascii=False).encode("utf-8")}
    res.written = [str(p) for p in ws.save(extra=extra)]
    return res


# --------------------------------------------------------------------------- reading the rows

def _col(table: SourceTable, key: str) -> tuple[str | None, pd.Series]:
    src = next((h for h, k in table.matched.items() if k == key), None)
    data = table.data
    if src is None:
        return None, pd.Series(pd.NA, index=data.index, dtype="string")
    return src, data[src].astype("string").str.strip().replace("", pd.NA)


def _reject(res: ResultsSummary, table: SourceTable, rows, column: str | None, values, reason) -> None:
    for row, value in zip(rows, values):
        res.rejected_rows.append({"file": table.name, "sheet": table.sheet, "row": int(row), "column": column,
                                  "value": None if pd.isna(value) else str(value), "reason": reason.render(res.lang)})


def _events(table: SourceTable, ws, res: ResultsSummary) -> pd.DataFrame:
    """One row per source row: event, time, ids, address, amount, detail, and ``bad`` for rejected rows."""
    idx = table.data.index
    ev = pd.DataFrame(index=idx)
    ev_src, raw_event = _col(table, "event")
    lookup = RESULT_EVENT.lookup
    words = {v: lookup.get(norm_token(v)) for v in raw_event.dropna().unique()}   # once per distinct spelling
    ev["event"] = raw_event.map(words).astype("string")
    at_src, raw_at = _col(table, "at")
    ev["at"] = parse_times(raw_at, ws.settings.get("timezone"), dayfirst=bool(ws.settings.get("date_dayfirst")))
    for key in ("provider_message_id", "message_id"):
        ev[key] = _col(table, key)[1].str.strip("<> ").replace("", pd.NA)
    addr_src, raw_addr = _col(table, "address")
    ev["address"] = address_key(raw_addr, ws.settings.get("phone_region"))
    amt_src, raw_amt = _col(table, "revenue")
    amount, bad_amount = nz.to_number(raw_amt.str.replace(r"^[¥￥$€£]|元$|,", "", regex=True))
    ev["revenue"] = pd.to_numeric(amount, errors="coerce").astype("float64")
    ev["detail"] = _col(table, "detail")[1]
    ev["bad"] = False
    checks = (
        (ev["event"].isna() & raw_event.notna(), ev_src, raw_event, msg("r_res_unknown_event")),
        (raw_event.isna(), ev_src, raw_event, msg("r_res_no_event")),
        (ev["at"].isna() & raw_at.notna(), at_src, raw_at, msg("r_res_bad_time")),
        (raw_at.isna(), at_src, raw_at, msg("r_res_no_time")),
        (bad_amount.fillna(False).astype(bool), amt_src, raw_amt, msg("r_res_bad_amount")),
        (ev["provider_message_id"].isna() & ev["message_id"].isna() & raw_addr.isna(), None, raw_addr,
         msg("r_res_no_key")),
    )
    for mask, column, values, reason in checks:
        hit = mask.to_numpy(dtype=bool) & ~ev["bad"].to_numpy(dtype=bool)
        if hit.any():
            _reject(res, table, idx[hit], column, values[hit], reason)
            ev.loc[hit, "bad"] = True
    res.outcome["rejected"] = int(ev["bad"].sum())
    good = ev.loc[~ev["bad"], "event"]
    res.events = {k: int((good == k).sum()) for k in RESULT_EVENT.codes if (good == k).any()}
    return ev


def parse_times(values: pd.Series, timezone: object = None, *, dayfirst: bool = False) -> pd.Series:
    """Event times as the workspace's wall-clock time.

    Text dates as everywhere in crmkit (:func:`crmkit.normalize.to_datetime`);
    a time with ``Z`` or an offset (``+08:00``) and a Unix timestamp (10
    digits, or 13 in milliseconds) are moved into ``timezone`` (Settings),
    since services report in UTC.
    """
    out, _ = nz.to_datetime(values, dayfirst=dayfirst)
    out = out.astype("datetime64[ns]")
    text = values.astype("string")
    tz = str(timezone) if timezone is not None and not pd.isna(timezone) and str(timezone).strip() else None
    zoned = text.str.contains(_OFFSET, na=False).to_numpy(dtype=bool)
    epoch = text.str.fullmatch(_EPOCH, na=False).to_numpy(dtype=bool)
    if zoned.any():
        utc = pd.to_datetime(text[zoned], format="ISO8601", errors="coerce", utc=True)
        out[zoned] = _local(utc, tz).to_numpy()
    if epoch.any():
        num = pd.to_numeric(text[epoch], errors="coerce")
        num = num.where(num < 1e11, num / 1000)
        out[epoch] = _local(pd.to_datetime(num, unit="s", utc=True), tz).dt.floor("s").to_numpy()
    return out


def _local(utc: pd.Series, tz: str | None) -> pd.Series:
    try:
        return utc.dt.tz_convert(tz).dt.tz_localize(None) if tz else utc.dt.tz_localize(None)
    except Exception:  # noqa: BLE001 - an unknown zone name in Settings (validate reports it): keep UTC
        return utc.dt.tz_localize(None)


def address_key(values: pd.Series, region: object = None) -> pd.Series:
    """A matching key for addresses: e-mails in lower case, phone numbers in E.164 (else as typed)."""
    text = values.astype("string").str.strip().replace("", pd.NA)
    out = nz.email_key(text.str.replace(r"(?i)^mailto:", "", regex=True))
    phone = (text.notna() & ~text.str.contains("@", na=False)).to_numpy(dtype=bool)
    if phone.any():
        e164, _ = to_phone(text[phone], region)
        out[phone] = e164.astype("string").to_numpy()
    return out


# --------------------------------------------------------------------------- matching

def _norm_ids(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.strip("<> ").replace("", pd.NA)


def _first_index(keys: pd.Series) -> dict:
    keys = keys.dropna()
    keys = keys[~keys.duplicated()]
    return dict(zip(keys.to_numpy(dtype=object), keys.index))


def message_addresses(messages: pd.DataFrame, customers: pd.DataFrame, region: object = None) -> pd.Series:
    """Where each message went: its ``address``, else the customer's e-mail (e-mail) or phone (SMS, WeCom)."""
    own = address_key(messages["address"], region) if "address" in messages else pd.Series(
        pd.NA, index=messages.index, dtype="string")
    by_id = customers.drop_duplicates("customer_id").set_index("customer_id")
    cid = messages["customer_id"].astype("string")
    email = nz.email_key(by_id["email"].reindex(cid.to_numpy()))
    phone = by_id["phone"].astype("string").reindex(cid.to_numpy()).str.strip()
    is_email = (messages["channel"].astype("string") == "email").fillna(False).to_numpy(dtype=bool)
    fallback = np.where(is_email, email.to_numpy(dtype=object, na_value=None),
                        phone.to_numpy(dtype=object, na_value=None))
    return own.fillna(pd.Series(fallback, index=messages.index, dtype="string"))


def _match(ev: pd.DataFrame, messages: pd.DataFrame, customers: pd.DataFrame, ws,
           res: ResultsSummary) -> pd.DataFrame:
    """Add ``msg`` (the row label of the message matched) and ``why`` (why not) to the good events."""
    ev = ev[~ev["bad"]].copy()
    by_provider = _first_index(_norm_ids(messages["provider_message_id"]))
    by_own = _first_index(_norm_ids(messages["message_id"]))
    hit = pd.Series(pd.NA, index=ev.index, dtype="Int64")
    for key in ("provider_message_id", "message_id"):
        for table in (by_provider, by_own):
            todo = hit.isna() & ev[key].notna()
            if todo.any():
                hit[todo] = ev.loc[todo, key].map(table).astype("Int64")
    todo = (hit.isna() & ev["address"].notna()).to_numpy(dtype=bool)
    if todo.any():
        sent = pd.DataFrame({"addr": message_addresses(messages, customers, ws.settings.get("phone_region")),
                             "sent_at": pd.to_datetime(messages["sent_at"], errors="coerce"),
                             "msg": messages.index.to_numpy()})
        sent = sent.dropna(subset=["addr", "sent_at"]).sort_values("sent_at", kind="stable")
        want = pd.DataFrame({"addr": ev.loc[todo, "address"], "at": ev.loc[todo, "at"],
                             "row": ev.index[todo]}).sort_values("at", kind="stable")
        if len(sent):
            got = pd.merge_asof(want, sent, left_on="at", right_on="sent_at", by="addr", direction="backward",
                                tolerance=pd.Timedelta(days=MATCH_WINDOW_DAYS))
            got = got.dropna(subset=["msg"])
            hit[got["row"].to_numpy()] = got["msg"].astype("int64").to_numpy()
    ev["msg"] = hit
    status = messages["status"].astype("string").reindex(hit.dropna().to_numpy()).to_numpy(dtype=object)
    unsent = pd.Series(False, index=ev.index)
    unsent[hit.notna()] = pd.Series(status, dtype="string").isin(["queued", "suppressed"]).fillna(False).to_numpy()
    ev.loc[unsent, "msg"] = pd.NA
    lost = ev["msg"].isna().to_numpy(dtype=bool)
    reasons: dict[str, str] = {}
    cols = ["provider_message_id", "message_id", "address", "event"]
    for row, never_sent, provider, own, address, event in zip(
            ev.index[lost], unsent.to_numpy(dtype=bool)[lost], *(ev.loc[lost, c] for c in cols)):
        ids = [str(v) for v in (provider, own) if pd.notna(v)]
        if never_sent:
            reason = msg("r_res_not_sent")
        elif ids and pd.notna(address):
            reason = msg("r_res_no_id_or_address", days=MATCH_WINDOW_DAYS)
        elif ids:
            reason = msg("r_res_unknown_id")
        else:
            reason = msg("r_res_no_address", days=MATCH_WINDOW_DAYS)
        if reason.key not in reasons:
            reasons[reason.key] = reason.render(res.lang)
        res.unmatched_rows.append({"file": Path(res.file).name, "row": int(row), "event": event,
                                   "value": ids[0] if ids else str(address), "reason": reasons[reason.key]})
    res.outcome["unmatched"] = int(ev["msg"].isna().sum())
    return ev[ev["msg"].notna()]


# --------------------------------------------------------------------------- applying

def _load_state(workspace: Path) -> dict:
    p = state_dir(workspace) / STATE_FILE
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict) or not isinstance(state.get("conversions"), list):
        state = {"version": 1, "conversions": []}
    return state


def conversion_key(message_id: str, at: pd.Timestamp, amount: float) -> str:
    """A short fingerprint of one conversion (message, time, amount): the same conversion adds once."""
    amount_text = "" if amount is None or pd.isna(amount) else f"{float(amount):.2f}"
    text = f"{message_id}|{pd.Timestamp(at).isoformat()}|{amount_text}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _earlier(old, new) -> bool:
    return pd.isna(old) or pd.Timestamp(new) < pd.Timestamp(old)


def _apply(ev: pd.DataFrame, messages: pd.DataFrame, customers: pd.DataFrame, state: dict,
           res: ResultsSummary) -> tuple[set, set]:
    """Apply the matched events in time order; count matched and already known; return the rows changed."""
    seen = set(state["conversions"])
    fresh: list[str] = []
    cust_row = _first_index(customers["customer_id"].astype("string"))
    lang = res.lang
    touched_msg, touched_cust = set(), set()
    matched = 0
    addresses = None
    ev = ev.sort_values(["at"], kind="stable")
    labels = pd.Index(ev["msg"].astype("int64").unique())
    records = messages.loc[labels, list(MESSAGE_FIELDS)].to_dict("index")   # the messages as they change
    changed: dict[str, dict] = {k: {} for k in MESSAGE_FIELDS}
    cols = ["msg", "event", "at", "revenue", "detail", "address"]
    # sequential by nature: first time wins, amounts add up
    for m, kind, at, revenue, detail, address in ev[cols].itertuples(index=False, name=None):
        m, at = int(m), pd.Timestamp(at)
        e = {"revenue": revenue, "detail": detail, "address": address}
        cur = records[m]
        new: dict[str, object] = {}
        cust: dict[str, object] = {}
        if kind == "delivered":
            if str(cur["status"]) == "sending":
                new["status"] = "sent"
                if pd.isna(cur["sent_at"]):
                    new["sent_at"] = at
        elif kind in ("open", "click"):
            if _earlier(cur["opened_at"], at):
                new["opened_at"] = at
            if kind == "click" and _earlier(cur["clicked_at"], at):
                new["clicked_at"] = at
        elif kind == "conversion":
            key = conversion_key(str(cur["message_id"]), at, e["revenue"])
            if key not in seen:
                seen.add(key)
                fresh.append(key)
                amount = 0.0 if pd.isna(e["revenue"]) else float(e["revenue"])
                same_as_sheet = (not pd.isna(cur["converted_at"]) and pd.Timestamp(cur["converted_at"]) == at
                                 and (amount == 0 or (not pd.isna(cur["revenue"]) and float(cur["revenue"]) == amount)))
                if not same_as_sheet:   # a conversion the sheet already holds (typed, or generated) adds nothing
                    if _earlier(cur["converted_at"], at):
                        new["converted_at"] = at
                    if amount:
                        new["revenue"] = (0.0 if pd.isna(cur["revenue"]) else float(cur["revenue"])) + amount
        elif kind == "hard_bounce":
            if pd.isna(cur["bounced_at"]):
                new.update(bounced_at=at, status="failed",
                           failure_reason=e["detail"] if pd.notna(e["detail"]) else t("res_hard_bounce", lang))
                if addresses is None:
                    addresses = message_addresses(messages, customers)
                addr = e["address"] if pd.notna(e["address"]) else addresses.get(m)
                if addr is not None and not pd.isna(addr):
                    cust["bounced_address"] = str(addr)
        elif kind == "soft_bounce":
            if pd.isna(cur["failure_reason"]):
                detail = f": {e['detail']}" if pd.notna(e["detail"]) else ""
                new["failure_reason"] = t("res_soft_bounce", lang) + detail
        elif kind in ("unsubscribe", "complaint"):
            if pd.isna(cur["unsubscribed_at"]):
                new["unsubscribed_at"] = at
                cust["unsubscribed"] = True
        if not new:
            continue
        matched += 1
        res.applied[kind] = res.applied.get(kind, 0) + 1
        for k, v in new.items():
            cur[k] = changed[k][m] = v
        touched_msg.add(m)
        c = cust_row.get(str(cur["customer_id"]))
        if c is None or not cust:
            continue
        was = customers.at[c, "unsubscribed"]
        if cust.get("unsubscribed") and (pd.isna(was) or not bool(was)):
            customers.at[c, "unsubscribed"] = True
            touched_cust.add(c)
        if "bounced_address" in cust:
            old = customers.at[c, "bounced_address"]
            listed = [] if pd.isna(old) else [a.strip() for a in str(old).split(";") if a.strip()]
            if cust["bounced_address"].lower() not in {a.lower() for a in listed}:
                customers.at[c, "bounced_address"] = ";".join([*listed, cust["bounced_address"]])
                touched_cust.add(c)
    for k, values in changed.items():
        if values:
            messages.loc[list(values), k] = pd.Series(values, dtype=messages[k].dtype)
    res.outcome["matched"] = matched
    res.outcome["already_known"] = len(ev) - matched
    state["conversions"] = [*state["conversions"], *fresh]
    return touched_msg, touched_cust
