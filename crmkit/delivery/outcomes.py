"""The outcome log of ``crmkit send``: what happened to each message, one fsynced line at a time.

The Messages sheet is written once per batch (it is a whole workbook); a
network call happens between two of those saves.  So that a kill at any
moment never sends a message twice, every step is first written to
``.crmkit/send-log.jsonl`` (one JSON object per line, flushed and fsynced
before the next step is taken):

``claim``
    a batch is about to be saved as ``sending``; holds each message's
    attempt count before the claim.  Written *before* the workbook save.
``sending``
    the network call of one attempt is about to start.  Written before the
    call: a message whose last line is ``sending`` may or may not have gone.
``sent``
    the provider accepted it (provider message id, address, time).
``failed``
    the attempt failed and nothing went out; ``final`` says whether the
    message is failed for good (else it may be tried again).
``unknown``
    the call broke off where the provider may have taken the message
    (e.g. the connection dropped after the content was handed over).

:func:`plan_recovery` reads the log for the messages a killed run left
``sending`` in the workbook, looking only at the lines after the last claim
of each: a final outcome is applied (``sent`` stays sent); a message never
tried since its claim, or whose tries all failed without going out, goes
back to ``queued``; a message whose last line is ``sending`` or ``unknown``
stays ``sending`` for a person to check, and is never resent automatically.
A message ``sending`` without any claim in the log is left as it is too.

A kill while a line is being written leaves a torn last line; it is skipped
when read (the step it announced had not begun), and the next append starts
on a new line.  :func:`compact` keeps the log small: at the start of a run,
once the recovered outcomes are saved in the workbook, only the lines of the
messages still ``sending`` are kept.

**The sent ledger** ``.crmkit/sent-ledger.jsonl`` remembers for good every
message handed to a provider, so that a workbook put back to an older version
(a backup restored, a stale copy saved from Excel) never sends it again.
Before :func:`compact` drops the lines of a message, it appends (fsynced) one
ledger line for it when the log says it went (``sent``: provider id, address,
time) or may have gone (last line ``sending`` / ``unknown``: ``maybe``).  The
log already holds each of those facts, fsynced, before the workbook does, so
the two files together always know every message that may have left; the
ledger is only ever appended to.  :func:`sent_ledger` reads both.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..io.safety import fsync_dir, state_dir

LOG_NAME = "send-log.jsonl"
LEDGER_NAME = "sent-ledger.jsonl"
#: the events after which the provider may hold the message (no automatic resend)
UNSURE = ("sending", "unknown")


def log_path(workspace: str | os.PathLike) -> Path:
    return state_dir(workspace) / LOG_NAME


class OutcomeLog:
    """Append-only writer of the outcome log; each line is on disk before :meth:`write` returns."""

    def __init__(self, workspace: str | os.PathLike, run_id: str):
        self.path = log_path(workspace)
        self.run_id = run_id
        self._fh = None

    def __enter__(self) -> OutcomeLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self._fh = open(self.path, "ab")  # noqa: SIM115 - held for the whole run, closed in __exit__
        if not new:
            torn = False
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
            if torn:               # a line a kill cut short: the next one starts on its own line
                self._fh.write(b"\n")
        else:
            fsync_dir(self.path.parent)
        return self

    def __exit__(self, *exc) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def write(self, event: str, **data: object) -> None:
        line = json.dumps({"event": event, "run": self.run_id, **data}, ensure_ascii=False, default=str)
        self._fh.write(line.encode("utf-8") + b"\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())


def read_events(path: str | os.PathLike) -> list[dict]:
    """Every whole line of the log, in order (a torn or unreadable line is skipped)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            ev = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(ev, dict) and "event" in ev:
            out.append(ev)
    return out


@dataclass
class Recovery:
    """What the log says about the messages a run left ``sending``."""

    sent: dict[str, dict] = field(default_factory=dict)      # id -> the ``sent`` line
    failed: dict[str, dict] = field(default_factory=dict)    # id -> the final ``failed`` line
    queued: dict[str, int] = field(default_factory=dict)     # id -> attempts made (never went out)
    unsure: list[str] = field(default_factory=list)          # may or may not have gone: a person decides

    @property
    def applied(self) -> int:
        return len(self.sent) + len(self.failed) + len(self.queued)


def plan_recovery(events: Iterable[dict], sending_ids: Iterable[str]) -> Recovery:
    """The outcome of each message in ``sending_ids`` according to the log (see the module text)."""
    want = {str(i) for i in sending_ids}
    claimed: dict[str, int] = {}          # id -> attempts before its last claim
    after: dict[str, list[dict]] = {}     # id -> its lines since that claim
    for ev in events:
        if ev.get("event") == "claim":
            for mid, before in (ev.get("messages") or {}).items():
                if mid in want:
                    claimed[mid] = int(before or 0)
                    after[mid] = []
        elif str(ev.get("id")) in claimed:
            after[str(ev["id"])].append(ev)
    rec = Recovery()
    for mid in sorted(want):
        if mid not in claimed:
            rec.unsure.append(mid)            # no record of this claim: nobody can tell, so a person decides
            continue
        lines = after[mid]
        last = lines[-1] if lines else None
        if last is None:
            rec.queued[mid] = claimed[mid]    # claimed, never tried
        elif last["event"] == "sent":
            rec.sent[mid] = last
        elif last["event"] == "failed" and last.get("final"):
            rec.failed[mid] = last
        elif last["event"] == "failed":
            rec.queued[mid] = int(last.get("attempt") or claimed[mid])
        else:
            rec.unsure.append(mid)
    return rec


