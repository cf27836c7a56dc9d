"""The sample generator: one latent customer table, then a frame per entity.

:func:`generate_tables` draws everything from one seeded
:class:`numpy.random.Generator`; Faker (seeded too) only builds small pools of
names (:mod:`crmkit.sample.words`), so 100,000 customers with 1,000,000 orders
are generated in seconds.

The data tell a story a CRM user recognises:

* a sales funnel that loses customers stage by stage (lead > qualified >
  proposal > negotiation > won, plus lost), with source channels that
  convert differently (referrals best, cold calls worst);
* repeat buyers: order counts are heavy-tailed (a few customers buy very
  often, many a few times, prospects never) and amounts are lognormal,
  scaled by company size;
* deals with ``stage_changed_at``, interactions with methods, contents and
  customer feedback, tasks (overdue ones and ones due today), tickets (some
  breach their SLA; closed ones carry a 1-5 satisfaction), 5 campaigns
  whose audiences are rule expressions, and messages with realistic
  outcomes (sent / opened / clicked / converted with revenue, some failed,
  suppressed for unsubscribed or no-consent customers);
* data-quality blemishes for the data-quality dashboard: about 3% of
  customers miss some optional fields, and a few customers are entered twice
  (same phone, a different spelling of the name).  Required fields are always
  valid, so ``crmkit validate`` reports warnings, never errors.

Settings hold ``as_of`` (default 2026-11-20 10:00, a Friday working day):
every date is relative to it, so the default rules find work on that day.

The planted scenarios are in :mod:`crmkit.sample.scenarios`, campaigns and
messages in :mod:`crmkit.sample.campaigns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg
from ..ids import first_ids
from ..rules.defaults import default_routing, default_rules, default_team
from ..schema import ENTITIES
from ..settings import check_lang, settings_frame
from .campaigns import campaigns, messages
from .draw import (
    DEFAULT_AS_OF,
    DEFAULT_ORDERS_PER_CUSTOMER,
    HISTORY_DAYS,
    Clock,
    Progress,
    choice,
    excel_guard,
    positions,
    typed_frame,
)
from .products import order_lines
from .products import products as product_catalogue
from .scenarios import MIN_FULL, MIN_PLANTED, add_duplicates, plant
from .words import (
    CONTENTS,
    FEEDBACK,
    INDUSTRIES,
    NEXT_ACTIONS,
    ORDER_CHANNELS,
    PRODUCTS,
    SIZES,
    SOURCES,
    STAGES,
    TAGS,
    TASK_TITLES,
    TECH_FEEDBACK,
    TICKET_TITLES,
    add_identity,
    lang_pick,
)


def generate_tables(customers: int = 500, *, seed: int = 7, lang: str = "en",
                    orders_per_customer: float | None = None, as_of: object = None,
                    progress: bool = False) -> dict[str, pd.DataFrame]:
    """The sample workspace as entity frames (canonical keys and codes).

    Same arguments, same frames.  ``as_of`` defaults to :data:`DEFAULT_AS_OF`.
    """
    lang = check_lang(lang)
    n_total = int(customers)
    if n_total < 1:
        raise UsageError(msg("e_sample_customers"))
    opc = DEFAULT_ORDERS_PER_CUSTOMER if orders_per_customer is None else float(orders_per_customer)
    if opc <= 0:
        raise UsageError(msg("e_sample_opc"))
    excel_guard("Orders", int(n_total * opc * 1.02) + 200)
    clock = Clock(DEFAULT_AS_OF if as_of is None else pd.Timestamp(as_of))
    rng = np.random.default_rng(seed)
    say = Progress(progress)
    g = _Generator(rng, clock, lang, seed)
    excel_guard(ENTITIES["customers"].sheet_name(lang), n_total)
    g.customers(n_total, opc)
    excel_guard(ENTITIES["interactions"].sheet_name(lang), int(g.c["n_int"].sum()))
    excel_guard(ENTITIES["orders"].sheet_name(lang), int(g.c["n_ord"].sum()))
    say(msg("p_counts", counts=(_count("customers", n_total),)))
    tables = {
        "interactions": g.interactions(),
        "orders": g.orders(),
        "deals": g.deals(),
    }
    say(msg("p_counts", counts=tuple(_count(k, len(tables[k])) for k in ("interactions", "orders", "deals"))))
    tables["customers"] = g.customer_frame(tables["interactions"])
    tables["tasks"] = g.tasks()
    tables["tickets"] = g.tickets()
    tables["campaigns"] = campaigns(g.c, clock, lang, g.reps, g.manager)
    tables["messages"] = messages(g.c, rng, clock, lang, g.planned_messages)
    say(msg("p_counts", counts=tuple(_count(k, len(tables[k])) for k in ("tasks", "tickets", "messages"))))
    tables["rules"] = default_rules(lang)
    tables["routing"] = default_routing(lang)
    tables["team"] = default_team(lang)
    tables["settings"] = settings_frame(lang, g.settings(tables["orders"]))
    # the catalogue and the order lines last, from their own random stream: every earlier value stays
    names = lang_pick(PRODUCTS, lang)
    tables["products"] = product_catalogue(lang, names, tables["team"]["name"].tolist())
    tables["orders"] = order_lines(tables["orders"], tables["products"], names, seed=seed, as_of=clock.as_of)
    for key, df in tables.items():
        excel_guard(ENTITIES[key].sheet_name(lang), len(df))
    return {k: tables[k] for k in ENTITIES if k in tables}


def _count(entity: str, n: int):
    """``orders 1,234`` / ``订单 1,234`` (shown in the current language)."""
    return msg("p_count", entity=msg("w:" + ENTITIES[entity].en.lower()), n=f"{n:,}")


class _Generator:
    """Builds the tables from one latent customer table (``self.c``, one row per customer)."""

    def __init__(self, rng: np.random.Generator, clock: Clock, lang: str, seed: int):
        self.rng = rng
        self.clock = clock
        self.lang = lang
        self.zh = lang == "zh"
        self.team = default_team(lang)
        self.reps = self.team.loc[self.team["role"] == "rep", "name"].to_numpy(dtype=object)
        self.manager = self.team.loc[self.team["role"] == "manager", "name"].iloc[0]
        self.faker_seed = seed
        self.planned_messages: list[pd.DataFrame] = []
        self.planned_tickets: list[dict] = []

    def pick(self, pairs) -> np.ndarray:
        return lang_pick(pairs, self.lang)

    # ---------------------------------------------------------------- customers (latent)

    def customers(self, n_total: int, opc: float) -> None:
        """The latent customer table ``self.c``: funnel level, history lengths, planted scenarios, identity."""
        rng, clock = self.rng, self.clock
        n_dup = 0 if n_total < MIN_PLANTED else max(2, round(n_total * 0.006))
        n = n_total - n_dup
        c = pd.DataFrame(index=pd.RangeIndex(n))
        # customers arrive at a growing pace: more recent ones are more common
        c["age"] = np.floor(HISTORY_DAYS * rng.random(n) ** 1.35).astype(np.int64)
        src_codes = list(SOURCES)
        src = rng.choice(len(src_codes), size=n, p=np.array([SOURCES[s][0] for s in src_codes]) / 1.0)
        c["source"] = np.array(src_codes, dtype=object)[src]
        # the funnel: each step is passed with the source's chance
        steps = np.array([SOURCES[s][1:] for s in src_codes])[src]
        level = np.zeros(n, dtype=np.int64)
        for k in range(4):
            level += (level == k) & (rng.random(n) < steps[:, k])
        # young customers have not had time to go far
        cap = np.select([c["age"] < 7, c["age"] < 21, c["age"] < 45, c["age"] < 75], [0, 1, 2, 3], 4)
        level = np.minimum(level, cap)
        stalled = level < 4
        lost = stalled & (((c["age"] > 150) & (rng.random(n) < 0.55)) | ((c["age"] > 60) & (rng.random(n) < 0.2)))
        churned = (level == 4) & (c["age"] > 400) & (rng.random(n) < 0.08)
        c["level"] = level
        c["lost"] = lost | churned
        c["churned"] = churned
        c["buyer"] = level == 4
        # intent: the further a customer got, the likelier a high grade
        u = rng.random(n) - 0.12 * level
        c["intent"] = np.select([u < 0.12, u < 0.45, u < 0.8], ["A", "B", "C"], "D").astype(object)
        c["owner"] = choice(rng, self.reps, n)
        c["industry"] = choice(rng, list(INDUSTRIES), n, list(INDUSTRIES.values()))
        c["size"] = choice(rng, list(SIZES), n, [v[0] for v in SIZES.values()])
        c["mu"] = np.array([SIZES[s][1] for s in c["size"]]) + rng.normal(0, 0.45, n)
        # interactions: how many, and when the latest was
        c["n_int"] = np.where(c["lost"], 1 + rng.poisson(2, n), 1 + rng.poisson(0.8 + 1.0 * level + 1.2 * (level == 4)))
        young_lead = (level == 0) & (c["age"] < 3)
        c.loc[young_lead, "n_int"] = np.where(rng.random(int(young_lead.sum())) < 0.5, 0, 1)
        gap = np.where(level == 4, rng.exponential(32, n), rng.exponential(5, n))
        gap = np.where(c["lost"], c["age"] * rng.uniform(0.2, 0.9, n), gap)
        c["last_int"] = np.minimum(np.floor(gap), c["age"]).astype(np.int64)
        c["last_int_min"] = clock.work_minutes(rng, c["last_int"])
        c["feedback"] = 0          # 1: latest feedback asks for tech support, 2: an earlier one does
        # orders: buyers' first and last order, count drawn heavy-tailed
        conv = np.minimum(c["age"], np.floor(15 + rng.exponential(45, n))).astype(np.int64)
        c["first_ord"] = c["age"] - conv
        active_gap = np.floor(rng.exponential(25, n)).astype(np.int64)
        dormant = rng.random(n) < 0.25
        last = np.where(dormant, rng.integers(91, 400, n), active_gap)
        last = np.where(c["churned"], np.maximum(rng.integers(200, 700, n), 0), last)
        c["last_ord"] = np.minimum(last, c["first_ord"])
        c["n_ord"] = 0
        buyers = np.flatnonzero(c["buyer"])
        total = int(round(n_total * opc))
        if len(buyers):
            span = (c["first_ord"].to_numpy() - c["last_ord"].to_numpy())[buyers] + 30
            w = rng.gamma(0.75, 1.0, len(buyers)) * span
            extra = rng.multinomial(max(total - len(buyers), 0), w / w.sum())
            c.loc[buyers, "n_ord"] = 1 + extra
        c.loc[c["n_ord"] == 1, "first_ord"] = c.loc[c["n_ord"] == 1, "last_ord"]
        # contract end (existing customers), birthday (of the contact), consent
        has_contract = c["buyer"] & (rng.random(n) < 0.6)
        c["contract_end"] = np.where(has_contract, rng.integers(-150, 520, n), -99999)  # days from today
        bday = rng.random(n) < 0.55
        c["birthday"] = np.where(bday, clock.date(np.zeros(n, np.int64)).astype("datetime64[D]").astype(np.int64)
                                 - rng.integers(30 * 365, 60 * 365, n), -99999)  # days since epoch
        c["consent"] = rng.random(n) < 0.86
        c["unsub"] = rng.random(n) < 0.04
        c["tags"] = ""
        c["plant"] = ""
        c["deal_changed"] = -1        # days ago a planted deal changed stage
        c["high"] = False
        c["dup_of"] = -1
        self.c = c
        if n_total >= MIN_PLANTED:
            self.planned_messages, self.planned_tickets = plant(c, rng, clock, self.lang, full=n_total >= MIN_FULL)
        # keep every history inside the customer's life
        c["last_int"] = np.minimum(c["last_int"], c["age"])
        c["first_ord"] = np.minimum(c["first_ord"], c["age"])
        c["last_ord"] = np.minimum(c["last_ord"], c["first_ord"])
        self._tags()
        self.c = add_duplicates(self.c, rng, n_dup)
        add_identity(self.c, rng, self.lang, self.faker_seed)
        # customer ids in order of creation
        c = self.c
        order = np.lexsort((rng.random(len(c)), -c["age"].to_numpy()))
        remap = np.empty(len(c), dtype=np.int64)
        remap[order] = np.arange(len(c))
        for m in self.planned_messages:
            m["cust"] = remap[m["cust"].to_numpy()]
        for tk in self.planned_tickets:
            tk["cust"] = int(remap[tk["cust"]])
        self.c = c.iloc[order].reset_index(drop=True)
        self.c["customer_id"] = first_ids("customers", len(self.c)).to_numpy()

    def _tags(self) -> None:
        """A few tags per customer (VIP for the big buyers), after the planted ones."""
        rng, c = self.rng, self.c
        n = len(c)
        pool = self.pick(TAGS)
        vip = np.where(c["high"] | ((c["n_ord"] > 25) & (rng.random(n) < 0.5)), pool[0], "")
        first = np.where(rng.random(n) < 0.3, pool[rng.integers(0, len(pool), n)], "")
        second = np.where(rng.random(n) < 0.08, pool[rng.integers(1, len(pool), n)], "")
        first = np.where(first == vip, "", first)
        second = np.where((second == first) | (second == vip), "", second)
        joined = pd.Series(c["tags"].to_numpy(dtype=object) + ";" + vip + ";" + first + ";" + second, dtype="string")
        c["tags"] = joined.str.replace(r";{2,}", ";", regex=True).str.strip(";").to_numpy(dtype=object)

    # ---------------------------------------------------------------- customers (frame)

    def customer_frame(self, interactions: pd.DataFrame) -> pd.DataFrame:
        c, clock = self.c, self.clock
        n = len(c)
        stage = np.array(STAGES, dtype=object)[c["level"].to_numpy()]
        stage = np.where(c["lost"], "lost", stage)
        ctype = np.where(c["buyer"], "existing", np.where(c["age"] < 30, "new", "potential"))
        first_contact = interactions.groupby("customer_id")["at"].min()
        last = interactions.sort_values("at").groupby("customer_id").last()
        ids = c["customer_id"]
        cadence = pd.Series({"lead": 7, "qualified": 3, "proposal": 3, "negotiation": 3, "won": 30, "lost": 0})
        last_at = ids.map(last["at"]).to_numpy()
        nxt = ids.map(last["next_follow_up_at"]).to_numpy()
        fallback = last_at + pd.to_timedelta(pd.Series(stage).map(cadence).to_numpy(), unit="D")
        nxt = np.where(pd.isna(nxt), fallback, nxt)
        nxt = pd.Series(nxt).astype("datetime64[ns]")
        nxt = nxt.where(stage != "lost")
        contract = c["contract_end"].to_numpy()
        bday = c["birthday"].to_numpy()
        df = pd.DataFrame({
            "customer_id": ids.astype("string"),
            "name": c["name"].astype("string"),
            "contact_name": c["contact_name"].astype("string"),
            "title": c["title"].astype("string"),
            "phone": c["phone"].astype("string"),
            "email": c["email"].astype("string"),
            "industry": c["industry"].astype("string"),
            "size": c["size"].astype("string"),
            "region": c["region"].astype("string"),
            "customer_type": pd.Series(ctype, dtype="string"),
            "source": c["source"].astype("string"),
            "intent_level": c["intent"].astype("string"),
            "stage": pd.Series(stage, dtype="string"),
            "tags": c["tags"].mask(c["tags"] == "").astype("string"),
            "owner": c["owner"].mask(c["owner"] == "").astype("string"),
            "created_at": clock.date(c["age"].to_numpy()),
            "first_contact_at": ids.map(first_contact).astype("datetime64[ns]"),
            "next_follow_up_at": nxt.to_numpy(),
            "contract_end": pd.Series(clock.date(-np.where(contract > -99999, contract, 0)))
            .where(contract > -99999).to_numpy(),
            "birthday": pd.Series(np.where(bday > -99999, bday, np.iinfo(np.int64).min).astype("datetime64[D]"))
            .astype("datetime64[ns]"),
            "preferred_channel": c["preferred"].astype("string"),
            "marketing_consent": c["consent"].astype("boolean"),
            "unsubscribed": c["unsub"].astype("boolean"),
            "notes": pd.Series(None, index=range(n), dtype="string"),
        })
        noted = (df["stage"] == "lead").to_numpy() & (np.arange(n) % 37 == 5)
        df.loc[noted, "notes"] = "合作伙伴活动中认识" if self.zh else "Met at a partner event"
        df.index = pd.RangeIndex(2, 2 + n, name="_row")
        return df

    # ---------------------------------------------------------------- children

    def interactions(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        counts = c["n_int"].to_numpy()
        cust = np.repeat(np.arange(len(c)), counts)
        k = positions(counts)
        is_last = k == counts[cust] - 1
        last_ago = c["last_int"].to_numpy()[cust]
        age = c["age"].to_numpy()[cust]
        span = np.maximum(age - last_ago, 0)
        ago = np.where(is_last, last_ago, last_ago + np.ceil(rng.random(len(cust)) * span).astype(np.int64))
        # the first contact comes soon after the customer was created
        soon = np.maximum(age - rng.integers(0, 6, len(cust)), last_ago)
        ago = np.where((k == 0) & ~is_last, soon, ago)
        minutes = np.where(is_last, c["last_int_min"].to_numpy()[cust], clock.work_minutes(rng, ago))
        at = clock.at(ago, minutes)
        m = len(cust)
        fb_pool = self.pick(FEEDBACK)
        feedback = np.where(rng.random(m) < 0.7, fb_pool[rng.integers(0, len(fb_pool), m)], None)
        flag = c["feedback"].to_numpy()[cust]
        tech = self.pick(TECH_FEEDBACK)
        feedback = np.where(is_last & (flag == 1), tech[0], feedback)
        feedback = np.where((k == 0) & ~is_last & (flag == 2), tech[1], feedback)
        feedback = np.where(is_last & (flag == 2), fb_pool[2], feedback)
        # the odd earlier request for support, answered long since
        feedback = np.where(~is_last & (flag == 0) & (rng.random(m) < 0.01), tech[1], feedback)
        level = c["level"].to_numpy()[cust]
        content_idx = np.clip(level * 2 + rng.integers(0, 3, m), 0, len(CONTENTS) - 1)
        next_idx = rng.integers(0, len(NEXT_ACTIONS), m)
        has_next = rng.random(m) < 0.6
        owner = c["owner"].to_numpy(dtype=object)[cust]
        owner = np.where(owner == "", self.reps[rng.integers(0, len(self.reps), m)], owner)
        df = pd.DataFrame({
            "customer_id": c["customer_id"].to_numpy(dtype=object)[cust],
            "at": at,
            "method": choice(rng, ["phone", "visit", "email", "online_meeting", "wecom"], m,
                              [0.35, 0.15, 0.15, 0.1, 0.25] if self.zh else [0.4, 0.15, 0.25, 0.15, 0.05]),
            "content": self.pick(CONTENTS)[content_idx],
            "customer_feedback": feedback,
            "next_action": np.where(has_next, self.pick(NEXT_ACTIONS)[next_idx], None),
            "next_follow_up_at": pd.Series(at + np.timedelta64(3, "D")).dt.normalize().to_numpy()
            + np.timedelta64(10, "h"),
            "owner": owner,
        })
        df["next_follow_up_at"] = df["next_follow_up_at"].where(has_next)
        df = df.sort_values(["at", "customer_id"], kind="stable").reset_index(drop=True)
        df.insert(0, "interaction_id", first_ids("interactions", len(df)).to_numpy())
        return typed_frame(df, "interactions")

    def orders(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        counts = c["n_ord"].to_numpy()
        cust = np.repeat(np.arange(len(c)), counts)
        k = positions(counts)
        m = len(cust)
        first, last = c["first_ord"].to_numpy()[cust], c["last_ord"].to_numpy()[cust]
        ago = np.where(k == 0, first, np.where(k == counts[cust] - 1, last,
                                              last + np.floor(rng.random(m) * (first - last + 1)).astype(np.int64)))
        amount = np.round(np.exp(c["mu"].to_numpy()[cust] + rng.normal(0, 0.65, m)), 0)
        returns = (rng.random(m) < 0.005) & (k > 0)
        amount = np.where(returns, -np.round(amount * 0.5, 0), amount)
        src = c["source"].to_numpy(dtype=object)[cust]
        channel = choice(rng, ORDER_CHANNELS, m, [0.45, 0.25, 0.2, 0.1])
        channel = np.where((src == "ecommerce") & (rng.random(m) < 0.85), "online", channel)
        prod = self.pick(PRODUCTS)
        df = pd.DataFrame({
            "customer_id": c["customer_id"].to_numpy(dtype=object)[cust],
            "order_date": clock.date(ago),
            "amount": amount.astype("float64"),
            "product": prod[rng.integers(0, len(prod), m)],
            "channel": channel,
        })
        df = df.sort_values(["order_date", "customer_id"], kind="stable").reset_index(drop=True)
        df.insert(0, "order_id", first_ids("orders", len(df)).to_numpy())
        return typed_frame(df, "orders")

    def deals(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        n = len(c)
        level = c["level"].to_numpy()
        lost = c["lost"].to_numpy()
        age = c["age"].to_numpy()
        main = level >= 1
        idx = np.flatnonzero(main)
        stage = np.array(STAGES, dtype=object)[level[idx]]
        stage = np.where(lost[idx] & ~c["churned"].to_numpy()[idx], "lost", stage)
        a = age[idx]
        won = stage == "won"
        open_ = ~won & (stage != "lost")
        first_ord = c["first_ord"].to_numpy()[idx]
        created = np.where(won, np.minimum(first_ord + 10 + np.floor(rng.exponential(25, len(idx))).astype(np.int64), a),
                           np.floor(a * rng.uniform(0.5, 0.95, len(idx))).astype(np.int64))
        changed = np.where(won, first_ord,
                           np.where(open_, np.minimum(created, 3 + np.floor(rng.exponential(20, len(idx))).astype(np.int64)),
                                    np.floor(created * rng.random(len(idx))).astype(np.int64)))
        planted = c["deal_changed"].to_numpy()[idx]
        changed = np.where(planted >= 0, planted, changed)
        # upsell deals on a share of active customers
        ups = np.flatnonzero((level == 4) & ~lost & (rng.random(n) < 0.15))
        u_stage = choice(rng, ["qualified", "proposal", "negotiation"], len(ups), [0.45, 0.35, 0.2])
        u_created = np.floor(rng.exponential(30, len(ups))).astype(np.int64)
        u_changed = np.floor(u_created * rng.random(len(ups))).astype(np.int64)
        cust = np.concatenate([idx, ups])
        stage = np.concatenate([stage, u_stage])
        created = np.concatenate([created, u_created])
        changed = np.concatenate([changed, u_changed])
        m = len(cust)
        closed = np.isin(stage, ["won", "lost"])
        expected = np.where(closed, changed + rng.integers(-20, 21, m),
                            np.where(rng.random(m) < 0.12, rng.integers(1, 21, m), -rng.integers(5, 76, m)))
        prod = self.pick(PRODUCTS)
        names = c["name"].to_numpy(dtype=object)[cust]
        pname = prod[rng.integers(0, 2, m)]
        owner = c["owner"].to_numpy(dtype=object)[cust]
        owner = np.where(owner == "", self.reps[0], owner)
        df = pd.DataFrame({
            "customer_id": c["customer_id"].to_numpy(dtype=object)[cust],
            "name": (names + "：" + pname) if self.zh else (pname + " for " + names),
            "amount": np.round(np.exp(c["mu"].to_numpy()[cust] + 1.6 + rng.normal(0, 0.5, m)), -2),
            "stage": stage,
            "owner": owner,
            "created_at": clock.date(created),
            "expected_close": clock.date(expected),
            "closed_at": pd.Series(clock.date(changed)).where(closed).to_numpy(),
            "stage_changed_at": clock.date(changed),
        })
        df = df.sort_values(["created_at", "customer_id"], kind="stable").reset_index(drop=True)
        df.insert(0, "deal_id", first_ids("deals", len(df)).to_numpy())
        return typed_frame(df, "deals")

    def tasks(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        n = len(c)
        rate = np.where(c["lost"], 0.1, np.where(c["level"] == 4, 0.6, 0.9))
        counts = rng.poisson(rate)
        counts[c["plant"].to_numpy() != ""] = 0      # planted scenarios stay exactly as documented
        cust = np.repeat(np.arange(n), counts)
        m = len(cust)
        u = rng.random(m)
        due = np.select([u < 0.55, u < 0.72, u < 0.8], [-rng.integers(8, 120, m), -rng.integers(1, 8, m),
                                                        np.zeros(m, np.int64)], rng.integers(1, 15, m))
        due = np.maximum(due, -c["age"].to_numpy()[cust])      # not before the customer existed
        due_ago = -due
        due_min = rng.integers(18, 37, m) * 30                  # 09:00-18:00 on the half hour
        due_at = clock.at(due_ago, due_min)
        created_ago = np.minimum(due_ago + rng.integers(1, 10, m), c["age"].to_numpy()[cust])
        created_ago = np.maximum(created_ago, np.maximum(due_ago, 0))
        created_at = clock.at(created_ago, clock.work_minutes(rng, created_ago))
        created_at = np.minimum(created_at, due_at)
        past = due_at < np.datetime64(clock.as_of.to_datetime64())
        v = rng.random(m)
        status = np.where(past, np.select([v < 0.8, v < 0.85], ["done", "cancelled"], "open"),
                          np.where(v < 0.08, "done", "open"))
        df = self._task_frame(c["customer_id"].to_numpy(dtype=object)[cust],
                              c["name"].to_numpy(dtype=object)[cust],
                              c["owner"].to_numpy(dtype=object)[cust], due_at, created_at, status)
        # every rep: one task due later today, one 3 days overdue
        r = len(self.reps)
        pool = np.flatnonzero(~c["lost"].to_numpy() & (c["age"].to_numpy() >= 7) & (c["plant"].to_numpy() == ""))
        pick = rng.choice(pool, size=min(2 * r, len(pool)), replace=False)
        if len(pick) == 2 * r:
            ex_due = np.concatenate([clock.at(np.zeros(r, np.int64), np.full(r, 16 * 60)),
                                     clock.at(np.full(r, 3), np.full(r, 15 * 60))])
            ex_created = clock.at(np.full(2 * r, 6), np.full(2 * r, 9 * 60))
            extra = self._task_frame(c["customer_id"].to_numpy(dtype=object)[pick],
                                     c["name"].to_numpy(dtype=object)[pick],
                                     np.concatenate([self.reps, self.reps]), ex_due, ex_created,
                                     np.full(2 * r, "open", dtype=object))
            df = pd.concat([df, extra], ignore_index=True)
        df = df.sort_values(["created_at", "due_at"], kind="stable").reset_index(drop=True)
        df.insert(0, "task_id", first_ids("tasks", len(df)).to_numpy())
        return typed_frame(df, "tasks")

    def _task_frame(self, cust_ids, names, owners, due_at, created_at, status) -> pd.DataFrame:
        rng, clock = self.rng, self.clock
        m = len(cust_ids)
        owners = np.where(owners == "", self.reps[rng.integers(0, len(self.reps), m)], owners)
        titles = self.pick(TASK_TITLES)[rng.integers(0, len(TASK_TITLES), m)]
        by = choice(rng, ["owner", "manager", "rule:R12"], m, [0.65, 0.1, 0.25])
        by = np.where(by == "owner", owners, np.where(by == "manager", self.manager, by))
        now = np.datetime64(clock.as_of.to_datetime64(), "ns")
        done_at = created_at + ((np.minimum(due_at + np.timedelta64(2, "D"), now) - created_at)
                                * rng.uniform(0.3, 1.0, m)).astype("timedelta64[ns]")
        done_day = pd.Series(done_at).dt.normalize().to_numpy()
        done_at = done_day + clock.work_minutes(rng, np.ones(m, np.int64)).astype("timedelta64[m]")
        done_at = np.maximum(np.minimum(done_at, now - np.timedelta64(5, "m")), created_at + np.timedelta64(20, "m"))
        done_at = pd.Series(done_at).where(status == "done")
        remind = pd.Series(due_at - np.timedelta64(1, "h")).where(rng.random(m) < 0.5)
        return pd.DataFrame({
            "customer_id": cust_ids,
            "title": titles + ("：" if self.zh else ": ") + names,
            "owner": owners,
            "due_at": due_at,
            "remind_at": remind.to_numpy(),
            "status": status,
            "priority": choice(rng, ["high", "normal", "low"], m, [0.2, 0.65, 0.15]),
            "created_by": by,
            "created_at": created_at,
            "done_at": done_at.to_numpy(),
        })

    def tickets(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        n = len(c)
        counts = rng.poisson(np.where(c["buyer"], 0.35, 0.04))
        cust = np.repeat(np.arange(n), counts)
        m = len(cust)
        horizon = np.minimum(c["age"].to_numpy()[cust], 365)
        created_ago = np.floor(horizon * rng.random(m) ** 1.5).astype(np.int64)
        created = clock.at(created_ago, clock.work_minutes(rng, created_ago))
        ttype = choice(rng, list(TICKET_TITLES), m, [0.35, 0.3, 0.1, 0.25])
        prio = np.where(ttype == "complaint", choice(rng, ["urgent", "normal"], m, [0.6, 0.4]),
                        choice(rng, ["urgent", "normal", "low"], m, [0.12, 0.6, 0.28]))
        sat = rng.choice([1, 2, 3, 4, 5], size=m, p=[0.04, 0.07, 0.14, 0.35, 0.40])
        closed_days = np.full(m, -1)
        if self.planned_tickets:
            pt = pd.DataFrame(self.planned_tickets)
            k = len(pt)
            cust = np.concatenate([cust, pt["cust"].to_numpy()])
            created_ago = np.concatenate([created_ago, pt["closed_days"].to_numpy() + 3])
            created = np.concatenate([created, clock.at(pt["closed_days"].to_numpy() + 3, np.full(k, 9 * 60))])
            ttype = np.concatenate([ttype, np.full(k, "after_sales", dtype=object)])
            prio = np.concatenate([prio, np.full(k, "normal", dtype=object)])
            sat = np.concatenate([sat, pt["satisfaction"].to_numpy()])
            closed_days = np.concatenate([closed_days, pt["closed_days"].to_numpy()])
            m += k
        sla_h = pd.Series(prio).map({"urgent": 4, "normal": 24, "low": 72}).to_numpy()
        sla_due = created + (sla_h * 3600).astype("timedelta64[s]")
        resp_h = sla_h * np.exp(rng.normal(np.log(0.4), 0.7, m))          # about 1 in 10 breaches
        resp = created + (resp_h * 3600).astype("timedelta64[s]")
        now = np.datetime64(clock.as_of.to_datetime64(), "ns")
        close = resp + (np.exp(rng.normal(np.log(1.0), 0.9, m)) * 86400).astype("timedelta64[s]")
        planted = closed_days >= 0
        close = np.where(planted, clock.at(np.maximum(closed_days, 0), np.full(m, 8 * 60 + 30)), close)
        resp = np.where(planted, created + np.timedelta64(2, "h"), resp)
        v = rng.random(m)
        wants_closed = np.where(created_ago >= 3, v < 0.92, v < 0.15) | planted
        is_closed = wants_closed & (close <= now)
        responded = resp <= now
        status = np.where(is_closed, "closed", np.where(responded, "in_progress", "open"))
        rated = is_closed & ((rng.random(m) < 0.75) | planted)
        titles = np.empty(m, dtype=object)
        for tt, pairs in TICKET_TITLES.items():
            sel = ttype == tt
            titles[sel] = self.pick(pairs)[rng.integers(0, len(pairs), int(sel.sum()))]
        owner = c["owner"].to_numpy(dtype=object)[cust]
        assignee = np.where((owner == "") | (rng.random(m) < 0.4), self.reps[rng.integers(0, len(self.reps), m)], owner)
        df = pd.DataFrame({
            "customer_id": c["customer_id"].to_numpy(dtype=object)[cust],
            "title": titles,
            "type": ttype,
            "priority": prio,
            "status": status,
            "assignee": assignee,
            "created_at": created,
            "sla_due_at": sla_due,
            "first_response_at": pd.Series(resp).dt.floor("min").where(responded).to_numpy(),
            "closed_at": pd.Series(close).dt.floor("min").where(is_closed).to_numpy(),
            "satisfaction": pd.array(np.where(rated, sat, 0), dtype="Int64"),
        })
        df["satisfaction"] = df["satisfaction"].where(pd.Series(rated))
        df = df.sort_values(["created_at", "customer_id"], kind="stable").reset_index(drop=True)
        df.insert(0, "ticket_id", first_ids("tickets", len(df)).to_numpy())
        return typed_frame(df, "tickets")

    def settings(self, orders: pd.DataFrame) -> dict[str, object]:
        """as_of, language, and a monthly revenue target a little above the recent average."""
        clock = self.clock
        recent = orders.loc[orders["order_date"] > clock.today - pd.Timedelta(days=180), "amount"].sum()
        target = float(np.round(recent / 6 * 1.1, -3)) if recent > 0 else 0.0
        out: dict[str, object] = {"as_of": clock.as_of, "language": self.lang, "target_revenue_month": target}
        if not self.zh:
            out["phone_region"] = "US"
        return out
