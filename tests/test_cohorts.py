"""Cohort retention and the repeat-purchase curve, against tables worked out by hand."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmkit import analytics as an
from crmkit import open_workspace, orderstore
from crmkit.analytics import cohorts
from crmkit.exceptions import UsageError
from crmkit.rfm import rfm_scores

AS_OF = pd.Timestamp("2026-03-31 18:00")

# A: Jan 5, Jan 20 (two orders that day), Mar 2, and a return on Mar 15;  B: Jan 20, Feb 11;
# C: Feb 3, and Apr 10 (after the as-of date);  D: only a return;  F: Mar 30 with a blank amount;
# one row without a customer.
ORDERS = pd.DataFrame({
    "order_id": [f"O{i}" for i in range(1, 12)],
    "customer_id": ["A", "A", "A", "A", "A", "B", "B", "C", "C", "D", None],
    "order_date": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-01-20", "2026-03-02", "2026-03-15",
                                  "2026-01-20", "2026-02-11", "2026-02-03", "2026-04-10", "2026-02-25",
                                  "2026-01-07"]),
    "amount": [10.0, 5.0, 3.0, 7.0, -7.0, 8.0, 9.0, 7.0, 3.0, -5.0, 50.0],
})
ORDERS = pd.concat([ORDERS, pd.DataFrame({"order_id": ["O12"], "customer_id": ["F"],
                                          "order_date": pd.to_datetime(["2026-03-30"]), "amount": [np.nan]})],
                   ignore_index=True)


def rows(table: pd.DataFrame) -> list[tuple]:
    return [(c.strftime("%Y-%m-%d"), int(p), int(n), int(a)) for c, p, n, a in
            table[["cohort", "period", "customers", "active"]].itertuples(index=False)]


def test_monthly_cohorts_by_hand():
    got = an.cohort_retention(ORDERS, AS_OF)
    assert list(got.columns) == ["cohort", "period", "customers", "active", "share"]
    # January: A and B; February: B buys again; March: A buys again (the March return is not a purchase).
    # February: C (its April order is after the as-of date); D only returned goods: no cohort.
    # March: F (a blank amount is a purchase of 0).  Periods run up to March, the as-of month.
    assert rows(got) == [("2026-01-01", 0, 2, 2), ("2026-01-01", 1, 2, 1), ("2026-01-01", 2, 2, 1),
                         ("2026-02-01", 0, 1, 1), ("2026-02-01", 1, 1, 0),
                         ("2026-03-01", 0, 1, 1)]
    assert got["share"].tolist() == [1.0, 0.5, 0.5, 1.0, 0.0, 1.0]
    matrix = an.retention_matrix(got)
    assert matrix.loc[pd.Timestamp("2026-01-01"), 2] == 0.5 and np.isnan(matrix.loc[pd.Timestamp("2026-03-01"), 1])
    assert an.retention_matrix(got, "active").loc[pd.Timestamp("2026-01-01")].tolist() == [2, 1, 1]


def test_without_as_of_every_order_counts():
    got = an.cohort_retention(ORDERS)             # as of the latest order, Apr 10: C comes back in April
    feb = got[got["cohort"] == pd.Timestamp("2026-02-01")]
    assert feb[["period", "active"]].values.tolist() == [[0, 1], [1, 0], [2, 1]]


def test_quarters_and_weeks():
    q = an.cohort_retention(ORDERS, AS_OF, period="quarter")
    assert rows(q) == [("2026-01-01", 0, 4, 4)]
    w = an.cohort_retention(ORDERS, "2026-01-25", period="week")
    # ISO weeks start on Monday: Jan 5 is a Monday; Jan 20 is in the week of Jan 19
    assert rows(w) == [("2026-01-05", 0, 1, 1), ("2026-01-05", 1, 1, 0), ("2026-01-05", 2, 1, 1),
                       ("2026-01-19", 0, 1, 1)]
    with pytest.raises(UsageError):
        an.cohort_retention(ORDERS, AS_OF, period="day")


def test_a_relation_gives_the_same_table_as_the_frame():
    con = orderstore.connect()
    rel = orderstore.as_relation(ORDERS, con)
    pd.testing.assert_frame_equal(an.cohort_retention(rel, AS_OF), an.cohort_retention(ORDERS, AS_OF))
    pd.testing.assert_frame_equal(an.repeat_purchase_curve(rel, AS_OF), an.repeat_purchase_curve(ORDERS, AS_OF))


def test_no_purchases_gives_empty_tables():
    none = ORDERS[ORDERS["amount"] < 0]
    got = an.cohort_retention(none, AS_OF)
    assert got.empty and list(got.columns) == ["cohort", "period", "customers", "active", "share"]
    curve = an.repeat_purchase_curve(none, AS_OF, max_days=14, step=7)
    assert curve["customers"].tolist() == [0] * 9 and curve["share"].isna().all()


def test_repeat_purchase_curve_by_hand():
    got = an.repeat_purchase_curve(ORDERS, AS_OF, purchases=(2, 3), max_days=56, step=14)
    # first purchase and days watched up to Mar 31: A Jan 5 (85), B Jan 20 (70), C Feb 3 (56), F Mar 30 (1).
    # A's purchase days: Jan 5, Jan 20 (two orders, one purchase day), Mar 2: 2nd after 15 days, 3rd after 56;
    # B: 2nd after 22 days.  Watched for >= 14 days: A, B, C.
    assert got["days"].tolist() == [0, 14, 28, 42, 56] * 2
    assert got["purchase"].tolist() == [2] * 5 + [3] * 5
    assert got["customers"].tolist() == [4, 3, 3, 3, 3] * 2
    assert got["reached"].tolist() == [0, 0, 2, 2, 2, 0, 0, 0, 0, 1]
    assert got["share"].tolist() == pytest.approx([0, 0, 2 / 3, 2 / 3, 2 / 3, 0, 0, 0, 0, 1 / 3])
    with pytest.raises(UsageError):
        an.repeat_purchase_curve(ORDERS, AS_OF, purchases=(1,))


def test_sample_workspace_cohorts_add_up():
    ws = open_workspace(Path(__file__).resolve().parent.parent / "sample_data")
    table = an.cohort_retention(orderstore.workspace_orders(ws), ws.as_of())
    sizes = table[table["period"] == 0]
    scores = rfm_scores(ws["orders"], ws.as_of())
    # every buyer is in exactly one cohort: the cohorts add up to RFM's buyers
    assert sizes["customers"].sum() == int((scores["frequency"] > 0).sum())
    assert (table["active"] <= table["customers"]).all() and (sizes["share"] == 1.0).all()


@pytest.mark.parametrize("fn", [cohorts.cohort_retention, cohorts.retention_matrix, cohorts.repeat_purchase_curve])
def test_docstring_examples_run(fn):
    tests = doctest.DocTestFinder(recurse=False).find(fn, globs=dict(vars(cohorts)))
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
