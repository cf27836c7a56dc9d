"""The message guards shared by rules, campaign launches and sending (crmkit.delivery.guards)."""

from __future__ import annotations

import pandas as pd

from crmkit.delivery.guards import add_bounced, address_of, blocked, marketing_count, over_cap, reason_label


def plain(s: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in s.tolist()]


def contacts(**cols) -> pd.DataFrame:
    base = {"unsubscribed": ["no"] * 6, "marketing_consent": ["yes"] * 6,
            "email": ["a@x.cn", "b@x.cn", None, "d@x.cn", "e@x.cn", "f@x.cn"],
            "phone": ["13800000001", None, "13800000003", "13800000004", "13800000005", "+86 138 0000 0006"],
            "bounced_address": [None, None, None, None, "E@X.cn", "13800000006"]}
    base.update(cols)
    return pd.DataFrame(base)


def test_each_message_gets_its_first_reason_in_a_fixed_order():
    c = contacts(unsubscribed=["是", "no", "no", "no", "no", "no"], marketing_consent=["yes", "否", "yes", "yes", "yes", "yes"])
    channel = pd.Series(["email", "email", "email", "wecom", "email", "sms"])
    got = plain(blocked(channel, "marketing", c))
    assert got == ["unsubscribed", "no_consent", "no_email", None, "address_bounced", "address_bounced"]


def test_service_messages_skip_consent_but_not_the_address_checks():
    c = contacts(unsubscribed=["yes"] * 6, marketing_consent=["no"] * 6)
    channel = pd.Series(["email", "sms", "email", "wecom", "email", "email"])
    kind = pd.Series(["service", "service", "service", "service", "service", "marketing"])
    assert plain(blocked(channel, kind, c)) == [None, "no_phone", "no_email", None, "address_bounced", "unsubscribed"]


def test_the_address_is_the_email_for_email_and_the_phone_otherwise():
    got = plain(address_of(pd.Series(["email", "sms", "wecom"]), contacts().head(3)))
    assert got == ["a@x.cn", None, "13800000003"]


def test_a_bounced_address_is_added_once_whatever_its_case_or_spacing():
    assert add_bounced(None, "a@x.cn") == "a@x.cn"
    assert add_bounced("a@x.cn", " A@X.CN ") == "a@x.cn"
    assert add_bounced("a@x.cn；b@x.cn", "13800000001") == "a@x.cn; b@x.cn; 13800000001"


def test_the_daily_cap_counts_live_marketing_messages_of_that_day_only():
    t = pd.Timestamp("2026-11-02 10:00")
    m = pd.DataFrame({
        "customer_id": ["C1", "C1", "C1", "C1", "C2"],
        "campaign_id": ["CP1", None, None, "CP2", "CP1"],
        "rule_id": [None, "R1", "R2", None, None],
        "kind": [None, "marketing", "service", "marketing", "marketing"],
        "status": ["sent", "queued", "queued", "suppressed", "sending"],
        "queued_at": [t] * 5, "scheduled_at": [t] * 4 + [t + pd.Timedelta(days=1)], "sent_at": [t] + [pd.NaT] * 4,
    })
    got = marketing_count(m, pd.Series(["C1", "C2", "C3"]), t)
    assert got.tolist() == [2, 0, 0]
    assert over_cap(pd.Series(["C1", "C1", "C2"]), pd.Series([1, 1, 0]), 2).tolist() == [False, True, False]


def test_reasons_read_in_both_languages():
    assert reason_label("daily_cap", "en", cap=2) == "daily message cap reached (2)"
    assert reason_label("address_bounced", "zh") == "该地址曾退信"


def test_the_marketing_guards_fail_closed_on_a_kind_or_an_unsubscribe_crmkit_does_not_know():
    c = contacts(unsubscribed=["已退订", "x", "否", "no", None, ""], bounced_address=[None] * 6)
    channel = pd.Series(["wecom"] * 6)
    kind = pd.Series(["Promo", "marketing", "marketing", "营销", "service", "SERVICE "])
    got = plain(blocked(channel, kind, c))
    assert got == ["unsubscribed", "unsubscribed", None, None, None, None]
    assert plain(blocked(channel, "Newsletter", contacts(unsubscribed=["TD"] * 6, bounced_address=[None] * 6))) \
        == ["unsubscribed"] * 6
