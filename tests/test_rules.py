"""The twelve default rules, each with customers just inside and just outside its threshold."""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit.rules.engine import InMemoryWorkspace, run_rules

AS_OF = pd.Timestamp("2026-11-20 10:00")       # a Friday, a working day
TODAY = AS_OF.normalize()
MANAGER = "Morgan Lee"


def days_ago(n: float) -> pd.Timestamp:
    return TODAY - pd.Timedelta(days=n) + pd.Timedelta(hours=9)


def day(n: int) -> pd.Timestamp:
    """A date n days from today (negative: in the past)."""
    return TODAY + pd.Timedelta(days=n)


def customer(cid: str, **kw) -> dict:
    row = {"customer_id": cid, "name": f"Company {cid}", "contact_name": f"Contact {cid}",
           "email": f"{cid.lower()}@example.com", "phone": "+8613800000000", "source": "referral",
           "stage": "won", "owner": "Alex Chen", "created_at": day(-400), "marketing_consent": True,
           "unsubscribed": False, "preferred_channel": "email"}
    row.update(kw)
    return row


def interaction(cid: str, when: pd.Timestamp, feedback: str | None = None, n: int = 0) -> dict:
    return {"interaction_id": f"I{cid}{n}", "customer_id": cid, "at": when, "method": "phone",
            "content": "call", "customer_feedback": feedback}


def message(cid: str, rule_id: str, when: pd.Timestamp, *, clicked=None, opened=None, mid: str | None = None) -> dict:
    return {"message_id": mid or f"M{cid}{rule_id}", "customer_id": cid, "rule_id": rule_id, "channel": "email",
            "content": "hello", "status": "sent", "queued_at": when, "scheduled_at": when, "sent_at": when,
            "clicked_at": clicked, "opened_at": opened}


def plan(customers=(), *, interactions=(), orders=(), deals=(), tickets=(), messages=(), tasks=(),
         settings=None, rules=None, as_of=AS_OF):
    tables = {"customers": pd.DataFrame(list(customers))}
    for key, rows in (("interactions", interactions), ("orders", orders), ("deals", deals),
                      ("tickets", tickets), ("messages", messages), ("tasks", tasks)):
        if rows:
            tables[key] = pd.DataFrame(list(rows))
    if rules is not None:
        tables["rules"] = rules
    ws = InMemoryWorkspace(tables, settings={"as_of": as_of, **(settings or {})})
    return run_rules(ws)


def fired(result, rule_id: str, outcome: str | None = "done") -> set[str]:
    a = result.actions
    a = a[a["rule_id"] == rule_id]
    if outcome is not None:
        a = a[a["outcome"] == outcome]
    return set(a["record_id"])


@pytest.fixture
def sheet_tiers(monkeypatch):
    """Use the value tiers typed in the sheet rather than recomputing RFM from orders."""
    monkeypatch.setattr("crmkit.derived._add_rfm", lambda *a, **k: None)


# --------------------------------------------------------------------------- scenario 1

def test_hot_web_lead_gets_an_owner_a_call_reminder_and_a_first_task():
    res = plan([
        customer("C1", source="website_form", intent_level="A", stage="lead", owner=None,
                 industry="manufacturing", created_at=TODAY),
        customer("C2", source="website_form", intent_level="B", stage="lead", owner=None, created_at=TODAY),
    ])
    assert fired(res, "R01A") == {"C1"}
    a = res.actions.set_index(["rule_id", "record_id"])
    assert a.loc[("R01A", "C1"), "target"] == "Sam Patel"          # manufacturing -> Sam Patel (Routing)
    assert fired(res, "R01B") == {"C1"} and "Sam Patel" in a.loc[("R01B", "C1"), "detail"]
    assert fired(res, "R01C") == {"C1"}
    assert "2026-11-20 10:30" in a.loc[("R01C", "C1"), "detail"]   # due in 30 minutes


# --------------------------------------------------------------------------- scenario 2

def test_customer_quiet_for_90_days_gets_a_care_email_and_a_tag_but_89_days_does_not():
    res = plan([customer("C90"), customer("C89")],
               interactions=[interaction("C90", days_ago(90)), interaction("C89", days_ago(89))])
    assert fired(res, "R02A") == {"C90"}
    assert fired(res, "R02B") == {"C90"}


