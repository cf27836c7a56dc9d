"""The fast validation path reports exactly what the plain path reports.

The plain path is the one validation used before it was made fast: every
column converted again, ``Series.isin`` with Python sets, ``duplicated``,
duplicate customers found from the raw frame, every phone number parsed by
``phonenumbers``.  The tests swap those pieces back in and compare reports.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit import phones
from crmkit.dedupe import find_duplicates
from crmkit.io.typing import convert_column
from crmkit.schema import ENTITIES
from crmkit.validate import checks as v
from crmkit.validate import workspace as vw
from crmkit.workspace import open_workspace


@pytest.fixture
def plain_path(monkeypatch):
    """Validation as it was before the fast path: apply with ``with plain_path():``."""
    from contextlib import contextmanager

    check_frame = v.check_frame

    def slow_customer_duplicates(customers, settings, contacts):
        return find_duplicates(customers, keys=settings.get("dedupe_keys"), region=settings.get("phone_region"))

    @contextmanager
    def use():
        with monkeypatch.context() as m:
            m.setattr(v, "_convert_enum", convert_column)
            m.setattr(v, "_convert_id", convert_column)
            m.setattr(v, "_not_in", lambda values, known: values.notna() & ~values.isin(set(known.dropna().astype(str))))
            m.setattr(v, "_shared", lambda values: values.notna() & values.duplicated(keep=False))
            m.setattr(vw, "_customer_duplicates", slow_customer_duplicates)
            for mod in (v, vw):
                m.setattr(mod, "check_frame", lambda *a, **k: check_frame(*a, **{**k, "values": True}))
            m.setattr(phones, "phone_fast_path", lambda compact, region="CN": pd.Series(pd.NA, index=compact.index,
                                                                                   dtype="string"))
            yield

    return use


MESSY_CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C2", "12.0", " C5 ", "n/a", None, "C8", "C9", "C10"],
    "name": ["华星科技有限公司", "Acme Co., Ltd.", "ACME", "甲", "  ", "乙", "丙", "华星科技", "Bolt", "Nut"],
    "contact_name": ["李雷", "Ann", "Ann", None, "x", None, None, "李雷", None, None],
    "phone": ["13800138000", "+1 650 253 0000", "(650) 253-0000", "12345", "+86 999", "010-12345678",
              "15400000000", "138 0013 8000", "call me", "12345"],
    "email": ["a@x.cn", "Ann@Example.COM", "ann@example.com", "bad@", None, "x@@y", "张三@例子.中国", "A@X.CN",
              None, "mailto:n@n.com"],
    "industry": ["it_internet", "IT/互联网", "retail", "weird", None, "制造业", " retail ", "finance", "", "-"],
    "source": ["referral", "展会", "nope", None, "referral", "referral", "官网", "referral", "referral", "referral"],
    "owner": ["Alex Chen", "Nobody", " Alex Chen ", "Alex Chen", "Alex Chen", None, None, None, None, "Alex Chen"],
    "created_at": ["2024-05-01", "2024/5/2", "2024年5月3日", "45413", "yesterday", None, "2024-05-07", "2024-05-08",
                   "2024-05-09", "2024-05-10"],
})
MESSY_ORDERS = pd.DataFrame({
    "order_id": ["O1", "O1", "O3", "O4", " O5", None],
    "customer_id": ["C1", "C404", "12", "C2", "C5", "C8"],
    "order_date": ["2024-06-01"] * 6,
    "amount": ["100", "1,200", "abc", "3万", None, "5"],
    "channel": ["direct", "网店", "??", None, "store", "online"],
})
TEAM = pd.DataFrame({"name": ["Alex Chen"], "role": ["rep"]})


def report_parts(rep):
    return rep.issues, rep.completeness, rep.sheets, rep.duplicates, rep.incomplete


def assert_same_report(fast, slow):
    pd.testing.assert_frame_equal(fast[0], slow[0])
    assert fast[1:4] == slow[1:4]
    pd.testing.assert_frame_equal(fast[4], slow[4])


@pytest.mark.parametrize("region", ["CN", "US"])
def test_workspace_report_is_the_same_on_the_fast_and_the_plain_path(make_workspace, plain_path, region):
    folder = make_workspace({"customers": MESSY_CUSTOMERS, "orders": MESSY_ORDERS, "team": TEAM},
                            settings={"phone_region": region, "completeness_target": "0.6"})
    fast = report_parts(vw.validate_workspace(open_workspace(folder)))
    with plain_path():
        slow = report_parts(vw.validate_workspace(open_workspace(folder)))
    assert len(fast[0]) > 10
    assert_same_report(fast, slow)


def test_frames_changed_in_memory_are_checked_the_same_on_both_paths(make_workspace, plain_path):
    """A frame replaced by code is not normalised like a loaded one: ids with spaces, labels, ``12.0``."""
    folder = make_workspace({"team": TEAM})
    ws = open_workspace(folder)
    ws.replace("customers", MESSY_CUSTOMERS.assign(created_at=pd.Timestamp("2024-05-01")))
    ws.replace("orders", MESSY_ORDERS.assign(order_date=pd.Timestamp("2024-06-01"), amount=1.0))
    fast = report_parts(vw.validate_workspace(ws))
    with plain_path():
        slow = report_parts(vw.validate_workspace(ws))
    assert_same_report(fast, slow)


def test_raw_text_frames_give_the_same_values_and_issues_on_both_paths(plain_path):
    st = {"phone_region": "CN"}
    tables = {"customers": MESSY_CUSTOMERS, "team": TEAM}
    for key, df in (("customers", MESSY_CUSTOMERS), ("orders", MESSY_ORDERS)):
        out, iss = v.validate_frame(df, key, settings=st, existing=tables)
        with plain_path():
            out_slow, iss_slow = v.validate_frame(df, key, settings=st, existing=tables)
        pd.testing.assert_frame_equal(out, out_slow)
        pd.testing.assert_frame_equal(iss, iss_slow)


ENUM_FIELDS = [f for e in ENTITIES.values() for f in e.fields if f.type == "enum"]


@pytest.mark.parametrize("field", ENUM_FIELDS, ids=lambda f: f.key)
def test_enumeration_columns_convert_as_before_when_only_non_codes_are_converted(field):
    ch = field.enum.choices
    vals = [c.code for c in ch] + [c.en for c in ch] + [c.zh for c in ch] + [" " + ch[0].code, "??", None, "", "-"]
    s = pd.Series(vals * 3, dtype="string")
    out, bad = v._convert_enum(s, field)
    want, want_bad = convert_column(s, field)
    pd.testing.assert_series_equal(out, want.astype("string"), check_names=False)
    assert bad.tolist() == want_bad.tolist()


def test_id_columns_convert_as_before_when_only_non_plain_ids_are_converted():
    field = ENTITIES["orders"].field("customer_id")
    s = pd.Series(["C1", " C1 ", "12.0", "12.5", "1.0.0", "x.0", "n/a", "NA", "—", "无", "Ｃ００１", "C 1", "a\tb",
                   None, "", "-", "/", "C001"], dtype="string")
    out, _ = v._convert_id(s, field)
    want, _ = convert_column(s, field)
    pd.testing.assert_series_equal(out, want, check_names=False)
    plain = pd.Series(["C1", "C2", None], dtype="string")
    pd.testing.assert_series_equal(v._convert_id(plain, field)[0], convert_column(plain, field)[0], check_names=False)


def test_membership_and_shared_values_match_pandas():
    values = pd.Series(["a", "b", None, "c", "a", "12", "b"], dtype="string")
    known = pd.Series([12, None, 7], dtype="Int64")
    assert v._not_in(values, known).tolist() == [True, True, False, True, True, False, True]
    assert v._not_in(values, pd.Series([], dtype="string")).tolist() == values.notna().tolist()
    assert v._shared(values).tolist() == (values.notna() & values.duplicated(keep=False)).tolist()
