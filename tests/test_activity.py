"""Activity is any interaction or order: the "quiet" rules and the follow-up list count both."""

from __future__ import annotations

import pandas as pd

from crmkit.derived import add_derived
from crmkit.rules.engine import InMemoryWorkspace, run_rules

AS_OF = pd.Timestamp("2026-11-20 10:00")
TODAY = AS_OF.normalize()


def days_ago(n: float) -> pd.Timestamp:
    return TODAY - pd.Timedelta(days=n) + pd.Timedelta(hours=9)


def customer(cid: str, **kw) -> dict:
    row = {"customer_id": cid, "name": f"Company {cid}", "contact_name": f"Contact {cid}",
           "email": f"{cid.lower()}@example.com", "phone": "+8613800000000", "source": "referral",
           "stage": "won", "owner": "Alex Chen", "created_at": TODAY - pd.Timedelta(days=1000),
           "marketing_consent": True, "unsubscribed": False, "preferred_channel": "email"}
    row.update(kw)
    return row


def order(cid: str, n_days: int, oid: str) -> dict:
    return {"order_id": oid, "customer_id": cid, "order_date": TODAY - pd.Timedelta(days=n_days),
            "amount": 100.0, "product": "x"}


def interaction(cid: str, when: pd.Timestamp) -> dict:
    return {"interaction_id": f"I{cid}", "customer_id": cid, "at": when, "method": "phone", "content": "call"}


def frames():
    customers = pd.DataFrame([customer("BUYER"), customer("QUIET"), customer("CALLED")])
    interactions = pd.DataFrame([interaction("BUYER", days_ago(906)), interaction("QUIET", days_ago(906)),
                                 interaction("CALLED", days_ago(5))])
    orders = pd.DataFrame([order("BUYER", 3, "O1"), order("QUIET", 400, "O2")])
    return customers, interactions, orders


def test_days_since_activity_counts_the_latest_interaction_or_order():
    customers, interactions, orders = frames()
    d = add_derived(None, AS_OF, customers=customers, interactions=interactions, orders=orders).set_index("customer_id")
    assert d.loc["BUYER", "days_since_activity"] == 3
    assert d.loc["BUYER", "last_activity_at"] == TODAY - pd.Timedelta(days=3)
    assert d.loc["QUIET", "days_since_activity"] == 400
    assert d.loc["CALLED", "days_since_activity"] == 5
    assert d.loc["BUYER", "days_since_interaction"] == 906     # the interaction field itself is unchanged


def test_days_since_activity_falls_back_to_the_creation_date():
    customers = pd.DataFrame([customer("NEW", created_at=TODAY - pd.Timedelta(days=10))])
    d = add_derived(None, AS_OF, customers=customers, interactions=pd.DataFrame(columns=["customer_id", "at"]),
                    orders=pd.DataFrame(columns=["customer_id", "order_date", "amount"]))
    assert d["days_since_activity"].tolist() == [10]


def test_customer_who_ordered_three_days_ago_gets_no_long_time_no_see_email():
    customers, interactions, orders = frames()
    ws = InMemoryWorkspace({"customers": customers, "interactions": interactions, "orders": orders},
                           settings={"as_of": AS_OF})
    res = run_rules(ws)
    a = res.actions
    for rid in ("R02A", "R02B"):
        got = set(a[(a["rule_id"] == rid) & (a["outcome"] == "done")]["record_id"])
        assert got == {"QUIET"}, rid
    r12 = set(a[(a["rule_id"] == "R12") & (a["outcome"] == "done")]["record_id"])
    assert "BUYER" not in r12 and "QUIET" in r12


def test_follow_up_list_counts_an_order_as_contact():
    from crmkit.analytics import cadence_status

    customers, interactions, orders = frames()
    st = cadence_status(customers, interactions, {}, AS_OF, orders=orders).set_index("customer_id")
    assert bool(st.loc["BUYER", "on_cadence"])
    assert st.loc["BUYER", "last_contact"] == TODAY - pd.Timedelta(days=3)
    assert not bool(st.loc["QUIET", "on_cadence"])


def test_activity_fields_have_labels_in_both_languages():
    from crmkit.schema import DERIVED_FIELDS

    for key in ("last_activity_at", "days_since_activity"):
        _, en, zh = DERIVED_FIELDS[key]
        assert en and zh and en != zh