def test_no_reply_seven_days_after_the_care_email_escalates_to_the_manager():
    tagged = {"tags": "to_reactivate"}
    res = plan(
        [customer("C7", **tagged), customer("C6", **tagged), customer("CR", **tagged)],
        interactions=[interaction("C7", days_ago(100)), interaction("C6", days_ago(100)),
                      interaction("CR", days_ago(2))],
        messages=[message("C7", "R02A", days_ago(7)), message("C6", "R02A", days_ago(6)),
                  message("CR", "R02A", days_ago(7))])
    assert fired(res, "R02C") == {"C7"}
    assert MANAGER in res.actions.set_index("rule_id").loc["R02C", "detail"]


# --------------------------------------------------------------------------- scenario 3

def test_contract_ending_in_30_days_gets_a_renewal_task_but_31_days_does_not():
    res = plan([customer("C30", contract_end=day(30)), customer("C31", contract_end=day(31)),
                customer("CX", contract_end=day(-1))])
    assert fired(res, "R03") == {"C30"}


# --------------------------------------------------------------------------- scenario 4

def test_feedback_asking_for_technical_support_opens_a_ticket_and_notifies_the_owner():
    res = plan([customer("CT"), customer("CN")],
               interactions=[interaction("CT", days_ago(1), "系统报错，需要技术支持"),
                             interaction("CN", days_ago(1), "很满意")])
    assert fired(res, "R04A") == {"CT"}
    assert fired(res, "R04B") == {"CT"}
    assert "technical support" in res.actions.set_index("rule_id").loc["R04A", "detail"]   # the type's label


# --------------------------------------------------------------------------- scenario 5

def test_lead_without_follow_up_for_3_days_alerts_the_manager_but_2_days_does_not():
    res = plan([customer("L3", stage="lead", created_at=day(-3)), customer("L2", stage="lead", created_at=day(-2))])
    assert fired(res, "R05") == {"L3"}


# --------------------------------------------------------------------------- scenario 6

def test_deal_moving_to_negotiation_notifies_owner_and_copies_the_manager():
    deal = {"customer_id": "C1", "name": "Big deal", "owner": "Alex Chen", "created_at": day(-60)}
    res = plan([customer("C1")], deals=[
        {**deal, "deal_id": "D1", "stage": "negotiation", "stage_changed_at": TODAY},
        {**deal, "deal_id": "D2", "stage": "negotiation", "stage_changed_at": day(-30)},
        {**deal, "deal_id": "D3", "stage": "proposal", "stage_changed_at": TODAY},
    ])
    assert fired(res, "R06") == {"D1"}
    detail = res.actions.set_index("rule_id").loc["R06", "detail"]
    assert "Alex Chen" in detail and f"cc {MANAGER}" in detail


# --------------------------------------------------------------------------- scenario 7

def test_high_value_customer_with_a_birthday_in_3_days_gets_a_greeting(sheet_tiers):
    res = plan([customer("B3", value_tier="high_value", birthday=pd.Timestamp("1980-11-23")),
                customer("B4", value_tier="high_value", birthday=pd.Timestamp("1980-11-24")),
                customer("BR", value_tier="regular", birthday=pd.Timestamp("1980-11-21"))])
    assert fired(res, "R07") == {"B3"}


# --------------------------------------------------------------------------- scenario 8

def test_satisfaction_survey_goes_out_3_to_7_days_after_an_order():
    orders = [{"order_id": f"O{n}", "customer_id": "C1", "order_date": day(-n), "amount": 100.0} for n in (2, 3, 7, 8)]
    res = plan([customer("C1", marketing_consent=False)], orders=orders)
    assert fired(res, "R08") == {"O3", "O7"}              # a service message: no consent needed


# --------------------------------------------------------------------------- scenario 9

def test_satisfaction_of_3_opens_a_complaint_ticket_with_a_two_hour_sla_but_4_does_not():
    t = {"customer_id": "C1", "title": "Issue", "created_at": day(-5), "status": "closed"}
    res = plan([customer("C1")], tickets=[{**t, "ticket_id": "K3", "satisfaction": 3},
                                          {**t, "ticket_id": "K4", "satisfaction": 4}])
    assert fired(res, "R09") == {"K3"}
    detail = res.actions.set_index("rule_id").loc["R09", "detail"]
    assert "complaint" in detail and "urgent" in detail and "2026-11-20 12:00" in detail


# --------------------------------------------------------------------------- scenario 10

