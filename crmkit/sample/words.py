"""Word pools of the sample generator: industries, sources, names, products, texts (en, zh).

Pairs are ``(English, Chinese)``; :func:`lang_pick` takes one side.  The funnel
model (:data:`SOURCES`, :data:`SIZES`) lives here too, as data.
:func:`add_identity` gives the latent customers their names, contacts, phones
and e-mails from seeded Faker pools.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .draw import choice

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


def lang_pick(pairs, lang: str) -> np.ndarray:
    """Array of the ``lang`` side of (en, zh) pairs."""
    return np.array([p[1] if lang == "zh" else p[0] for p in pairs], dtype=object)


# --------------------------------------------------------------------------- identity


def add_identity(c: pd.DataFrame, rng: np.random.Generator, lang: str, faker_seed: int) -> None:
    """Add names, contacts, phones, e-mails, regions and titles to the latent customers ``c`` (in place).

    Faker (seeded with ``faker_seed``) only fills small pools that ``rng`` samples from.
    Planted duplicates (``dup_of`` >= 0) copy their original's identity with the name respelt.
    """
    from faker import Faker

    zh = lang == "zh"
    n = len(c)
    fake = Faker("zh_CN" if zh else "en_US")
    fake.seed_instance(faker_seed)
    first = np.array(sorted({fake.first_name() for _ in range(400)}), dtype=object)
    last = np.array(sorted({fake.last_name() for _ in range(300)}), dtype=object)
    cities = np.array(CITIES[lang], dtype=object)
    city_w = 1 / np.arange(1, len(cities) + 1) ** 0.8
    c["region"] = choice(rng, cities, n, city_w)
    contact_first = first[rng.integers(0, len(first), n)]
    contact_last = last[rng.integers(0, len(last), n)]
    if zh:
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
    c.loc[dups, "name"] = [respell(x, j, zh) for j, x in enumerate(c["name"].to_numpy()[orig])]
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
        c.loc[clash, "contact_name"] = (new + newf) if zh else (newf + " " + new)
    c["title"] = np.where(rng.random(n) < 0.85, lang_pick(TITLES, lang)[rng.integers(0, len(TITLES), n)], None)
    # phones: unique by construction
    if zh:
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
    if zh:
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
    c["preferred"] = choice(rng, ["email", "sms", "wecom", "phone"], n,
                             [0.3, 0.2, 0.35, 0.15] if zh else [0.55, 0.25, 0.05, 0.15])
    # about 3% of customers miss some optional fields
    gaps = np.flatnonzero(rng.random(n) < 0.03)
    for col in ("contact_name", "email", "industry", "region", "title", "phone"):
        hit = gaps[rng.random(len(gaps)) < 0.4]
        hit = hit[c["plant"].to_numpy()[hit] == ""]
        if col == "phone":
            hit = hit[c["dup_of"].to_numpy()[hit] < 0]
        c.loc[hit, col] = None


def respell(name: str, j: int, zh: bool) -> str:
    """Another spelling of a company name, the way a second person would type it (variant ``j``)."""
    if zh:
        variants = (lambda s: s.replace("股份有限公司", "").replace("集团有限公司", "集团").replace("有限公司", ""),
                    lambda s: s + "（总部）", lambda s: s.replace("有限公司", "有限责任公司"))
    else:
        variants = (lambda s: s.upper(), lambda s: s.replace(" and ", " & ").replace("-", " ") + " ",
                    lambda s: s.rstrip(".") + (" Inc." if not s.endswith(("Inc", "Inc.")) else "orporated"),
                    lambda s: s.replace(",", "").lower().title())
    out = variants[j % len(variants)](name).strip()
    return out if out != name else name + (" 公司" if zh else " Co.")

# ---------------------------------------------------------------- customers (frame)
