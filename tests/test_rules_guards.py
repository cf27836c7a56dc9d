"""Guards that always apply: consent, the daily cap, sending hours, holidays and make-up working days."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_rules import AS_OF, customer, day, fired, interaction, message, plan

from crmkit.rules.schedule import WorkCalendar


def marketing_rules(n: int) -> pd.DataFrame:
    return pd.DataFrame([{
        "rule_id": f"Q{i}", "name": f"Promo {i}", "enabled": True, "entity": "customers", "when": "stage == \"won\"",
        "action": "queue_message", "params": f'channel=email; kind=marketing; content="Offer {i} for {{name}}"',
        "once": "ever", "priority": i} for i in range(1, n + 1)])


def quiet(cid: str, **kw) -> tuple[dict, dict]:
    return customer(cid, **kw), interaction(cid, AS_OF - pd.Timedelta(days=120))


def test_unsubscribed_customer_gets_no_marketing_message_and_the_reason_is_recorded():
    c, i = quiet("CU", unsubscribed=True)
    res = plan([c], interactions=[i])
    assert fired(res, "R02A", "suppressed") == {"CU"}
    assert "unsubscribed" in res.actions.set_index("rule_id").loc["R02A", "detail"]


def test_customer_without_marketing_consent_gets_no_marketing_message():
    c1, i1 = quiet("CN", marketing_consent=False)
    c2, i2 = quiet("CB", marketing_consent=None)
    res = plan([c1, c2], interactions=[i1, i2])
    assert fired(res, "R02A", "suppressed") == {"CN", "CB"}
    assert fired(res, "R02A") == set()


def test_service_messages_ignore_marketing_consent():
    res = plan([customer("N1", created_at=day(-1), marketing_consent=False, unsubscribed=True)])
    assert fired(res, "R10") == {"N1"}


def test_three_marketing_messages_under_a_cap_of_two_send_two_and_suppress_the_third():
    res = plan([customer("C1")], rules=marketing_rules(3), settings={"daily_message_cap": 2})
    assert [fired(res, f"Q{i}") for i in (1, 2, 3)] == [{"C1"}, {"C1"}, set()]
    assert fired(res, "Q3", "skipped") == {"C1"}                # held back today, tried again tomorrow
    assert "cap" in res.actions.set_index("rule_id").loc["Q3", "detail"]
    assert res.summary()["suppressed"] == 1


def test_marketing_messages_already_scheduled_today_count_against_the_cap():
    res = plan([customer("C1")], rules=marketing_rules(2), settings={"daily_message_cap": 2},
               messages=[{**message("C1", "", AS_OF), "rule_id": None, "campaign_id": "CMP1", "status": "queued"}])
    assert fired(res, "Q1") == {"C1"} and fired(res, "Q2", "skipped") == {"C1"}


def test_message_without_an_address_for_its_channel_is_suppressed():
    res = plan([customer("N1", created_at=day(-1), email=None)])
    assert fired(res, "R10", "suppressed") == {"N1"}


def scheduled(res, rule_id: str) -> str:
    detail = res.actions.set_index("rule_id").loc[rule_id, "detail"]
    return detail.split("scheduled ")[1][:16]


def test_message_due_at_8_pm_waits_for_the_next_working_morning():
    friday_evening = pd.Timestamp("2026-11-20 20:00")
    res = plan([customer("N1", created_at=friday_evening.normalize())], as_of=friday_evening)
    assert scheduled(res, "R10") == "2026-11-23 09:00"          # Monday


def test_message_inside_sending_hours_goes_at_once():
    res = plan([customer("N1", created_at=AS_OF.normalize())])
    assert scheduled(res, "R10") == "2026-11-20 10:00"


def test_national_day_holiday_is_skipped():
    eve = pd.Timestamp("2026-09-30 19:00")
    res = plan([customer("N1", created_at=eve.normalize())], as_of=eve)
    assert scheduled(res, "R10") == "2026-10-08 09:00"


def test_make_up_working_saturday_counts_as_a_working_day():
    saturday = pd.Timestamp("2026-10-10 07:30")
    res = plan([customer("N1", created_at=saturday.normalize())], as_of=saturday)
    assert scheduled(res, "R10") == "2026-10-10 09:00"


def test_extra_holidays_and_make_up_days_from_settings_are_honoured():
    friday_evening = pd.Timestamp("2026-11-20 20:00")
    res = plan([customer("N1", created_at=friday_evening.normalize())], as_of=friday_evening,
               settings={"extra_holidays": ("2026-11-23",), "makeup_workdays": ()})
    assert scheduled(res, "R10") == "2026-11-24 09:00"
    res = plan([customer("N1", created_at=friday_evening.normalize())], as_of=friday_evening,
               settings={"makeup_workdays": ("2026-11-21",)})
    assert scheduled(res, "R10") == "2026-11-21 09:00"


@pytest.mark.parametrize("wish, expected", [
    ("2026-11-20 08:59", "2026-11-20 09:00"),
    ("2026-11-20 09:00", "2026-11-20 09:00"),
    ("2026-11-20 17:59", "2026-11-20 17:59"),
    ("2026-11-20 18:00", "2026-11-23 09:00"),
    ("2026-11-21 12:00", "2026-11-23 09:00"),          # Saturday
    ("2026-10-01 10:00", "2026-10-08 09:00"),          # National Day
    ("2026-09-20 10:00", "2026-09-20 10:00"),          # make-up working Sunday
    ("2026-10-10 20:00", "2026-10-12 09:00"),
])
def test_next_send_time_table(wish, expected):
    cal = WorkCalendar({"send_window_start": dt.time(9), "send_window_end": dt.time(18)})
    got = cal.next_send_time(pd.Series(pd.to_datetime([wish])))
    assert got.iloc[0] == pd.Timestamp(expected)


def test_send_window_follows_the_settings():
    cal = WorkCalendar({"send_window_start": dt.time(10, 30), "send_window_end": dt.time(12)})
    assert cal.next_send_time(pd.Timestamp("2026-11-20 09:00")) == pd.Timestamp("2026-11-20 10:30")
    assert cal.next_send_time(pd.Timestamp("2026-11-20 12:00")) == pd.Timestamp("2026-11-23 10:30")


def test_an_address_that_bounced_gets_nothing_until_the_customer_has_a_new_one():
    rules = marketing_rules(1)
    bounced = customer("CB", bounced_address="old@example.com; cb@example.com")
    fixed = customer("CF", bounced_address="old@example.com")           # the bounced address was corrected
    res = plan([bounced, fixed], rules=rules)
    assert fired(res, "Q1", "suppressed") == {"CB"} and fired(res, "Q1") == {"CF"}
    assert "bounced" in res.actions.set_index("record_id").loc["CB", "detail"]

