"""RFM scores, segments and value tiers, checked against a hand-worked example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from crmkit.exceptions import ValidationError
from crmkit.rfm import (
    SCORE_COLUMNS,
    parse_thresholds,
    quantile_scores,
    rfm_scores,
    segment_summary,
    tier_summary,
)

AS_OF = pd.Timestamp("2026-11-20 10:00")


def orders_frame(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    df["customer_id"] = df["customer_id"].astype("string")
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["amount"] = df["amount"].astype("float64")
    return df


# The hand-checked example (as of 2026-11-20):
#   customer  last purchase   days  orders  net amount
#   A         2026-11-18         2       3        1000   (+ a future order, ignored)
#   B         2026-11-10        10       1         100
#   C         2026-08-22        90       4        4000
#   D         2026-01-01       323       2          80
#   E         2026-10-21        30       5        1300   (1600 bought, 300 returned later)
#   F         -                          0           0   no orders
#   G         -                          0           0   only a return
# Five buyers, all values distinct: R and M scores are the ranks; F by the fixed breaks
# 1 / 2 / 3-4 / 5-9 / 10+ purchases.
#   R (fewer days higher): A5 B4 E3 C2 D1;  F (3,1,4,2,5 orders): A3 B1 C3 D2 E4;  M: D1 B2 A3 E4 C5
#   FM = ceil((F + M) / 2): A3 B2 C4 D2 E4
#   segments: A (5,3) potential_loyalist, B (4,2) potential_loyalist, C (2,4) at_risk,
#             D (1,2) lost, E (3,4) loyal
EXAMPLE = orders_frame([
    ("A", "2026-11-18", 500), ("A", "2026-10-01", 300), ("A", "2026-09-01", 200), ("A", "2026-12-01", 9999),
    ("B", "2026-11-10", 100),
    ("C", "2026-08-22", 2000), ("C", "2026-07-01", 1000), ("C", "2026-06-01", 500), ("C", "2026-05-01", 500),
    ("D", "2026-01-01", 50), ("D", "2025-12-01", 30),
    ("E", "2026-10-21", 700), ("E", "2026-10-01", 600), ("E", "2026-11-05", -300), ("E", "2026-09-01", 100),
    ("E", "2026-08-01", 100), ("E", "2026-07-01", 100),
    ("G", "2026-11-01", -100),
])
CUSTOMERS = pd.Series(list("ABCDEFG"), dtype="string")


def expected_example() -> pd.DataFrame:
    na = pd.NA
    df = pd.DataFrame({
        "recency_days": pd.array([2, 10, 90, 323, 30, na, na], dtype="Int64"),
        "frequency": pd.array([3, 1, 4, 2, 5, 0, 0], dtype="Int64"),
        "monetary": [1000.0, 100.0, 4000.0, 80.0, 1300.0, 0.0, 0.0],
        "r_score": pd.array([5, 4, 2, 1, 3, na, na], dtype="Int64"),
        "f_score": pd.array([3, 1, 3, 2, 4, na, na], dtype="Int64"),
        "m_score": pd.array([3, 2, 5, 1, 4, na, na], dtype="Int64"),
        "rfm_segment": pd.array(["potential_loyalist", "potential_loyalist", "at_risk", "lost", "loyal",
                                 "no_orders", "no_orders"], dtype="string"),
        "value_tier": pd.array(["potential", "potential", "churn_risk", "churn_risk", "high_value", na, na],
                               dtype="string"),
    }, index=pd.Index(list("ABCDEFG"), dtype="string", name="customer_id"))
    return df


def test_hand_checked_example_scores_segments_and_tiers():
    got = rfm_scores(EXAMPLE, AS_OF, customers=CUSTOMERS)
    assert_frame_equal(got, expected_example())


def test_scores_do_not_depend_on_row_order():
    shuffled = EXAMPLE.sample(frac=1, random_state=3)
    assert_frame_equal(rfm_scores(shuffled, AS_OF, customers=CUSTOMERS), expected_example())


def test_customers_frame_gives_every_customer_a_row_in_its_order():
    customers = pd.DataFrame({"customer_id": pd.array(["G", "A", "F"], dtype="string")})
    got = rfm_scores(EXAMPLE, AS_OF, customers=customers)
    assert list(got.index) == ["G", "A", "F"]
    assert list(got["rfm_segment"]) == ["no_orders", "potential_loyalist", "no_orders"]
    # A's scores are ranked among all buyers in the orders even when only some customers are listed
    assert got.loc["A", "r_score"] == 5


def test_without_customers_the_buyers_in_the_orders_are_scored_sorted_by_id():
    got = rfm_scores(EXAMPLE, AS_OF)
    assert list(got.index) == list("ABCDEG")
    assert list(got.columns) == list(SCORE_COLUMNS)


def test_one_customer_scores_in_the_middle_for_recency_and_monetary_and_one_for_a_single_purchase():
    got = rfm_scores(orders_frame([("X", "2026-11-01", 100)]), AS_OF)
    assert got.loc["X", ["r_score", "f_score", "m_score"]].tolist() == [3, 1, 3]
    assert got.loc["X", "rfm_segment"] == "about_to_sleep"        # R 3, FM ceil((1 + 3) / 2) = 2
    assert got.loc["X", "value_tier"] == "regular"


def test_a_one_time_buyer_scores_frequency_one_however_many_others_bought_once():
    rows = [(f"O{i}", "2026-11-01", 100) for i in range(8)] + [("T", "2026-11-01", 100), ("T", "2026-10-01", 1),
                                                             ("X", "2026-11-01", 1)]
    got = rfm_scores(orders_frame(rows), AS_OF)
    assert (got.loc[[f"O{i}" for i in range(8)] + ["X"], "f_score"] == 1).all()
    assert got.loc["T", "f_score"] == 2


def test_all_amounts_equal_share_one_monetary_score():
    got = rfm_scores(orders_frame([(c, d, 50) for c, d in
                                   [("P", "2026-11-19"), ("Q", "2026-10-01"), ("R", "2026-06-01"),
                                    ("S", "2026-02-01")]]), AS_OF)
    assert set(got["m_score"]) == {3}
    assert set(got["f_score"]) == {1}          # one purchase each: F by the fixed breaks
    assert got["r_score"].tolist() == [5, 4, 2, 1]


def test_equal_values_always_get_the_same_score():
    # eight customers bought once, two more often: a skewed, tied frequency column
    scores = quantile_scores(np.array([1, 1, 1, 1, 1, 1, 1, 1, 2, 10]))
    assert scores.tolist() == [3, 3, 3, 3, 3, 3, 3, 3, 5, 5]


@pytest.mark.parametrize("values, expected", [
    ([], []),
    ([7], [3]),
    ([1, 2], [2, 4]),
    ([5, 4, 3, 2, 1], [5, 4, 3, 2, 1]),
    (list(range(10)), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ([0.0, 0.0, 0.0], [3, 3, 3]),
])
def test_quantile_scores_cut_five_equal_groups(values, expected):
    assert quantile_scores(np.array(values, dtype=float)).tolist() == expected


def test_recency_scores_fewer_days_higher():
    assert quantile_scores(np.array([1, 100, 10, 1000, 50]), reverse=True).tolist() == [5, 2, 4, 1, 3]


def test_orders_after_the_as_of_date_are_ignored():
    got = rfm_scores(orders_frame([("A", "2026-11-21", 100), ("B", "2026-11-20", 10)]), AS_OF,
                     customers=pd.Series(["A", "B"]))
    assert got.loc["A", "rfm_segment"] == "no_orders"
    assert got.loc["A", "frequency"] == 0
    assert got.loc["B", "recency_days"] == 0   # bought on the as-of day


def test_negative_amounts_lower_monetary_but_are_not_purchases():
    got = rfm_scores(orders_frame([("A", "2026-10-01", 100), ("A", "2026-11-19", -30)]), AS_OF)
    assert got.loc["A", "frequency"] == 1
    assert got.loc["A", "monetary"] == 70.0
    assert got.loc["A", "recency_days"] == 50


def test_net_amount_never_goes_below_zero():
    got = rfm_scores(orders_frame([("A", "2026-10-01", 100), ("A", "2026-11-19", -300)]), AS_OF)
    assert got.loc["A", "monetary"] == 0.0


def test_no_orders_at_all_gives_every_customer_the_no_orders_segment():
    got = rfm_scores(orders_frame([]), AS_OF, customers=pd.Series(["A", "B"]))
    assert got["rfm_segment"].tolist() == ["no_orders", "no_orders"]
    assert got["value_tier"].isna().all()
    assert got["frequency"].tolist() == [0, 0]
    empty = rfm_scores(orders_frame([]), AS_OF)
    assert len(empty) == 0 and list(empty.columns) == list(SCORE_COLUMNS)


def test_blank_amount_counts_as_a_purchase_of_zero():
    df = orders_frame([("A", "2026-11-01", 100), ("A", "2026-11-10", np.nan)])
    got = rfm_scores(df, AS_OF)
    assert got.loc["A", "frequency"] == 2 and got.loc["A", "monetary"] == 100.0


def test_orders_without_customer_or_date_are_skipped():
    df = orders_frame([("A", "2026-11-01", 100), (None, "2026-11-01", 5), ("A", None, 7)])
    got = rfm_scores(df, AS_OF)
    assert list(got.index) == ["A"] and got.loc["A", "frequency"] == 1


def test_missing_orders_column_is_a_clear_error():
    with pytest.raises(ValidationError, match="amount"):
        rfm_scores(pd.DataFrame({"customer_id": ["A"], "order_date": ["2026-01-01"]}), AS_OF)


# --------------------------------------------------------------------------- fixed thresholds

def test_thresholds_are_read_from_the_settings_text():
    got = parse_thresholds("r=30,60,90,180; f=2,3,5,8; m=1000,5000,10000,50000")
    assert got == {"r": (30, 60, 90, 180), "f": (2, 3, 5, 8), "m": (1000, 5000, 10000, 50000)}
    assert parse_thresholds(None) == {} and parse_thresholds("  ") == {}


def test_fixed_thresholds_score_by_bounds():
    got = rfm_scores(EXAMPLE, AS_OF, thresholds="r=30,60,90,180; f=2,3,5,8; m=1000,5000,10000,50000")
    # A: 2 days -> 5, 3 orders -> 3, 1000 -> 2 ; E: 30 days (on the bound) -> 5, 5 orders -> 4, 1300 -> 2
    # C: 90 days -> 3, 4 orders -> 3, 4000 -> 2 ; D: 323 days -> 1, 2 orders -> 2, 80 -> 1
    assert got.loc["A", ["r_score", "f_score", "m_score"]].tolist() == [5, 3, 2]
    assert got.loc["E", ["r_score", "f_score", "m_score"]].tolist() == [5, 4, 2]
    assert got.loc["C", ["r_score", "f_score", "m_score"]].tolist() == [3, 3, 2]
    assert got.loc["D", ["r_score", "f_score", "m_score"]].tolist() == [1, 2, 1]


def test_metrics_without_thresholds_fall_back_to_quantiles_and_frequency_to_the_default_breaks():
    got = rfm_scores(EXAMPLE, AS_OF, thresholds="r=30,60,90,180")
    assert got.loc["C", "m_score"] == 5 and got.loc["C", "r_score"] == 3
    assert got["f_score"].dropna().tolist() == [3, 1, 3, 2, 4]


@pytest.mark.parametrize("text, message", [
    ("r=30,60,90", "exactly 4"),
    ("r=30,20,90,180", "increase"),
    ("x=1,2,3,4", "unknown metric"),
    ("r=a,b,c,d", "numbers"),
    ("r 30 60", "cannot read"),
])
def test_bad_thresholds_name_the_setting(text, message):
    with pytest.raises(ValidationError, match=message) as info:
        parse_thresholds(text)
    assert "rfm_thresholds" in str(info.value)


# --------------------------------------------------------------------------- summaries

def test_segment_summary_counts_customers_and_revenue_for_every_segment():
    summary = segment_summary(rfm_scores(EXAMPLE, AS_OF, customers=CUSTOMERS)).set_index("segment")
    assert len(summary) == 12
    assert summary.loc["potential_loyalist", "customers"] == 2
    assert summary.loc["potential_loyalist", "revenue"] == 1100.0
    assert summary.loc["no_orders", "customers"] == 2
    assert summary.loc["champions", "customers"] == 0
    assert summary.loc["at_risk", "customers"] == 1
    assert summary["customers"].sum() == 7
    assert summary["revenue"].sum() == pytest.approx(6480.0)
    assert summary["customers_share"].sum() == pytest.approx(1.0)


def test_tier_summary_groups_segments_into_value_tiers():
    tiers = tier_summary(rfm_scores(EXAMPLE, AS_OF, customers=CUSTOMERS)).set_index("value_tier")
    assert tiers["customers"].to_dict() == {"high_value": 1, "potential": 2, "regular": 0, "churn_risk": 2,
                                            "no_orders": 2}
    assert tiers.loc["high_value", "revenue"] == 1300.0


def test_numeric_customer_ids_match_text_ids():
    df = pd.DataFrame({"customer_id": [1, 2], "order_date": pd.to_datetime(["2026-11-01", "2026-10-01"]),
                       "amount": [10.0, 20.0]})
    got = rfm_scores(df, AS_OF, customers=pd.Series(["1", "2", "3"]))
    assert got["frequency"].tolist() == [1, 1, 0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 5), st.floats(-1e9, 1e9, allow_nan=False)), max_size=60))
def test_quantile_scores_never_fail_stay_in_range_and_respect_order(values):
    arr = np.array(values, dtype=float)
    scores = quantile_scores(arr)
    assert len(scores) == len(arr)
    assert ((scores >= 1) & (scores <= 5)).all()
    order = np.argsort(arr, kind="stable")
    assert (np.diff(scores[order]) >= 0).all()          # larger value, never a lower score
    for v in np.unique(arr):
        assert len(set(scores[arr == v])) == 1           # ties share one score


# --------------------------------------------------------------------------- spreadsheet reference

REFERENCE = Path(__file__).resolve().parent / "data" / "rfm_reference.xlsx"


def test_scores_equal_a_spreadsheet_computed_with_excel_formulas():
    """tests/data/rfm_reference.xlsx computes RFM with COUNTIFS / MAXIFS / SUMIFS / RANK.AVG and the fixed
    frequency breaks (recalculated by LibreOffice; see make_rfm_reference.py): an oracle that shares no code
    with crmkit."""
    import openpyxl

    book = openpyxl.load_workbook(REFERENCE, data_only=True)
    rows = list(book["Orders"].iter_rows(values_only=True))
    orders = orders_frame([r[:3] for r in rows[1:]])
    cust = list(book["Customers"].iter_rows(values_only=True))
    header = list(cust[0][:8])
    expected = pd.DataFrame([r[:8] for r in cust[1:]], columns=header).set_index("customer_id")
    as_of = pd.Timestamp(cust[1][8])
    got = rfm_scores(orders, as_of, customers=pd.Series(expected.index))
    assert got["rfm_segment"].value_counts().get("no_orders", 0) > 0
    assert got["r_score"].nunique() >= 4 and got["m_score"].nunique() >= 4     # ties, but a spread
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        want = pd.to_numeric(expected[col], errors="coerce")
        have = got[col].astype("float64")
        assert have.isna().tolist() == want.isna().tolist(), col
        assert (have.dropna() == want.dropna()).all(), col
    assert got["monetary"].tolist() == pytest.approx(expected["monetary"].astype(float).tolist())
    assert got["rfm_segment"].tolist() == expected["rfm_segment"].tolist()
