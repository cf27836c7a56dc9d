"""crmkit cycle: validate, rules, send, RFM and due reports in one locked run, on a sample workspace whose
Settings point e-mail and WeCom at local servers (127.0.0.1); and the daily timer of crmkit dashboard."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from local_servers import smtp_inbox, webhook

from crmkit.cli import main
from crmkit.cycle import DailyCycle, due_periods, run_cycle
from crmkit.io.journal import workspace_lock
from crmkit.sample import generate_workspace
from crmkit.workspace import open_workspace

WORKBOOKS = ("customers.xlsx", "tasks.xlsx", "campaigns.xlsx", "rules.xlsx", "log.xlsx")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cycle") / "crm"
    generate_workspace(folder, customers=60, seed=5, lang="en")
    return folder


def set_settings(folder: Path, **values) -> None:
    """Put ``key = value`` rows into the Settings sheet, as a user would type them."""
    ws = open_workspace(folder)
    ws.set_settings(values)
    ws.save()


@pytest.fixture
def servers():
    with smtp_inbox() as inbox, webhook() as hook:
        yield inbox, hook


@pytest.fixture
def crm(sample, tmp_path, servers) -> Path:
    inbox, hook = servers
    folder = tmp_path / "crm"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns(".crmkit"))
    set_settings(folder, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none",
                 smtp_from="Sales <sales@example.com>", smtp_timeout=5, send_retry_delay=0.01,
                 wecom_webhook_url=hook.url, wecom_webhook_preset="generic", sms_webhook_url=hook.url,
                 send_rate_wecom=100000, send_rate_sms=100000, send_rate_email=100000)
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in WORKBOOKS}


def test_one_cycle_runs_the_rules_sends_what_is_due_scores_rfm_and_writes_the_due_reports(crm, servers):
    inbox, hook = servers
    as_of = "2026-11-25 10:30"                     # a Wednesday inside sending hours
    res = run_cycle(crm, as_of=as_of)
    assert res.exit_code == 0 and not res.stopped
    assert res.validation["errors"] == 0
    assert res.run["actions"] > 0
    sent = res.send["sent"]
    assert sent > 0 and sent == len(inbox.mails) + len(hook.received)
    msgs = open_workspace(crm)["messages"]
    assert int((msgs["status"] == "sent").sum()) >= sent
    assert not (msgs["status"] == "sending").any()
    due = msgs[(msgs["status"] == "queued") & (msgs["scheduled_at"] <= pd.Timestamp(as_of))]
    assert due.empty                               # everything due went out
    assert res.rfm["customers"] == len(open_workspace(crm)["customers"])
    names = sorted(Path(p).name for p in res.reports)
    assert names == ["report-month-2026-10.xlsx", "report-week-2026-W47.xlsx"]
    assert all(Path(p).is_file() for p in res.reports)
    text = res.text("en")
    assert "sent" in text and "report-week-2026-W47.xlsx" in text


def test_a_second_cycle_the_same_day_sends_nothing_new_and_writes_no_report(crm, servers):
    inbox, hook = servers
    run_cycle(crm, as_of="2026-11-25 10:30")
    received = len(inbox.mails) + len(hook.received)
    again = run_cycle(crm, as_of="2026-11-25 10:30")
    assert again.exit_code == 0
    assert again.run["actions"] == 0 and again.send["sent"] == 0 and again.reports == []
    assert len(inbox.mails) + len(hook.received) == received
    assert max(inbox.by_id().values()) == 1


def test_validation_errors_stop_the_cycle_before_it_acts(crm, servers, capsys):
    inbox, hook = servers
    ws = open_workspace(crm)
    customers = ws["customers"].copy()
    customers.loc[customers.index[0], "source"] = "carrier pigeon"   # not a source: a validation error
    ws.replace("customers", customers)
    ws.save()
    before = contents(crm)
    code = main(["cycle", str(crm), "--as-of", "2026-11-25 10:30", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["stopped"] == "validate" and out["validation"]["errors"] >= 1
    assert out["run"] is None and out["send"] is None and out["reports"] == []
    assert contents(crm) == before and inbox.mails == [] and hook.received == []
    assert not (crm / "reports").exists() or not any((crm / "reports").glob("report-*.xlsx"))


def test_the_cycle_prints_one_summary_in_the_workspace_language(crm, capsys):
    set_settings(crm, language="zh")
    code = main(["cycle", str(crm), "--as-of", "2026-11-25 10:30"])
    out = capsys.readouterr().out
    assert code == 0
    assert "每日自动运行" in out and "数据校验" in out and "条已发送" in out and "报表" in out


def test_another_run_holding_the_workspace_makes_the_cycle_refuse_at_once(crm, capsys):
    with workspace_lock(crm):
        done = {}
        t = threading.Thread(target=lambda: done.setdefault("code", main(["cycle", str(crm)])))
        t.start()
        t.join(30)
    assert done["code"] == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("setting,expected", [(None, ("week", "month")), (("month",), ("month",)),
                                              (("周报", "Monthly"), ("week", "month")), ((), ())])
def test_cycle_reports_setting(setting, expected):
    assert due_periods(setting) == expected


def test_the_daily_timer_runs_the_cycle_once_at_its_time_and_then_waits_for_the_next_day(crm):
    clock = {"now": pd.Timestamp("2026-11-25 08:29:59")}
    reports: list[str] = []
    daily = DailyCycle(crm, dt.time(8, 30), report=reports.append, now=lambda: clock["now"])
    assert daily.next_time(clock["now"]) == pd.Timestamp("2026-11-25 08:30")
    assert daily.next_time(pd.Timestamp("2026-11-25 08:30")) == pd.Timestamp("2026-11-26 08:30")
    daily.start()
    clock["now"] = pd.Timestamp("2026-11-25 08:30:01")
    try:
        for _ in range(600):
            if daily.runs:
                break
            threading.Event().wait(0.1)
    finally:
        daily.stop()
        daily.join(10)
    assert daily.runs == 1 and not daily.is_alive()
    assert len(reports) == 1 and "Daily cycle" in reports[0]


def test_a_delivery_setting_that_cannot_be_used_stops_the_cycle_before_it_acts(crm, servers, capsys):
    inbox, hook = servers
    set_settings(crm, smtp_user="sales@example.com", smtp_password_env="CRMKIT_TEST_UNSET_PASSWORD")
    before = contents(crm)
    code = main(["cycle", str(crm), "--as-of", "2026-11-25 10:30", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["stopped"] == "settings" and "CRMKIT_TEST_UNSET_PASSWORD" in out["problem"]
    assert out["run"] is None and contents(crm) == before and inbox.mails == []


def test_a_cycle_outside_sending_hours_says_when_the_deferred_messages_go(crm, servers):
    res = run_cycle(crm, as_of="2026-11-25 20:00")      # rules queue, nothing may go at 20:00
    text = res.text("en")
    assert res.send["sent"] == 0 and "outside sending hours" in text and "2026-11-26 09:00" in text


def test_the_daily_timer_survives_a_cycle_that_breaks(crm, monkeypatch):
    import crmkit.cycle as cycle_module

    def broken(*args, **kw):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cycle_module, "run_cycle", broken)
    clock = {"now": pd.Timestamp("2026-11-25 08:29:59")}
    reports: list[str] = []
    daily = DailyCycle(crm, dt.time(8, 30), report=reports.append, now=lambda: clock["now"], poll=0.05)
    daily.start()
    clock["now"] = pd.Timestamp("2026-11-25 08:30:01")
    for _ in range(300):
        if daily.runs:
            break
        threading.Event().wait(0.1)
    clock["now"] = pd.Timestamp("2026-11-26 08:30:01")       # the next day's cycle still runs
    for _ in range(300):
        if daily.runs == 2:
            break
        threading.Event().wait(0.1)
    daily.stop()
    daily.join(10)
    assert daily.runs == 2 and all("disk on fire" in r for r in reports)
