"""Realistic, reproducible sample workspaces (``crmkit sample``, ``crmkit init --sample``).

>>> generate_workspace("sample_data", customers=500, seed=7, lang="en")

Everything is drawn from one seeded :class:`numpy.random.Generator`; Faker
(``en_US`` or ``zh_CN``, seeded too) only builds small pools of names,
companies and e-mail domains that the generator samples from, so that
100,000 customers with 1,000,000 orders are generated in seconds (writing
the Excel files is the slow part).  The same seed gives the same data.

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

Reproducibility: the same seed, size, language and ``as_of`` give equal
tables with the same versions of numpy and Faker (Faker's word lists feed the
name pools).  ``tests/test_sample.py`` checks that the committed
``sample_data/`` still equals ``crmkit sample sample_data --customers 500
--seed 7 --lang en --force``; regenerate it when the generator, the default
rules or the settings change.

Speed (2-core machine, CPU time): 100,000 customers with 1,000,000 orders are
generated in about 7 s; writing them takes about 100 s (xlsxwriter, about
25,000 order rows/s) and some 4 GB of memory.  An Excel sheet holds at most
1,048,575 rows: larger requests are refused before any work.

Planted scenarios
-----------------
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

Besides, every rep has one open task due later today and one 3 days overdue.
"""

from __future__ import annotations

import json
import os
import re
import string
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .exceptions import UsageError, WorkspaceExists
from .i18n import msg, t, tr
from .ids import first_ids
from .rules.defaults import DEFAULT_RULES, TAG_LABELS, default_routing, default_rules, default_team
from .schema import ENTITIES, WORKBOOKS, workbook_file
from .settings import check_lang, settings_frame

#: The default "now" of sample workspaces: Friday 20 November 2026, 10:00.
DEFAULT_AS_OF = pd.Timestamp("2026-11-20 10:00")
#: Customers were created over this many days before as_of.
HISTORY_DAYS = 3 * 365
#: Average orders per customer when not given (prospects buy nothing, so buyers buy more).
DEFAULT_ORDERS_PER_CUSTOMER = 6.0
#: Data rows an Excel sheet can hold.
EXCEL_MAX_ROWS = 1_048_575
#: Marker written into workspaces made by this module (``crmkit demo`` may replace them).
MARKER = Path(".crmkit") / "sample.json"
#: Smallest workspace that gets the planted scenarios.
MIN_PLANTED = 40

STAGES = ("lead", "qualified", "proposal", "negotiation", "won")

# source: share of customers, then the chance to advance lead>qualified>proposal>negotiation>won
SOURCES = {
    "website_form": (0.22, 0.88, 0.85, 0.85, 0.80),
    "trade_show": (0.13, 0.85, 0.80, 0.85, 0.75),
    "referral": (0.12, 0.95, 0.92, 0.90, 0.90),
    "online_ad": (0.15, 0.75, 0.75, 0.80, 0.70),
    "social_media": (0.11, 0.70, 0.75, 0.75, 0.65),
    "ecommerce": (0.12, 0.92, 0.90, 0.92, 0.90),
    "cold_call": (0.10, 0.62, 0.70, 0.72, 0.60),
    "other": (0.05, 0.80, 0.80, 0.80, 0.75),
}
INDUSTRIES = {"manufacturing": 0.22, "retail": 0.16, "it_internet": 0.17, "finance": 0.07, "education": 0.08,
              "healthcare": 0.08, "real_estate": 0.05, "services": 0.12, "other": 0.05}
SIZES = {"micro": (0.30, 5.9), "small": (0.38, 6.6), "medium": (0.22, 7.4), "large": (0.10, 8.2)}  # share, log amount
ORDER_CHANNELS = ("direct", "online", "partner", "store")

# --------------------------------------------------------------------------- vocabulary (en, zh)

CITIES = {
    "en": ("New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio", "San Diego",
           "Dallas", "Austin", "Seattle", "Denver", "Boston", "Atlanta", "Miami", "Portland", "Nashville",
           "Columbus", "Charlotte", "San Francisco", "Minneapolis", "Detroit", "Baltimore", "Salt Lake City"),
    "zh": ("上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "苏州", "武汉", "重庆", "天津", "西安",
           "长沙", "宁波", "青岛", "郑州", "东莞", "佛山", "合肥", "厦门", "无锡", "济南", "福州", "昆明"),
}
AREA_CODES = ("212", "213", "312", "415", "617", "206", "512", "303", "404", "305", "702", "614", "919", "503",
              "615", "720", "480", "602", "713", "214", "704", "612", "313", "410", "801", "971")
