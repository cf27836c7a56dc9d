"""Campaigns and messages of the sample workspace.

Five campaigns (:data:`CAMPAIGNS`) whose audiences are rule expressions, the
messages they sent with realistic outcomes (sent / opened / clicked /
converted with revenue, some failed, suppressed for unsubscribed or
no-consent customers), the rule messages the planted scenarios need
(:mod:`crmkit.sample.scenarios`) and welcome messages to new customers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..ids import first_ids
from ..rules.defaults import DEFAULT_RULES
from .draw import Clock, fill_template, typed_frame

SUPPRESSED = {"unsubscribed": ("unsubscribed", "已退订"), "no_consent": ("no marketing consent", "未同意接收营销信息")}
FALLBACK_CONTACT = ("customer", "客户")

# campaign_id, (name en, zh), audience, channel, send (days from as_of), cost (fixed, per recipient),
# targets (reach, open, conversion),
# (content en, zh)
CAMPAIGNS = (
    ("CP01", ("VIP appreciation week", "高价值客户答谢周"), 'value_tier == "high_value"', "wecom", -75, (2000.0, 150.0),
     (0.85, 0.45, 0.15),
     ("{contact_name}, thank you for growing with us: a VIP gift for {name} is waiting.",
      "{contact_name}您好，感谢{name}一路同行，专属答谢礼已为您准备好。")),
    ("CP02", ("Autumn product launch", "秋季新品发布"), 'stage == "won"', "email", -40, (1500.0, 25.0),
     (0.85, 0.25, 0.08),
     ("Hi {contact_name}, our autumn release is here: see what is new for {name}.",
      "{contact_name}您好，秋季新品已发布，欢迎{name}了解最新功能。")),
    ("CP03", ("Trade show follow-up", "展会线索跟进"),
     'source == "trade_show" and stage in ["lead", "qualified", "proposal"]', "sms", -21, (300.0, 8.0),
     (0.85, 0.30, 0.10),
     ("{contact_name}, thanks for visiting our booth. Book a demo for {name}. Reply TD to unsubscribe.",
      "{contact_name}您好，感谢莅临展位，欢迎为{name}预约产品演示。回复TD退订")),
    ("CP04", ("Win-back: we miss you", "老客户召回"),
     'value_tier in ["regular", "churn_risk"] and days_since(last_order_at) > 90', "email", -12, (800.0, 40.0),
     (0.85, 0.20, 0.05),
     ("{contact_name}, we miss you at {name}: 15% off your next order this month.",
      "{contact_name}您好，好久不见！{name}本月下单可享85折。")),
    ("CP05", ("Year-end promotion", "年终促销"), 'stage in ["won", "negotiation"]', "wecom", 5, (1000.0, 30.0),
     (0.85, 0.40, 0.12),
     ("{contact_name}, year-end offers for {name} start next week.",
      "{contact_name}您好，{name}专属年终优惠下周开启。")),
)
OPEN_RATE = {"email": 0.30, "sms": 0.45, "wecom": 0.55}


def audiences(c: pd.DataFrame) -> dict[str, np.ndarray]:
    """Who each campaign reached (the generator's view of its audience expression at send time)."""
    level, lost, buyer = c["level"].to_numpy(), c["lost"].to_numpy(), c["buyer"].to_numpy()
    n_ord, last_ord = c["n_ord"].to_numpy(), c["last_ord"].to_numpy()
    frequent = n_ord >= (np.quantile(n_ord[buyer], 0.8) if buyer.any() else 1)
    return {
        "CP01": (buyer & ~lost & frequent & (last_ord < 60)) | c["high"].to_numpy(),
        "CP02": (level == 4) & ~lost & (c["age"].to_numpy() > 40),
        "CP03": (c["source"].to_numpy() == "trade_show") & (level <= 2) & ~lost & (c["age"].to_numpy() > 21),
        "CP04": buyer & (last_ord > 100) & (c["plant"].to_numpy() == ""),
        "CP05": (level >= 3) & ~lost,
    }


def campaigns(c: pd.DataFrame, clock: Clock, lang: str, reps: np.ndarray, manager: str) -> pd.DataFrame:
    """The Campaigns sheet: :data:`CAMPAIGNS`, costed by the size of each audience."""
    zh = lang == "zh"
    sizes = {k: int(v.sum()) for k, v in audiences(c).items()}
    rows = []
    for cid, names, audience, channel, send, cost, targets, content in CAMPAIGNS:
        rows.append({
            "campaign_id": cid, "name": names[1] if zh else names[0], "audience": audience,
            "channel": channel, "content": content[1] if zh else content[0],
            "send_at": clock.today + pd.Timedelta(days=send) + pd.Timedelta(hours=10),
            "owner": manager if cid in ("CP01", "CP05") else reps[int(cid[-1]) % len(reps)],
            "cost": float(np.round((cost[0] + cost[1] * sizes[cid]) * (7 if zh else 1), -2)),
            "target_reach": targets[0], "target_open": targets[1], "target_conversion": targets[2]})
    return typed_frame(pd.DataFrame(rows), "campaigns")


def messages(c: pd.DataFrame, rng: np.random.Generator, clock: Clock, lang: str,
             planned: list[pd.DataFrame]) -> pd.DataFrame:
    """The Messages sheet: campaign sends, the planted rule messages (``planned``) and welcome messages."""
    zh = lang == "zh"
    reached = audiences(c)
    frames = []
    for cid, _names, _aud, channel, send, _cost, _targets, content in CAMPAIGNS:
        who = np.flatnonzero(reached[cid])
        if not len(who):
            continue
        tpl = content[1] if zh else content[0]
        frames.append(_campaign_messages(c, rng, clock, zh, who, cid, None, channel, send, tpl))
    for pm in planned:
        rule = pm["rule_id"].iloc[0]
        channel, tpl = _rule_message(rule, lang)
        frames.append(_campaign_messages(c, rng, clock, zh, pm["cust"].to_numpy(), None, rule, channel,
                                         -int(pm["days"].iloc[0]), tpl,
                                         clicked=pm["clicked"].to_numpy(), planted=True))
    # welcome messages sent to customers of the last two months (service messages)
    recent = np.flatnonzero((c["age"].to_numpy() >= 2) & (c["age"].to_numpy() <= 60))
    if len(recent):
        channel, tpl = _rule_message("R10", lang)
        pref = c["preferred"].to_numpy(dtype=object)[recent]
        for ch in ("email", "sms", "wecom"):
            sel = recent[(pref == ch) | ((pref == "phone") & (ch == "sms"))]
            if len(sel):
                frames.append(_campaign_messages(c, rng, clock, zh, sel, None, "R10", ch, None, tpl, service=True))
    if not frames:
        return typed_frame(pd.DataFrame({"message_id": pd.Series(dtype="string")}), "messages")
    df = pd.concat(frames, ignore_index=True)
    df = df.sort_values(["queued_at", "customer_id"], kind="stable").reset_index(drop=True)
    df.insert(0, "message_id", first_ids("messages", len(df)).to_numpy())
    return typed_frame(df, "messages")


def _campaign_messages(c, rng, clock, zh, who, campaign_id, rule_id, channel, send_days, template, *,
                       clicked=None, planted=False, service=False) -> pd.DataFrame:
    """Messages to customers ``who`` (positions in ``c``) with outcomes drawn from ``rng``."""
    m = len(who)
    now = np.datetime64(clock.as_of.to_datetime64(), "ns")
    if send_days is None:        # R10: the day after the customer was created
        days = c["age"].to_numpy()[who] - 1
        queued = clock.at(days + 1, clock.work_minutes(rng, days + 1))
        sched = clock.at(days, np.full(m, 9 * 60))
    elif send_days > 0:          # a campaign still to come: queued, waiting for its time
        queued = clock.at(np.zeros(m, np.int64), np.full(m, 9 * 60 + 30))
        sched = clock.at(np.full(m, -send_days), np.full(m, 10 * 60))
    else:
        queued = clock.at(np.full(m, -send_days), np.full(m, 8 * 60))
        sched = clock.at(np.full(m, -send_days), np.full(m, (9 if planted else 10) * 60))
    frame = pd.DataFrame({"name": c["name"].to_numpy(dtype=object)[who],
                          "contact_name": c["contact_name"].to_numpy(dtype=object)[who]})
    frame["contact_name"] = frame["contact_name"].fillna(FALLBACK_CONTACT[int(zh)])
    content = fill_template(template, frame).to_numpy(dtype=object)
    consent, unsub = c["consent"].to_numpy()[who], c["unsub"].to_numpy()[who]
    status = np.full(m, "sent", dtype=object)
    reason = np.full(m, None, dtype=object)
    future = sched > now
    if not service:
        reason = np.where(unsub, SUPPRESSED["unsubscribed"][int(zh)],
                          np.where(~consent, SUPPRESSED["no_consent"][int(zh)], None))
        status = np.where(pd.notna(reason), "suppressed", status)
    contact = c["email" if channel == "email" else "phone"].to_numpy(dtype=object)[who]
    fail = ((rng.random(m) < 0.03) & ~np.asarray(planted)) | pd.isna(contact)
    status = np.where((status == "sent") & fail, "failed", status)
    status = np.where((status == "sent") & future, "queued", status)
    sent = status == "sent"
    sent_at = sched + rng.integers(1, 20, m).astype("timedelta64[m]")
    opened = sent & (rng.random(m) < OPEN_RATE[channel])
    open_at = sent_at + (rng.exponential(6, m) * 60).astype("timedelta64[m]")
    click = opened & (rng.random(m) < 0.3)
    if clicked is not None:
        opened = sent & np.asarray(clicked)
        click = opened.copy()
    click_at = open_at + rng.integers(1, 30, m).astype("timedelta64[m]")
    conv = click & (rng.random(m) < 0.45) & (campaign_id is not None)
    conv_at = click_at + (rng.exponential(48, m) * 60).astype("timedelta64[m]")
    opened &= open_at <= now
    click &= opened & (click_at <= now)
    conv &= click & (conv_at <= now)
    revenue = np.where(conv, np.round(np.exp(c["mu"].to_numpy()[who] + 0.8 + rng.normal(0, 0.5, m)), 0), np.nan)
    nat = np.datetime64("NaT")
    return pd.DataFrame({
        "customer_id": c["customer_id"].to_numpy(dtype=object)[who],
        "campaign_id": campaign_id,
        "rule_id": rule_id,
        "channel": channel,
        "content": content,
        "status": status,
        "suppressed_reason": reason,
        "queued_at": queued,
        "scheduled_at": np.where(status == "suppressed", nat, sched).astype("datetime64[ns]"),
        "sent_at": np.where(sent, sent_at, nat).astype("datetime64[ns]"),
        "opened_at": np.where(opened, open_at, nat).astype("datetime64[ns]"),
        "clicked_at": np.where(click, click_at, nat).astype("datetime64[ns]"),
        "converted_at": np.where(conv, conv_at, nat).astype("datetime64[ns]"),
        "revenue": revenue,
    })


def _rule_message(rule_id: str, lang: str) -> tuple[str, str]:
    """(channel, content template) of a default rule's queue_message row."""
    for rid, _p, _e, _a, _o, _w, _n, params in DEFAULT_RULES:
        if rid == rule_id:
            text = params[1] if lang == "zh" else params[0]
            ch = re.search(r"channel=(\w+)", text)
            channel = ch.group(1) if ch and ch.group(1) in ("email", "sms", "wecom") else "email"
            content = re.search(r'content="([^"]*)"', text)
            return channel, (content.group(1) if content else rule_id)
    raise KeyError(rule_id)
