"""crmkit run on real workspaces: writing, idempotency, dry runs, bad rules, changes since the last run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.rules.engine import run_rules
from crmkit.workspace import open_workspace

AS_OF = "2026-11-20 10:00"
TODAY = pd.Timestamp(AS_OF).normalize()


def customers_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C001", "C002", "C003"],
        "name": ["Acme", "Beta", "Gamma"],
        "contact_name": ["Ann", "Bob", "Cat"],
        "email": ["ann@example.com", "bob@example.com", "cat@example.com"],
        "source": ["website_form", "referral", "referral"],
        "intent_level": ["A", "B", "C"],
        "industry": ["it_internet", "retail", "retail"],
        "stage": ["lead", "won", "won"],
        "owner": [None, "Sam Patel", None],
        "created_at": [TODAY, TODAY - pd.Timedelta(days=500), TODAY - pd.Timedelta(days=500)],
        "contract_end": [None, TODAY + pd.Timedelta(days=10), None],
        "marketing_consent": [True, True, False],
        "unsubscribed": [False, False, False],
    })


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def only_rules(*rows: dict) -> pd.DataFrame:
    base = {"enabled": True, "entity": "customers", "once": "ever", "params": ""}
    return pd.DataFrame([{**base, **r, "priority": i} for i, r in enumerate(rows, 1)])


@pytest.fixture
def ws_dir(make_workspace):
    return make_workspace({"customers": customers_frame()}, settings={"as_of": AS_OF})


def test_run_writes_tasks_messages_changes_log_and_history(ws_dir):
    res = run_rules(open_workspace(ws_dir))
    assert res.summary()["actions"] > 0 and res.errors == []
    ws = open_workspace(ws_dir)
    tasks = ws["tasks"]
    assert (tasks["created_by"].str.startswith("rule:")).all()
    assert set(tasks["status"]) == {"open"}
    assert (tasks["created_at"] == pd.Timestamp(AS_OF)).all()
    assert ws["customers"].set_index("customer_id").loc["C001", "owner"] == "Alex Chen"   # it_internet routing
    hist = ws["history"]
    assert {"owner"} <= set(hist["field"]) and (hist["by"].str.startswith("rule:")).all()
    log = ws["rule_log"]
    assert len(log) == len(res.actions)
    assert set(log["outcome"]) <= {"done", "suppressed", "failed"}
    msgs = ws["messages"]
    assert set(msgs["status"]) <= {"queued", "suppressed"}
    assert msgs.loc[msgs["status"] == "suppressed", "suppressed_reason"].notna().all()


def test_running_twice_for_the_same_time_adds_nothing_the_second_time(ws_dir):
    first = run_rules(open_workspace(ws_dir))
    assert first.summary()["actions"] > 0
    before = {k: v for k, v in snapshot(ws_dir).items() if k.endswith(".xlsx") and not k.startswith(".crmkit")}
    second = run_rules(open_workspace(ws_dir))
    assert second.summary()["actions"] == 0 and second.summary()["suppressed"] == 0
    after = {k: v for k, v in snapshot(ws_dir).items() if k.endswith(".xlsx") and not k.startswith(".crmkit")}
    assert after == before


def test_dry_run_leaves_every_file_byte_for_byte_unchanged(ws_dir):
    """Workbooks, rule state, journal and backups stay as they were; the only thing a dry run may add is
    the typed copy of what it read (.crmkit/cache, as any read does), never a change to a file."""
    before = snapshot(ws_dir)
    res = run_rules(open_workspace(ws_dir), dry_run=True)
    assert res.summary()["actions"] > 0 and res.summary()["dry_run"] is True
    after = snapshot(ws_dir)
    added = set(after) - set(before)
    assert all(name.startswith(".crmkit/cache/") for name in added), sorted(added)
    assert {k: v for k, v in after.items() if k not in added} == before


def test_dry_run_shows_what_the_real_run_then_does(ws_dir):
    planned = run_rules(open_workspace(ws_dir), dry_run=True).planned()
    done = run_rules(open_workspace(ws_dir)).planned()
    assert planned == done


def test_bad_expressions_are_reported_and_skipped_while_other_rules_run(make_workspace):
    rules = only_rules(
        {"rule_id": "BAD1", "name": "syntax", "when": 'stage == "won" and (', "action": "add_tag", "params": "tag=x"},
        {"rule_id": "BAD2", "name": "unknown field", "when": "colour == 1", "action": "add_tag", "params": "tag=x"},
        {"rule_id": "BAD3", "name": "unsafe", "when": '__import__("os").system("echo hi")', "action": "add_tag",
         "params": "tag=x"},
        {"rule_id": "BAD4", "name": "bad params", "when": 'stage == "won"', "action": "add_tag",
         "params": 'tag="open'},
        {"rule_id": "GOOD", "name": "good", "when": 'stage == "won"', "action": "add_tag", "params": "tag=vip"},
    )
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    res = run_rules(open_workspace(folder))
    errors = {e["rule_id"]: e for e in res.errors}
    assert set(errors) == {"BAD1", "BAD2", "BAD3", "BAD4"}
    assert errors["BAD1"]["position"] == 20
    assert errors["BAD2"]["position"] == 1 and "colour" in errors["BAD2"]["message"]
    assert errors["BAD3"]["position"] == 1
    assert errors["BAD4"]["position"] == 5
    assert res.summary()["by_rule"]["GOOD"] == 2
    tags = open_workspace(folder)["customers"].set_index("customer_id")["tags"]
    assert tags["C002"] == "vip" and pd.isna(tags["C001"])


def test_changed_to_fires_when_a_value_changes_between_runs(make_workspace):
    deals = pd.DataFrame({"deal_id": ["D1"], "customer_id": ["C002"], "name": ["Deal"], "stage": ["proposal"],
                          "owner": ["Sam Patel"], "created_at": [TODAY - pd.Timedelta(days=20)]})
    folder = make_workspace({"customers": customers_frame(), "deals": deals}, settings={"as_of": AS_OF})
    first = run_rules(open_workspace(folder))
    assert first.summary()["by_rule"]["R06"] == 0
    ws = open_workspace(folder)
    d = ws["deals"].copy()
    d["stage"] = "negotiation"
    ws.replace("deals", d)
    ws.save()
    second = run_rules(open_workspace(folder), as_of="2026-11-20 11:00")
    assert second.summary()["by_rule"]["R06"] == 1
    third = run_rules(open_workspace(folder), as_of="2026-11-20 12:00")
    assert third.summary()["by_rule"]["R06"] == 0


def test_customers_workbook_is_not_rewritten_when_no_customer_field_changed(make_workspace):
    rules = only_rules({"rule_id": "T1", "name": "task", "when": 'stage == "won"', "action": "create_task",
                        "params": 'title="Call {name}"; due=2h; to=owner'})
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    before = (folder / "customers.xlsx").read_bytes()
    res = run_rules(open_workspace(folder))
    assert res.summary()["actions"] == 2
    assert (folder / "customers.xlsx").read_bytes() == before


def test_new_ids_continue_the_existing_sequence_and_owner_falls_back_to_the_manager(make_workspace):
    tasks = pd.DataFrame({"task_id": ["T000123"], "customer_id": ["C002"], "title": ["Old"], "owner": ["Sam Patel"],
                          "due_at": [TODAY], "status": ["done"], "created_at": [TODAY]})
    rules = only_rules({"rule_id": "T1", "name": "task", "when": 'customer_id == "C003"', "action": "create_task",
                        "params": 'title="Call {name} ({stage})"; due=1d; to=owner'})
    folder = make_workspace({"customers": customers_frame(), "tasks": tasks, "rules": rules},
                            settings={"as_of": AS_OF})
    run_rules(open_workspace(folder))
    new = open_workspace(folder)["tasks"].set_index("task_id").loc["T000124"]
    assert new["owner"] == "Morgan Lee" and new["title"] == "Call Gamma (won)"
    assert new["created_by"] == "rule:T1" and new["due_at"] == pd.Timestamp("2026-11-21 10:00")


def test_once_per_week_repeats_only_in_a_new_week(make_workspace):
    rules = only_rules({"rule_id": "W1", "name": "weekly", "when": 'stage == "won"', "action": "create_task",
                        "params": 'title="Weekly"; to=owner', "once": "per_week"})
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    counts = [run_rules(open_workspace(folder), as_of=t).summary()["actions"]
              for t in ("2026-11-20 10:00", "2026-11-21 10:00", "2026-11-23 10:00")]
    assert counts == [2, 0, 2]


def test_least_loaded_assignment_picks_the_rep_with_fewest_open_tasks(make_workspace):
    tasks = pd.DataFrame({"task_id": [f"T{i}" for i in range(5)], "title": "x", "due_at": TODAY, "status": "open",
                          "created_at": TODAY,
                          "owner": ["Alex Chen", "Alex Chen", "Sam Patel", "Jordan Kim", "Taylor Brooks"]})
    rules = only_rules({"rule_id": "A1", "name": "assign", "when": 'customer_id == "C003"', "action": "assign_owner",
                        "params": "by=least_loaded; among=Alex Chen, Sam Patel"})
    folder = make_workspace({"customers": customers_frame(), "tasks": tasks, "rules": rules},
                            settings={"as_of": AS_OF})
    run_rules(open_workspace(folder))
    assert open_workspace(folder)["customers"].set_index("customer_id").loc["C003", "owner"] == "Sam Patel"


def test_records_limit_the_run_to_the_named_records(ws_dir):
    res = run_rules(open_workspace(ws_dir), dry_run=True, records={"customers": ["C003"]})
    assert set(res.actions["record_id"]) <= {"C003"}


def test_cli_run_json_prints_the_summary_and_dry_run_plans(ws_dir, capsys):
    assert main(["run", str(ws_dir), "--dry-run", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"as_of", "dry_run", "actions", "by_rule", "suppressed", "errors"} <= set(out)
    assert out["dry_run"] is True and out["as_of"].startswith("2026-11-20T10:00")
    assert out["actions"] == len([p for p in out["planned"] if p["outcome"] == "done"])
    assert main(["run", str(ws_dir), "--as-of", "2026-11-20 10:00"]) == 0
    text = capsys.readouterr().out
    assert "R01A" in text


def test_cli_run_exits_1_when_a_rule_is_bad_and_names_it(make_workspace, capsys):
    rules = only_rules({"rule_id": "BAD", "name": "bad", "when": "stage ==", "action": "add_tag", "params": "tag=x"})
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    assert main(["run", str(folder), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "BAD" in out and "position 9" in out


def test_chinese_workspace_runs_rules_written_with_chinese_names(make_workspace):
    rules = only_rules({"rule_id": "Z1", "name": "中文规则", "when": '客户阶段 == "成交" and 同意接收营销信息 == "是"',
                        "action": "queue_message", "params": 'channel=偏好; kind=marketing; content="{联系人}您好"'})
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, lang="zh", settings={"as_of": AS_OF})
    res = run_rules(open_workspace(folder))
    assert fired_ids(res) == {"C002"}
    msgs = open_workspace(folder)["messages"]
    assert msgs["content"].tolist() == ["Bob您好"]


def fired_ids(res) -> set:
    return set(res.actions.loc[res.actions["outcome"] == "done", "record_id"])


def test_a_run_refuses_while_another_run_holds_the_workspace(ws_dir, capsys):
    import threading

    from crmkit.exceptions import FileLockedError
    from crmkit.io.safety import workspace_lock

    held, done = threading.Event(), threading.Event()

    def other_run():
        with workspace_lock(ws_dir):
            held.set()
            done.wait(30)

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(FileLockedError):
            run_rules(open_workspace(ws_dir), wait=0)
        assert main(["run", str(ws_dir), "--wait", "0.2"]) == 2
        assert "another crmkit run" in capsys.readouterr().err
        assert run_rules(open_workspace(ws_dir), dry_run=True).summary()["actions"] > 0   # a dry run needs no lock
    finally:
        done.set()
        thread.join()


def test_two_enabled_rules_with_one_id_are_reported(make_workspace):
    rules = only_rules({"rule_id": "X", "name": "a", "when": 'stage == "won"', "action": "add_tag", "params": "tag=a"},
                       {"rule_id": "X", "name": "b", "when": 'stage == "won"', "action": "add_tag", "params": "tag=b"})
    folder = make_workspace({"customers": customers_frame(), "rules": rules}, settings={"as_of": AS_OF})
    res = run_rules(open_workspace(folder), dry_run=True)
    assert [e["rule_id"] for e in res.errors] == ["X"]
    assert res.summary()["by_rule"] == {"X": 2}


def test_a_message_held_back_by_the_daily_cap_goes_out_on_a_later_day(make_workspace):
    rules = only_rules(*[{"rule_id": f"Q{i}", "name": f"promo {i}", "when": 'customer_id == "C002"',
                          "action": "queue_message", "params": f'kind=marketing; content="Offer {i}"'}
                         for i in (1, 2, 3)])
    folder = make_workspace({"customers": customers_frame(), "rules": rules},
                            settings={"as_of": AS_OF, "daily_message_cap": "2"})
    first = run_rules(open_workspace(folder))
    assert first.summary()["by_rule"] == {"Q1": 1, "Q2": 1, "Q3": 0} and first.summary()["suppressed"] == 1
    assert run_rules(open_workspace(folder)).summary()["actions"] == 0          # same time: nothing new
    later = run_rules(open_workspace(folder), as_of="2026-11-23 10:00")
    assert later.summary()["by_rule"] == {"Q1": 0, "Q2": 0, "Q3": 1}
    statuses = open_workspace(folder)["messages"]["status"].tolist()
    assert statuses == ["queued", "queued", "suppressed", "queued"]