CN_MOBILE = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
             "157", "158", "159", "166", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188",
             "189", "199")
ZH_INDUSTRY_WORD = {"manufacturing": ("机械", "精密制造", "电子", "材料"), "retail": ("商贸", "百货", "零售"),
                    "it_internet": ("科技", "网络科技", "信息技术", "软件"), "finance": ("投资", "金融服务"),
                    "education": ("教育科技", "培训"), "healthcare": ("医疗器械", "健康科技", "生物科技"),
                    "real_estate": ("置业", "物业服务"), "services": ("咨询", "企业服务", "物流"),
                    "other": ("实业", "贸易")}
ZH_COMPANY_SUFFIX = ("有限公司", "有限公司", "有限公司", "股份有限公司", "集团有限公司")
ZH_EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com")
TITLES = (("Purchasing Manager", "采购经理"), ("CEO", "总经理"), ("Operations Director", "运营总监"),
          ("IT Manager", "IT主管"), ("Office Manager", "行政主管"), ("Sales Director", "销售总监"),
          ("Founder", "创始人"), ("Finance Manager", "财务经理"), ("Project Manager", "项目经理"))
PRODUCTS = (("CRM Standard (annual)", "CRM标准版（年付）"), ("CRM Professional (annual)", "CRM专业版（年付）"),
            ("Onboarding service", "实施服务"), ("Data migration", "数据迁移服务"),
            ("Training workshop", "培训课程"), ("Extra user seats", "增购账号"),
            ("Support plan", "技术支持服务包"), ("Barcode scanner", "扫码枪硬件"),
            ("SMS credits", "短信条数包"), ("Custom report pack", "定制报表包"))
CONTENTS = (("Introductory call about needs", "初次电话沟通需求"), ("Product demo", "产品演示"),
            ("Sent the quotation", "发送报价单"), ("Discussed contract terms", "沟通合同条款"),
            ("Quarterly review", "季度回访"), ("Checked delivery status", "确认交付进度"),
            ("Followed up on the proposal", "跟进方案反馈"), ("Answered pricing questions", "解答价格问题"),
            ("Visited the site to review requirements", "上门了解需求"), ("Renewal discussion", "续约沟通"))
FEEDBACK = (("Interested, wants a detailed quote", "有兴趣，希望提供详细报价"), ("Price is a bit high", "觉得价格偏高"),
            ("Happy with the service", "对服务很满意"), ("Needs approval from the boss", "需要老板审批"),
            ("Comparing with another vendor", "正在对比其他供应商"), ("Asked for a customer case study", "希望看到同行案例"),
            ("Satisfied with the delivery", "对交付满意"), ("Will decide next month", "下个月再决定"),
            ("No need at the moment", "暂时没有需求"))
TECH_FEEDBACK = (("Needs technical support to set up the integration", "需要技术支持协助系统对接"),
                 ("Asked for technical support with the installation", "安装遇到问题，希望提供技术支持"))
NEXT_ACTIONS = (("Send quote", "发送报价"), ("Schedule a demo", "安排演示"), ("Call back", "电话回访"),
                ("Prepare the contract", "准备合同"), ("Visit on site", "上门拜访"))
TASK_TITLES = (("Call back", "电话回访"), ("Send proposal", "发送方案"), ("Prepare quote", "准备报价"),
               ("Confirm delivery date", "确认交付日期"), ("Renewal meeting", "续约会议"),
               ("Collect payment", "跟进回款"), ("Schedule demo", "安排产品演示"))
TICKET_TITLES = {
    "after_sales": (("Delivery delayed", "发货延迟"), ("Invoice correction", "发票信息修改")),
    "inquiry": (("Question about pricing", "咨询价格"), ("How to add users", "如何增加账号")),
    "complaint": (("Unhappy with response time", "对响应速度不满意"), ("Wrong item delivered", "发错货")),
    "tech_support": (("Cannot log in", "无法登录"), ("Data import fails", "数据导入失败"),
                     ("Integration error", "系统对接报错")),
}
TAGS = (("vip", "VIP"), ("key_account", "重点客户"), ("price_sensitive", "价格敏感"),
        ("trade_show_2026", "2026展会"), ("partner", "合作伙伴"), ("newsletter", "订阅资讯"))
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


# --------------------------------------------------------------------------- helpers

