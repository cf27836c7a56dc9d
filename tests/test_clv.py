"""Customer lifetime value (crmkit.clv) against the published CDNOW figures, plus its own rules.

Reference: the 2,357-customer CDNOW sample (tests/data/public/cdnow), read as raw purchases
through crmkit's own summary, in weeks, with the 39-week calibration period of the papers
(1997-01-01 .. 1997-09-30) and the 39-week holdout (.. 1998-06-30).

Published figures used:

* BG/NBD: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4
  (Fader, Hardie & Lee 2005, "'Counting Your Customers' the Easy Way", Marketing Science 24(2),
  section 4), and its worked example: a customer with x = 2, t_x = 30.43, T = 38.86 expects
  1.226 purchases in the next 39 weeks.
* Gamma-Gamma: p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat buyers' mean repeat
  purchase value in the calibration period (Fader, Hardie & Lee 2005, "RFM and CLV: Using
  Iso-Value Curves", JMR 42(4); Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").
* The lifetimes 0.11.3 documentation (docs/Quickstart.md), which fits the same data: expected
  purchases in the next week of customers 509, 841, 1981, 157, 1516 and the Gamma-Gamma
  conditional expected spend of customers 1 and 6 and its mean over all 2,357 customers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmkit import clv
from crmkit.exceptions import DataError, ValidationError

CDNOW = Path(__file__).resolve().parent / "data" / "public" / "cdnow"
CAL_END, OBS_END = "1997-09-30", "1998-06-30"


def read_cdnow_sample() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype={"sample_id": "string"},
                      names=["master_id", "sample_id", "date", "cds", "amount"])
    return pd.DataFrame({"customer_id": raw["sample_id"].str.lstrip("0"),
                         "order_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
                         "amount": raw["amount"].astype("float64")})


@pytest.fixture(scope="module")
def cal() -> pd.DataFrame:
    out = clv.calibration_and_holdout(read_cdnow_sample(), CAL_END, OBS_END, unit_days=7)
    return out.loc[sorted(out.index, key=int)]


@pytest.fixture(scope="module")
def model(cal) -> clv.CLVModel:
    return clv.fit(cal)


# --------------------------------------------------------------------------- the summary


def test_summary_of_the_raw_cdnow_purchases_equals_the_papers_summary(cal):
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", dtype={"ID": "string"})
    ref = ref.set_index("ID")
    assert list(cal.index) == list(ref.index)                                  # all 2,357 customers
    assert (cal["frequency"].to_numpy() == ref["x"].to_numpy()).all()         # same-day purchases are one
    for ours, theirs in (("recency", "t_x"), ("T", "T"), ("monetary_value", "zbar")):
        np.testing.assert_allclose(cal[ours].to_numpy(), ref[theirs].to_numpy(), atol=0.0051)
    assert int((cal["frequency"] > 0).sum()) == 946


def test_holdout_counts_purchase_days_after_the_calibration_end(cal):
    assert (cal["duration_holdout"] == 39).all()
    # 1,959 holdout order lines on 1,882 distinct (customer, day) pairs: a day counts once
    assert int(cal["frequency_holdout"].sum()) == 1882


# --------------------------------------------------------------------------- the published parameters


def same_to_two_significant_figures(ours: float, published: float) -> bool:
    """Within half a unit of the published value's second significant figure (6.25: 6.20 .. 6.30)."""
    unit = 10.0 ** (np.floor(np.log10(abs(published))) - 1)
    return abs(ours - published) <= unit / 2


def test_bgnbd_reproduces_the_published_parameters(model):
    b = model.bgnbd
    assert b.converged
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert same_to_two_significant_figures(getattr(b, name), value), name
        assert getattr(b, name) == pytest.approx(value, abs=0.0006), name     # closer than required: 3 decimals
    assert b.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert b.customers == 2357


def test_gamma_gamma_reproduces_the_published_parameters(model):
    g = model.gamma_gamma
    assert g.converged and g.customers == 946
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert same_to_two_significant_figures(getattr(g, name), value), name
        assert getattr(g, name) == pytest.approx(value, abs=0.006), name      # closer than required: 2 decimals


# --------------------------------------------------------------------------- the published predictions


def test_worked_example_expects_1_226_purchases_in_39_weeks(model):
    # BG/NBD paper, section 4: x = 2, t_x = 30.43, T = 38.86 weeks -> 1.226 in the next 39 weeks
    got = clv.expected_purchases(model, [2], [30.43], [38.86], days=39 * 7)
    assert got[0] == pytest.approx(1.226, abs=0.0005)


