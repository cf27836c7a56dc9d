"""Each action on its own: what it writes, to whom, and what it logs."""

from __future__ import annotations

import pandas as pd
import pytest
from test_rules import AS_OF, customer, fired

from crmkit.rules.engine import InMemoryWorkspace, Runner
from crmkit.rules.params import parse_params


def one_rule(action: str, params: str, when: str = 'stage == "won"', entity: str = "customers",
             once: str = "ever") -> pd.DataFrame:
    return pd.DataFrame([{"rule_id": "X1", "name": "Test rule", "enabled": True, "entity": entity, "when": when,
                          "action": action, "params": params, "once": once, "priority": 1}])


def execute(customers, rules, **tables):
    ws = InMemoryWorkspace({"customers": pd.DataFrame(customers), "rules": rules,
                            **{k: pd.DataFrame(v) for k, v in tables.items()}},
                           settings={"as_of": AS_OF})
    runner = Runner(ws, AS_OF)
    return runner, runner.execute()


def test_params_accept_quotes_full_width_separators_and_chinese_quotes():
    got = parse_params('title="A; B"; due = 30m；to＝owner; text=“你好；世界”')
    assert got == {"title": "A; B", "due": "30m", "to": "owner", "text": "你好；世界"}


def test_set_changes_a_field_and_records_history():
    runner, res = execute([customer("C1"), customer("C2", stage="lead")],
                          one_rule("set", "field=客户阶段; value=流失"))
    assert fired(res, "X1") == {"C1"}
    c = runner.frames["customers"].set_index("customer_id")
    assert c.loc["C1", "stage"] == "lost" and c.loc["C2", "stage"] == "lead"
    hist = pd.concat(runner.history)
    assert hist[["record_id", "field", "old", "new", "by"]].values.tolist() == [["C1", "stage", "won", "lost", "rule:X1"]]


def test_set_refuses_a_value_that_does_not_fit_the_field():
    _, res = execute([customer("C1")], one_rule("set", "field=stage; value=banana"))
    assert res.errors and res.errors[0]["rule_id"] == "X1" and "banana" in res.errors[0]["message"]


def test_add_and_remove_tag_keep_the_other_tags():
    runner, _ = execute([customer("C1", tags="vip;to_reactivate")], one_rule("remove_tag", "tag=TO_REACTIVATE"))
    assert runner.frames["customers"]["tags"].tolist() == ["vip"]
    runner, _ = execute([customer("C1", tags="vip")], one_rule("add_tag", "tag=renewal"))
    assert runner.frames["customers"]["tags"].tolist() == ["vip;renewal"]


def test_escalate_goes_to_the_owners_manager_as_a_high_priority_task():
    team = [{"name": "Boss", "role": "manager"}, {"name": "Lead", "role": "manager", "manager": "Boss"},
            {"name": "Rep", "role": "rep", "manager": "Lead"}]
    runner, res = execute([customer("C1", owner="Rep")], one_rule("escalate", 'text="Help with {name}"'), team=team)
    task = runner.frames["tasks"].iloc[-1]
    assert task["owner"] == "Lead" and task["priority"] == "high" and task["title"] == "Help with Company C1"
    assert res.actions["action"].tolist() == ["escalate"]


def test_notify_without_a_task_is_only_logged_and_a_missing_owner_falls_back_to_the_manager():
    runner, res = execute([customer("C1", owner=None)], one_rule("notify", 'to=owner; text="Hi"; task=no'))
    assert len(runner.frames["tasks"]) == 0
    assert res.actions["detail"].tolist() == ["to Morgan Lee: Hi"]


def test_create_ticket_sets_type_priority_assignee_and_sla_due():
    runner, res = execute([customer("C1")], one_rule("create_ticket", 'type=投诉; priority=urgent; sla=2h; title="T {name}"'))
    t = runner.frames["tickets"].iloc[-1]
    assert (t["type"], t["priority"], t["assignee"], t["status"]) == ("complaint", "urgent", "Alex Chen", "open")
    assert t["sla_due_at"] == AS_OF + pd.Timedelta(hours=2) and t["created_at"] == AS_OF
    assert t["ticket_id"] == "TK00001"       # the schema shape of tickets (crmkit.ids)


def test_round_robin_assignment_takes_turns():
    rows = [customer(f"C{i}", owner=None) for i in range(5)]
    runner, _ = execute(rows, one_rule("assign_owner", "by=round_robin; among=A,B"))
    assert runner.frames["customers"]["owner"].tolist() == ["A", "B", "A", "B", "A"]