def _lang_pick(pairs, lang: str) -> np.ndarray:
    """Array of the ``lang`` side of (en, zh) pairs."""
    return np.array([p[1] if lang == "zh" else p[0] for p in pairs], dtype=object)


def _positions(counts: np.ndarray) -> np.ndarray:
    """0..k-1 within each group of a ``np.repeat(..., counts)`` layout."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum()), dtype=np.int64) - starts


def _choice(rng, options, n: int, p=None) -> np.ndarray:
    options = np.asarray(options, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return options[rng.choice(len(options), size=n, p=p)]


def _fill(template: str, frame: pd.DataFrame) -> pd.Series:
    """``"Hi {contact_name}"`` filled row by row from ``frame`` (vectorised)."""
    out = pd.Series("", index=frame.index, dtype="string")
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            out = out + literal
        if field:
            out = out + frame[field].astype("string").fillna("")
    return out


class _Clock:
    """Turns 'days before as_of' + minutes of the day into timestamps."""

    def __init__(self, as_of: pd.Timestamp):
        self.as_of = pd.Timestamp(as_of).floor("min")
        self.today = self.as_of.normalize()
        self._today = np.datetime64(self.today.to_datetime64(), "m")
        self._now_min = int((self.as_of - self.today) / pd.Timedelta(minutes=1))

    def at(self, days_ago, minutes) -> np.ndarray:
        """datetime64[ns]: ``days_ago`` days before today at ``minutes`` after midnight."""
        days_ago = np.asarray(days_ago, dtype=np.int64)
        minutes = np.asarray(minutes, dtype=np.int64)
        v = self._today - (days_ago * 1440).astype("timedelta64[m]") + minutes.astype("timedelta64[m]")
        return v.astype("datetime64[ns]")

    def date(self, days_ago) -> np.ndarray:
        return self.at(days_ago, np.zeros(np.shape(days_ago), dtype=np.int64))

    def work_minutes(self, rng, days_ago) -> np.ndarray:
        """A working-hours time of day (08:30-18:30); before as_of's time on as_of's day."""
        days_ago = np.asarray(days_ago)
        m = rng.integers(510, 1110, size=days_ago.shape)
        early = rng.integers(480, max(self._now_min - 5, 481), size=days_ago.shape)
        return np.where(days_ago <= 0, early, m)

    def early_minutes(self, rng, n) -> np.ndarray:
        """Times of planted events: 08:00-09:50, before as_of's 10:00."""
        hi = min(self._now_min - 10, 590)
        return rng.integers(480, max(hi, 481), size=n)


def _excel_guard(name: str, rows: int) -> None:
    if rows > EXCEL_MAX_ROWS:
        raise UsageError(msg("e_sample_too_many", rows=f"{rows:,}", name=name, max=f"{EXCEL_MAX_ROWS:,}"))


# --------------------------------------------------------------------------- generation

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
    _excel_guard("Orders", int(n_total * opc * 1.02) + 200)
    clock = _Clock(DEFAULT_AS_OF if as_of is None else pd.Timestamp(as_of))
    rng = np.random.default_rng(seed)
    say = _Progress(progress)
    g = _Generator(rng, clock, lang, seed)
    _excel_guard(ENTITIES["customers"].sheet_name(lang), n_total)
    g.customers(n_total, opc)
    _excel_guard(ENTITIES["interactions"].sheet_name(lang), int(g.c["n_int"].sum()))
    _excel_guard(ENTITIES["orders"].sheet_name(lang), int(g.c["n_ord"].sum()))
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
    tables["campaigns"] = g.campaigns()
    tables["messages"] = g.messages()
    say(msg("p_counts", counts=tuple(_count(k, len(tables[k])) for k in ("tasks", "tickets", "messages"))))
    tables["rules"] = default_rules(lang)
    tables["routing"] = default_routing(lang)
    tables["team"] = default_team(lang)
    tables["settings"] = settings_frame(lang, g.settings(tables["orders"]))
    for key, df in tables.items():
        _excel_guard(ENTITIES[key].sheet_name(lang), len(df))
    return {k: tables[k] for k in ENTITIES if k in tables}


def _count(entity: str, n: int):
    """``orders 1,234`` / ``订单 1,234`` (shown in the current language)."""
    return msg("p_count", entity=msg("w:" + ENTITIES[entity].en.lower()), n=f"{n:,}")


class _Progress:
    def __init__(self, on: bool):
        self.on = on
        self.t0 = time.perf_counter()

    def __call__(self, text: str) -> None:
        if self.on:
            print(f"  [{time.perf_counter() - self.t0:6.1f}s] {tr(text)}", file=sys.stderr, flush=True)


