"""Campaign KPIs: reach, open, click and conversion rates, cost and ROI, against targets, with intervals.

:func:`campaign_kpis` counts and rates per campaign; :func:`campaign_results`
adds a Wilson confidence interval to each rate and :func:`compare_campaigns`
tests whether two campaigns' rates differ (:mod:`.proportions`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg
from .common import col_of, dt_column, ratio
from .proportions import proportion_difference, wilson_interval

#: The message counts per campaign, in column order.
COUNTS = ("target", "queued", "sent", "opened", "clicked", "converted", "bounced", "unsubscribed")

#: Each campaign rate as (numerator count, denominator count): the one definition of the rates.
RATES = {"reach": ("sent", "target"), "open_rate": ("opened", "sent"), "conversion": ("clicked", "opened")}


def campaign_kpis(campaigns: pd.DataFrame, messages: pd.DataFrame, settings: Mapping | None = None,
                  as_of: object = None) -> pd.DataFrame:
    """Reach, open and conversion rates against targets, and ROI, per campaign.

    Over the campaign's messages (``messages.campaign_id``):

    * ``target``: the campaign's messages that are due (one per audience
      member, failed and suppressed ones included); ``queued``: messages not
      due yet, left out of every rate so that a campaign scheduled for later
      does not look unreached.  With ``as_of``, a message is due when its
      ``scheduled_at`` (else the campaign's ``send_at``, else ``queued_at``)
      is at or before ``as_of``; without it, every message not in status
      queued is due;
    * ``sent``: status sent; ``opened``/``clicked``/``converted``: messages
      with ``opened_at``/``clicked_at``/``converted_at``; ``bounced`` /
      ``unsubscribed``: messages with ``bounced_at`` / ``unsubscribed_at``
      (a complaint counts as an unsubscribe), as ``crmkit results`` fills them;
    * ``reach = sent / target``; ``open_rate = opened / sent``;
      ``conversion = clicked / opened``;
    * ``revenue``: sum of the messages' revenue; ``cost``: the campaign's cost;
      ``roi = (revenue - cost) / cost`` (NaN without a cost);
    * ``target_reach``/``target_open``/``target_conversion``: the campaign's
      own targets, else Settings (default 0.85 / 0.25 / 0.10);
    * ``reach_ok``/``open_ok``/``conversion_ok``: rate >= target (NA when
      the rate cannot be measured).

    One row per campaign, in the Campaigns sheet order; messages of
    unknown campaigns are ignored.
    """
    from ..settings import defaults

    s = dict(defaults())
    s.update(settings or {})
    mid = col_of(messages, "campaign_id", "messages").astype("string")
    status = col_of(messages, "status", "messages").astype("string")
    if as_of is None:
        queued = (status == "queued").fillna(False)
    else:
        send_at = pd.to_datetime(col_of(campaigns, "send_at", "campaigns"), errors="coerce")
        send_at = pd.Series(send_at.to_numpy(), index=col_of(campaigns, "campaign_id", "campaigns").astype("string"))
        send_at = send_at[~send_at.index.duplicated()]
        due = dt_column(messages, "scheduled_at", "messages")
        due = due.fillna(pd.Series(send_at.reindex(mid.to_numpy()).to_numpy(), index=messages.index))
        due = due.fillna(dt_column(messages, "queued_at", "messages"))
        queued = (due > pd.Timestamp(as_of)).fillna(False)
    m = pd.DataFrame({
        "target": (~queued).astype("int64"),
        "queued": queued.astype("int64"),
        "sent": ((status == "sent").fillna(False) & ~queued).astype("int64"),
        "opened": (dt_column(messages, "opened_at", "messages").notna() & ~queued).astype("int64"),
        "clicked": (dt_column(messages, "clicked_at", "messages").notna() & ~queued).astype("int64"),
        "converted": (dt_column(messages, "converted_at", "messages").notna() & ~queued).astype("int64"),
        "bounced": (dt_column(messages, "bounced_at", "messages").notna() & ~queued).astype("int64"),
        "unsubscribed": (dt_column(messages, "unsubscribed_at", "messages").notna() & ~queued).astype("int64"),
        "revenue": pd.to_numeric(col_of(messages, "revenue", "messages"), errors="coerce").fillna(0.0).where(~queued, 0.0),
    }, index=messages.index)
    g = m[mid.notna()].groupby(mid[mid.notna()]).sum()
    ids = col_of(campaigns, "campaign_id", "campaigns").astype("string")
    g = g.reindex(ids.to_numpy()).fillna(0)
    out = pd.DataFrame({
        "campaign_id": ids.to_numpy(),
        "name": col_of(campaigns, "name", "campaigns").astype("string").to_numpy(),
        "channel": col_of(campaigns, "channel", "campaigns").astype("string").to_numpy(),
    })
    out["campaign_id"] = out["campaign_id"].astype("string")
    for c in COUNTS:
        out[c] = g[c].to_numpy().astype("int64")
    out["revenue"] = g["revenue"].to_numpy().astype("float64")
    out["cost"] = pd.to_numeric(col_of(campaigns, "cost", "campaigns"), errors="coerce").to_numpy(dtype="float64")
    for rate, (num, den) in RATES.items():
        out[rate] = ratio(out[num], out[den])
    out["roi"] = ratio(out["revenue"] - out["cost"].fillna(0), out["cost"].fillna(0))
    for rate, tkey in (("reach", "target_reach"), ("open_rate", "target_open"), ("conversion", "target_conversion")):
        own = pd.to_numeric(col_of(campaigns, tkey, "campaigns"), errors="coerce").to_numpy(dtype="float64")
        out[tkey] = np.where(np.isnan(own), float(s[tkey]), own)
        ok = pd.array(out[rate] >= out[tkey], dtype="boolean")
        ok[out[rate].isna().to_numpy()] = pd.NA
        out[rate.replace("_rate", "") + "_ok"] = ok
    first = ["campaign_id", "name", "channel", *COUNTS, "revenue", "cost", "reach", "open_rate", "conversion", "roi",
             "target_reach", "target_open", "target_conversion"]
    return out[first + ["reach_ok", "open_ok", "conversion_ok"]]


def campaign_totals(kpis: pd.DataFrame) -> dict[str, float]:
    """Totals over a :func:`campaign_kpis` frame: counts summed, rates recomputed from the sums."""
    t = {c: float(kpis[c].sum()) for c in (*COUNTS, "revenue")}
    cost = float(kpis["cost"].fillna(0).sum())
    t.update(cost=cost, **{rate: ratio(t[num], t[den]) for rate, (num, den) in RATES.items()},
             roi=ratio(t["revenue"] - cost, cost))
    return t


def campaign_results(campaigns: pd.DataFrame, messages: pd.DataFrame, settings: Mapping | None = None,
                     as_of: object = None, *, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`campaign_kpis` with a confidence interval for each rate.

    For each rate of :data:`RATES` (``reach = sent / target``,
    ``open_rate = opened / sent``, ``conversion = clicked / opened``) two more
    columns, ``<rate>_low`` and ``<rate>_high``: the Wilson score interval
    (:func:`~crmkit.analytics.proportions.wilson_interval`) at
    ``confidence`` (default 95 %), NaN where the rate cannot be measured.  A
    rate of 3 / 10 and one of 300 / 1,000 are both 30 %; the intervals tell
    that the first could well be 10 % or 60 %.  A campaign whose counts
    cannot be a proportion (more clicks than opens, as an SMS campaign that
    records no opens) gets NaN for that interval; the other rows are unchanged.

    >>> camps = pd.DataFrame({"campaign_id": ["CP1"], "name": ["Spring"], "channel": ["email"]})
    >>> msgs = pd.DataFrame({"campaign_id": ["CP1"] * 4, "status": ["sent", "sent", "sent", "failed"],
    ...                      "opened_at": pd.to_datetime(["2026-03-01", "2026-03-02", None, None])})
    >>> r = campaign_results(camps, msgs)
    >>> row = r.iloc[0]
    >>> [round(float(row[c]), 3) for c in ("target", "sent", "reach", "reach_low", "reach_high")]
    [4.0, 3.0, 0.75, 0.301, 0.954]
    """
    out = campaign_kpis(campaigns, messages, settings, as_of)
    for rate, (num, den) in RATES.items():
        k = out[num].to_numpy(dtype="float64", na_value=np.nan)
        n = out[den].to_numpy(dtype="float64", na_value=np.nan)
        # more clicks than opens (an SMS records no opens; a hand-typed click): no interval, not a failure
        ok = (k >= 0) & (k <= n)
        low, high = wilson_interval(np.where(ok, k, 0.0), np.where(ok, n, 0.0), confidence)
        at = out.columns.get_loc(rate) + 1
        out.insert(at, f"{rate}_low", low)
        out.insert(at + 1, f"{rate}_high", high)
    return out


def compare_campaigns(results: pd.DataFrame, a: str, b: str, rate: str = "conversion", *,
                      confidence: float = 0.95) -> pd.Series:
    """Is campaign ``a``'s ``rate`` different from campaign ``b``'s?  The difference, its interval and a p-value.

    ``results``: a :func:`campaign_kpis` or :func:`campaign_results` frame;
    ``a``, ``b``: campaign IDs; ``rate``: ``"reach"``, ``"open_rate"`` or
    ``"conversion"`` (numerator and denominator as in :data:`RATES`).

    Returns a Series: ``campaign_a``, ``campaign_b``, ``rate``, ``successes_a``,
    ``trials_a``, ``successes_b``, ``trials_b``, ``rate_a``, ``rate_b``,
    ``difference`` (``rate_a - rate_b``), ``low``/``high`` (Newcombe's hybrid
    score interval of the difference at ``confidence``), ``z`` and
    ``p_value`` (two-sided pooled two-proportion z-test, equal to Pearson's
    chi-square test of the 2 x 2 table without continuity correction), and
    ``test`` (the name of that test).  The campaigns are taken as
    independent samples: a customer in both audiences counts in both.

    >>> kpis = pd.DataFrame({"campaign_id": ["CP1", "CP2"], "opened": [100, 100], "clicked": [30, 20]})
    >>> r = compare_campaigns(kpis, "CP1", "CP2")
    >>> round(r["difference"], 2), round(r["p_value"], 3)
    (0.1, 0.102)
    """
    if rate not in RATES:
        raise UsageError(msg("e_campaign_rate", rate=repr(rate), known=", ".join(RATES)))
    num, den = RATES[rate]
    ids = results["campaign_id"].astype("string")
    rows = {}
    for key in (a, b):
        hit = results[(ids == str(key)).fillna(False).to_numpy()]
        if hit.empty:
            raise UsageError(msg("e_campaign_unknown", id=key, known=", ".join(ids.dropna().astype(str))))
        k, n = int(hit[num].iloc[0]), int(hit[den].iloc[0])
        if not 0 <= k <= n:
            raise UsageError(msg("e_campaign_counts", id=key, rate=rate, num=num, k=k, den=den, n=n))
        rows[key] = (k, n)
    (ka, na), (kb, nb) = rows[a], rows[b]
    diff = proportion_difference(ka, na, kb, nb, confidence)
    return pd.Series({"campaign_a": a, "campaign_b": b, "rate": rate, "successes_a": ka, "trials_a": na,
                      "successes_b": kb, "trials_b": nb, **diff,
                      "test": "two-proportion z-test (pooled), two-sided"}, dtype="object")