def test_next_week_purchases_match_the_lifetimes_documentation(cal, model):
    # lifetimes docs/Quickstart.md "Ranking customers from best to worst" (t = 1 week)
    published = {"509": 0.424877, "841": 0.474738, "1981": 0.486526, "157": 0.662396, "1516": 0.710623}
    rows = cal.loc[list(published)]
    got = clv.expected_purchases(model, rows["frequency"], rows["recency"], rows["T"], days=7)
    np.testing.assert_allclose(got, list(published.values()), rtol=2e-3)


def test_expected_spend_matches_the_lifetimes_documentation(cal, model):
    # lifetimes docs/Quickstart.md: customer 1 -> 24.658619, customer 6 -> 71.462843,
    # a non-repeater -> 35.170981, mean over all 2,357 customers 35.2529588
    spend = pd.Series(clv.expected_spend(model, cal["frequency"], cal["monetary_value"]), index=cal.index)
    assert spend["1"] == pytest.approx(24.658619, abs=0.01)
    assert spend["6"] == pytest.approx(71.462843, abs=0.02)
    assert spend["3"] == pytest.approx(35.170981, abs=0.01)
    assert spend.mean() == pytest.approx(35.2529588, abs=0.01)


def test_holdout_forecast_by_calibration_frequency(cal, model):
    """The paper's holdout comparison (BG/NBD paper, Figure 5: average purchases in weeks 40-78 by purchases
    in weeks 1-39, actual vs. BG/NBD conditional expectation; it is published as a chart).

    Actual averages from the data: 0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359 for 0 .. 7+
    (customers per group 1,411, 439, 214, 100, 62, 38, 29, 64).  Like the paper's chart, the model follows
    the rise with frequency and is close at both ends (0 and 7+ within 10 %) and lower in between.
    Total: 1,882 actual repeat purchase days, 1,653.4 expected (-12 %); tolerance 15 %, and the
    expectation pinned to our run (+-0.5) to catch any change.
    """
    pred = clv.predict(model, cal, horizon_days=39 * 7)
    group = cal["frequency"].clip(upper=7)
    actual = cal["frequency_holdout"].groupby(group).mean()
    expected = pred["expected_purchases"].groupby(group).mean()
    assert list(group.value_counts().sort_index()) == [1411, 439, 214, 100, 62, 38, 29, 64]
    np.testing.assert_allclose(actual, [0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359], atol=0.0006)
    assert expected[0] == pytest.approx(actual[0], rel=0.10)
    assert expected[7] == pytest.approx(actual[7], rel=0.10)
    assert np.all(np.diff(expected.to_numpy()) > 0)
    total_actual, total_expected = cal["frequency_holdout"].sum(), pred["expected_purchases"].sum()
    assert total_expected == pytest.approx(total_actual, rel=0.15)
    assert total_expected == pytest.approx(1653.4, abs=0.5)


# --------------------------------------------------------------------------- properties


def test_p_alive_is_1_without_repeat_purchases_and_falls_with_silence(model):
    assert (clv.p_alive(model, [0, 0, 0], [0, 0, 0], [1.0, 20.0, 38.0]) == 1.0).all()
    p = clv.p_alive(model, [3, 3, 3], [10.0, 10.0, 10.0], [10.0, 20.0, 38.0])
    assert np.all(np.diff(p) < 0) and np.all((p > 0) & (p < 1))


def test_clv_grows_with_the_horizon_and_shrinks_with_the_discount_rate(cal, model):
    args = (cal["frequency"], cal["recency"], cal["T"], cal["monetary_value"])
    short = clv.clv(model, *args, horizon_days=90, discount_rate=0.1)
    year = clv.clv(model, *args, horizon_days=365, discount_rate=0.1)
    undiscounted = clv.clv(model, *args, horizon_days=365, discount_rate=0.0)
    assert np.all(year > short) and np.all(undiscounted >= year)
    # undiscounted CLV = expected purchases x expected spend
    spend = clv.expected_spend(model, cal["frequency"], cal["monetary_value"])
    purchases = clv.expected_purchases(model, cal["frequency"], cal["recency"], cal["T"], days=365)
    np.testing.assert_allclose(undiscounted, purchases * spend, rtol=1e-9)


def test_no_nan_for_100k_customers_with_extreme_histories(model):
    rng = np.random.default_rng(7)
    n = 100_000
    T = rng.uniform(0.1, 500, n)
    x = rng.integers(0, 400, n).astype(float)
    x[: n // 3] = 0
    t_x = np.where(x > 0, T * rng.uniform(0, 1, n), 0.0)
    summary = pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "monetary_value": rng.gamma(2, 30, n) * (x > 0)})
    for m in (model, clv.CLVModel(clv.BGNBDParams(0.73, 28.4, 568.8, 82427.7, 0, 0, True, 0),
                                  model.gamma_gamma, 1.0)):   # the near-no-dropout fit of a small sample
        pred = clv.predict(m, summary, horizon_days=365)
        assert np.isfinite(pred.to_numpy()).all()
        assert (pred["expected_purchases"] >= 0).all() and (pred["p_alive"] <= 1).all()