def test_new_customer_gets_a_welcome_message_within_a_day_but_not_after_two():
    res = plan([customer("N1", created_at=day(-1)), customer("N2", created_at=day(-2))])
    assert fired(res, "R10") == {"N1"}


# --------------------------------------------------------------------------- scenario 11

def test_dormant_customer_gets_the_wake_up_email_after_more_than_90_days(sheet_tiers):
    orders = [{"order_id": "O1", "customer_id": "D91", "order_date": day(-91), "amount": 50.0},
              {"order_id": "O2", "customer_id": "D90", "order_date": day(-90), "amount": 50.0},
              {"order_id": "O3", "customer_id": "DOP", "order_date": day(-120), "amount": 50.0}]
    res = plan([customer("D91", value_tier="regular"), customer("D90", value_tier="regular"),
                customer("DOP", value_tier="churn_risk")], orders=orders,
               messages=[message("DOP", "C-NEWS", days_ago(20), opened=days_ago(10))])
    assert fired(res, "R11A") == {"D91"}


def test_dormant_flow_sends_sms_after_3_days_without_a_click_and_stops_on_click_or_unsubscribe(sheet_tiers):
    who = ["S3", "S2", "SC", "SU"]
    orders = [{"order_id": f"O{c}", "customer_id": c, "order_date": day(-200), "amount": 50.0} for c in who]
    res = plan([customer("S3", value_tier="regular"), customer("S2", value_tier="regular"),
                customer("SC", value_tier="regular"), customer("SU", value_tier="regular", unsubscribed=True)],
               orders=orders,
               messages=[message("S3", "R11A", days_ago(3)), message("S2", "R11A", days_ago(2)),
                         message("SC", "R11A", days_ago(5), clicked=days_ago(4)),
                         message("SU", "R11A", days_ago(5))])
    assert fired(res, "R11B") == {"S3"}
    assert "SMS" in res.actions.set_index("rule_id").loc["R11B", "detail"]   # the channel's label


def test_dormant_flow_tags_deep_dormant_7_days_after_the_sms_unless_the_customer_bought(sheet_tiers):
    who = ["T7", "T6", "TB"]
    orders = [{"order_id": f"O{c}", "customer_id": c, "order_date": day(-200), "amount": 50.0} for c in who]
    orders.append({"order_id": "OTB2", "customer_id": "TB", "order_date": day(-10), "amount": 80.0})
    msgs = []
    for c, sms_days in (("T7", 7), ("T6", 6), ("TB", 7)):
        msgs += [message(c, "R11A", days_ago(21)), message(c, "R11B", days_ago(sms_days))]
    res = plan([customer(c, value_tier="regular") for c in who], orders=orders, messages=msgs)
    assert fired(res, "R11C") == {"T7"}


# --------------------------------------------------------------------------- scenario 12

@pytest.mark.parametrize("stage, quiet_days, due", [
    ("qualified", 3, True), ("qualified", 2, False),
    ("lead", 7, True), ("lead", 6, False),
    ("won", 30, True), ("won", 29, False),
    ("lost", 300, False),
])
def test_follow_up_cadence_by_stage_creates_a_task_when_overdue(stage, quiet_days, due):
    res = plan([customer("C1", stage=stage, created_at=day(-400))],
               interactions=[interaction("C1", days_ago(quiet_days))])
    assert fired(res, "R12") == ({"C1"} if due else set())


def test_cadence_follows_the_settings():
    res = plan([customer("C1", stage="qualified")], interactions=[interaction("C1", days_ago(4))],
               settings={"cadence_qualified": "5d"})
    assert fired(res, "R12") == set()


# --------------------------------------------------------------------------- every default rule on the sample data

def test_every_default_rule_applies_to_some_sample_customers():
    from crmkit.rules.defaults import DEFAULT_RULES
    from crmkit.sample import generate_tables

    tables = generate_tables(200, seed=7)
    keep = {k: v for k, v in tables.items() if k in ("customers", "interactions", "orders", "deals", "products",
                                                      "tasks", "tickets", "campaigns", "messages", "team", "routing")}
    res = run_rules(InMemoryWorkspace(keep, settings={"as_of": AS_OF}))
    assert res.errors == []
    by_rule = res.summary()["by_rule"]
    assert {rid for rid, n in by_rule.items() if n == 0} == set()
    assert set(by_rule) == {r[0] for r in DEFAULT_RULES}