def test_queue_message_uses_the_preferred_channel_and_fills_the_template():
    rows = [customer("C1", preferred_channel="sms"), customer("C2", preferred_channel=None),
            customer("C3", preferred_channel="phone")]
    runner, _ = execute(rows, one_rule("queue_message", 'channel=preferred; kind=service; content="Hi {contact_name}, {stage}"'))
    m = runner.frames["messages"]
    assert m["channel"].tolist() == ["sms", "email", "sms"]
    assert m["content"].tolist()[0] == "Hi Contact C1, won"
    assert (m["rule_id"] == "X1").all() and (m["status"] == "queued").all()


def test_rule_on_orders_reaches_the_customers_fields():
    orders = [{"order_id": "O1", "customer_id": "C1", "order_date": AS_OF.normalize(), "amount": 10.0}]
    runner, res = execute([customer("C1", industry="retail")],
                          one_rule("create_task", 'title="{order_id} for {customer_name}"',
                                   when='industry == "零售业" and amount > 5', entity="orders"), orders=orders)
    assert fired(res, "X1") == {"O1"}
    assert runner.frames["tasks"]["title"].tolist() == ["O1 for Company C1"]


def test_a_misspelt_parameter_is_reported_instead_of_ignored():
    _, res = execute([customer("C1")], one_rule("create_task", 'titel="Call"; due=1d'))
    assert res.errors == [{"rule_id": "X1", "message": res.errors[0]["message"], "position": 1}]
    assert "titel" in res.errors[0]["message"] and "title" in res.errors[0]["message"]


def test_derived_fields_are_computed_as_of_the_run():
    from crmkit.derived import add_derived
    from crmkit.schema import ENTITIES

    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["A", "B"], "contact_name": ["x", None],
                              "created_at": pd.to_datetime(["2026-01-01", "2026-11-01"])})
    interactions = pd.DataFrame({"interaction_id": ["I1", "I2", "I3"], "customer_id": ["C1", "C1", "C1"],
                                 "at": pd.to_datetime(["2026-11-10 15:00", "2026-11-15 09:00", "2026-12-01 09:00"]),
                                 "customer_feedback": ["需要技术支持", None, "future"]})
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "customer_id": ["C1", "C1", "C2"],
                           "order_date": pd.to_datetime(["2026-10-21", "2026-10-20", "2026-06-01"]),
                           "amount": [100.0, 50.0, 70.0]})
    d = add_derived(None, pd.Timestamp("2026-11-20 10:00"), customers=customers, interactions=interactions,
                    orders=orders, rfm=False).set_index("customer_id")
    assert d.loc["C1", "last_interaction_at"] == pd.Timestamp("2026-11-15 09:00")      # the future one is ignored
    assert d["days_since_interaction"].tolist() == [5, 19]                              # C2: since created
    assert d.loc["C1", "last_feedback"] == "需要技术支持"
    assert d["orders_30d"].tolist() == [1, 0] and d["amount_30d"].tolist() == [100.0, 0.0]
    assert d.loc["C2", "last_order_at"] == pd.Timestamp("2026-06-01")
    n = len(ENTITIES["customers"].completeness_fields)
    assert d["completeness"].tolist() == [pytest.approx(3 / n), pytest.approx(2 / n)]   # name, contact, created


def test_queue_message_records_kind_and_a_rendered_subject():
    rule = one_rule("queue_message", 'channel=email; kind=marketing; subject="News for {客户名称}"; content="Hi {name}"')
    runner, _ = execute([customer("C1")], rule)
    row = runner.frames["messages"].iloc[-1]
    assert (row["kind"], row["subject"], row["content"], row["status"]) == \
        ("marketing", "News for Company C1", "Hi Company C1", "queued")


def test_a_text_naming_an_unknown_field_is_an_error_of_its_rule_and_nothing_half_rendered_is_queued():
    runner, res = execute([customer("C1")], one_rule("queue_message", 'channel=email; content="Hello {nickname}"'))
    assert fired(res, "X1", None) == set()
    assert any(e["rule_id"] == "X1" and "{nickname}" in e["message"] for e in res.summary()["errors"])
    assert runner.frames["messages"].empty


def test_template_text_cannot_run_template_code():
    rule = one_rule("queue_message", 'channel=email; kind=service; content="{{ 7*7 }} and {name|upper}"')
    runner, _ = execute([customer("C1")], rule)
    assert runner.frames["messages"]["content"].tolist() == ["{ 7*7 } and COMPANY C1"]
    rule = one_rule("queue_message", 'channel=email; kind=service; content="{name|attr(\'__class__\')}"')
    runner, res = execute([customer("C1")], rule)
    assert runner.frames["messages"].empty and "unsafe" in res.summary()["errors"][0]["message"]
