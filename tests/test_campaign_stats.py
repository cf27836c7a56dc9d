"""Campaign rates with confidence intervals and the two-campaign comparison, against published values.

Reference values: Newcombe, "Two-sided confidence intervals for the single
proportion" (Stat. Med. 1998;17:857-872), Table I, Wilson score method
(81/263 -> 0.2553-0.3662, 15/148 -> 0.0624-0.1605), and "Interval estimation
for the difference between independent proportions" (Stat. Med.
1998;17:873-890), Table II, method 10 (56/70 - 48/80 -> 0.0524 to 0.3339).
The 10/100 and 30/100-vs-20/100 cases are worked out by hand below.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from test_analytics import CAMPAIGNS, MESSAGES

from crmkit import analytics as an
from crmkit.analytics import campaigns, proportions
from crmkit.exceptions import UsageError
from crmkit.settings import defaults


def test_wilson_interval_of_10_in_100_by_hand():
    # z = 1.959964; p = 0.1; z^2/n = 0.0384146; centre = (0.1 + 0.0192073) / 1.0384146 = 0.1147985
    # half = 1.959964 * sqrt(0.0009 + 0.0000960365) / 1.0384146 = 0.0595813 -> (0.0552, 0.1744)
    low, high = an.wilson_interval(10, 100)
    assert low == pytest.approx(0.05522914, abs=1e-6) and high == pytest.approx(0.17436566, abs=1e-6)


@pytest.mark.parametrize(("k", "n", "low", "high"), [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605)])
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    got = an.wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edges_and_arrays():
    # 0 of 20: the interval starts at 0 and does not collapse (the Wald interval would be [0, 0])
    low, high = an.wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(1.959964 ** 2 / (20 + 1.959964 ** 2), abs=1e-6)
    assert an.wilson_interval(20, 20) == pytest.approx((1 - high, 1.0))
    lows, highs = an.wilson_interval(np.array([10, 0, 5]), np.array([100, 0, 5]))
    assert lows[0] == pytest.approx(0.05522914, abs=1e-6) and np.isnan(lows[1]) and np.isnan(highs[1])
    assert highs[2] == 1.0
    # a wider confidence gives a wider interval; 90 % uses z = 1.644854
    assert an.z_quantile(0.90) == pytest.approx(1.644854, abs=1e-6)
    l90, h90 = an.wilson_interval(10, 100, confidence=0.90)
    assert 0.0552 < l90 < 0.1 < h90 < 0.1744
    with pytest.raises(UsageError):
        an.wilson_interval(5, 4)
    with pytest.raises(UsageError):
        an.wilson_interval(1, 4, confidence=95)


def test_difference_of_30_in_100_and_20_in_100_by_hand():
    r = an.proportion_difference(30, 100, 20, 100)
    # pooled rate 0.25: se = sqrt(0.25 * 0.75 * 2/100) = 0.0612372; z = 0.1 / se = 1.6329932
    assert r["difference"] == pytest.approx(0.1) and r["z"] == pytest.approx(1.6329932, abs=1e-6)
    # two-sided p = 2 (1 - Phi(1.633)) = 0.10247, the same as Pearson's chi-square without correction
    assert r["p_value"] == pytest.approx(0.1024704, abs=1e-6)
    assert r["p_value"] == pytest.approx(chi2_contingency([[30, 70], [20, 80]], correction=False)[1])
    # Newcombe: Wilson (0.2190, 0.3959) and (0.1334, 0.2888):
    # 0.1 - sqrt(0.0810^2 + 0.0888^2) = -0.0202; 0.1 + sqrt(0.0959^2 + 0.0666^2) = 0.2167
    assert (r["low"], r["high"]) == pytest.approx((-0.0202, 0.2167), abs=1e-4)


def test_difference_interval_matches_newcombe_1998_method_10():
    r = an.proportion_difference(56, 70, 48, 80)
    assert r["difference"] == pytest.approx(0.2)
    assert (r["low"], r["high"]) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_difference_without_trials_or_contrast():
    r = an.proportion_difference(3, 10, 0, 0)
    assert r["rate_a"] == 0.3 and math.isnan(r["rate_b"]) and math.isnan(r["p_value"])
    same = an.proportion_difference(0, 10, 0, 30)       # both 0 %: nothing to tell apart
    assert same["difference"] == 0 and same["p_value"] == 1.0 and same["low"] < 0 < same["high"]


def test_campaign_results_are_the_kpis_with_wilson_intervals():
    kpis = an.campaign_kpis(CAMPAIGNS, MESSAGES, defaults())
    res = an.campaign_results(CAMPAIGNS, MESSAGES, defaults())
    # the same counts and rates as the dashboard's campaign table: one home for the rates
    pd.testing.assert_frame_equal(res[kpis.columns], kpis)
    order = list(res.columns)
    assert order[order.index("reach"):order.index("reach") + 3] == ["reach", "reach_low", "reach_high"]
    m1 = res.set_index("campaign_id").loc["M1"]
    # M1: reach 3/4, open 2/3, conversion (clicked / opened) 1/2
    assert (m1.reach_low, m1.reach_high) == pytest.approx(an.wilson_interval(3, 4))
    assert (m1.open_rate_low, m1.open_rate_high) == pytest.approx(an.wilson_interval(2, 3))
    assert (m1.conversion_low, m1.conversion_high) == pytest.approx(an.wilson_interval(1, 2))
    assert m1.reach_low < m1.reach < m1.reach_high
    m3 = res.set_index("campaign_id").loc["M3"]                 # no messages: nothing measured
    assert np.isnan(m3.reach_low) and np.isnan(m3.conversion_high)
    assert an.CAMPAIGN_RATES == {"reach": ("sent", "target"), "open_rate": ("opened", "sent"),
                                 "conversion": ("clicked", "opened")}


def test_compare_campaigns_reads_counts_of_the_chosen_rate():
    kpis = pd.DataFrame({"campaign_id": ["A", "B"], "target": [120, 110], "sent": [100, 100],
                         "opened": [30, 20], "clicked": [9, 2]})
    r = an.compare_campaigns(kpis, "A", "B", rate="open_rate")
    assert (r["successes_a"], r["trials_a"], r["successes_b"], r["trials_b"]) == (30, 100, 20, 100)
    assert r["p_value"] == pytest.approx(0.1024704, abs=1e-6)
    assert "z-test" in r["test"]
    conv = an.compare_campaigns(kpis, "A", "B")               # conversion: clicked / opened
    assert (conv["successes_a"], conv["trials_a"]) == (9, 30) and conv["rate_b"] == pytest.approx(0.1)
    with pytest.raises(UsageError):
        an.compare_campaigns(kpis, "A", "Z")
    with pytest.raises(UsageError):
        an.compare_campaigns(kpis, "A", "B", rate="roi")


def test_more_clicks_than_opens_leaves_that_interval_blank_and_the_other_campaigns_alone():
    msgs = MESSAGES.copy()
    m1 = (msgs["campaign_id"] == "M1").fillna(False).to_numpy(dtype=bool)
    msgs.loc[m1, "clicked_at"] = pd.Timestamp("2026-03-02")        # every M1 message clicked: more clicks than opens
    res = an.campaign_results(CAMPAIGNS, msgs, defaults()).set_index("campaign_id")
    before = an.campaign_results(CAMPAIGNS, MESSAGES, defaults()).set_index("campaign_id")
    assert res.loc["M1", "clicked"] > res.loc["M1", "opened"]
    assert np.isnan(res.loc["M1", "conversion_low"]) and np.isnan(res.loc["M1", "conversion_high"])
    assert res.loc["M1", "reach_low"] == pytest.approx(before.loc["M1", "reach_low"])
    others = [c for c in res.index if c != "M1"]
    pd.testing.assert_frame_equal(res.loc[others], before.loc[others])
    with pytest.raises(UsageError, match="M1"):
        an.compare_campaigns(res.reset_index(), "M1", "M2")


@pytest.mark.parametrize("fn", [campaigns.campaign_results, campaigns.compare_campaigns, proportions.wilson_interval,
                                proportions.proportion_difference, proportions.z_quantile, proportions])
def test_docstring_examples_run(fn):
    globs = {**vars(proportions), **vars(campaigns)}
    tests = doctest.DocTestFinder(recurse=False).find(fn, globs=globs)
    assert tests and tests[0].examples
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