def test_closed_form_and_quadrature_agree():
    from crmkit.clv.predict import _purchases_if_alive_quadrature  # the fallback path, tested directly

    b = clv.BGNBDParams(0.243, 4.414, 0.793, 2.426, 0, 0, True, 0)
    m = clv.CLVModel(b, clv.GammaGammaParams(6.25, 3.74, 15.44, 0, 0, True, 0), 7.0)
    x, t_x, T = np.array([0.0, 2, 10]), np.array([0.0, 30.43, 35]), np.array([38.86, 38.86, 38.86])
    closed = clv.expected_purchases(m, x, t_x, T, days=39 * 7) / clv.p_alive(m, x, t_x, T)
    np.testing.assert_allclose(_purchases_if_alive_quadrature(b, 39.0, x, T), closed, rtol=1e-6)


# --------------------------------------------------------------------------- the summary's rules


def orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [r[0] for r in rows], "order_date": pd.to_datetime([r[1] for r in rows]),
                         "amount": [r[2] for r in rows]})


def test_same_day_orders_are_one_purchase_and_returns_follow_the_order_rule():
    frame = orders([
        ("C1", "2026-01-01", 10.0),
        ("C1", "2026-01-05", 100.0), ("C1", "2026-01-05", -30.0),   # one transaction of 70
        ("C1", "2026-01-09", -20.0),                                 # a return alone: no purchase day
        ("C1", "2026-01-11", 50.0), ("C1", "2026-01-11", 10.0),     # one transaction of 60
        ("C1", "2026-02-01", 999.0),                                 # after as-of: ignored
        ("C2", "2026-01-03", -5.0),                                  # returns only: no purchase
        ("C3", "2026-01-04", 20.0),
    ])
    got = clv.summary(frame, "2026-01-15", customers=["C1", "C2", "C3", "C4"])
    expected = pd.DataFrame({"frequency": [2, 0, 0, 0], "recency": [10.0, 0.0, 0.0, 0.0],
                             "T": [14.0, np.nan, 11.0, np.nan], "monetary_value": [65.0, 0.0, 0.0, 0.0]},
                            index=pd.Index(["C1", "C2", "C3", "C4"], dtype="string", name="customer_id"))
    pd.testing.assert_frame_equal(got, expected)


def test_summary_runs_on_a_duckdb_relation_and_in_weeks():
    from crmkit import orderstore

    frame = orders([("C1", "2026-01-01", 10.0), ("C1", "2026-01-15", 30.0), ("C2", "2026-01-10", 8.0)])
    rel = orderstore.as_relation(frame)
    got = clv.summary(rel, "2026-01-29", unit_days=7)
    assert got.loc["C1"].tolist() == [1, 2.0, 4.0, 30.0]
    assert got.attrs["unit_days"] == 7
    pd.testing.assert_frame_equal(got, clv.summary(frame, "2026-01-29", unit_days=7))


# --------------------------------------------------------------------------- bad input


def repeaters(n: int, *, same_amount: bool = False) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append((f"C{i}", "2026-01-01", 10.0 + i))
        rows.append((f"C{i}", f"2026-02-{1 + i % 27:02d}", 20.0 if same_amount else 20.0 + 3 * i))
    for i in range(40):
        rows.append((f"N{i}", f"2026-01-{1 + i % 28:02d}", 15.0))
    return orders(rows)


@pytest.mark.parametrize(("frame", "words"), [
    (orders([]), "no purchases"),
    (orders([("C1", "2026-01-01", -5.0)]), "no purchases"),
    (repeaters(3), "only 3 customers bought again"),
    (repeaters(30, same_amount=True), "same amount"),
], ids=["no orders", "returns only", "too few repeat buyers", "all amounts the same"])
def test_data_that_cannot_be_fitted_raises_a_clear_error_naming_the_orders_sheet(frame, words):
    s = clv.summary(frame, "2026-03-31")
    with pytest.raises(ValidationError) as info:
        clv.fit(s)
    err = info.value
    assert isinstance(err, DataError) and err.sheet == "Orders"
    assert words in str(err.message)
    assert "无法根据这些订单估算客户终身价值" in err.text("zh")


def test_the_fits_report_non_convergence_instead_of_returning_nonsense(monkeypatch):
    import crmkit.clv.models as models

    monkeypatch.setattr(models, "_maximise", lambda neg_ll, start: (np.exp(start), 1.0, False, 1))
    s = clv.summary(repeaters(30), "2026-03-31")
    with pytest.raises(ValidationError, match="did not converge"):
        clv.fit(s)