def ledger_path(workspace: str | os.PathLike) -> Path:
    return state_dir(workspace) / LEDGER_NAME


def gone(events: Iterable[dict]) -> dict[str, dict]:
    """The messages the log says went (``state`` sent) or may have gone (``maybe``): id -> a ledger entry."""
    out: dict[str, dict] = {}
    for ev in events:
        kind, mid = ev.get("event"), ev.get("id")
        if mid is None or kind == "claim":
            continue
        mid = str(mid)
        if out.get(mid, {}).get("state") == "sent":
            continue                                  # once sent, always sent
        if kind == "sent":
            out[mid] = {"id": mid, "state": "sent", "channel": ev.get("channel"),
                        "provider_message_id": ev.get("provider_message_id"), "address": ev.get("address"),
                        "sent_at": ev.get("at")}
        elif kind in UNSURE:
            prev = out.get(mid, {})
            out[mid] = {"id": mid, "state": "maybe", "channel": ev.get("channel") or prev.get("channel"),
                        "sent_at": ev.get("at") or prev.get("sent_at")}
        else:
            out.pop(mid, None)                        # the attempt failed: nothing went out
    return out


#: ``{"id": "...", "state": "..."`` at the start of a ledger line (the writer puts these keys first)
_LEDGER_LINE = re.compile(rb'^\{"id": ("[^"\\\n]*(?:\\.[^"\\\n]*)*"), "state": "(sent|maybe)"', re.M)


def read_ledger(workspace: str | os.PathLike) -> dict[str, str]:
    """id -> ``sent`` or ``maybe`` from the ledger file alone (fast: no full JSON parse of each line)."""
    try:
        raw = ledger_path(workspace).read_bytes()
    except FileNotFoundError:
        return {}
    sent, maybe = set(), set()
    for mid, state in _LEDGER_LINE.findall(raw):
        (sent if state == b"sent" else maybe).add(mid)

    def key(mid: bytes) -> str:
        return json.loads(mid) if b"\\" in mid else mid[1:-1].decode("utf-8", "replace")

    out = {key(m): "maybe" for m in maybe - sent}
    out.update((key(m), "sent") for m in sent)
    return out


def ledger_entries(workspace: str | os.PathLike, ids: Iterable[str]) -> dict[str, dict]:
    """The full ledger lines of ``ids`` (the last one of each; a ``sent`` line wins over ``maybe``)."""
    want = {str(i) for i in ids}
    out: dict[str, dict] = {}
    if not want:
        return out
    try:
        raw = ledger_path(workspace).read_bytes()
    except FileNotFoundError:
        return out
    for line in raw.split(b"\n"):
        m = _LEDGER_LINE.match(line)
        if not m:
            continue
        key = json.loads(m.group(1))
        if key not in want or out.get(key, {}).get("state") == "sent":
            continue
        try:
            out[key] = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def sent_ledger(workspace: str | os.PathLike) -> dict[str, dict]:
    """Every message handed (or maybe handed) to a provider: the ledger and the current log together.

    id -> entry (``state`` sent or maybe, channel, provider_message_id,
    address, sent_at); full entries only for ids found in the log or asked
    for later with :func:`ledger_entries`, a bare ``{"state": ...}`` else.
    """
    out: dict[str, dict] = {k: {"state": v} for k, v in read_ledger(workspace).items()}
    for mid, entry in gone(read_events(log_path(workspace))).items():
        if out.get(mid, {}).get("state") != "sent":
            out[mid] = entry
    return out


def _append_ledger(workspace: str | os.PathLike, entries: Iterable[dict]) -> None:
    """Append ``entries`` to the ledger, on disk before returning (a torn last line is closed first)."""
    lines = [json.dumps(e, ensure_ascii=False, default=str).encode("utf-8") + b"\n" for e in entries]
    if not lines:
        return
    path = ledger_path(workspace)
    new = not path.exists()
    with open(path, "ab") as fh:
        if not new and fh.tell() and not _ends_with_newline(path):
            fh.write(b"\n")
        fh.write(b"".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    if new:
        fsync_dir(path.parent)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def compact(workspace: str | os.PathLike, keep_ids: Iterable[str]) -> None:
    """Rewrite the log with only the lines of ``keep_ids`` (removed when none); atomic.

    The messages whose lines go that went or may have gone are first
    appended to the sent ledger.
    """
    path = log_path(workspace)
    if not path.exists():
        return
    keep = {str(i) for i in keep_ids}
    _append_ledger(workspace, [e for mid, e in gone(read_events(path)).items() if mid not in keep])
    if not keep:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fsync_dir(path.parent)
        return
    lines = []
    for ev in read_events(path):
        if ev.get("event") == "claim":
            mine = {k: v for k, v in (ev.get("messages") or {}).items() if k in keep}
            if mine:
                lines.append({**ev, "messages": mine})
        elif str(ev.get("id")) in keep:
            lines.append(ev)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        for ev in lines:
            fh.write(json.dumps(ev, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
