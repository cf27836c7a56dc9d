"""Campaign KPIs: reach, open, click and conversion rates, cost and ROI, against targets."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .common import col_of, dt_column, ratio

#: The message counts per campaign, in column order.
COUNTS = ("target", "queued", "sent", "opened", "clicked", "converted", "bounced", "unsubscribed")


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
    out["reach"] = ratio(out["sent"], out["target"])
    out["open_rate"] = ratio(out["opened"], out["sent"])
    out["conversion"] = ratio(out["clicked"], out["opened"])
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
    t.update(cost=cost, reach=ratio(t["sent"], t["target"]), open_rate=ratio(t["opened"], t["sent"]),
             conversion=ratio(t["clicked"], t["opened"]), roi=ratio(t["revenue"] - cost, cost))
    return t
