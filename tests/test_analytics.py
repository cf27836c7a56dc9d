"""Analytics numbers against values worked out by hand on tiny inline tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from crmkit import analytics as an
from crmkit.io.typing import coerce_frame
from crmkit.schema import ENTITIES
from crmkit.settings import defaults

AS_OF = pd.Timestamp("2026-11-20 10:00")
NAN = np.nan


def frame(entity_key: str, /, **columns) -> pd.DataFrame:
    """A typed frame of ``entity_key`` (every schema column, canonical dtypes) from a few columns."""
    df = pd.DataFrame(columns)
    df.index = pd.RangeIndex(2, 2 + len(df), name="_row")
    return coerce_frame(df, ENTITIES[entity_key])


def ts(*values):
    return pd.to_datetime(list(values))


CUSTOMERS = frame(
    "customers",
    customer_id=["C1", "C2", "C3", "C4", "C5", "C6", "C7"],
    name=["Acme", "Beta", "Gamma", "Delta", "Eps", "Zeta", "Eta"],
    source=["website_form", "website_form", "referral", "trade_show", "referral", "website_form", None],
    stage=["lead", "qualified", "won", "lost", "won", "proposal", None],
    owner=["Li", "Li", "Wang", "Wang", "Li", None, "Li"],
    created_at=ts("2026-11-15", "2026-10-01", "2026-01-10", "2026-03-01", "2026-06-01", "2026-11-01",
                  "2026-11-19"),
)


# --------------------------------------------------------------------------- funnel and channels

def test_funnel_counts_reach_conversion_and_the_weakest_step():
    got = an.funnel(CUSTOMERS)
    # current: lead 1, qualified 1, proposal 1, negotiation 0, won 2 (+1 lost, 1 blank stage left out)
    # reached: won 2; negotiation 2; proposal 3; qualified 4; lead 5 + 1 lost = 6
    expected = pd.DataFrame({
        "stage": pd.array(["lead", "qualified", "proposal", "negotiation", "won"], dtype="string"),
        "customers": np.array([1, 1, 1, 0, 2], dtype="int64"),
        "reached": np.array([6, 4, 3, 2, 2], dtype="int64"),
        "conversion": [NAN, 4 / 6, 3 / 4, 2 / 3, 1.0],
        "weakest": [False, True, False, False, False],
    })
    assert_frame_equal(got, expected)
    assert got.attrs["lost"] == 1
    assert an.weakest_step(got) == "qualified"


def test_funnel_of_no_customers_has_no_weakest_step():
    got = an.funnel(CUSTOMERS.iloc[0:0])
    assert got["reached"].sum() == 0 and not got["weakest"].any()
    assert an.weakest_step(got) is None


def test_stage_counts_list_every_stage_including_lost():
    got = an.stage_counts(CUSTOMERS).set_index("stage")["customers"].to_dict()
    assert got == {"lead": 1, "qualified": 1, "proposal": 1, "negotiation": 0, "won": 2, "lost": 1}


def test_lead_conversion_by_source_channel():
    got = an.conversion_by_source(CUSTOMERS)
    expected = pd.DataFrame({
        "source": pd.array(["website_form", "trade_show", "referral"], dtype="string"),
        "customers": np.array([3, 1, 2], dtype="int64"),
        "won": np.array([0, 0, 2], dtype="int64"),
        "lost": np.array([0, 1, 0], dtype="int64"),
        "open": np.array([3, 0, 0], dtype="int64"),
        "conversion": [0.0, 0.0, 1.0],
    })
    assert_frame_equal(got, expected)


# --------------------------------------------------------------------------- cycle time

DEALS = frame(
    "deals",
    deal_id=["D1", "D2", "D3", "D4", "D5"],
    customer_id=["C1", "C2", "C3", "C4", "C5"],
    name=["a", "b", "c", "d", "e"],
    amount=[100.0, 200.0, 300.0, 400.0, 500.0],
    stage=["proposal", "proposal", "won", "won", "lost"],
    created_at=ts("2026-11-01", "2026-10-01", "2026-09-01", "2026-10-01", "2026-11-01"),
    stage_changed_at=ts("2026-11-10", None, "2026-09-11", "2026-10-31", "2026-11-05"),
    closed_at=ts(None, None, "2026-09-11", None, None),
)


def test_stage_durations_average_the_days_in_the_current_stage():
    got = an.stage_durations(DEALS, pd.Timestamp("2026-11-20")).set_index("stage")
    # proposal: D1 changed 11-10 -> 10 days; D2 never changed, created 10-01 -> 50 days
    assert got.loc["proposal", "deals"] == 2
    assert got.loc["proposal", "avg_days"] == pytest.approx(30.0)
    assert got.loc["proposal", "max_days"] == pytest.approx(50.0)
    # won: D3 closed 10 days after creation, D4 (no closed_at) stage changed 30 days after
    assert got.loc["won", "avg_days"] == pytest.approx(20.0)
    assert got.loc["lost", "avg_days"] == pytest.approx(4.0)
    assert got.loc["lead", "deals"] == 0 and np.isnan(got.loc["lead", "avg_days"])


def test_stage_durations_use_completed_stints_from_history():
    deals = frame("deals", deal_id=["D1", "D2"], customer_id=["C1", "C2"], name=["a", "b"],
                  stage=["negotiation", "won"], created_at=ts("2026-11-01", "2026-10-01"),
                  stage_changed_at=ts("2026-11-15", "2026-10-31"))
    history = frame("history", at=ts("2026-11-05", "2026-11-15", "2026-10-11", "2026-10-31"),
                    entity=["deals"] * 4, record_id=["D1", "D1", "D2", "D2"], field=["stage"] * 4,
                    old=["lead", "proposal", "lead", "qualified"],
                    new=["proposal", "negotiation", "qualified", "won"])
    # D1: lead 11-01..11-05 (4 d), proposal 11-05..11-15 (10 d), negotiation 11-15..as_of 11-20 (5 d, current)
    # D2: lead 10-01..10-11 (10 d), qualified 10-11..10-31 (20 d), then won (30 d from creation)
    got = an.stage_durations(deals, pd.Timestamp("2026-11-20"), history).set_index("stage")
    assert got.loc["lead", "deals"] == 2 and got.loc["lead", "avg_days"] == pytest.approx(7.0)
    assert got.loc["qualified", "avg_days"] == pytest.approx(20.0)
    assert got.loc["proposal", "avg_days"] == pytest.approx(10.0)
    assert got.loc["negotiation", "avg_days"] == pytest.approx(5.0)
    assert got.loc["won", "avg_days"] == pytest.approx(30.0)
    stints = an.stage_stints(deals, pd.Timestamp("2026-11-20"), history)
    assert stints.loc[stints["current"], "deal_id"].tolist() == ["D1"]


def test_days_to_close_for_won_and_lost_deals():
    got = an.days_to_close(DEALS).set_index("outcome")
    assert got.loc["won", "deals"] == 2
    assert got.loc["won", "avg_days"] == pytest.approx(20.0)
    assert got.loc["won", "median_days"] == pytest.approx(20.0)
    assert got.loc["won", "amount"] == 700.0
    assert got.loc["lost", "deals"] == 1 and got.loc["lost", "avg_days"] == pytest.approx(4.0)


# --------------------------------------------------------------------------- follow-up cadence

def test_cadence_compliance_by_stage_uses_the_last_interaction():
    customers = frame(
        "customers",
        customer_id=["A", "B", "C", "D", "E"], name=list("ABCDE"), source=["other"] * 5,
        stage=["lead", "lead", "qualified", "won", "lost"], owner=["Li", "Wang", "Li", "Li", "Li"],
        created_at=ts("2026-11-18", "2026-10-01", "2026-10-01", "2026-01-01", "2026-01-01"),
    )
    interactions = frame(
        "interactions",
        interaction_id=["I1", "I2", "I3", "I4"], customer_id=["B", "C", "D", "C"], content=["x"] * 4,
        at=ts("2026-11-10 09:00", "2026-11-18 09:00", "2026-10-25 09:00", "2026-11-21 09:00"),
    )
    # cadences: lead 7d, qualified 3d, won 30d (lost: none)
    # A: new (created 11-18), due 11-25 -> on time; B: last 11-10, due 11-17 -> overdue
    # C: last 11-18 (the 11-21 one is after as_of), due 11-21 -> on time; D: last 10-25, due 11-24 -> on time
    got = an.cadence_compliance(customers, interactions, defaults(), AS_OF)
    expected = pd.DataFrame({
        "stage": pd.array(["lead", "qualified", "proposal", "negotiation", "won"], dtype="string"),
        "customers": np.array([2, 1, 0, 0, 1], dtype="int64"),
        "on_cadence": np.array([1, 1, 0, 0, 1], dtype="int64"),
        "overdue": np.array([1, 0, 0, 0, 0], dtype="int64"),
        "compliance": [0.5, 1.0, NAN, NAN, 1.0],
    })
    assert_frame_equal(got, expected)
    by_owner = an.cadence_compliance(customers, interactions, defaults(), AS_OF, by="owner")
    assert by_owner.set_index("owner")["compliance"].to_dict() == {"Wang": 0.0, "Li": 1.0}


def test_cadence_settings_change_the_due_dates():
    customers = frame("customers", customer_id=["A"], name=["A"], source=["other"], stage=["lead"],
                      created_at=ts("2026-11-18"))
    s = dict(defaults(), cadence_lead="1d")
    got = an.cadence_compliance(customers, frame("interactions"), s, AS_OF)
    assert got.loc[got["stage"] == "lead", "overdue"].item() == 1


# --------------------------------------------------------------------------- tasks

TASKS = frame(
    "tasks",
    task_id=["T1", "T2", "T3", "T4", "T5", "T6"], title=list("abcdef"),
    owner=["Li", "Li", "Wang", "Li", "Wang", None],
    due_at=ts("2026-11-19 10:00", "2026-11-20 15:00", "2026-11-20 09:00", "2026-11-25 00:00",
              "2026-11-22 00:00", "2026-11-18 00:00"),
    status=["open", "open", "open", "done", "open", "open"],
    created_at=ts(*["2026-11-01"] * 6),
    done_at=ts(None, None, None, "2026-11-20 08:00", None, None),
)


def test_tasks_by_owner_counts_overdue_today_and_later():
    got = an.tasks_by_owner(TASKS, AS_OF)
    # Li: T1 overdue, T2 due today (15:00), T4 done today; Wang: T3 overdue (09:00 < 10:00), T5 later;
    # unassigned: T6 overdue
    expected = pd.DataFrame({
        "owner": pd.array(["Li", "Wang", pd.NA], dtype="string"),
        "open": np.array([2, 2, 1], dtype="int64"),
        "overdue": np.array([1, 1, 1], dtype="int64"),
        "due_today": np.array([1, 0, 0], dtype="int64"),
        "later": np.array([0, 1, 0], dtype="int64"),
        "done_today": np.array([1, 0, 0], dtype="int64"),
    })
    assert_frame_equal(got, expected)


def test_task_list_for_one_rep_today_is_soonest_first_with_days_overdue():
    got = an.task_list(TASKS, AS_OF, owner="Li", when="today")
    assert got["task_id"].tolist() == ["T1", "T2"]
    assert got["overdue"].tolist() == [True, False]
    assert got["days_overdue"].tolist() == [1, 0]
    assert an.task_list(TASKS, AS_OF, when="overdue")["task_id"].tolist() == ["T6", "T1", "T3"]
    assert len(an.task_list(TASKS, AS_OF, when="open")) == 5


def test_task_list_rejects_an_unknown_list_name():
    from crmkit.exceptions import UsageError

    with pytest.raises(UsageError, match="tomorrow"):
        an.task_list(TASKS, AS_OF, when="tomorrow")


# --------------------------------------------------------------------------- tickets

TICKETS = frame(
    "tickets",
    ticket_id=["K1", "K2", "K3", "K4", "K5"], customer_id=["C1"] * 5, title=list("abcde"),
    type=["complaint", "complaint", "complaint", "inquiry", "inquiry"],
    status=["closed", "closed", "open", "open", "closed"],
    created_at=ts("2026-11-19 08:00", "2026-11-19 08:00", "2026-11-20 08:00", "2026-11-20 09:00",
                  "2026-11-18 09:00"),
    sla_due_at=ts("2026-11-19 10:00", "2026-11-19 10:00", "2026-11-20 09:00", "2026-11-20 12:00", None),
    first_response_at=ts("2026-11-19 09:00", "2026-11-19 11:00", None, None, "2026-11-18 11:00"),
    satisfaction=pd.array([5, 2, pd.NA, pd.NA, 4], dtype="Int64"),
)


def test_ticket_sla_compliance_and_satisfaction_per_type():
    got = an.ticket_sla(TICKETS, AS_OF).set_index("type")
    # complaint: K1 met, K2 late, K3 no answer and past due -> breached; 1 / 3
    assert got.loc["complaint", ["tickets", "open", "with_sla", "met", "breached", "pending"]].tolist() == \
        [3, 1, 3, 1, 2, 0]
    assert got.loc["complaint", "compliance"] == pytest.approx(1 / 3)
    assert got.loc["complaint", "satisfaction"] == pytest.approx(3.5)
    assert got.loc["complaint", "low_satisfaction"] == 1
    assert got.loc["complaint", "avg_response_hours"] == pytest.approx(2.0)
    # inquiry: K4 still within SLA (pending), K5 has no SLA -> compliance not measurable
    assert got.loc["inquiry", ["with_sla", "met", "breached", "pending"]].tolist() == [1, 0, 0, 1]
    assert np.isnan(got.loc["inquiry", "compliance"])
    assert got.loc["inquiry", "satisfaction"] == 4.0


# --------------------------------------------------------------------------- campaigns

CAMPAIGNS = frame(
    "campaigns",
    campaign_id=["M1", "M2", "M3"], name=["Spring", "Care", "Idle"], audience=["x"] * 3,
    channel=["email", "sms", "email"], content=["c"] * 3, cost=[100.0, None, 50.0],
    target_open=[0.5, None, None],
)
MESSAGES = frame(
    "messages",
    message_id=[f"G{i}" for i in range(8)], customer_id=[f"C{i}" for i in range(8)],
    campaign_id=["M1", "M1", "M1", "M1", "M2", "M2", None, "M1"], channel=["email"] * 4 + ["sms"] * 3 + ["email"],
    content=["c"] * 8, status=["sent", "sent", "sent", "suppressed", "sent", "failed", "sent", "queued"],
    queued_at=ts(*["2026-11-10 09:00"] * 8),
    opened_at=ts("2026-11-10 10:00", "2026-11-10 11:00", None, None, "2026-11-10 10:00", None, None, None),
    clicked_at=ts("2026-11-10 10:05", None, None, None, None, None, None, None),
    revenue=[300.0, None, None, None, 80.0, None, 999.0, None],
)


def test_campaign_reach_open_conversion_against_targets_and_roi():
    got = an.campaign_kpis(CAMPAIGNS, MESSAGES, defaults()).set_index("campaign_id")
    # M1: 4 targeted (3 sent, 1 suppressed; 1 more still queued), 2 opened, 1 clicked, revenue 300, cost 100
    m1 = got.loc["M1"]
    assert [m1.target, m1.queued, m1.sent, m1.opened, m1.clicked] == [4, 1, 3, 2, 1]
    assert m1.reach == pytest.approx(0.75) and m1.open_rate == pytest.approx(2 / 3)
    assert m1.conversion == pytest.approx(0.5) and m1.roi == pytest.approx(2.0)
    # own open target 0.5 overrides Settings 0.25; reach 0.75 < 0.85
    assert m1.target_open == 0.5 and m1.target_reach == 0.85
    assert [m1.reach_ok, m1.open_ok, m1.conversion_ok] == [False, True, True]
    # M2: 2 targeted, 1 sent, opened, no click; no cost -> ROI not measurable
    m2 = got.loc["M2"]
    assert [m2.reach, m2.open_rate, m2.conversion] == [0.5, 1.0, 0.0]
    assert np.isnan(m2.roi)
    # M3: no messages: nothing measurable, ok flags NA
    m3 = got.loc["M3"]
    assert m3.target == 0 and np.isnan(m3.reach) and pd.isna(m3.reach_ok)
    assert m3.roi == pytest.approx(-1.0)   # spent 50, earned nothing


def test_campaign_totals_recompute_rates_from_summed_counts():
    kpis = an.campaign_kpis(CAMPAIGNS, MESSAGES, defaults())
    tot = an.campaign_totals(kpis)
    assert tot["target"] == 6 and tot["sent"] == 4 and tot["opened"] == 3 and tot["clicked"] == 1
    assert tot["reach"] == pytest.approx(4 / 6) and tot["conversion"] == pytest.approx(1 / 3)
    assert tot["roi"] == pytest.approx((380 - 150) / 150)


# --------------------------------------------------------------------------- data quality and segments

def test_completeness_per_field_and_overall():
    customers = frame("customers", customer_id=["A", "B"], name=["x", "y"], phone=["+8613800000001", None],
                      email=[None, "  "])
    got = an.completeness(customers, 0.5, fields=["name", "phone", "email"])
    assert got["filled"].tolist() == [2, 1, 0]
    assert got["rate"].tolist() == [1.0, 0.5, 0.0]
    assert got["ok"].tolist() == [True, True, False]
    # A: 2 of 3 filled, B: 1 of 3 -> mean 0.5
    assert got.attrs["overall"] == pytest.approx(0.5)
    assert got.attrs["customers_below_target"] == 1


def test_duplicates_count_groups_per_key_and_in_total():
    customers = frame("customers", customer_id=["A", "B", "C", "D"], name=["Acme", "Acme Co", "Beta", "Beta Ltd"],
                      phone=["+8613800000001", "+8613800000001", None, None],
                      email=[None, None, "b@x.com", "b@x.com"])
    got = an.duplicates(customers, ["phone", "email"])
    assert got.set_index("key")["groups"].to_dict() == {"email": 1, "phone": 1}
    assert got.attrs["groups"] == 2 and got.attrs["customers"] == 4


def test_segments_and_value_tiers_come_from_the_rfm_scores():
    from crmkit.rfm import rfm_scores

    orders = frame("orders", order_id=["O1", "O2"], customer_id=["A", "B"], order_date=ts("2026-11-01", "2026-01-01"),
                   amount=[100.0, 50.0])
    scores = rfm_scores(orders, AS_OF, customers=pd.Series(["A", "B", "C"]))
    seg = an.segments(scores).set_index("segment")
    assert seg["customers"].sum() == 3 and seg.loc["no_orders", "customers"] == 1
    tiers = an.value_tiers(scores).set_index("value_tier")
    assert tiers["revenue"].sum() == 150.0


def test_revenue_by_channel_nets_returns_and_respects_the_period():
    orders = frame("orders", order_id=["O1", "O2", "O3", "O4"], customer_id=["A"] * 4,
                   order_date=ts("2026-11-10", "2026-11-12", "2026-10-01", "2026-11-15"),
                   amount=[100.0, -20.0, 50.0, 70.0], channel=["direct", "direct", "online", None])
    got = an.revenue_by_channel(orders, an.period_bounds(AS_OF, "month"))
    assert got["channel"].tolist()[:1] == ["direct"]
    assert got.set_index("channel").loc["direct", ["orders", "revenue"]].tolist() == [1, 80.0]
    assert got["revenue"].sum() == 150.0      # the October order is outside the month up to 11-20


def test_trend_counts_new_customers_orders_and_revenue_per_month():
    orders = frame("orders", order_id=["O1", "O2", "O3"], customer_id=["A"] * 3,
                   order_date=ts("2026-11-10", "2026-11-12", "2026-10-01"), amount=[100.0, -20.0, 50.0])
    got = an.trend(CUSTOMERS, orders, AS_OF, "M", 3)
    assert got["period"].tolist() == list(ts("2026-09-01", "2026-10-01", "2026-11-01"))
    assert got["new_customers"].tolist() == [0, 1, 3]
    assert got["orders"].tolist() == [0, 1, 1]
    assert got["revenue"].tolist() == [0.0, 50.0, 80.0]


# --------------------------------------------------------------------------- periods

@pytest.mark.parametrize("period, previous, start, end", [
    ("week", False, "2026-11-13 10:00", "2026-11-20 10:00"),
    ("week", True, "2026-11-06 10:00", "2026-11-13 10:00"),
    ("month", False, "2026-10-20 10:00", "2026-11-20 10:00"),
    ("month", True, "2026-09-20 10:00", "2026-10-20 10:00"),
])
def test_period_bounds_end_at_as_of(period, previous, start, end):
    assert an.period_bounds(AS_OF, period, previous=previous) == (pd.Timestamp(start), pd.Timestamp(end))


def test_unknown_period_is_a_usage_error():
    from crmkit.exceptions import UsageError

    with pytest.raises(UsageError, match="quarter"):
        an.period_bounds(AS_OF, "quarter")


def test_campaign_messages_not_due_yet_are_left_out_of_the_rates():
    campaigns = frame("campaigns", campaign_id=["M1"], name=["Later"], audience=["x"], channel=["email"],
                      content=["c"], send_at=ts("2026-11-25 10:00"), cost=[10.0])
    messages = frame("messages", message_id=["G1", "G2", "G3"], customer_id=["A", "B", "C"],
                     campaign_id=["M1"] * 3, channel=["email"] * 3, content=["c"] * 3,
                     status=["queued", "suppressed", "queued"], queued_at=ts(*["2026-11-20 09:00"] * 3),
                     scheduled_at=ts("2026-11-25 10:00", None, "2026-11-20 09:30"))
    # G1 scheduled later, G2 suppressed for a campaign that goes out on 11-25: neither is due;
    # G3 was due at 09:30 and is still queued: due but not sent
    got = an.campaign_kpis(campaigns, messages, defaults(), as_of=AS_OF).iloc[0]
    assert [got.target, got.queued, got.sent] == [1, 2, 0]
    assert got.reach == 0.0
    # without a time, queued messages are the ones not due
    plain = an.campaign_kpis(campaigns, messages, defaults()).iloc[0]
    assert [plain.target, plain.queued] == [1, 2]