class _Generator:
    """Builds the tables from one latent customer table (``self.c``, one row per customer)."""

    def __init__(self, rng: np.random.Generator, clock: _Clock, lang: str, seed: int):
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
        return _lang_pick(pairs, self.lang)

    # ---------------------------------------------------------------- customers (latent)

    def customers(self, n_total: int, opc: float) -> None:
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
        c["owner"] = _choice(rng, self.reps, n)
        c["industry"] = _choice(rng, list(INDUSTRIES), n, list(INDUSTRIES.values()))
        c["size"] = _choice(rng, list(SIZES), n, [v[0] for v in SIZES.values()])
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
            self._plant(full=n_total >= 150)
        # keep every history inside the customer's life
        c["last_int"] = np.minimum(c["last_int"], c["age"])
        c["first_ord"] = np.minimum(c["first_ord"], c["age"])
        c["last_ord"] = np.minimum(c["last_ord"], c["first_ord"])
        self._tags()
        self._duplicates(n_dup)
        self._identity()
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

    def _plant(self, full: bool) -> None:
        """The planted scenarios of the module docstring."""
        rng, c = self.rng, self.c
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
        early = self.clock.early_minutes

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
        c.loc[g["P02"], "source"] = _choice(rng, ["referral", "trade_show", "ecommerce"], len(g["P02"]))
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
            tag = TAG_LABELS["to_reactivate"][1 if self.lang == "zh" else 0]     # the tag R02B writes
            c.loc[idx, ["tags", "consent", "unsub"]] = [tag, True, False]
            self._message(idx, "R02A", 9, clicked=False)
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
            day = self.clock.today + pd.Timedelta(days=days)
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
            self.planned_tickets.append({"cust": int(i), "satisfaction": (2, 3, 2)[j % 3], "closed_days": j % 2})
        # P13-P15 dormant customers and the wake-up flow
        for code in ("P13", "P14", "P15", "P15x"):
            idx = g[code]
            won(idx, age=rng.integers(500, 900, len(idx)))
            buys(idx, n_ord=rng.integers(4, 7, len(idx)), first=rng.integers(400, 480, len(idx)),
                 last=rng.integers(120, 201, len(idx)), mu=6.6)
            seen(idx, rng.integers(40, 80, len(idx)))
            c.loc[idx, ["consent", "unsub"]] = [True, False]
        self._message(g["P14"], "R11A", 5, clicked=False)
        self._message(g["P15"], "R11A", 21, clicked=False)
        self._message(g["P15"], "R11B", 12, clicked=False)
        self._message(g["P15x"], "R11A", 21, clicked=True)
        # P16 cadence overdue (P16x: followed up yesterday)
        for code, days in (("P16", 5), ("P16x", 1)):
            idx = g[code]
            base(idx, level=rng.integers(1, 3, len(idx)), age=rng.integers(60, 120, len(idx)))
            seen(idx, days, n_int=rng.integers(2, 5, len(idx)))

    def _message(self, idx, rule_id: str, days_ago: int, *, clicked: bool) -> None:
        self.planned_messages.append(pd.DataFrame({
            "cust": np.asarray(idx, dtype=np.int64), "rule_id": rule_id, "days": days_ago, "clicked": clicked}))

    def _tags(self) -> None:
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

    def _duplicates(self, n_dup: int) -> None:
        """Customers typed in twice: same phone, a different spelling of the name."""
        c = self.c
        if n_dup <= 0:
            return
        pool = np.flatnonzero((c["plant"] == "").to_numpy())
        src = self.rng.choice(pool, size=min(n_dup, len(pool)), replace=False)
        dup = c.iloc[src].copy()
        dup["dup_of"] = src
        dup["age"] = self.rng.integers(1, 30, len(dup))
        dup["level"] = 0
        dup[["lost", "churned", "buyer", "high"]] = False
        dup[["n_ord", "n_int"]] = 0
        dup["contract_end"] = -99999
        dup["source"] = "website_form"
        dup["intent"] = "C"
        dup["tags"] = ""
        dup["plant"] = "dup"
        self.c = pd.concat([c, dup], ignore_index=True)

    def _identity(self) -> None:
        """Names, contacts, phones, e-mails, regions, titles (Faker pools, sampled)."""
        from faker import Faker

        rng, c = self.rng, self.c
        n = len(c)
        fake = Faker("zh_CN" if self.zh else "en_US")
        fake.seed_instance(self.faker_seed)
        first = np.array(sorted({fake.first_name() for _ in range(400)}), dtype=object)
        last = np.array(sorted({fake.last_name() for _ in range(300)}), dtype=object)
        cities = np.array(CITIES[self.lang], dtype=object)
        city_w = 1 / np.arange(1, len(cities) + 1) ** 0.8
        c["region"] = _choice(rng, cities, n, city_w)
        contact_first = first[rng.integers(0, len(first), n)]
        contact_last = last[rng.integers(0, len(last), n)]
        if self.zh:
            c["contact_name"] = contact_last + contact_first
            prefixes = np.array(sorted({fake.company_prefix() for _ in range(600)}), dtype=object)
            word = np.empty(n, dtype=object)
            for ind, words in ZH_INDUSTRY_WORD.items():
                m = (c["industry"] == ind).to_numpy()
                word[m] = np.array(words, dtype=object)[rng.integers(0, len(words), int(m.sum()))]
            suffix = np.array(ZH_COMPANY_SUFFIX, dtype=object)[rng.integers(0, len(ZH_COMPANY_SUFFIX), n)]
            name = c["region"].to_numpy(dtype=object) + prefixes[rng.integers(0, len(prefixes), n)] + word + suffix
        else:
            c["contact_name"] = contact_first + " " + contact_last
            pool_n = int(np.clip(n // 2, 300, 20000))
            companies = np.array(sorted({fake.company() for _ in range(pool_n)}), dtype=object)
            name = companies[rng.integers(0, len(companies), n)]
        c["name"] = name
        # duplicates: copy identity of the original, respell the name
        dups = np.flatnonzero(c["dup_of"].to_numpy() >= 0)
        orig = c["dup_of"].to_numpy()[dups]
        c.loc[dups, "name"] = [self._respell(x, j) for j, x in enumerate(c["name"].to_numpy()[orig])]
        c.loc[dups, "contact_name"] = c["contact_name"].to_numpy()[orig]
        c.loc[dups, "region"] = c["region"].to_numpy()[orig]
        # (name, contact) pairs must be unique apart from planted duplicates
        for _ in range(5):
            clash = c.duplicated(["name", "contact_name"]).to_numpy() & (c["dup_of"].to_numpy() < 0)
            if not clash.any():
                break
            k = int(clash.sum())
            new = last[rng.integers(0, len(last), k)]
            newf = first[rng.integers(0, len(first), k)]
            c.loc[clash, "contact_name"] = (new + newf) if self.zh else (newf + " " + new)
        c["title"] = np.where(rng.random(n) < 0.85, self.pick(TITLES)[rng.integers(0, len(TITLES), n)], None)
        # phones: unique by construction
        if self.zh:
            r = rng.choice(len(CN_MOBILE) * 10**8, size=n, replace=False)
            phone = "+86" + np.array(CN_MOBILE, dtype=object)[r // 10**8] + pd.Series(r % 10**8).astype(
                "string").str.zfill(8).to_numpy(dtype=object)
        else:
            r = rng.choice(len(AREA_CODES) * 790 * 10**4, size=n, replace=False)
            exch = 210 + (r // 10**4) % 790
            exch = np.where(exch == 555, 556, exch)
            phone = ("+1" + np.array(AREA_CODES, dtype=object)[r // (790 * 10**4)] + exch.astype(str).astype(object)
                     + pd.Series(r % 10**4).astype("string").str.zfill(4).to_numpy(dtype=object))
        phone = np.asarray(phone, dtype=object)
        phone[dups] = phone[orig]
        c["phone"] = phone
        # e-mails: unique by construction (a running number where a local part repeats)
        if self.zh:
            users = np.array(sorted({fake.user_name() for _ in range(3000)}), dtype=object)
            qq = rng.random(n) < 0.4
            qq_num = rng.choice(9 * 10**9, size=n, replace=False) + 10**8
            local = np.where(qq, qq_num.astype(str).astype(object), users[rng.integers(0, len(users), n)])
            domain = np.where(qq, "qq.com", np.array(ZH_EMAIL_DOMAINS[1:], dtype=object)[
                rng.integers(0, len(ZH_EMAIL_DOMAINS) - 1, n)])
        else:
            local = (pd.Series(contact_first).str.lower() + "." + pd.Series(contact_last).str.lower()).to_numpy(
                dtype=object)
            dom = pd.Series(c["name"].to_numpy(dtype=object)).str.lower().str.replace(
                r"(,? ?(inc|llc|ltd|plc|group|and sons)\.?$)", "", regex=True).str.replace(
                r"[^a-z]", "", regex=True).str.slice(0, 18)
            domain = (dom.where(dom.str.len() > 2, "mail") + ".com").to_numpy(dtype=object)
            local = pd.Series(local).str.replace(r"[^a-z.]", "", regex=True).to_numpy(dtype=object)
        email = pd.Series(local + "@" + domain, dtype="string")
        rep = email.groupby(email).cumcount()
        email = email.where(rep == 0, pd.Series(local, dtype="string") + rep.astype("string") + "@" +
                            pd.Series(domain, dtype="string"))
        email = email.to_numpy(dtype=object)
        email[dups] = None
        c["email"] = email
        c["preferred"] = _choice(rng, ["email", "sms", "wecom", "phone"], n,
                                 [0.3, 0.2, 0.35, 0.15] if self.zh else [0.55, 0.25, 0.05, 0.15])
        # about 3% of customers miss some optional fields
        gaps = np.flatnonzero(rng.random(n) < 0.03)
        for col in ("contact_name", "email", "industry", "region", "title", "phone"):
            hit = gaps[rng.random(len(gaps)) < 0.4]
            hit = hit[c["plant"].to_numpy()[hit] == ""]
            if col == "phone":
                hit = hit[c["dup_of"].to_numpy()[hit] < 0]
            c.loc[hit, col] = None

    def _respell(self, name: str, j: int) -> str:
        if self.zh:
            variants = (lambda s: s.replace("股份有限公司", "").replace("集团有限公司", "集团").replace("有限公司", ""),
                        lambda s: s + "（总部）", lambda s: s.replace("有限公司", "有限责任公司"))
        else:
            variants = (lambda s: s.upper(), lambda s: s.replace(" and ", " & ").replace("-", " ") + " ",
                        lambda s: s.rstrip(".") + (" Inc." if not s.endswith(("Inc", "Inc.")) else "orporated"),
                        lambda s: s.replace(",", "").lower().title())
        out = variants[j % len(variants)](name).strip()
        return out if out != name else name + (" 公司" if self.zh else " Co.")

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
        k = _positions(counts)
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
            "method": _choice(rng, ["phone", "visit", "email", "online_meeting", "wecom"], m,
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
        return _typed(df, "interactions")

    def orders(self) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
        counts = c["n_ord"].to_numpy()
        cust = np.repeat(np.arange(len(c)), counts)
        k = _positions(counts)
        m = len(cust)
        first, last = c["first_ord"].to_numpy()[cust], c["last_ord"].to_numpy()[cust]
        ago = np.where(k == 0, first, np.where(k == counts[cust] - 1, last,
                                              last + np.floor(rng.random(m) * (first - last + 1)).astype(np.int64)))
        amount = np.round(np.exp(c["mu"].to_numpy()[cust] + rng.normal(0, 0.65, m)), 0)
        returns = (rng.random(m) < 0.005) & (k > 0)
        amount = np.where(returns, -np.round(amount * 0.5, 0), amount)
        src = c["source"].to_numpy(dtype=object)[cust]
        channel = _choice(rng, ORDER_CHANNELS, m, [0.45, 0.25, 0.2, 0.1])
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
        return _typed(df, "orders")

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
        u_stage = _choice(rng, ["qualified", "proposal", "negotiation"], len(ups), [0.45, 0.35, 0.2])
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
        return _typed(df, "deals")

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
        return _typed(df, "tasks")

    def _task_frame(self, cust_ids, names, owners, due_at, created_at, status) -> pd.DataFrame:
        rng, clock = self.rng, self.clock
        m = len(cust_ids)
        owners = np.where(owners == "", self.reps[rng.integers(0, len(self.reps), m)], owners)
        titles = self.pick(TASK_TITLES)[rng.integers(0, len(TASK_TITLES), m)]
        by = _choice(rng, ["owner", "manager", "rule:R12"], m, [0.65, 0.1, 0.25])
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
            "priority": _choice(rng, ["high", "normal", "low"], m, [0.2, 0.65, 0.15]),
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
        ttype = _choice(rng, list(TICKET_TITLES), m, [0.35, 0.3, 0.1, 0.25])
        prio = np.where(ttype == "complaint", _choice(rng, ["urgent", "normal"], m, [0.6, 0.4]),
                        _choice(rng, ["urgent", "normal", "low"], m, [0.12, 0.6, 0.28]))
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
        return _typed(df, "tickets")

    def _audiences(self) -> dict[str, np.ndarray]:
        """Who each campaign reached (the generator's view of its audience expression at send time)."""
        c = self.c
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

    def campaigns(self) -> pd.DataFrame:
        clock = self.clock
        sizes = {k: int(v.sum()) for k, v in self._audiences().items()}
        rows = []
        for cid, names, audience, channel, send, cost, targets, content in CAMPAIGNS:
            rows.append({
                "campaign_id": cid, "name": names[1] if self.zh else names[0], "audience": audience,
                "channel": channel, "content": content[1] if self.zh else content[0],
                "send_at": clock.today + pd.Timedelta(days=send) + pd.Timedelta(hours=10),
                "owner": self.manager if cid in ("CP01", "CP05") else self.reps[int(cid[-1]) % len(self.reps)],
                "cost": float(np.round((cost[0] + cost[1] * sizes[cid]) * (7 if self.zh else 1), -2)),
                "target_reach": targets[0], "target_open": targets[1], "target_conversion": targets[2]})
        return _typed(pd.DataFrame(rows), "campaigns")

    def messages(self) -> pd.DataFrame:
        c = self.c
        audiences = self._audiences()
        frames = []
        for cid, _names, _aud, channel, send, _cost, _targets, content in CAMPAIGNS:
            who = np.flatnonzero(audiences[cid])
            if not len(who):
                continue
            tpl = content[1] if self.zh else content[0]
            frames.append(self._campaign_messages(who, cid, None, channel, send, tpl))
        for pm in self.planned_messages:
            rule = pm["rule_id"].iloc[0]
            channel, tpl = _rule_message(rule, self.lang)
            frames.append(self._campaign_messages(pm["cust"].to_numpy(), None, rule, channel,
                                                  -int(pm["days"].iloc[0]), tpl,
                                                  clicked=pm["clicked"].to_numpy(), planted=True))
        # welcome messages sent to customers of the last two months (service messages)
        recent = np.flatnonzero((c["age"].to_numpy() >= 2) & (c["age"].to_numpy() <= 60))
        if len(recent):
            channel, tpl = _rule_message("R10", self.lang)
            pref = c["preferred"].to_numpy(dtype=object)[recent]
            for ch in ("email", "sms", "wecom"):
                sel = recent[(pref == ch) | ((pref == "phone") & (ch == "sms"))]
                if len(sel):
                    frames.append(self._campaign_messages(sel, None, "R10", ch, None, tpl, service=True))
        if not frames:
            return _typed(pd.DataFrame({"message_id": pd.Series(dtype="string")}), "messages")
        df = pd.concat(frames, ignore_index=True)
        df = df.sort_values(["queued_at", "customer_id"], kind="stable").reset_index(drop=True)
        df.insert(0, "message_id", first_ids("messages", len(df)).to_numpy())
        return _typed(df, "messages")

    def _campaign_messages(self, who, campaign_id, rule_id, channel, send_days, template, *, clicked=None,
                           planted=False, service=False) -> pd.DataFrame:
        rng, c, clock = self.rng, self.c, self.clock
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
        frame["contact_name"] = frame["contact_name"].fillna(FALLBACK_CONTACT[int(self.zh)])
        content = _fill(template, frame).to_numpy(dtype=object)
        consent, unsub = c["consent"].to_numpy()[who], c["unsub"].to_numpy()[who]
        status = np.full(m, "sent", dtype=object)
        reason = np.full(m, None, dtype=object)
        future = sched > now
        if not service:
            reason = np.where(unsub, SUPPRESSED["unsubscribed"][int(self.zh)],
                              np.where(~consent, SUPPRESSED["no_consent"][int(self.zh)], None))
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

    def settings(self, orders: pd.DataFrame) -> dict[str, object]:
        """as_of, language, and a monthly revenue target a little above the recent average."""
        clock = self.clock
        recent = orders.loc[orders["order_date"] > clock.today - pd.Timedelta(days=180), "amount"].sum()
        target = float(np.round(recent / 6 * 1.1, -3)) if recent > 0 else 0.0
        out: dict[str, object] = {"as_of": clock.as_of, "language": self.lang, "target_revenue_month": target}
        if not self.zh:
            out["phone_region"] = "US"
        return out


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


def _typed(df: pd.DataFrame, entity: str) -> pd.DataFrame:
    """Schema dtypes for a generated frame; index = Excel row number."""
    from .io.workbook import coerce_frame

    out = coerce_frame(df, ENTITIES[entity])
    out = out[[f.key for f in ENTITIES[entity].input_fields]]
    out.index = pd.RangeIndex(2, 2 + len(out), name="_row")
    return out


# --------------------------------------------------------------------------- writing

def generate_workspace(directory: str | os.PathLike, customers: int = 500, seed: int = 7, lang: str = "en", *,
                       orders_per_customer: float | None = None, overwrite: bool = False,
                       progress: bool = False, as_of: object = None, purpose: str = "sample") -> Path:
    """Generate a sample workspace in ``directory`` and return its path.

    Refuses (:class:`WorkspaceExists`) when the folder already holds a
    workspace, unless ``overwrite``.  The five workbooks are written through
    the safe write path; ``progress`` prints timings on stderr.  ``purpose``
    is recorded in the marker (``crmkit demo`` only ever replaces folders
    whose purpose is "demo").
    """
    folder = Path(directory)
    lang = check_lang(lang)
    if folder.exists() and not folder.is_dir():
        raise WorkspaceExists(msg("e_exists_not_folder"), file=str(folder))
    found = [workbook_file(w) for w in WORKBOOKS if (folder / workbook_file(w)).exists()]
    if found and not overwrite:
        raise WorkspaceExists(msg("e_sample_exists", found=", ".join(found)), file=str(folder))
    say = _Progress(progress)
    tables = generate_tables(customers, seed=seed, lang=lang, orders_per_customer=orders_per_customer,
                             as_of=as_of, progress=progress)
    say(msg("p_generated"))
    write_tables(folder, tables, lang, progress=progress)
    marker = folder / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"generator": "crmkit.sample", "purpose": purpose,
                                  "customers": int(customers), "seed": seed,
                                  "lang": lang, "orders_per_customer": orders_per_customer,
                                  "as_of": str(tables["settings"].set_index("key").loc["as_of", "value"])},
                                 indent=1), encoding="utf-8")
    say(msg("p_done"))
    return folder


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], lang: str, *, progress: bool = False) -> None:
    """Write every workbook of the workspace (entities missing from ``tables`` come from the template)."""
    from .io.workbook import write_workbook
    from .templates import template_frames

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reports").mkdir(exist_ok=True)
    say = _Progress(progress)
    from .templates import team_names

    all_frames = template_frames(lang)
    team = team_names(tables.get("team", all_frames["rules"]["team"]))
    for wb, frames in all_frames.items():
        merged = {k: tables.get(k, frames[k]) for k in frames}
        t0 = time.perf_counter()
        write_workbook(folder / workbook_file(wb), merged, lang, workbook_key=wb, workspace=folder,
                       team_names=team)
        rows = sum(len(df) for df in merged.values())
        say(msg("p_written", file=workbook_file(wb), rows=f"{rows:,}", seconds=f"{time.perf_counter() - t0:.1f}"))


