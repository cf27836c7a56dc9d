"""crmkit send never sends a message twice even when campaigns.xlsx goes back to an older version.

A restored backup or a stale copy saved from Excel turns sent messages back to
``queued``; the sent ledger (``.crmkit/sent-ledger.jsonl``) remembers them.
Also: duplicate message IDs are not sent, and ``--limit`` cuts only messages to send.
Real SMTP (aiosmtpd on 127.0.0.1) as in test_send.py.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from test_send import customer, message, messages_of

from crmkit.cli import main
from crmkit.delivery.outcomes import OutcomeLog, ledger_path, log_path, read_ledger, sent_ledger
from crmkit.delivery.send import send_messages
from crmkit.io.safety import backups_of
from crmkit.workspace import open_workspace


def restore_oldest_backup(ws: Path) -> None:
    """What a person does after a mishap: copy the pre-send campaigns.xlsx back from .crmkit/backups."""
    target = ws / "campaigns.xlsx"
    shutil.copy2(backups_of(target, ws)[0], target)


# --------------------------------------------------------------------------- 1. the sent ledger

@pytest.mark.parametrize("compacted", [False, True], ids=["log-not-yet-compacted", "log-compacted"])
def test_a_restored_backup_sends_nothing_again_and_statuses_come_back_from_the_ledger(inbox, build, compacted):
    ws = build(inbox.port)
    first = send_messages(ws)
    assert first.sent == 6 and len(inbox.mails) == 6
    sent_before = messages_of(ws)
    if compacted:                                 # a later run folded the log into the ledger and removed it
        assert send_messages(ws).sent == 0
        assert not log_path(ws).exists() and set(read_ledger(ws).values()) == {"sent"}
    restore_oldest_backup(ws)
    assert set(messages_of(ws)["status"]) == {"queued"}          # the workbook forgot everything

    again = send_messages(ws)
    assert (again.sent, again.due, dict(again.restored), again.exit_code) == (0, 0, {"sent": 6}, 0)
    assert len(inbox.mails) == 6 and inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, 7)}
    m = messages_of(ws)
    assert set(m["status"]) == {"sent"}
    assert m["provider_message_id"].tolist() == sent_before["provider_message_id"].tolist()
    assert m["sent_at"].tolist() == sent_before["sent_at"].tolist()
    assert m.loc["M000003", "address"] == "c3@example.com"
    assert again.as_dict()["restored_from_ledger"] == {"sent": 6}
    assert "send ledger" in again.text("en") and "6" in again.text("en") and "发送台账" in again.text("zh")
    assert set(read_ledger(ws)) == {f"M{n:06d}" for n in range(1, 7)}     # the ledger is never compacted away

    restore_oldest_backup(ws)                     # and again: the ledger alone still knows
    dry = send_messages(ws, dry_run=True)
    assert (dry.would_send, dict(dry.restored)) == (0, {"sent": 6})
    assert send_messages(ws).sent == 0 and len(inbox.mails) == 6


def test_a_message_that_may_have_gone_comes_back_as_sending_not_resent(inbox, build):
    inbox.drop.add("c2@example.com")              # the connection breaks after M2 was handed over
    ws = build(inbox.port)
    res = send_messages(ws)
    assert res.left_sending == ["M000002"]
    inbox.drop.clear()
    restore_oldest_backup(ws)
    again = send_messages(ws)
    assert dict(again.restored) == {"sent": 1, "sending": 1}     # M1 went, M2 may have gone
    assert again.left_sending == ["M000002"] and again.exit_code == 1
    assert again.sent == 4 and inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, 7)}   # M2 not a second time
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "sending" and "send ledger" in m.loc["M000002", "failure_reason"]
    assert read_ledger(ws)["M000002"] == "maybe"


def test_a_cli_send_after_a_restored_backup_reports_it_in_json(inbox, build, capsys):
    ws = build(inbox.port)
    send_messages(ws)
    restore_oldest_backup(ws)
    capsys.readouterr()
    assert main(["send", str(ws), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sent"] == 0 and out["restored_from_ledger"] == {"sent": 6}
    assert len(inbox.mails) == 6


def test_the_ledger_reads_fast_keeps_sent_over_maybe_and_skips_a_torn_line(tmp_path):
    ws = tmp_path / "w"
    (ws / ".crmkit").mkdir(parents=True)
    n = 300_000
    with open(ledger_path(ws), "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"M{i:06d}", "state": "sent", "channel": "email",
                                 "provider_message_id": f"<{i}@x>", "address": "a@b.c",
                                 "sent_at": "2026-11-20T10:00:00"}) + "\n")
        fh.write(json.dumps({"id": 'M"qé', "state": "maybe"}) + "\n")
        fh.write(json.dumps({"id": "M000001", "state": "maybe"}) + "\n")
        fh.write('{"id": "M99999')                                  # torn by a kill
    began = time.perf_counter()
    got = read_ledger(ws)
    took = time.perf_counter() - began
    assert len(got) == n + 1 and got["M000001"] == "sent" and got['M"qé'] == "maybe"
    assert took < 5, took                         # ~0.2 s here; a plain json.loads per line is several times slower


def test_a_failed_attempt_is_not_in_the_ledger(tmp_path):
    ws = tmp_path / "w"
    with OutcomeLog(ws, "r") as log:
        log.write("claim", messages={"M1": 0, "M2": 0, "M3": 0})
        log.write("sending", id="M1", attempt=1, channel="email")
        log.write("failed", id="M1", attempt=1, reason="550", final=True)     # nothing went out
        log.write("sending", id="M2", attempt=1, channel="email")
        log.write("sent", id="M2", attempt=1, at="2026-11-20T10:00:00", provider_message_id="<p>", channel="email")
        log.write("sending", id="M3", attempt=1, channel="sms")
        log.write("unknown", id="M3", attempt=1, reason="connection lost")
    led = sent_ledger(ws)
    assert {k: v["state"] for k, v in led.items()} == {"M2": "sent", "M3": "maybe"}
    assert led["M2"]["provider_message_id"] == "<p>" and led["M3"]["channel"] == "sms"


# --------------------------------------------------------------------------- 2. duplicate IDs

def test_rows_sharing_a_message_id_are_not_sent_and_are_listed(inbox, build, capsys):
    msgs = [message(1, 1), message(2, 2), message(2, 3, content="copied row"), message(3, 3), message(4, 4)]
    ws = build(inbox.port, messages=msgs)
    res = send_messages(ws)
    assert (res.sent, dict(res.deferred), res.duplicate_ids) == (3, {"duplicate_id": 2}, ["M000002"])
    assert sorted(inbox.by_id()) == ["M000001", "M000003", "M000004"]
    m = open_workspace(ws)["messages"]
    assert m.loc[m["message_id"] == "M000002", "status"].tolist() == ["queued", "queued"]
    text = res.text("en")
    assert "M000002" in text and "own message_id" in text and "消息编号" in res.text("zh")
    capsys.readouterr()
    assert main(["send", str(ws), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["duplicate_ids"] == ["M000002"] and out["deferred"] == {"duplicate_id": 2} and out["sent"] == 0
    assert len(inbox.mails) == 3


def test_recovery_sets_every_row_of_a_duplicated_sending_id(inbox, build):
    msgs = [message(1, 1), message(2, 2), message(2, 3, content="copied row")]
    ws = build(inbox.port, messages=msgs)
    with OutcomeLog(ws, "killed-run") as log:
        log.write("claim", messages={"M000002": 0})
        log.write("sending", id="M000002", attempt=1, channel="email")
        log.write("sent", id="M000002", attempt=1, at="2026-11-20T09:59:00", provider_message_id="<p2@x>",
                  address="c2@example.com", channel="email")
    w = open_workspace(ws)
    m = w["messages"].copy()
    m.loc[m["message_id"] == "M000002", ["status", "attempts"]] = ["sending", 1]   # the row was copied mid-run
    w.replace("messages", m)
    w.save()
    res = send_messages(ws)
    assert res.recovered_by == {"sent": 1} and res.left_sending == [] and res.sent == 1
    m = open_workspace(ws)["messages"]
    assert m.loc[m["message_id"] == "M000002", "status"].tolist() == ["sent", "sent"]
    assert m.loc[m["message_id"] == "M000002", "provider_message_id"].tolist() == ["<p2@x>", "<p2@x>"]
    assert inbox.by_id() == {"M000001": 1}


# --------------------------------------------------------------------------- 3. --limit

def test_limit_cuts_only_messages_to_send_and_suppressions_are_still_written(inbox, build):
    people = [customer(1), customer(2, unsubscribed=True), customer(3, marketing_consent=False), customer(4)]
    msgs = [message(1, 1), message(2, 2), message(3, 1), message(4, 3), message(5, 4)]
    ws = build(inbox.port, customers=people, messages=msgs)
    res = send_messages(ws, limit=1)
    assert res.sent == 1 and dict(res.suppressed) == {"unsubscribed": 1, "no_consent": 1}
    assert dict(res.deferred) == {"limit": 2}
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "suppressed" and m.loc["M000002", "suppressed_reason"] == "unsubscribed"
    assert m.loc["M000004", "status"] == "suppressed"
    assert m.loc[["M000003", "M000005"], "status"].tolist() == ["queued", "queued"]
    assert inbox.by_id() == {"M000001": 1}
