"""crmkit send: due messages go out once through a real SMTP server (aiosmtpd on 127.0.0.1), outcomes come back.

Each test builds a small workspace whose Settings point e-mail at a local
server on a free port; nothing leaves the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from local_servers import listener, smtp_inbox, webhook

from crmkit.cli import main
from crmkit.delivery.outcomes import OutcomeLog, log_path
from crmkit.delivery.send import send_messages
from crmkit.delivery.transports import Delivered, DeliveryFailed
from crmkit.workspace import open_workspace

AS_OF = pd.Timestamp("2026-11-20 10:00")          # a Friday, inside sending hours
WORKBOOKS = ("customers.xlsx", "tasks.xlsx", "campaigns.xlsx", "rules.xlsx", "log.xlsx")


def customer(i: int, **kw) -> dict:
    row = {"customer_id": f"C{i:03d}", "name": f"Firm {i}", "contact_name": f"Contact {i}",
           "email": f"c{i}@example.com", "phone": f"+86138{i:08d}", "source": "referral",
           "created_at": AS_OF - pd.Timedelta(days=100), "marketing_consent": True, "unsubscribed": False}
    row.update(kw)
    return row


def message(n: int, cid: int, *, at: pd.Timestamp | None = None, **kw) -> dict:
    at = AS_OF - pd.Timedelta(minutes=60 - n) if at is None else at
    row = {"message_id": f"M{n:06d}", "customer_id": f"C{cid:03d}", "channel": "email", "kind": "marketing",
           "content": f"Hello {n}, 你好", "subject": f"Offer {n} 优惠", "status": "queued",
           "queued_at": at - pd.Timedelta(hours=1), "scheduled_at": at}
    row.update(kw)
    return row


def settings_for(port: int, **kw) -> dict:
    out = {"as_of": AS_OF.strftime("%Y-%m-%d %H:%M"), "smtp_host": "127.0.0.1", "smtp_port": port,
           "smtp_security": "none", "smtp_from": "Sales <sales@example.com>", "smtp_timeout": 5,
           "send_retry_delay": 0.01, "send_batch_size": 3, "daily_message_cap": 5}
    out.update(kw)
    return out


def messages_of(folder: Path) -> pd.DataFrame:
    return open_workspace(folder)["messages"].set_index("message_id")


def files(folder: Path) -> dict[str, bytes]:
    out = {name: (folder / name).read_bytes() for name in WORKBOOKS if (folder / name).exists()}
    if log_path(folder).exists():
        out["log"] = log_path(folder).read_bytes()
    return out


# --------------------------------------------------------------------------- sending


def test_due_messages_are_sent_once_and_the_outcome_is_written_back(inbox, build):
    ws = build(inbox.port)
    res = send_messages(ws)
    assert (res.due, res.sent, res.failed, res.exit_code) == (6, 6, 0, 0)
    assert res.as_dict()["by_channel"]["email"]["sent"] == 6
    assert inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, 7)}
    m = messages_of(ws)
    assert set(m["status"]) == {"sent"}
    assert m["attempts"].tolist() == [1] * 6
    assert m.loc["M000001", "address"] == "c1@example.com"
    assert m["sent_at"].notna().all() and (m["sent_at"] >= AS_OF).all()
    got = {str(x["X-Crmkit-Message-Id"]): x for x in inbox.mails}
    assert m.loc["M000002", "provider_message_id"] == got["M000002"]["Message-ID"]
    assert got["M000002"]["Subject"] == "Offer 2 优惠" and "你好" in got["M000002"].get_content()
    assert got["M000002"]["List-Unsubscribe"]           # a marketing mail says how to unsubscribe
    assert not log_path(ws).exists() or log_path(ws).read_bytes()   # the log holds this run's steps
    again = send_messages(ws)
    assert (again.due, again.sent) == (0, 0)
    assert len(inbox.mails) == 6                          # a second run sends nothing new
    assert not log_path(ws).exists()                      # and compacted the log away


def test_as_of_picks_only_the_messages_whose_time_has_come_oldest_first_and_limit_caps_them(inbox, build):
    msgs = [message(1, 1, at=AS_OF + pd.Timedelta(hours=2)), message(2, 2, at=AS_OF - pd.Timedelta(hours=3)),
            message(3, 3, at=AS_OF - pd.Timedelta(hours=1)), message(4, 4, at=AS_OF - pd.Timedelta(hours=2)),
            message(5, 1, at=None, scheduled_at=None, queued_at=AS_OF - pd.Timedelta(hours=5))]
    ws = build(inbox.port, messages=msgs)
    res = send_messages(ws, limit=2)
    assert (res.due, res.sent, dict(res.deferred)) == (4, 2, {"limit": 2})
    assert [str(m["X-Crmkit-Message-Id"]) for m in inbox.mails] == ["M000005", "M000002"]   # oldest first
    res = send_messages(ws)
    assert res.sent == 2 and messages_of(ws).loc["M000001", "status"] == "queued"   # not due before 12:00
    res = send_messages(ws, as_of="2026-11-20 12:30")
    assert res.sent == 1 and set(messages_of(ws)["status"]) == {"sent"}
    assert inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, 6)}


def test_customer_who_unsubscribed_after_queueing_gets_nothing(inbox, build):
    people = [customer(1), customer(2, unsubscribed=True), customer(3, marketing_consent=False),
              customer(4, email=None)]
    msgs = [message(1, 1), message(2, 2), message(3, 3), message(4, 4), message(5, 2, kind="service")]
    ws = build(inbox.port, customers=people, messages=msgs)
    res = send_messages(ws)
    assert res.sent == 2 and dict(res.suppressed) == {"unsubscribed": 1, "no_consent": 1, "no_email": 1}
    assert sorted(inbox.by_id()) == ["M000001", "M000005"]     # a service message still goes
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "suppressed" and m.loc["M000002", "suppressed_reason"] == "unsubscribed"
    assert m.loc["M000004", "suppressed_reason"] == "no e-mail address"


def test_a_bounced_address_blocks_and_a_corrected_one_goes(inbox, build):
    people = [customer(1, bounced_address="c1@example.com"), customer(2, email="new2@example.com",
                                                                       bounced_address="c2@example.com")]
    ws = build(inbox.port, customers=people, messages=[message(1, 1), message(2, 2)])
    res = send_messages(ws)
    assert dict(res.suppressed) == {"address_bounced": 1} and res.sent == 1
    assert inbox.to() == ["Contact 2 <new2@example.com>"]


def test_outside_sending_hours_nothing_is_sent_or_written_and_the_next_window_is_named(inbox, build, capsys):
    ws = build(inbox.port)
    before = files(ws)
    res = send_messages(ws, as_of="2026-11-20 19:30")        # Friday evening: Monday morning is next
    assert (res.due, res.sent, dict(res.deferred)) == (6, 0, {"outside_hours": 6})
    assert res.next_window == pd.Timestamp("2026-11-23 09:00")
    assert inbox.mails == [] and files(ws) == before
    assert "2026-11-23 09:00" in res.text("en") and "下一个发送时段" in res.text("zh")


def test_the_daily_cap_holds_extra_marketing_messages_for_the_next_sending_day(inbox, build):
    sent_today = message(9, 1, status="sent", sent_at=AS_OF - pd.Timedelta(hours=1))
    msgs = [sent_today, message(1, 1), message(2, 1), message(3, 2, kind="service"), message(4, 1, kind="service")]
    ws = build(inbox.port, messages=msgs, daily_message_cap=2)
    res = send_messages(ws)
    assert res.sent == 3 and dict(res.deferred) == {"daily_cap": 1}
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "queued"
    assert m.loc["M000002", "scheduled_at"] == pd.Timestamp("2026-11-23 09:00")
    assert sorted(inbox.by_id()) == ["M000001", "M000003", "M000004"]


def test_a_refused_recipient_fails_while_the_others_are_sent(inbox, build):
    inbox.refuse.add("c2@example.com")
    ws = build(inbox.port)
    res = send_messages(ws)
    assert (res.sent, res.failed, res.exit_code) == (4, 2, 1)
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "failed" and m.loc["M000002", "attempts"] == 1     # permanent: no retry
    assert "550" in m.loc["M000002", "failure_reason"] and "c2@example.com" in m.loc["M000002", "failure_reason"]
    assert sorted(inbox.by_id()) == ["M000001", "M000003", "M000004", "M000005"]


def test_a_server_that_is_down_is_retried_then_the_message_fails_and_the_rest_wait(build):
    with listener() as (port, _):
        pass                                                  # a port nobody listens on any more
    ws = build(port, send_max_attempts=3)
    res = send_messages(ws)
    assert (res.sent, res.failed, dict(res.deferred)) == (0, 1, {"channel_unavailable": 5})
    assert res.exit_code == 1
    m = messages_of(ws)
    assert m.loc["M000001", "status"] == "failed" and m.loc["M000001", "attempts"] == 3
    assert "refused" in m.loc["M000001", "failure_reason"]
    rest = m.drop(index="M000001")
    assert set(rest["status"]) == {"queued"} and rest["attempts"].isna().all()   # untouched, for the next run
    with smtp_inbox() as box:                                # the server is back (on another port)
        w = open_workspace(ws)
        s = w["settings"].copy()
        s.loc[s["key"] == "smtp_port", "value"] = str(box.port)
        w.replace("settings", s)
        w.save()
        res = send_messages(ws)
        assert res.sent == 5 and sorted(box.by_id()) == [f"M{n:06d}" for n in range(2, 7)]


def test_a_channel_without_settings_keeps_its_messages_queued(inbox, build):
    msgs = [message(1, 1), message(2, 2, channel="sms"), message(3, 3, channel="wecom")]
    ws = build(inbox.port, messages=msgs)
    res = send_messages(ws)
    assert res.sent == 1 and dict(res.deferred) == {"not_configured": 2}
    assert messages_of(ws).loc[["M000002", "M000003"], "status"].tolist() == ["queued", "queued"]
    assert "not set up" in res.text("en")


def test_dry_run_contacts_no_server_and_leaves_every_file_as_it_was(build, capsys):
    with listener() as (port, contacted):
        ws = build(port, unsubscribe_url="https://example.com/u/{message_id}")
        before = files(ws)
        code = main(["send", str(ws), "--dry-run", "--json"])
        payload = json.loads(capsys.readouterr().out)
        assert code == 0 and not contacted()
    assert files(ws) == before
    assert payload["dry_run"] is True and payload["would_send"] == 6 and payload["sent"] == 0
    first = payload["preview"][0]
    assert first["address"] == "c1@example.com" and first["subject"] == "Offer 1 优惠"
    assert "https://example.com/u/M000001" in first["unsubscribe"]


def test_a_connection_lost_after_the_mail_was_handed_over_leaves_it_sending_for_a_person(inbox, build):
    inbox.drop.add("c2@example.com")
    ws = build(inbox.port)
    res = send_messages(ws)
    assert res.left_sending == ["M000002"] and res.exit_code == 1
    assert res.sent == 1 and dict(res.deferred) == {"channel_unavailable": 4}     # the channel pauses for this run
    assert messages_of(ws).loc["M000002", "status"] == "sending"
    inbox.drop.clear()                                       # M6 goes to the same address: let it through
    again = send_messages(ws)
    assert again.sent == 4 and again.left_sending == ["M000002"]
    assert inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, 7)}                 # M2 arrived once, never again


def test_sms_goes_through_the_webhook_and_a_failing_gateway_is_retried_then_paused(inbox, build):
    msgs = [message(1, 1, channel="sms"), message(2, 2, channel="sms"), message(3, 3), message(4, 4, channel="sms")]
    with webhook() as hook:
        ws = build(inbox.port, messages=msgs, sms_webhook_url=hook.url, sms_webhook_id_field="data.id",
                   send_max_attempts=2)
        hook.status = 500
        res = send_messages(ws)
        assert (res.sent, res.failed, dict(res.deferred)) == (1, 1, {"channel_unavailable": 2})
        assert len(hook.received) == 2                        # two attempts of M1, then the channel waits
        m = messages_of(ws)
        assert m.loc["M000001", "status"] == "failed" and m.loc["M000001", "attempts"] == 2
        assert m.loc["M000003", "status"] == "sent"             # e-mail went on
        hook.status = 200
        res = send_messages(ws)
        assert res.sent == 2
        m = messages_of(ws)
        assert m.loc["M000002", "provider_message_id"] == "gw-3" and m.loc["M000002", "address"] == "+8613800000002"
        assert [b["message_id"] for b in hook.received[2:]] == ["M000002", "M000004"]


# --------------------------------------------------------------------------- crash safety: the outcome log


def claim(ws: Path, ids: list[str], *, events: list[tuple[str, dict]]) -> None:
    """What a run killed mid-batch leaves: the batch saved as sending, the log up to some step."""
    with OutcomeLog(ws, "killed-run") as log:
        log.write("claim", messages={i: 0 for i in ids})
        for event, data in events:
            log.write(event, **data)
    w = open_workspace(ws)
    m = w["messages"].copy()
    hit = m["message_id"].isin(ids)
    m.loc[hit, "status"] = "sending"
    m.loc[hit, "attempts"] = 1
    w.replace("messages", m)
    w.save()


def test_outcomes_in_the_log_are_applied_and_an_unsure_message_is_reported_not_resent(inbox, build, capsys):
    ws = build(inbox.port)
    claim(ws, ["M000001", "M000002", "M000003"], events=[
        ("sending", {"id": "M000001", "attempt": 1}),
        ("sent", {"id": "M000001", "attempt": 1, "at": "2026-11-20T09:59:00", "provider_message_id": "<p1@x>",
                  "address": "c1@example.com"}),
        ("sending", {"id": "M000002", "attempt": 1}),       # killed during this network call
    ])
    code = main(["send", str(ws), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["recovered"] == 2 and payload["recovered_by"] == {"sent": 1, "queued": 1}
    assert payload["left_sending"] == ["M000002"] and payload["sent"] == 4     # M3 (never tried) and M4-M6
    m = messages_of(ws)
    assert m.loc["M000001", "status"] == "sent" and m.loc["M000001", "provider_message_id"] == "<p1@x>"
    assert m.loc["M000001", "sent_at"] == pd.Timestamp("2026-11-20 09:59")
    assert m.loc["M000002", "status"] == "sending"
    assert "M000001" not in inbox.by_id() and "M000002" not in inbox.by_id()   # neither was sent again
    assert inbox.by_id()["M000003"] == 1
    main(["send", str(ws)])
    out = capsys.readouterr().out
    assert "1 messages may or may not have been sent" in out and "M000002" in out
    assert "M000002" not in inbox.by_id()                  # still never resent: a person decides


def test_a_dry_run_says_what_the_log_would_recover_and_changes_nothing(inbox, build):
    ws = build(inbox.port)
    claim(ws, ["M000001", "M000002"], events=[("sending", {"id": "M000001", "attempt": 1})])
    before = files(ws)
    res = send_messages(ws, dry_run=True)
    assert res.left_sending == ["M000001"] and res.recovered == 1 and res.would_send == 4
    assert files(ws) == before and inbox.mails == []
    assert "would apply" in res.text("en")


def test_a_message_left_sending_without_any_log_is_never_resent(inbox, build):
    ws = build(inbox.port)
    w = open_workspace(ws)
    m = w["messages"].copy()
    m.loc[m["message_id"] == "M000001", "status"] = "sending"
    w.replace("messages", m)
    w.save()
    res = send_messages(ws)
    assert res.left_sending == ["M000001"] and res.sent == 5 and res.exit_code == 1
    assert "M000001" not in inbox.by_id()


def test_a_torn_last_line_is_skipped_and_the_log_goes_on(inbox, build):
    ws = build(inbox.port)
    claim(ws, ["M000001", "M000002"], events=[("sending", {"id": "M000001", "attempt": 1}),
                                               ("sent", {"id": "M000001", "attempt": 1, "at": "2026-11-20T09:59:00",
                                                         "provider_message_id": "<p1@x>"})])
    with open(log_path(ws), "ab") as fh:
        fh.write(b'{"event": "sending", "id": "M0000')    # the kill cut the line short: M2 was not tried yet
    res = send_messages(ws)
    assert res.recovered == 2 and res.left_sending == [] and res.sent == 5
    assert "M000001" not in inbox.by_id() and inbox.by_id()["M000002"] == 1


# --------------------------------------------------------------------------- the loop's own choices


class Flaky:
    """An in-test transport: fails as told per message id, else delivers."""

    channel = "email"

    def __init__(self, plan: dict[str, list]):
        self.plan = plan
        self.calls: list[str] = []

    def send(self, out):
        self.calls.append(out.message_id)
        todo = self.plan.get(out.message_id)
        if todo:
            raise todo.pop(0)
        return Delivered(f"<{out.message_id}@test>")

    def close(self):
        pass


def test_transient_failures_are_retried_with_backoff_and_counted(build):
    ws = build(1, send_max_attempts=3)
    flaky = Flaky({"M000001": [DeliveryFailed("451 try later", transient=True)] * 2})
    res = send_messages(ws, transports={"email": flaky})
    assert res.sent == 6 and flaky.calls.count("M000001") == 3
    assert messages_of(ws).loc["M000001", "attempts"] == 3


def test_a_message_the_provider_may_have_taken_stays_sending_and_its_channel_pauses(build):
    ws = build(1)
    flaky = Flaky({"M000002": [DeliveryFailed("connection broke after DATA", transient=True, maybe_sent=True)]})
    res = send_messages(ws, transports={"email": flaky})
    assert res.left_sending == ["M000002"] and flaky.calls.count("M000002") == 1
    assert res.sent == 1 and dict(res.deferred) == {"channel_unavailable": 4}
    m = messages_of(ws)
    assert m.loc["M000002", "status"] == "sending" and "may have been delivered" in m.loc["M000002", "failure_reason"]
    again = send_messages(ws, transports={"email": flaky})
    assert again.sent == 4 and flaky.calls.count("M000002") == 1 and again.left_sending == ["M000002"]


def test_a_refused_login_stops_the_channel_and_fails_no_message(build):
    ws = build(1)
    flaky = Flaky({"M000001": [DeliveryFailed("535 login refused", transient=False, fatal=True)]})
    res = send_messages(ws, transports={"email": flaky})
    assert (res.sent, res.failed, dict(res.deferred)) == (0, 0, {"channel_error": 6})
    assert flaky.calls == ["M000001"]
    assert set(messages_of(ws)["status"]) == {"queued"}
    assert "535 login refused" in res.text("en")


def test_send_speaks_the_workspace_language(inbox, build, capsys):
    ws = build(inbox.port, language="zh")
    inbox.refuse.add("c3@example.com")
    code = main(["send", str(ws)])
    out = capsys.readouterr().out
    assert code == 1
    assert "到期 6 条：已发送 5，发送失败 1" in out
