"""The data contract: every workbook, entity, field and enumeration of crmkit.

This module is the single source of truth.  Templates, readers, writers,
validation, the rule language and the dashboards all derive from it; nothing
else repeats the field list.

* A :class:`Choice` is one enumeration value: canonical ``code`` plus English
  and Chinese labels and extra synonyms accepted on input.
* A :class:`Field` is one column: canonical snake_case ``key``, headers in both
  languages, a ``type``, a ``required`` flag and, for enumerations, its choices.
* An :class:`Entity` is one sheet (Customers, Orders, ...), living in one
  workbook of the workspace.

Canonical keys and codes are what DataFrames hold in memory; labels are what
users see in the workspace's language.

Why one file of about eight hundred lines: it is the data contract of DESIGN
§3, written as tables (every enumeration, then every entity with its fields,
ID shape, references, derived and completeness fields).  Reviewing or changing
the contract means reading one file top to bottom, as one reads the design's
table; the code (the classes and lookups) is the first two hundred lines.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

# --------------------------------------------------------------------------- types

#: Field types and what they hold in memory.
FIELD_TYPES = {
    "id": "string",          # identifiers are strings, never numbers
    "text": "string",
    "longtext": "string",
    "phone": "string",        # normalised to E.164 by validation
    "email": "string",
    "person": "string",       # a name from the Team sheet
    "expression": "string",   # rule expression (crmkit.rules)
    "params": "string",       # action parameters key=value; ...
    "enum": "string",         # canonical code of a Choice
    "multi": "string",        # ;-separated canonical codes or free tags
    "bool": "boolean",        # yes/no
    "int": "Int64",
    "rating": "Int64",        # 1..5
    "number": "float64",
    "money": "float64",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
}

DATE_TYPES = frozenset({"date", "datetime"})
NUMBER_TYPES = frozenset({"int", "rating", "number", "money"})
TEXT_TYPES = frozenset(k for k, v in FIELD_TYPES.items() if v == "string")


@dataclass(frozen=True)
class Choice:
    """One value of an enumeration."""

    code: str
    en: str
    zh: str
    synonyms: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Enum:
    """A named enumeration: an ordered tuple of choices."""

    name: str
    choices: tuple[Choice, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.choices)

    def labels(self, lang: str) -> list[str]:
        return [c.label(lang) for c in self.choices]

    def label(self, code: str, lang: str) -> str:
        for c in self.choices:
            if c.code == code:
                return c.label(lang)
        return code

    @property
    def lookup(self) -> dict[str, str]:
        """Normalised spelling (code, labels, synonyms) -> canonical code."""
        return _enum_lookup(self)


@cache
def _enum_lookup(enum: Enum) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in enum.choices:
        for s in (c.code, c.en, c.zh, *c.synonyms):
            out.setdefault(norm_token(s), c.code)
    return out


def _enum(name: str, *rows: tuple) -> Enum:
    return Enum(name, tuple(Choice(r[0], r[1], r[2], tuple(r[3]) if len(r) > 3 else ()) for r in rows))


@dataclass(frozen=True)
class Field:
    """One column of an entity."""

    key: str
    en: str
    zh: str
    type: str = "text"
    required: bool = False
    enum: Enum | None = None
    hint_en: str = ""
    hint_zh: str = ""
    derived: bool = False      # computed by crmkit, never typed by a user
    synonyms: tuple[str, ...] = ()  # extra header spellings accepted on input
    custom: bool = False       # declared by the user in the Fields sheet

    def header(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def hint(self, lang: str) -> str:
        return self.hint_zh if lang == "zh" else self.hint_en

    @property
    def dtype(self) -> str:
        return FIELD_TYPES[self.type]


@dataclass(frozen=True)
class Entity:
    """One sheet of a workbook: Customers, Orders, Tasks, ...

    Besides its fields an entity says what every module needs to know about it:
    how new IDs look (``id_prefix`` then a number zero-padded to ``id_width``
    digits, see :mod:`crmkit.ids`), which of its fields hold another entity's
    ID (``references``), whether ``crmkit import`` fills it (``importable``),
    the fields crmkit computes for it (``derived``: rules, segments and
    dashboards use them, nobody types them) and the fields a good record has
    filled in (``completeness``; empty = all its input fields).
    """

    key: str                  # canonical, e.g. "customers"
    en: str                   # sheet name in English workbooks
    zh: str                   # sheet name in Chinese workbooks
    workbook: str             # workbook key, e.g. "customers" -> customers.xlsx
    fields: tuple[Field, ...]
    id_field: str | None = None
    synonyms: tuple[str, ...] = ()
    id_prefix: str = ""       # new IDs: prefix + number, e.g. "C" -> C00001
    id_width: int = 0         # ... zero-padded to at least this many digits
    references: tuple[tuple[str, str], ...] = ()   # (field key, entity key whose ID it holds)
    importable: bool = False  # ``crmkit import`` may import into it
    derived: tuple[Field, ...] = ()                 # computed by crmkit.derived, never typed
    completeness: tuple[str, ...] = ()              # the fields the completeness score counts

    def sheet_name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def reference(self, key: str) -> str | None:
        """The entity whose ID field ``key`` holds (``customer_id`` of an order: customers), or None."""
        return dict(self.references).get(key)

    @property
    def completeness_fields(self) -> tuple[str, ...]:
        """The fields counted by the completeness score: ``completeness``, else every input field."""
        return self.completeness or tuple(f.key for f in self.input_fields)

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]

    @property
    def input_fields(self) -> tuple[Field, ...]:
        """The fields a user types (everything but derived ones)."""
        return tuple(f for f in self.fields if not f.derived)

    @property
    def required(self) -> list[str]:
        return [f.key for f in self.fields if f.required]

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(f"{self.key} has no field {key!r}")

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.fields)

    @property
    def header_lookup(self) -> dict[str, str]:
        """Normalised header spelling (key, English, Chinese, synonyms) -> canonical key."""
        return _header_lookup(self)


@cache
def _header_lookup(entity: Entity) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in entity.fields:
        for s in (f.key, f.en, f.zh, *f.synonyms):
            out.setdefault(norm_token(s), f.key)
    return out


def norm_token(s: object) -> str:
    """Normalise a header or enumeration spelling for matching.

    NFKC (full-width -> half-width), lower case, no spaces, underscores,
    hyphens, asterisks or brackets around a required marker.
    """
    text = unicodedata.normalize("NFKC", str(s)).strip().lower()
    text = text.replace("*", "")
    return re.sub(r"[\s_\-]+", "", text)


# --------------------------------------------------------------------------- enumerations

YES_NO = _enum("yes_no", ("yes", "yes", "是", ("y", "true", "1", "同意", "已同意")),
               ("no", "no", "否", ("n", "false", "0", "不同意", "未同意")))

CUSTOMER_TYPE = _enum(
    "customer_type",
    ("new", "new", "新客户", ("新",)),
    ("existing", "existing", "老客户", ("老", "现有客户", "存量客户")),
    ("potential", "potential", "潜在客户", ("潜在",)),
)

SOURCE = _enum(
    "source",
    ("website_form", "website form", "官网表单", ("官网", "网站表单", "官网咨询", "web form", "website")),
    ("trade_show", "trade show", "展会", ("展会活动", "线下展会", "exhibition")),
    ("referral", "referral", "客户推荐", ("转介绍", "老客户推荐", "推荐")),
    ("online_ad", "online ad", "线上推广", ("网络广告", "广告投放", "线上广告", "sem", "ad")),
    ("social_media", "social media", "社交媒体", ("微信", "微博", "抖音", "小红书", "social")),
    ("ecommerce", "e-commerce", "电商平台", ("电商", "天猫", "京东", "online shop")),
    ("cold_call", "cold call", "电话陌拜", ("陌拜", "电话营销", "外呼", "telemarketing")),
    ("other", "other", "其他", ("其它",)),
)

INTENT_LEVEL = _enum(
    "intent_level",
    ("A", "A", "A级", ("a级", "高意向", "high")),
    ("B", "B", "B级", ("b级", "较高意向")),
    ("C", "C", "C级", ("c级", "一般意向", "medium")),
    ("D", "D", "D级", ("d级", "低意向", "low")),
)

STAGE = _enum(
    "stage",
    ("lead", "lead", "初步接触", ("初次接触", "初步接洽", "线索", "new lead")),
    ("qualified", "qualified", "需求分析", ("需求确认", "已确认需求")),
    ("proposal", "proposal", "方案报价", ("方案提交", "方案制定", "报价", "quote")),
    ("negotiation", "negotiation", "商务谈判", ("谈判", "合同谈判")),
    ("won", "won", "成交", ("成交签约", "已成交", "赢单", "closed won")),
    ("lost", "lost", "流失", ("已流失", "输单", "丢单", "closed lost")),
)

INDUSTRY = _enum(
    "industry",
    ("manufacturing", "manufacturing", "制造业", ("制造", "工业")),
    ("retail", "retail", "零售业", ("零售",)),
    ("it_internet", "IT / internet", "IT/互联网", ("it", "互联网", "internet", "软件", "software", "tech")),
    ("finance", "finance", "金融", ("金融业", "银行", "保险")),
    ("education", "education", "教育", ("教育培训", "培训")),
    ("healthcare", "healthcare", "医疗健康", ("医疗", "医药", "健康")),
    ("real_estate", "real estate", "房地产", ("地产",)),
    ("services", "services", "服务业", ("服务", "咨询", "consulting")),
    ("other", "other", "其他", ("其它",)),
)

SIZE = _enum(
    "size",
    ("micro", "1-19 staff", "微型（1-19人）", ("微型", "micro")),
    ("small", "20-99 staff", "小型（20-99人）", ("小型", "small")),
    ("medium", "100-499 staff", "中型（100-499人）", ("中型", "medium")),
    ("large", "500+ staff", "大型（500人以上）", ("大型", "large", "enterprise")),
)

CHANNEL = _enum(
    "channel",
    ("email", "email", "邮件", ("e-mail", "电子邮件", "邮箱")),
    ("sms", "SMS", "短信", ("text", "text message")),
    ("wecom", "WeCom", "企业微信", ("企微", "wechat work", "微信")),
)

PREFERRED_CHANNEL = _enum("preferred_channel", *[(c.code, c.en, c.zh, c.synonyms) for c in CHANNEL.choices],
                          ("phone", "phone", "电话", ("手机", "call")))

METHOD = _enum(
    "method",
    ("phone", "phone", "电话", ("电话拜访", "电话沟通", "call")),
    ("visit", "visit", "上门拜访", ("拜访", "线下会议", "面谈", "meeting")),
    ("email", "email", "邮件", ("邮件沟通", "e-mail")),
    ("online_meeting", "online meeting", "线上会议", ("视频会议", "网络会议")),
    ("wecom", "WeCom", "企业微信", ("微信", "企微")),
)

ORDER_CHANNEL = _enum(
    "order_channel",
    ("direct", "direct sales", "直销", ("direct",)),
    ("online", "online store", "线上商城", ("电商", "网店", "online")),
    ("partner", "partner", "渠道代理", ("代理", "经销商", "distributor")),
    ("store", "retail store", "门店", ("线下门店", "shop")),
)

PRODUCT_STATUS = _enum(
    "product_status",
    ("active", "on sale", "在售", ("active", "selling", "上架", "正常")),
    ("discontinued", "discontinued", "停售", ("停产", "下架", "inactive")),
)

TASK_STATUS = _enum(
    "task_status",
    ("open", "open", "待办", ("未完成", "进行中", "todo")),
    ("done", "done", "已完成", ("完成", "completed")),
    ("cancelled", "cancelled", "已取消", ("取消", "canceled")),
)

TASK_PRIORITY = _enum(
    "task_priority",
    ("high", "high", "高", ("紧急", "重要")),
    ("normal", "normal", "普通", ("中", "一般", "medium")),
    ("low", "low", "低", ()),
)

TICKET_TYPE = _enum(
    "ticket_type",
    ("after_sales", "after-sales", "售后服务", ("售后", "after sales")),
    ("inquiry", "inquiry", "咨询", ("产品咨询", "enquiry")),
    ("complaint", "complaint", "投诉", ("客户投诉",)),
    ("tech_support", "technical support", "技术支持", ("技术问题", "tech support")),
)

TICKET_PRIORITY = _enum(
    "ticket_priority",
    ("urgent", "urgent", "紧急", ("高", "high")),
    ("normal", "normal", "普通", ("中", "一般")),
    ("low", "low", "低", ()),
)

TICKET_STATUS = _enum(
    "ticket_status",
    ("open", "open", "待处理", ("新建", "未处理")),
    ("in_progress", "in progress", "处理中", ("进行中",)),
    ("closed", "closed", "已关闭", ("已解决", "关闭", "resolved")),
)

MESSAGE_KIND = _enum(
    "message_kind",
    ("marketing", "marketing", "营销", ("营销消息", "promotion")),
    ("service", "service", "服务", ("服务通知", "通知", "transactional")),
)

MESSAGE_STATUS = _enum(
    "message_status",
    ("queued", "queued", "待发送", ("排队中",)),
    ("sending", "sending", "发送中", ("正在发送",)),
    ("sent", "sent", "已发送", ("发送成功",)),
    ("failed", "failed", "发送失败", ("失败",)),
    ("suppressed", "suppressed", "已拦截", ("已屏蔽", "未发送")),
)

RULE_ENTITY = _enum(
    "rule_entity",
    ("customers", "customers", "客户", ("customer",)),
    ("deals", "deals", "商机", ("deal",)),
    ("tickets", "tickets", "工单", ("ticket",)),
    ("orders", "orders", "订单", ("order",)),
)

ACTION = _enum(
    "action",
    ("assign_owner", "assign owner", "分配负责人", ("分配",)),
    ("create_task", "create task", "创建任务", ("新建任务",)),
    ("add_tag", "add tag", "添加标签", ("打标签",)),
    ("remove_tag", "remove tag", "移除标签", ("删除标签",)),
    ("set", "set field", "修改字段", ("更新字段",)),
    ("notify", "notify", "发送通知", ("通知", "提醒")),
    ("queue_message", "queue message", "发送消息", ("发消息", "营销消息")),
    ("create_ticket", "create ticket", "创建工单", ("新建工单",)),
    ("escalate", "escalate", "升级主管", ("升级", "上报主管")),
)

ONCE = _enum(
    "once",
    ("ever", "once ever", "仅一次", ("once", "一次")),
    ("per_day", "once a day", "每天一次", ("daily", "每天")),
    ("per_week", "once a week", "每周一次", ("weekly", "每周")),
    ("per_month", "once a month", "每月一次", ("monthly", "每月")),
    ("per_year", "once a year", "每年一次", ("yearly", "每年")),
)

ROLE = _enum(
    "role",
    ("rep", "sales rep", "销售代表", ("销售", "rep", "service rep", "客服")),
    ("manager", "manager", "主管", ("经理", "销售主管", "销售经理")),
    ("admin", "admin", "管理员", ("administrator",)),
)

OUTCOME = _enum(
    "outcome",
    ("done", "done", "已执行", ()),
    ("skipped", "skipped", "已跳过", ()),
    ("suppressed", "suppressed", "已拦截", ()),
    ("failed", "failed", "失败", ()),
)

VALUE_TIER = _enum(
    "value_tier",
    ("high_value", "high value", "高价值客户", ("高价值",)),
    ("potential", "potential", "潜力客户", ("潜力",)),
    ("regular", "regular", "普通客户", ("普通",)),
    ("churn_risk", "churn risk", "流失风险客户", ("流失风险",)),
)

RFM_SEGMENT = _enum(
    "rfm_segment",
    ("champions", "Champions", "重要价值客户", ("冠军客户",)),
    ("loyal", "Loyal", "忠诚客户", ()),
    ("potential_loyalist", "Potential Loyalist", "潜在忠诚客户", ()),
    ("new", "New", "新客户", ("new customers",)),
    ("promising", "Promising", "有潜力客户", ()),
    ("need_attention", "Need Attention", "需要关注客户", ()),
    ("about_to_sleep", "About to Sleep", "即将沉睡客户", ()),
    ("at_risk", "At Risk", "有流失风险客户", ()),
    ("cant_lose", "Can't Lose", "不能失去的客户", ("cannot lose",)),
    ("hibernating", "Hibernating", "休眠客户", ()),
    ("lost", "Lost", "已流失客户", ()),
    ("no_orders", "No orders yet", "暂无订单", ("no orders",)),
)

#: Entities an admin may add custom fields to (Fields sheet).
CUSTOM_ENTITY = _enum(
    "custom_entity",
    ("customers", "customers", "客户", ("customer",)),
    ("interactions", "interactions", "跟进记录", ("interaction", "跟进")),
    ("orders", "orders", "订单", ("order",)),
    ("deals", "deals", "商机", ("deal",)),
    ("tasks", "tasks", "任务", ("task",)),
    ("tickets", "tickets", "工单", ("ticket",)),
    ("campaigns", "campaigns", "营销活动", ("campaign",)),
)

#: Field types an admin may choose for a custom field; codes are schema FIELD_TYPES keys.
CUSTOM_FIELD_TYPE = _enum(
    "custom_field_type",
    ("text", "text", "文本", ("string",)),
    ("longtext", "long text", "长文本", ("long_text", "多行文本", "paragraph")),
    ("number", "number", "数字", ("数值", "float")),
    ("int", "whole number", "整数", ("integer",)),
    ("money", "money", "金额", ("amount", "currency", "货币")),
    ("date", "date", "日期", ()),
    ("datetime", "date and time", "日期时间", ("时间",)),
    ("enum", "single choice", "单选", ("choice", "dropdown", "下拉", "下拉选择", "single")),
    ("multi", "multiple choice", "多选", ("multiple", "tags", "checkboxes")),
    ("bool", "yes/no", "是/否", ("yes no", "boolean", "checkbox", "是否")),
    ("rating", "rating 1-5", "评分", ("rating", "stars", "评分1-5", "星级")),
    ("person", "person from Team", "成员选择", ("person", "member", "团队成员", "人员")),
    ("phone", "phone", "电话", ("mobile", "手机")),
    ("email", "e-mail", "邮箱", ("email", "电子邮箱")),
)

#: Entities a form may create or update records of (Forms sheet).
FORM_ENTITY = _enum(
    "form_entity",
    ("customers", "customers", "客户", ("customer",)),
    ("interactions", "interactions", "跟进记录", ("interaction", "跟进")),
    ("tickets", "tickets", "工单", ("ticket",)),
)

ENUMS: dict[str, Enum] = {e.name: e for e in (
    YES_NO, CUSTOMER_TYPE, SOURCE, INTENT_LEVEL, STAGE, INDUSTRY, SIZE, CHANNEL, PREFERRED_CHANNEL,
    METHOD, ORDER_CHANNEL, PRODUCT_STATUS, TASK_STATUS, TASK_PRIORITY, TICKET_TYPE, TICKET_PRIORITY, TICKET_STATUS,
    MESSAGE_STATUS, MESSAGE_KIND, RULE_ENTITY, ACTION, ONCE, ROLE, OUTCOME, VALUE_TIER, RFM_SEGMENT,
    CUSTOM_ENTITY, CUSTOM_FIELD_TYPE, FORM_ENTITY,
)}

# --------------------------------------------------------------------------- entities

F = Field

#: The RFM fields of a customer: derived by crmkit rfm, written back to the sheet (clearly marked).
_RFM_FIELDS = (
    F("recency_days", "Recency (days)", "最近购买间隔（天）", "int", derived=True),
    F("frequency", "Frequency (orders)", "购买频次（单）", "int", derived=True),
    F("monetary", "Monetary (total)", "消费金额（合计）", "money", derived=True),
    F("r_score", "R score", "R 评分", "int", derived=True),
    F("f_score", "F score", "F 评分", "int", derived=True),
    F("m_score", "M score", "M 评分", "int", derived=True),
    F("rfm_segment", "RFM segment", "RFM 客户分群", "enum", enum=RFM_SEGMENT, derived=True),
    F("value_tier", "Value tier", "客户价值分层", "enum", enum=VALUE_TIER, derived=True),
)

# derived by crmkit clv (written back like the RFM columns); see crmkit.clv.predict for the formulas
_CLV_FIELDS = (
    F("p_alive", "P(alive)", "活跃概率", "number", derived=True),
    F("expected_purchases", "Expected purchases (horizon)", "预计购买次数（预测期内）", "number", derived=True),
    F("expected_spend", "Expected order value", "预计客单价", "money", derived=True),
    F("clv", "CLV (customer lifetime value)", "客户终身价值（CLV）", "money", derived=True),
)

CUSTOMERS = Entity("customers", "Customers", "客户", "customers", id_field="customer_id", id_prefix="C", id_width=5, importable=True,
                   synonyms=("客户信息", "客户档案", "customer"), fields=(
    F("customer_id", "Customer ID", "客户编号", "id", True, synonyms=("客户ID", "客户id", "编号", "id"),
      hint_en="Unique ID, e.g. C00001. Leave blank on import to get a new one.",
      hint_zh="唯一编号，如 C00001。导入时可留空，由系统生成。"),
    F("name", "Customer name", "客户名称", "text", True, synonyms=("公司名称", "企业名称", "客户", "company", "company name", "name"),
      hint_en="Company or person name.", hint_zh="公司或个人名称。"),
    F("contact_name", "Contact", "联系人", "text", synonyms=("联系人姓名", "contact person", "姓名")),
    F("title", "Job title", "职务", "text", synonyms=("职位", "position")),
    F("phone", "Phone", "联系电话", "phone", synonyms=("手机", "手机号", "手机号码", "电话", "联系方式", "mobile", "tel", "telephone"),
      hint_en="Mobile or landline; stored as +86... (E.164).", hint_zh="手机号或座机，统一保存为 +86 格式。"),
    F("email", "E-mail", "电子邮箱", "email", synonyms=("邮箱", "电子邮件", "mail", "email address", "e-mail address")),
    F("industry", "Industry", "所属行业", "enum", enum=INDUSTRY, synonyms=("行业",)),
    F("size", "Company size", "公司规模", "enum", enum=SIZE, synonyms=("规模", "企业规模", "员工人数")),
    F("region", "Region", "地区", "text", synonyms=("区域", "城市", "省份", "所在地区", "city")),
    F("customer_type", "Customer type", "客户类型", "enum", enum=CUSTOMER_TYPE, synonyms=("类型",)),
    F("source", "Source", "客户来源", "enum", True, enum=SOURCE, synonyms=("来源", "来源渠道", "渠道", "lead source"),
      hint_en="Where the customer came from.", hint_zh="客户从哪个渠道获得。"),
    F("intent_level", "Intent level", "意向等级", "enum", enum=INTENT_LEVEL, synonyms=("意向", "意向程度", "客户等级", "intent"),
      hint_en="A = ready to buy ... D = low interest.", hint_zh="A 级意向最高，D 级最低。"),
    F("stage", "Stage", "客户阶段", "enum", enum=STAGE, synonyms=("阶段", "跟进阶段", "销售阶段", "status")),
    F("tags", "Tags", "标签", "multi", synonyms=("客户标签", "需求标签", "tag"),
      hint_en="Separate several tags with ;", hint_zh="多个标签用 ; 分隔。"),
    F("owner", "Owner", "负责人", "person", synonyms=("销售负责人", "跟进人", "销售", "负责销售", "sales rep", "assigned to"),
      hint_en="A name from the Team sheet.", hint_zh="团队表中的成员姓名。"),
    F("created_at", "Created", "建档日期", "date", True, synonyms=("创建日期", "创建时间", "录入日期", "建档时间", "created", "create date")),
    F("first_contact_at", "First contact", "首次接触时间", "datetime", synonyms=("首次接触", "首次联系时间")),
    F("next_follow_up_at", "Next follow-up", "下次跟进时间", "datetime", synonyms=("下次跟进", "下次联系时间", "next follow up")),
    F("contract_end", "Contract end", "合同到期日", "date", synonyms=("合同到期", "到期日", "合同截止日期")),
    F("birthday", "Birthday", "生日", "date", synonyms=("出生日期",)),
    F("preferred_channel", "Preferred channel", "偏好渠道", "enum", enum=PREFERRED_CHANNEL, synonyms=("沟通偏好", "首选渠道")),
    F("marketing_consent", "Marketing consent", "同意接收营销信息", "bool", enum=YES_NO, synonyms=("营销授权", "同意营销", "consent"),
      hint_en="yes only if the customer agreed to marketing messages.", hint_zh="客户同意接收营销信息时填“是”。"),
    F("unsubscribed", "Unsubscribed", "已退订", "bool", enum=YES_NO, synonyms=("退订", "unsubscribe")),
    F("bounced_address", "Bounced address", "退信地址", "text", synonyms=("退信", "无效地址", "bounced"),
      hint_en="E-mail addresses or phone numbers that bounced, separated by ;. crmkit sends nothing to them.",
      hint_zh="退信的邮箱或无法送达的号码，用 ; 分隔。系统不再向这些地址发送消息。"),
    F("notes", "Notes", "备注", "longtext", synonyms=("说明", "remark", "remarks", "comment")),
    # derived by crmkit rfm and crmkit clv (written back, clearly marked)
    *_RFM_FIELDS,
    *_CLV_FIELDS,
), derived=(
    F("last_interaction_at", "Last interaction", "最近跟进时间", "datetime", derived=True),
    F("days_since_interaction", "Days since interaction", "距上次跟进天数", "int", derived=True),
    F("last_order_at", "Last order", "最近下单日期", "date", derived=True),
    F("last_activity_at", "Last activity (interaction or order)", "最近活动时间（跟进或下单）", "datetime", derived=True),
    F("days_since_activity", "Days since activity", "距上次活动天数", "int", derived=True),
    F("orders_30d", "Orders in 30 days", "近30天订单数", "int", derived=True),
    F("amount_30d", "Amount in 30 days", "近30天消费金额", "money", derived=True),
    *_RFM_FIELDS,
    *_CLV_FIELDS,
    F("completeness", "Completeness", "信息完整度", "number", derived=True),
    F("last_feedback", "Latest customer feedback", "最近客户反馈", "longtext", derived=True,
      synonyms=("last feedback",)),   # the English name rules used before 2026-12
), completeness=(
    "name", "contact_name", "title", "phone", "email", "industry", "size", "region",
    "customer_type", "source", "intent_level", "stage", "owner", "created_at",
))

INTERACTIONS = Entity("interactions", "Interactions", "跟进记录", "customers", id_field="interaction_id", id_prefix="I", id_width=6, importable=True,
                      references=(("customer_id", "customers"),), synonyms=("跟进", "沟通记录", "interaction"), fields=(
    F("interaction_id", "Interaction ID", "跟进编号", "id", True, synonyms=("记录编号",)),
    F("customer_id", "Customer ID", "客户编号", "id", True, synonyms=("客户ID",)),
    F("at", "Time", "跟进时间", "datetime", True, synonyms=("时间", "日期", "跟进日期", "date", "time")),
    F("method", "Method", "跟进方式", "enum", enum=METHOD, synonyms=("方式", "沟通方式")),
    F("content", "Content", "跟进内容", "longtext", True, synonyms=("内容", "沟通内容", "沟通要点")),
    F("customer_feedback", "Customer feedback", "客户反馈", "longtext", synonyms=("反馈",)),
    F("next_action", "Next action", "下一步计划", "text", synonyms=("下一步", "下一步行动", "后续计划")),
    F("next_follow_up_at", "Next follow-up", "下次跟进时间", "datetime", synonyms=("下次跟进",)),
    F("owner", "Owner", "跟进人", "person", synonyms=("负责人", "销售")),
))

ORDERS = Entity("orders", "Orders", "订单", "customers", id_field="order_id", id_prefix="O", id_width=6, importable=True,
                references=(("customer_id", "customers"),), synonyms=("order", "订单记录", "购买记录"), fields=(
    F("order_id", "Order ID", "订单编号", "id", True, synonyms=("订单号",)),
    F("customer_id", "Customer ID", "客户编号", "id", True, synonyms=("客户ID",)),
    F("order_date", "Order date", "下单日期", "date", True, synonyms=("订单日期", "日期", "购买日期", "date")),
    F("amount", "Amount", "订单金额", "money", True, synonyms=("金额", "成交金额", "total"),
      hint_en="Order value; a return is a negative amount.", hint_zh="订单金额；退货填负数。"),
    F("product", "Product", "产品", "text", synonyms=("产品名称", "商品")),
    F("channel", "Sales channel", "销售渠道", "enum", enum=ORDER_CHANNEL, synonyms=("渠道",)),
    F("product_id", "Product ID", "产品编号", "id", synonyms=("产品ID", "商品编号", "sku"),
      hint_en="An ID from the Products sheet.", hint_zh="产品表中的产品编号。"),
    F("quantity", "Quantity", "数量", "number", synonyms=("购买数量", "qty"),
      hint_en="Units of the product on this order line.", hint_zh="本订单行的产品数量。"),
    F("unit_price", "Unit price", "成交单价", "money", synonyms=("单价", "售价", "price"),
      hint_en="Price per unit on this order (may differ from the list price).",
      hint_zh="本订单的成交单价（可与标价不同）。"),
))

#: The product catalogue (seed 001: 产品/服务信息库 with name, spec, price, stock).
PRODUCTS = Entity("products", "Products", "产品", "customers", id_field="product_id", id_prefix="P", id_width=4,
                  importable=True, synonyms=("product", "产品信息", "产品库", "产品目录", "商品", "catalogue"), fields=(
    F("product_id", "Product ID", "产品编号", "id", True, synonyms=("产品ID", "商品编号", "sku")),
    F("name", "Product name", "产品名称", "text", True, synonyms=("名称", "商品名称", "product")),
    F("category", "Category", "产品类别", "text", synonyms=("类别", "分类", "产品分类")),
    F("spec", "Specification", "规格", "text", synonyms=("规格型号", "型号", "spec")),
    F("unit_price", "Unit price", "单价", "money", synonyms=("价格", "售价", "标价", "price", "list price")),
    F("unit_cost", "Unit cost", "成本单价", "money", synonyms=("成本", "成本价", "cost"),
      hint_en="What one unit costs you; margin = price - cost.", hint_zh="每件成本；毛利 = 售价 - 成本。"),
    F("stock", "Stock", "库存", "number", synonyms=("库存数量", "现有库存", "inventory")),
    F("reorder_level", "Reorder level", "补货点", "number", synonyms=("库存预警线", "安全库存", "reorder point"),
      hint_en="Stock at or below this is low: the low-stock rule notifies the owner.",
      hint_zh="库存低于或等于此值即为库存不足，低库存规则会提醒负责人。"),
    F("status", "Status", "状态", "enum", enum=PRODUCT_STATUS, synonyms=("库存状态", "销售状态")),
    F("owner", "Owner", "负责人", "person", synonyms=("产品负责人", "采购负责人"),
      hint_en="Who restocks it: a name from the Team sheet.", hint_zh="负责补货的成员：团队表中的姓名。"),
))

DEALS = Entity("deals", "Deals", "商机", "customers", id_field="deal_id", id_prefix="D", id_width=5, importable=True,
               references=(("customer_id", "customers"),), synonyms=("deal", "销售机会", "opportunities"), fields=(
    F("deal_id", "Deal ID", "商机编号", "id", True),
    F("customer_id", "Customer ID", "客户编号", "id", True, synonyms=("客户ID",)),
    F("name", "Deal name", "商机名称", "text", True, synonyms=("名称",)),
    F("amount", "Amount", "预计成交金额", "money", synonyms=("金额", "预计金额")),
    F("stage", "Stage", "商机阶段", "enum", True, enum=STAGE, synonyms=("阶段", "销售阶段")),
    F("owner", "Owner", "负责人", "person", synonyms=("销售",)),
    F("created_at", "Created", "创建日期", "date", True, synonyms=("创建时间",)),
    F("expected_close", "Expected close", "预计成交日期", "date", synonyms=("预计成交时间",)),
    F("closed_at", "Closed", "关闭日期", "date", synonyms=("成交日期",)),
    F("stage_changed_at", "Stage changed", "阶段变更日期", "date", synonyms=("阶段变更时间",)),
))

TASKS = Entity("tasks", "Tasks", "任务", "tasks", id_field="task_id", id_prefix="T", id_width=5, importable=True,
               references=(("customer_id", "customers"),), synonyms=("task", "跟进任务", "待办"), fields=(
    F("task_id", "Task ID", "任务编号", "id", True),
    F("customer_id", "Customer ID", "客户编号", "id", synonyms=("客户ID",)),
    F("title", "Title", "任务标题", "text", True, synonyms=("标题", "任务", "任务名称")),
    F("owner", "Owner", "负责人", "person", True, synonyms=("执行人",)),
    F("due_at", "Due", "截止时间", "datetime", True, synonyms=("截止日期", "到期时间")),
    F("remind_at", "Remind at", "提醒时间", "datetime"),
    F("status", "Status", "状态", "enum", True, enum=TASK_STATUS, synonyms=("任务状态",)),
    F("priority", "Priority", "优先级", "enum", enum=TASK_PRIORITY),
    F("created_by", "Created by", "创建人", "text", hint_en="A person, or rule:<rule_id>.", hint_zh="人员姓名，或 rule:<规则编号>。"),
    F("created_at", "Created", "创建时间", "datetime", True),
    F("done_at", "Done at", "完成时间", "datetime"),
    F("notes", "Notes", "备注", "longtext"),
))

TICKETS = Entity("tickets", "Tickets", "工单", "tasks", id_field="ticket_id", id_prefix="TK", id_width=5, importable=True,
                 references=(("customer_id", "customers"),), synonyms=("ticket", "服务工单"), fields=(
    F("ticket_id", "Ticket ID", "工单编号", "id", True),
    F("customer_id", "Customer ID", "客户编号", "id", True, synonyms=("客户ID",)),
    F("title", "Title", "工单标题", "text", True, synonyms=("标题", "问题描述")),
    F("type", "Type", "工单类型", "enum", enum=TICKET_TYPE, synonyms=("类型",)),
    F("priority", "Priority", "优先级", "enum", enum=TICKET_PRIORITY),
    F("status", "Status", "处理状态", "enum", enum=TICKET_STATUS, synonyms=("状态",)),
    F("assignee", "Assignee", "处理人", "person", synonyms=("负责人",)),
    F("created_at", "Created", "创建时间", "datetime", True),
    F("sla_due_at", "SLA due", "响应时限", "datetime", synonyms=("SLA截止时间",)),
    F("first_response_at", "First response", "首次响应时间", "datetime"),
    F("closed_at", "Closed", "关闭时间", "datetime"),
    F("satisfaction", "Satisfaction", "满意度", "rating", synonyms=("满意度评分", "评分"),
      hint_en="1 (very unhappy) to 5 (very happy).", hint_zh="1（非常不满意）到 5（非常满意）。"),
))

CAMPAIGNS = Entity("campaigns", "Campaigns", "营销活动", "campaigns", id_field="campaign_id", id_prefix="CP", id_width=2, importable=True, synonyms=("campaign", "活动"), fields=(
    F("campaign_id", "Campaign ID", "活动编号", "id", True),
    F("name", "Name", "活动名称", "text", True, synonyms=("名称",)),
    F("audience", "Audience", "目标人群", "expression", True,
      hint_en='A rule expression, e.g. value_tier == "high_value"', hint_zh='规则表达式，如 客户价值分层 == "高价值客户"'),
    F("channel", "Channel", "推送渠道", "enum", True, enum=CHANNEL, synonyms=("渠道",)),
    F("content", "Content", "推送内容", "longtext", True, synonyms=("内容",),
      hint_en="May use {name}, {contact_name} ...", hint_zh="可使用 {name}、{contact_name} 等字段。"),
    F("subject", "Subject", "邮件主题", "text", synonyms=("主题", "标题"),
      hint_en="E-mail subject; may use {name} ... Blank: the campaign name.", hint_zh="邮件主题，可使用 {name} 等字段；留空则用活动名称。"),
    F("send_at", "Send at", "发送时间", "datetime"),
    F("owner", "Owner", "负责人", "person"),
    F("cost", "Cost", "活动成本", "money", synonyms=("成本", "费用")),
    F("target_reach", "Target reach", "目标触达率", "number", hint_en="As a fraction, e.g. 0.85", hint_zh="填小数，如 0.85"),
    F("target_open", "Target open", "目标打开率", "number", hint_en="As a fraction, e.g. 0.25", hint_zh="填小数，如 0.25"),
    F("target_conversion", "Target conversion", "目标转化率", "number", hint_en="As a fraction, e.g. 0.10", hint_zh="填小数，如 0.10"),
))

MESSAGES = Entity("messages", "Messages", "消息", "campaigns", id_field="message_id", id_prefix="M", id_width=6, importable=True,
                  references=(("customer_id", "customers"), ("campaign_id", "campaigns"), ("rule_id", "rules")), synonyms=("message", "消息记录"), fields=(
    F("message_id", "Message ID", "消息编号", "id", True),
    F("customer_id", "Customer ID", "客户编号", "id", True),
    F("campaign_id", "Campaign ID", "活动编号", "id"),
    F("rule_id", "Rule ID", "规则编号", "id"),
    F("channel", "Channel", "推送渠道", "enum", True, enum=CHANNEL),
    F("content", "Content", "内容", "longtext", True),
    F("status", "Status", "发送状态", "enum", True, enum=MESSAGE_STATUS),
    F("suppressed_reason", "Suppressed reason", "拦截原因", "text"),
    F("queued_at", "Queued", "排队时间", "datetime", True),
    F("scheduled_at", "Scheduled", "计划发送时间", "datetime"),
    F("sent_at", "Sent", "发送时间", "datetime"),
    F("opened_at", "Opened", "打开时间", "datetime"),
    F("clicked_at", "Clicked", "点击时间", "datetime"),
    F("converted_at", "Converted", "转化时间", "datetime"),
    F("revenue", "Revenue", "带来收入", "money"),
    F("kind", "Kind", "消息类型", "enum", enum=MESSAGE_KIND, hint_en="marketing messages obey consent, unsubscribe and the daily cap.",
      hint_zh="营销消息受营销授权、退订和每日上限约束。"),
    F("subject", "Subject", "主题", "text"),
    F("address", "Sent to", "发送地址", "text", hint_en="The e-mail or phone the message was sent to.",
      hint_zh="消息实际发送到的邮箱或手机号。"),
    F("attempts", "Attempts", "尝试次数", "int"),
    F("failure_reason", "Failure reason", "失败原因", "text"),
    F("provider_message_id", "Provider message ID", "服务商消息编号", "text", synonyms=("provider id", "服务商编号")),
    F("bounced_at", "Bounced", "退信时间", "datetime"),
    F("unsubscribed_at", "Unsubscribed", "退订时间", "datetime"),
))

RULES = Entity("rules", "Rules", "规则", "rules", id_field="rule_id", id_prefix="R", id_width=2, synonyms=("rule", "自动化规则"), fields=(
    F("rule_id", "Rule ID", "规则编号", "id", True),
    F("name", "Name", "规则名称", "text", True),
    F("enabled", "Enabled", "启用", "bool", True, enum=YES_NO, synonyms=("是否启用",)),
    F("entity", "Applies to", "适用对象", "enum", True, enum=RULE_ENTITY),
    F("when", "When", "触发条件", "expression", True,
      hint_en='e.g. source == "website_form" and intent_level == "A"', hint_zh='如 客户来源 == "官网表单" and 意向等级 == "A"'),
    F("action", "Action", "执行动作", "enum", True, enum=ACTION),
    F("params", "Parameters", "动作参数", "params", hint_en='e.g. title="First follow-up"; due=30m; to=owner',
      hint_zh='如 title="首次跟进"; due=30m; to=owner'),
    F("once", "Once per", "执行频率", "enum", enum=ONCE, hint_en="At most once per record per period.",
      hint_zh="每条记录在该周期内最多执行一次。"),
    F("priority", "Priority", "优先级", "int", hint_en="Lower numbers run first.", hint_zh="数字越小越先执行。"),
))

ROUTING = Entity("routing", "Routing", "分配规则", "rules", synonyms=("分配",), fields=(
    F("match", "Match", "匹配条件", "expression", hint_en='e.g. industry == "manufacturing"; blank matches all',
      hint_zh='如 所属行业 == "制造业"；留空表示全部'),
    F("owner", "Owner", "负责人", "text",
      hint_en="A name, or round_robin / least_loaded (optionally :name1,name2)",
      hint_zh="成员姓名，或 round_robin（轮流分配）/ least_loaded（按任务量最少分配）"),
))

TEAM = Entity("team", "Team", "团队", "rules", importable=True, synonyms=("成员", "团队成员", "人员"), fields=(
    F("name", "Name", "姓名", "text", True),
    F("role", "Role", "角色", "enum", enum=ROLE),
    F("manager", "Manager", "直属主管", "person", synonyms=("主管", "上级")),
    F("email", "E-mail", "电子邮箱", "email", synonyms=("邮箱",)),
    F("capacity", "Capacity", "任务容量", "int", hint_en="Open tasks this person can carry.", hint_zh="可同时承担的待办任务数。"),
    F("team", "Team members", "下属成员", "text", synonyms=("下属", "reps"),
      hint_en="A manager's reps, separated by ; (reps whose Manager is this person count too).",
      hint_zh="主管管理的销售代表姓名，用 ; 分隔（直属主管为此人的成员也算在内）。"),
    F("active", "Active", "在职", "bool", enum=YES_NO, synonyms=("启用", "状态", "是否在职"),
      hint_en="no = keeps their records but gets no new assignments and cannot sign in. Blank = yes.",
      hint_zh="否 = 保留其名下记录，但不再分配新客户和任务，也不能登录。留空表示是。"),
))

SETTINGS = Entity("settings", "Settings", "设置", "rules", synonyms=("配置", "参数"), fields=(
    F("key", "Key", "设置项", "text", True),
    F("value", "Value", "取值", "text"),
    F("description", "Description", "说明", "longtext"),
))

RULE_LOG = Entity("rule_log", "RuleLog", "规则日志", "log", references=(("rule_id", "rules"),), synonyms=("rule log", "执行日志"), fields=(
    F("run_id", "Run ID", "运行编号", "id", True),
    F("at", "Time", "时间", "datetime", True),
    F("rule_id", "Rule ID", "规则编号", "id"),
    F("entity", "Entity", "对象", "text"),
    F("record_id", "Record ID", "记录编号", "id"),
    F("action", "Action", "动作", "text"),
    F("outcome", "Outcome", "结果", "enum", enum=OUTCOME),
    F("detail", "Detail", "详情", "longtext"),
))

HISTORY = Entity("history", "History", "变更历史", "log", synonyms=("历史", "变更记录"), fields=(
    F("at", "Time", "时间", "datetime", True),
    F("entity", "Entity", "对象", "text", True),
    F("record_id", "Record ID", "记录编号", "id", True),
    F("field", "Field", "字段", "text"),
    F("old", "Old value", "原值", "text"),
    F("new", "New value", "新值", "text"),
    F("by", "By", "操作人", "text"),
))

FIELDS = Entity("fields", "Fields", "自定义字段", "rules", synonyms=("custom fields", "字段", "字段设置"), fields=(
    F("entity", "Entity", "所属对象", "enum", True, enum=CUSTOM_ENTITY, synonyms=("对象", "sheet", "工作表")),
    F("key", "Key", "字段代码", "text", True, synonyms=("field key", "代码"),
      hint_en="snake_case, e.g. expected_amount; used in rules and forms.",
      hint_zh="英文小写加下划线，如 expected_amount；规则和表单中使用。"),
    F("label_en", "English label", "英文名称", "text", True, synonyms=("label", "english"),
      hint_en="Column header in English workbooks.", hint_zh="英文工作簿中的列标题。"),
    F("label_zh", "Chinese label", "中文名称", "text", synonyms=("中文", "chinese"),
      hint_en="Column header in Chinese workbooks.", hint_zh="中文工作簿中的列标题。"),
    F("type", "Type", "字段类型", "enum", True, enum=CUSTOM_FIELD_TYPE, synonyms=("类型",)),
    F("options", "Options", "选项", "text", synonyms=("choices", "可选值"),
      hint_en="For single/multiple choice: options separated by ; (write English|中文 for both languages).",
      hint_zh="单选/多选的选项，用 ; 分隔（可写 English|中文 同时给出两种语言）。"),
    F("required", "Required", "必填", "bool", enum=YES_NO, synonyms=("是否必填",)),
    F("enabled", "Enabled", "启用", "bool", enum=YES_NO, synonyms=("是否启用",),
      hint_en="no = keep the definition but leave the column out. Blank = yes.",
      hint_zh="否 = 保留定义但不使用该列。留空表示是。"),
    F("hint_en", "Hint (English)", "英文说明", "text"),
    F("hint_zh", "Hint (Chinese)", "中文说明", "text"),
))

FORMS = Entity("forms", "Forms", "表单", "rules", synonyms=("form", "表单设置"), fields=(
    F("name", "Form name", "表单名称", "text", True, synonyms=("name", "名称"),
      hint_en="Shown as the page title; also names the form in links.", hint_zh="页面标题，也用于表单链接。"),
    F("entity", "Creates", "数据对象", "enum", True, enum=FORM_ENTITY, synonyms=("对象", "entity")),
    F("fields", "Fields", "表单字段", "text", True, synonyms=("字段",),
      hint_en="Field keys or headers in display order, separated by ;",
      hint_zh="按显示顺序填写字段代码或列标题，用 ; 分隔。"),
    F("defaults", "Defaults", "默认值", "params", synonyms=("default values",),
      hint_en='key=value; ... e.g. stage=lead; customer_type=new. today / now are allowed for dates.',
      hint_zh='键=值; ... 如 stage=lead; customer_type=new。日期可填 today / now。'),
    F("submitters", "Who may submit", "可填写人员", "text", synonyms=("submitters", "权限"),
      hint_en="Team names or roles (role:rep) separated by ; Blank = everyone in Team.",
      hint_zh="团队成员姓名或角色（如 role:rep），用 ; 分隔。留空表示团队所有人。"),
    F("description", "Description", "表单说明", "longtext", synonyms=("说明",)),
    F("enabled", "Enabled", "启用", "bool", enum=YES_NO, synonyms=("是否启用",)),
))

#: Column mappings of imports, saved by ``crmkit import --map ... --save-map`` and reused by later imports.
IMPORT_MAP = Entity("import_map", "ImportMap", "导入映射", "rules", synonyms=("import map", "column map", "列映射"), fields=(
    F("entity", "Entity", "数据对象", "text", True, synonyms=("对象",),
      hint_en="The sheet imported into: customers, orders, ... (or its Chinese name).",
      hint_zh="导入到的工作表：客户、订单……（中英文均可）。"),
    F("source_column", "Source column", "源文件列名", "text", True, synonyms=("源列名", "column"),
      hint_en="The header in the file to import; A+B joins two columns.",
      hint_zh="导入文件中的列标题；A+B 表示合并两列。"),
    F("field", "Field", "对应字段", "text", True, synonyms=("字段",),
      hint_en="The crmkit field: key, English or Chinese header.", hint_zh="crmkit 字段：代码、英文或中文列标题。"),
))

del F

ENTITIES: dict[str, Entity] = {e.key: e for e in (
    CUSTOMERS, INTERACTIONS, ORDERS, DEALS, PRODUCTS, TASKS, TICKETS, CAMPAIGNS, MESSAGES,
    RULES, ROUTING, TEAM, SETTINGS, RULE_LOG, HISTORY, FIELDS, FORMS, IMPORT_MAP,
)}

#: Workbook key -> entity keys, in sheet order.  The file is ``<key>.xlsx``.
WORKBOOKS: dict[str, tuple[str, ...]] = {
    "customers": ("customers", "interactions", "orders", "deals", "products"),
    "tasks": ("tasks", "tickets"),
    "campaigns": ("campaigns", "messages"),
    "rules": ("rules", "routing", "team", "settings", "fields", "forms", "import_map"),
    "log": ("rule_log", "history"),
}

#: Fields that rules, segments and dashboards may use but nobody types: key -> (type, English label,
#: Chinese label), gathered from the entities' ``derived``.
DERIVED_FIELDS: dict[str, tuple[str, str, str]] = {f.key: (f.type, f.en, f.zh)
                                                   for e in ENTITIES.values() for f in e.derived}

#: The entities ``crmkit import`` fills, in sheet order.
IMPORTABLE: tuple[str, ...] = tuple(k for k, e in ENTITIES.items() if e.importable)


def entity(name: str) -> Entity:
    """Look an entity up by canonical key, English or Chinese sheet name, or synonym."""
    e = _entity_lookup().get(norm_token(name))
    if e is None:
        raise KeyError(f"unknown entity {name!r}")
    return ENTITIES[e]


def resolve_entity(name: str, allowed=None, *, what: str = "entity") -> str:
    """The canonical key of an entity named by key, English or Chinese sheet name, or synonym.

    The one place a command line's ``--entity`` is read (``import --entity 客户``
    and ``export --entity Customers`` both give ``customers``).  Raises
    :class:`~crmkit.exceptions.UsageError` for a name that is unknown or not
    in ``allowed``, listing the choices in both languages.
    """
    from .exceptions import UsageError

    keys = list(allowed) if allowed is not None else list(ENTITIES)
    key = _entity_lookup().get(norm_token(name)) if name is not None else None
    if key is None or key not in keys:
        choices = ", ".join(f"{k} ({ENTITIES[k].zh})" if k in ENTITIES else k for k in keys)
        raise UsageError(f"unknown {what} {name!r}: choose one of {choices}")
    return key


@lru_cache(maxsize=1)
def _entity_lookup() -> dict[str, str]:
    out: dict[str, str] = {}
    for e in ENTITIES.values():
        for s in (e.key, e.en, e.zh, *e.synonyms):
            out.setdefault(norm_token(s), e.key)
    return out


def workbook_file(workbook: str) -> str:
    """File name of a workbook key: ``customers`` -> ``customers.xlsx``."""
    if workbook not in WORKBOOKS:
        raise KeyError(f"unknown workbook {workbook!r}")
    return f"{workbook}.xlsx"


def match_header(entity_: Entity, header: object) -> str | None:
    """The canonical key a header names, or None when it matches no field."""
    if header is None:
        return None
    return entity_.header_lookup.get(norm_token(header))


def field_label(key: str, lang: str, entity_: Entity | None = None) -> str:
    """A user-facing label for a field or derived field key."""
    ents = [entity_] if entity_ is not None else list(ENTITIES.values())
    for e in ents:
        if e.has(key):
            return e.field(key).header(lang)
    if key in DERIVED_FIELDS:
        _, en, zh = DERIVED_FIELDS[key]
        return zh if lang == "zh" else en
    return key


def enum_for(entity_key: str, field_key: str) -> Enum | None:
    return ENTITIES[entity_key].field(field_key).enum