def sample_marker(folder: str | os.PathLike) -> dict | None:
    """What the generator recorded about a workspace it made (``.crmkit/sample.json``), else None."""
    try:
        data = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("generator") == "crmkit.sample" else None


def is_sample_workspace(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a workspace this module generated (it carries the marker)."""
    return sample_marker(folder) is not None


def summary_text(path: str | os.PathLike) -> str:
    """A short summary of a workspace: rows per sheet, as_of and language, in its language."""
    from .io.workbook import find_sheet, open_reader
    from .workspace import open_workspace

    ws = open_workspace(path)
    lang = ws.lang
    as_of = ws.settings.get("as_of")
    when = pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M") if as_of is not None and not pd.isna(as_of) \
        else t("sample_now", lang)
    lines = [t("sample_summary", lang).format(path=str(ws.path), lang=t("lang_" + lang, lang), as_of=when)]
    for wb, keys in WORKBOOKS.items():
        file = ws.file(wb)
        if not file.exists():
            continue
        reader = open_reader(file)
        parts = []
        for key in keys:
            ent = ENTITIES[key]
            name = find_sheet(reader.sheet_names, ent)
            rows = 0
            if name is not None:
                sheet = reader.load_sheet(name, n_rows=1, dtypes="string")
                rows = max(int(sheet.total_height), 0)
            parts.append(f"{ent.sheet_name(lang)} {rows:,}")
        lines.append(f"  {workbook_file(wb):<16} " + (" · ".join(parts)))
    return "\n".join(lines)


__all__ = ["DEFAULT_AS_OF", "generate_tables", "generate_workspace", "is_sample_workspace", "sample_marker",
           "summary_text", "write_tables"]
