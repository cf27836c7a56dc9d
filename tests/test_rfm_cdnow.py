"""RFM on real purchase data: the 23,570 customers of the public CDNOW history.

Half of CDNOW's customers bought only once. Frequency is scored by fixed
breaks (1 / 2 / 3-4 / 5-9 / 10+ purchases, see crmkit.rfm), so one-time
buyers score F = 1 and the segments for new buyers (New, Promising) exist.

CDNOW is one cohort: every customer first bought in January-March 1997.
As of 1998-07-01 (the end of the data) no one-time buyer is recent (the
latest of them bought 463 days before), so New (R 5, FM 1) and Promising
(R 4, FM 1) are rightly empty there; as of 1997-04-01, the end of the
acquisition quarter, the first-time buyers are the recent ones and both
segments fill.  Both tables are pinned.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmkit.rfm import rfm_scores, segment_summary

CDNOW = Path(__file__).resolve().parent / "data" / "public" / "cdnow" / "CDNOW_master.txt"
AS_OF = pd.Timestamp("1998-07-01")
END_OF_FIRST_QUARTER = pd.Timestamp("1997-04-01")

# Pinned from a run of crmkit on the data; the properties in the other tests are checked independently.
SEGMENTS = {
    "champions": 3927, "loyal": 2989, "potential_loyalist": 2864, "new": 0, "promising": 0, "need_attention": 1070,
    "about_to_sleep": 3273, "at_risk": 1521, "cant_lose": 5, "hibernating": 3892, "lost": 4029, "no_orders": 0,
}
SEGMENTS_1997_04 = {
    "champions": 1382, "loyal": 1195, "potential_loyalist": 5891, "new": 652, "promising": 911,
    "need_attention": 1370, "about_to_sleep": 2709, "at_risk": 3351, "cant_lose": 12, "hibernating": 3008,
    "lost": 3089, "no_orders": 0,
}


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, skiprows=1, names=["customer_id", "date", "cds", "amount"],
                      dtype={"customer_id": "string", "date": "string"})
    return pd.DataFrame({"customer_id": raw["customer_id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["amount"].astype("float64")})


@pytest.fixture(scope="module")
def scores(orders) -> pd.DataFrame:
    return rfm_scores(orders, AS_OF)


def test_every_cdnow_customer_is_scored(scores):
    assert len(scores) == 23_570
    assert (scores["rfm_segment"] != "no_orders").all()


def test_one_time_buyers_score_frequency_one(scores):
    once = scores["frequency"] == 1
    assert once.sum() > 23_570 * 0.4                 # about half of CDNOW bought once
    assert (scores.loc[once, "f_score"] == 1).all()
    assert (scores.loc[~once, "f_score"] > 1).all()


def test_frequency_breaks_are_one_two_three_to_four_five_to_nine_ten_and_more(scores):
    f = scores["frequency"].astype(int)
    want = 1 + (f >= 2).astype(int) + (f >= 3) + (f >= 5) + (f >= 10)
    assert (scores["f_score"].astype(int) == want).all()


def test_cdnow_segment_table_at_the_end_of_the_data(scores):
    table = segment_summary(scores).set_index("segment")["customers"].astype(int).to_dict()
    assert sum(table.values()) == 23_570
    once = scores["frequency"] == 1
    assert scores.loc[once, "recency_days"].min() == 463          # no one-time buyer is recent: no New
    assert table == SEGMENTS


def test_cdnow_segment_table_at_the_end_of_the_first_quarter_has_new_and_promising(orders):
    scores = rfm_scores(orders, END_OF_FIRST_QUARTER)
    table = segment_summary(scores).set_index("segment")["customers"].astype(int).to_dict()
    assert sum(table.values()) == 23_570
    assert table["new"] > 0 and table["promising"] > 0
    new = scores[scores["rfm_segment"].isin(["new", "promising"])]
    assert (new["frequency"] == 1).all() and (new["r_score"] >= 4).all()
    assert table == SEGMENTS_1997_04
