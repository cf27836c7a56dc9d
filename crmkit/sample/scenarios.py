"""Planted scenarios: customers that make each default rule and dashboard show something.

On ``as_of`` each default rule (:mod:`crmkit.rules.defaults`) applies to some
records and not to others.  Besides what the random history produces, these
customers are planted (workspaces of at least 40 customers; one of each below
150 customers).  Planted event times on a given day lie before 10:00, so "days
since" reads the same whether it counts calendar days or whole 24-hour days.

====  =====  ======================================================================
code  rule   planted (n) / contrast that must NOT fire
====  =====  ======================================================================
P01   R01*   3 website_form, intent A leads created today, owner blank, no interactions
P02   R10    2 more customers created today (owner set)
P03   R02A/B 3 won customers whose last activity (interaction) was 90, 90 and 104 days
             ago (their last order is older: 120-300 days)
P04   --     2 won customers last seen exactly 89 days ago, last order older (contrast)
P05   R02C   2 tagged to_reactivate, care e-mail (R02A) 9 days ago, no reply since;
             1 contrast that replied 3 days ago
P06   R03    3 contracts ending in 10 days; 2 contrasts ending in 40 days
P07   R04    3 customers whose latest feedback asks for technical support;
             1 contrast that asked earlier but not in the latest interaction
P08   R05    3 leads created 4 days ago with no interaction;
             2 contrasts created 2 days ago
P09   R06    3 deals whose stage changed to negotiation today (2) or yesterday (1)
P10   R07    3 high-value customers (30+ big orders, last one yesterday) whose
             birthday is in 2 days; contrasts: 1 high-value with a birthday in
             10 days, 1 small customer with a birthday in 2 days
P11   R08    3 customers whose latest order was placed 4 days ago
P12   R09    3 tickets closed in the last 2 days with satisfaction 2-3
P13   R11A   3 dormant regular customers (4-6 modest orders, last 120-200 days
             ago, no message opened in 30 days)
P14   R11B   2 dormant customers sent the wake-up e-mail (R11A) 5 days ago, no click
P15   R11C   2 dormant customers sent R11A 21 days and R11B 12 days ago, no click;
             1 contrast that clicked R11A
P16   R12    3 qualified/proposal customers last followed up 5 days ago (cadence 3d);
             2 contrasts followed up yesterday
====  =====  ======================================================================

Besides, every rep has one open task due later today and one 3 days overdue
(:mod:`crmkit.sample.generator`), and in workspaces of at least 40 customers
about 0.6% are typed in twice (:func:`add_duplicates`) for the duplicates check.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..rules.defaults import TAG_LABELS
from .draw import Clock, choice

#: Smallest workspace that gets the planted scenarios.
MIN_PLANTED = 40
#: Smallest workspace that gets every planted customer of the table (smaller ones get one of each).
MIN_FULL = 150


def plant(c: pd.DataFrame, rng: np.random.Generator, clock: Clock, lang: str, *,
          full: bool) -> tuple[list[pd.DataFrame], list[dict]]:
    """Turn customers of ``c`` into the scenarios of the module docstring (in place).

    ``full``: as many of each as the table says, else one.  Returns the
    messages the scenarios need (one frame per send: ``cust``, ``rule_id``,
    ``days``, ``clicked``) and the tickets (``cust``, ``satisfaction``,
    ``closed_days``); ``cust`` is a position in ``c``.
    """
    messages: list[pd.DataFrame] = []
    tickets: list[dict] = []
    k = (lambda m: m) if full else (lambda m: 1)
    wanted = [("P01", k(3)), ("P02", k(2)), ("P03", k(3)), ("P04", k(2)), ("P05", k(2)), ("P05x", 1),
              ("P06", k(3)), ("P06x", k(2)), ("P07", k(3)), ("P07x", 1), ("P08", k(3)), ("P08x", k(2)),
              ("P09", k(3)), ("P10", k(3)), ("P10x", 1), ("P10y", 1), ("P11", k(3)), ("P12", k(3)),
              ("P13", k(3)), ("P14", k(2)), ("P15", k(2)), ("P15x", 1), ("P16", k(3)), ("P16x", k(2))]
    total = sum(m for _, m in wanted)
    picks = rng.choice(len(c), size=total, replace=False)
    groups = {}
    at = 0
    for code, m in wanted:
        groups[code] = picks[at:at + m]
        at += m
    early = clock.early_minutes

    def base(idx, *, level, age, owner=True):
        lvl = np.broadcast_to(np.asarray(level), (len(idx),))
        c.loc[idx, "level"] = lvl
        c.loc[idx, "lost"] = False
        c.loc[idx, "churned"] = False
        c.loc[idx, "buyer"] = lvl == 4
        c.loc[idx, "age"] = age
        if not owner:
            c.loc[idx, "owner"] = ""
        prospects = idx[lvl < 4]
        c.loc[prospects, "n_ord"] = 0
        c.loc[prospects, "contract_end"] = -99999

    def seen(idx, days, n_int=None):
        c.loc[idx, "last_int"] = days
        c.loc[idx, "last_int_min"] = early(rng, len(idx))
        c.loc[idx, "n_int"] = np.maximum(c.loc[idx, "n_int"].to_numpy(), 2) if n_int is None else n_int

    def buys(idx, *, n_ord, first, last, mu=None):
        c.loc[idx, "n_ord"] = n_ord
        c.loc[idx, "first_ord"] = first
        c.loc[idx, "last_ord"] = last
        if mu is not None:
            c.loc[idx, "mu"] = mu

    def won(idx, age=None):
        base(idx, level=4, age=rng.integers(500, 1000, len(idx)) if age is None else age)

    for code, idx in groups.items():
        c.loc[idx, "plant"] = code
    g = groups
    # P01 hot web leads, P02 new today
    base(g["P01"], level=0, age=0, owner=False)
    c.loc[g["P01"], ["source", "intent", "n_int"]] = ["website_form", "A", 0]
    base(g["P02"], level=0, age=0)
    c.loc[g["P02"], "n_int"] = 0
    c.loc[g["P02"], "source"] = choice(rng, ["referral", "trade_show", "ecommerce"], len(g["P02"]))
    # P03 / P04 quiet for 90 / 89 days
    for code, days in (("P03", [90, 90, 104]), ("P04", [89, 89])):
        idx = g[code]
        won(idx)
        # activity is any interaction or order: the last order is older than the last interaction
        buys(idx, n_ord=rng.integers(3, 7, len(idx)), first=400, last=rng.integers(120, 300, len(idx)))
        seen(idx, np.resize(days, len(idx)), n_int=rng.integers(3, 8, len(idx)))
    # P05 to_reactivate after the care e-mail (R02A) 9 days ago
    for code, days in (("P05", 110), ("P05x", 3)):
        idx = g[code]
        won(idx)
        buys(idx, n_ord=rng.integers(2, 5, len(idx)), first=500, last=rng.integers(100, 200, len(idx)))
        seen(idx, days, n_int=rng.integers(3, 6, len(idx)))
        tag = TAG_LABELS["to_reactivate"][1 if lang == "zh" else 0]     # the tag R02B writes
        c.loc[idx, ["tags", "consent", "unsub"]] = [tag, True, False]
        messages.append(_message(idx, "R02A", 9, clicked=False))
    # P06 contracts ending in 10 / 40 days
    for code, days in (("P06", 10), ("P06x", 40)):
        idx = g[code]
        won(idx)
        buys(idx, n_ord=rng.integers(3, 9, len(idx)), first=360, last=rng.integers(5, 40, len(idx)))
        seen(idx, rng.integers(5, 25, len(idx)))
        c.loc[idx, "contract_end"] = days
    # P07 technical support in the latest feedback (P07x: in an earlier one)
    for code, flag in (("P07", 1), ("P07x", 2)):
        idx = g[code]
        won(idx)
        buys(idx, n_ord=rng.integers(2, 6, len(idx)), first=300, last=rng.integers(10, 60, len(idx)))
        seen(idx, rng.integers(1, 6, len(idx)), n_int=rng.integers(3, 6, len(idx)))
        c.loc[idx, "feedback"] = flag
    # P08 leads without follow-up for 4 days (P08x: 2 days)
    for code, age in (("P08", 4), ("P08x", 2)):
        base(g[code], level=0, age=age)
        c.loc[g[code], "n_int"] = 0
    # P09 deals entering negotiation today / yesterday
    idx = g["P09"]
    base(idx, level=3, age=rng.integers(80, 200, len(idx)))
    seen(idx, rng.integers(0, 2, len(idx)))
    c.loc[idx, "deal_changed"] = np.resize([0, 0, 1], len(idx))
    # P10 high-value birthdays
    for code in ("P10", "P10x"):
        idx = g[code]
        won(idx, age=rng.integers(800, 1000, len(idx)))
        buys(idx, n_ord=rng.integers(30, 41, len(idx)), first=rng.integers(650, 700, len(idx)), last=1,
             mu=c.loc[idx, "mu"].to_numpy() * 0 + 8.6)
        c.loc[idx, "high"] = True
        seen(idx, rng.integers(2, 12, len(idx)))
    idx = g["P10y"]
    won(idx)
    buys(idx, n_ord=1, first=300, last=300, mu=5.5)
    for code, days in (("P10", 2), ("P10x", 10), ("P10y", 2)):
        idx = g[code]
        year = rng.integers(1965, 1992, len(idx))
        day = clock.today + pd.Timedelta(days=days)
        births = pd.to_datetime(pd.DataFrame({"year": year, "month": day.month, "day": day.day}))
        c.loc[idx, "birthday"] = births.to_numpy().astype("datetime64[D]").astype(np.int64)
        c.loc[idx, ["consent", "unsub"]] = [True, False]
    # P11 latest order 4 days ago
    idx = g["P11"]
    won(idx)
    buys(idx, n_ord=rng.integers(3, 9, len(idx)), first=rng.integers(200, 400, len(idx)), last=4)
    seen(idx, rng.integers(3, 20, len(idx)))
    # P12 low satisfaction on recently closed tickets
    idx = g["P12"]
    won(idx)
    buys(idx, n_ord=rng.integers(2, 8, len(idx)), first=300, last=rng.integers(10, 80, len(idx)))
    for j, i in enumerate(idx):
        tickets.append({"cust": int(i), "satisfaction": (2, 3, 2)[j % 3], "closed_days": j % 2})
    # P13-P15 dormant customers and the wake-up flow
    for code in ("P13", "P14", "P15", "P15x"):
        idx = g[code]
        won(idx, age=rng.integers(500, 900, len(idx)))
        buys(idx, n_ord=rng.integers(4, 7, len(idx)), first=rng.integers(400, 480, len(idx)),
             last=rng.integers(120, 201, len(idx)), mu=6.6)
        seen(idx, rng.integers(40, 80, len(idx)))
        c.loc[idx, ["consent", "unsub"]] = [True, False]
    messages.append(_message(g["P14"], "R11A", 5, clicked=False))
    messages.append(_message(g["P15"], "R11A", 21, clicked=False))
    messages.append(_message(g["P15"], "R11B", 12, clicked=False))
    messages.append(_message(g["P15x"], "R11A", 21, clicked=True))
    # P16 cadence overdue (P16x: followed up yesterday)
    for code, days in (("P16", 5), ("P16x", 1)):
        idx = g[code]
        base(idx, level=rng.integers(1, 3, len(idx)), age=rng.integers(60, 120, len(idx)))
        seen(idx, days, n_int=rng.integers(2, 5, len(idx)))
    return messages, tickets


def _message(idx, rule_id: str, days_ago: int, *, clicked: bool) -> pd.DataFrame:
    """A message of rule ``rule_id`` sent ``days_ago`` to the customers ``idx``."""
    return pd.DataFrame({
        "cust": np.asarray(idx, dtype=np.int64), "rule_id": rule_id, "days": days_ago, "clicked": clicked})


def add_duplicates(c: pd.DataFrame, rng: np.random.Generator, n_dup: int) -> pd.DataFrame:
    """``c`` with ``n_dup`` customers typed in twice (``dup_of``: the original's position).

    :func:`crmkit.sample.words.add_identity` gives a duplicate its original's phone
    and a different spelling of the name.
    """
    if n_dup <= 0:
        return c
    pool = np.flatnonzero((c["plant"] == "").to_numpy())
    src = rng.choice(pool, size=min(n_dup, len(pool)), replace=False)
    dup = c.iloc[src].copy()
    dup["dup_of"] = src
    dup["age"] = rng.integers(1, 30, len(dup))
    dup["level"] = 0
    dup[["lost", "churned", "buyer", "high"]] = False
    dup[["n_ord", "n_int"]] = 0
    dup["contract_end"] = -99999
    dup["source"] = "website_form"
    dup["intent"] = "C"
    dup["tags"] = ""
    dup["plant"] = "dup"
    return pd.concat([c, dup], ignore_index=True)
