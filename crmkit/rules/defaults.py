"""The default rule set: the twelve seed scenarios of DESIGN §4 and the low-stock alert (R13), as Rules rows.

One scenario may need several rows (one action per row); their ids share the
scenario number (R01A, R01B, ...).  Names and message texts exist in both
languages; :func:`default_rules` returns the rows in one language.  The
expressions are written once with canonical keys and codes
(``source == "website_form"``); in Chinese they are translated by
:func:`zh_expression` to the headers and labels a Chinese workbook shows
(``客户来源 == "官网表单"``), and the tags the rules write get their Chinese
labels (:data:`TAG_LABELS`: ``to_reactivate`` is ``待激活``).  ``has_tag``
and the tag actions treat a tag and its label as the same tag.
"""

from __future__ import annotations

import ast
import re

import pandas as pd

#: Tags the default rules write: code -> (English, Chinese).  A Chinese workspace writes the Chinese label.
TAG_LABELS: dict[str, tuple[str, str]] = {
    "to_reactivate": ("to_reactivate", "待激活"),
    "deep_dormant": ("deep_dormant", "深度沉睡"),
}


def tag_spellings(tag: str) -> set[str]:
    """Every spelling (case-folded) of ``tag``: itself, and for a default tag its code and both labels."""
    low = str(tag).strip().casefold()
    for code, labels in TAG_LABELS.items():
        forms = {code.casefold(), *(x.casefold() for x in labels)}
        if low in forms:
            return forms
    return {low}

# rule_id, priority, entity, action, once, when, (name en, name zh), (params en, params zh)
DEFAULT_RULES: tuple[tuple, ...] = (
    ("R01A", 10, "customers", "assign_owner", "ever",
     'source == "website_form" and intent_level == "A" and is_blank(owner)',
     ("Hot web lead: assign owner by industry", "官网A级线索：按行业分配负责人"),
     ("by=routing", "by=routing")),
    ("R01B", 11, "customers", "notify", "ever",
     'source == "website_form" and intent_level == "A" and stage == "lead" and days_since(created_at) <= 1',
     ("Hot web lead: tell the owner to call within 30 minutes", "官网A级线索：通知负责人30分钟内电话联系"),
     ('to=owner; text="New A-level web lead {name}: call within 30 minutes"',
      'to=owner; text="新的A级官网线索 {name}：请在30分钟内电话联系"')),
    ("R01C", 12, "customers", "create_task", "ever",
     'source == "website_form" and intent_level == "A" and stage == "lead" and days_since(created_at) <= 1',
     ("Hot web lead: first follow-up task", "官网A级线索：创建首次跟进任务"),
     ('title="First follow-up: {name}"; due=30m; to=owner; priority=high',
      'title="首次跟进：{name}"; due=30m; to=owner; priority=high')),
    ("R02A", 20, "customers", "queue_message", "per_month",
     'days_since_activity >= 90 and not has_tag("to_reactivate") and stage != "lost"',
     ("90 days quiet: care e-mail with an offer", "90天未互动：发送关怀邮件与专属优惠"),
     ('channel=email; kind=marketing; content="Dear {contact_name}, it has been a while. Here is an offer for {name}."',
      'channel=email; kind=marketing; content="{contact_name}您好，好久不见！我们为{name}准备了专属优惠。"')),
    ("R02B", 21, "customers", "add_tag", "per_month",
     'days_since_activity >= 90 and not has_tag("to_reactivate") and stage != "lost"',
     ("90 days quiet: tag to_reactivate", "90天未互动：打上待激活标签"),
     ("tag=to_reactivate", "tag=to_reactivate")),
    ("R02C", 22, "customers", "escalate", "per_month",
     'has_tag("to_reactivate") and days_since_message("R02A") >= 7 and days_since_activity > days_since_message("R02A")',
     ("No response 7 days after the care e-mail: escalate", "关怀邮件发出7天无回应：升级主管"),
     ('text="{name} has not responded to the care e-mail for 7 days"',
      'text="{name} 收到关怀邮件7天仍无回应，请主管跟进"')),
    ("R03", 30, "customers", "create_task", "per_year",
     "days_until(contract_end) >= 0 and days_until(contract_end) <= 30",
     ("Contract ends within 30 days: renewal task", "合同30天内到期：创建续约任务"),
     ('title="Renewal: {name} (contract ends {contract_end})"; due=3d; to=owner; priority=high',
      'title="续约跟进：{name}（合同 {contract_end} 到期）"; due=3d; to=owner; priority=high')),
    ("R04A", 40, "customers", "create_ticket", "per_month",
     'contains(last_feedback, "技术支持") or contains(last_feedback, "technical support") or contains(last_feedback, "tech support")',
     ("Feedback asks for technical support: open a ticket", "反馈提到技术支持：创建技术支持工单"),
     ('type=tech_support; priority=normal; sla=24h; title="Technical support for {name}"',
      'type=tech_support; priority=normal; sla=24h; title="{name} 技术支持需求"')),
    ("R04B", 41, "customers", "notify", "per_month",
     'contains(last_feedback, "技术支持") or contains(last_feedback, "technical support") or contains(last_feedback, "tech support")',
     ("Feedback asks for technical support: notify owner", "反馈提到技术支持：通知负责人"),
     ('to=owner; text="{name} asked for technical support; a ticket was opened"',
      'to=owner; text="{name} 提出技术支持需求，已创建工单"')),
    ("R05", 50, "customers", "escalate", "ever",
     'stage == "lead" and days_since(created_at) >= 3 and is_blank(last_interaction_at)',
     ("Lead not followed up within 3 days: alert the manager", "线索3天内未跟进：提醒主管"),
     ('text="Lead {name} has had no follow-up for 3 days"', 'text="线索 {name} 超过3天未跟进"')),
    ("R06", 60, "deals", "notify", "ever",
     'changed_to(stage, "negotiation")',
     ("Deal enters negotiation: notify owner, cc manager", "商机进入商务谈判：通知负责人并抄送主管"),
     ('to=owner; cc=manager; text="Deal {name} is now in negotiation"',
      'to=owner; cc=manager; text="商机 {name} 已进入商务谈判阶段"')),
    ("R07", 70, "customers", "queue_message", "per_year",
     'value_tier == "high_value" and days_until_anniversary(birthday) >= 0 and days_until_anniversary(birthday) <= 3',
     ("High-value customer's birthday in 3 days: greeting", "高价值客户3天内生日：发送生日祝福"),
     ('channel=preferred; kind=marketing; content="Happy birthday, {contact_name}! Best wishes from all of us."',
      'channel=preferred; kind=marketing; content="{contact_name}，祝您生日快乐！感谢一路以来的支持。"')),
    ("R08", 80, "orders", "queue_message", "ever",
     "days_since(order_date) >= 3 and days_since(order_date) <= 7",
     ("3 days after an order: satisfaction survey", "下单3天后：发送满意度调查"),
     ('channel=preferred; kind=service; content="How satisfied are you with order {order_id}? Reply 1-5."',
      'channel=preferred; kind=service; content="您对订单 {order_id} 满意吗？请回复1-5分评价。"')),
    ("R09", 90, "tickets", "create_ticket", "ever",
     "satisfaction <= 3 and (is_blank(closed_at) or days_since(closed_at) <= 7)",
     ("Satisfaction 3 or lower: complaint ticket, 2-hour SLA", "满意度≤3分：创建投诉工单（2小时响应）"),
     ('type=complaint; priority=urgent; sla=2h; title="Low satisfaction on ticket {ticket_id}"',
      'type=complaint; priority=urgent; sla=2h; title="工单 {ticket_id} 满意度低，需回访"')),
    ("R10", 100, "customers", "queue_message", "ever",
     "days_since(created_at) <= 1",
     ("New customer: welcome message within 24 hours", "新客户：24小时内发送欢迎消息"),
     ('channel=preferred; kind=service; content="Welcome, {contact_name}! Thank you for choosing us."',
      'channel=preferred; kind=service; content="{contact_name}您好，欢迎成为我们的客户！"')),
    ("R11A", 110, "customers", "queue_message", "per_year",
     'value_tier in ["regular", "churn_risk"] and days_since(last_order_at) > 90 and not opened_since(30) '
     'and not has_tag("deep_dormant")',
     ("Dormant wake-up 1: personalised e-mail", "沉睡唤醒第1步：个性化邮件"),
     ('channel=email; kind=marketing; content="{contact_name}, we miss you at {name}: here is what is new."',
      'channel=email; kind=marketing; content="{contact_name}您好，好久不见，{name}专属新品与优惠等您查看。"')),
    ("R11B", 111, "customers", "queue_message", "per_year",
     'days_since_message("R11A") >= 3 and not clicked("R11A") and days_since(last_order_at) > days_since_message("R11A") '
     'and not has_tag("deep_dormant") and not unsubscribed',
     ("Dormant wake-up 2: no click in 3 days, SMS", "沉睡唤醒第2步：3天未点击，发送短信"),
     ('channel=sms; kind=marketing; content="{contact_name}, an offer for {name} is waiting. Reply TD to unsubscribe."',
      'channel=sms; kind=marketing; content="{contact_name}您好，{name}的专属优惠即将到期。回复TD退订"')),
    ("R11C", 112, "customers", "add_tag", "ever",
     'days_since_message("R11B") >= 7 and not clicked("R11B") and not clicked("R11A") '
     'and days_since(last_order_at) > days_since_message("R11A") and not unsubscribed',
     ("Dormant wake-up 3: no click in 7 more days, tag deep_dormant and stop", "沉睡唤醒第3步：7天仍未点击，标记深度沉睡"),
     ("tag=deep_dormant", "tag=deep_dormant")),
    ("R12", 120, "customers", "create_task", "per_week",
     'stage in ["lead", "qualified", "proposal", "negotiation", "won"] and days_since_activity >= cadence_days(stage)',
     ("Follow-up cadence by stage: task when overdue", "按阶段跟进周期：逾期创建跟进任务"),
     ('title="Follow up {name} ({stage})"; due=1d; to=owner',
      'title="跟进 {name}（{stage}）"; due=1d; to=owner')),
    # beyond the twelve seed scenarios of DESIGN §4: the product catalogue's low-stock alert (seed 001).
    # Once a week: the owner hears of a product when it runs low and again each week it stays low, not every run.
    ("R13", 130, "products", "notify", "per_week",
     "low_stock()",
     ("Low stock: notify the product's owner", "库存不足：提醒产品负责人"),
     ('to=owner; text="Low stock: {name} ({spec}) has {stock} left, reorder level {reorder_level}"',
      'to=owner; text="库存不足：{name}（{spec}）仅剩 {stock}，补货点 {reorder_level}"')),
)


def default_rules(lang: str = "en") -> pd.DataFrame:
    """The default Rules sheet in ``lang``: canonical keys and codes in English, Chinese headers,
    labels and tags in Chinese (:func:`zh_expression`)."""
    zh = lang == "zh"
    rows = []
    for rid, prio, ent, action, once, when, names, params in DEFAULT_RULES:
        rows.append({
            "rule_id": rid, "name": names[1] if zh else names[0], "enabled": True, "entity": ent,
            "when": zh_expression(when, ent) if zh else when, "action": action,
            "params": _zh_tag_params(params[1]) if zh else params[0], "once": once,
            "priority": prio,
        })
    df = pd.DataFrame(rows)
    df["enabled"] = df["enabled"].astype("boolean")
    df["priority"] = df["priority"].astype("Int64")
    return df


def example_rules(lang: str = "en") -> pd.DataFrame:
    """The Rules sheet of a new, blank workspace: the default rules as examples, all disabled.

    A team switches on (``enabled``) the ones it wants once its Team sheet
    is filled; ``crmkit run`` does nothing until then and says so.
    """
    df = default_rules(lang)
    df["enabled"] = pd.array([False] * len(df), dtype="boolean")
    return df


#: Team of the sample workspace (and of ``write_workspace``'s demo content); a blank workspace has none.
def default_team(lang: str = "en") -> pd.DataFrame:
    if lang == "zh":
        rows = [("王经理", "manager", None, "wang.manager@example.com", 40),
                ("李娜", "rep", "王经理", "li.na@example.com", 30),
                ("张伟", "rep", "王经理", "zhang.wei@example.com", 30),
                ("刘洋", "rep", "王经理", "liu.yang@example.com", 30),
                ("陈静", "rep", "王经理", "chen.jing@example.com", 30)]
    else:
        rows = [("Morgan Lee", "manager", None, "morgan.lee@example.com", 40),
                ("Alex Chen", "rep", "Morgan Lee", "alex.chen@example.com", 30),
                ("Sam Patel", "rep", "Morgan Lee", "sam.patel@example.com", 30),
                ("Jordan Kim", "rep", "Morgan Lee", "jordan.kim@example.com", 30),
                ("Taylor Brooks", "rep", "Morgan Lee", "taylor.brooks@example.com", 30)]
    df = pd.DataFrame(rows, columns=["name", "role", "manager", "email", "capacity"])
    df["capacity"] = df["capacity"].astype("Int64")
    return df


def default_routing(lang: str = "en") -> pd.DataFrame:
    """First match wins: industry specialists, then round-robin over the reps."""
    team = default_team(lang)["name"].tolist()
    rows = [
        ('industry == "it_internet"', team[1]),
        ('industry == "manufacturing"', team[2]),
        ('industry == "retail" or source == "ecommerce"', team[3]),
        ("", "least_loaded:" + ",".join(team[1:])),
    ]
    return pd.DataFrame(rows, columns=["match", "owner"])


# --------------------------------------------------------------------------- the Chinese rules

def _zh_tag_params(params: str) -> str:
    """``tag=to_reactivate`` -> ``tag=待激活`` (the tags of :data:`TAG_LABELS`)."""
    return re.sub(r"(?<=tag=)(\w+)", lambda m: TAG_LABELS[m.group(1)][1] if m.group(1) in TAG_LABELS else m.group(1),
                  params)


def _zh_field(key: str, entity: str) -> str | None:
    """The Chinese header of a field key (entity field or derived field), in backticks when not a plain name."""
    from ..schema import DERIVED_FIELDS, ENTITIES

    ent = ENTITIES[entity]
    if ent.has(key):
        name = ent.field(key).zh
    elif key in DERIVED_FIELDS:
        name = DERIVED_FIELDS[key][2]
    else:
        return None
    return name if name.isidentifier() else f"`{name}`"


def _zh_enum(key: str, entity: str):
    from ..schema import ENTITIES

    ent = ENTITIES[entity]
    if ent.has(key):
        return ent.field(key).enum
    # derived enumerations (value_tier, rfm_segment) are customer fields
    return ENTITIES["customers"].field(key).enum if ENTITIES["customers"].has(key) else None


def zh_expression(text: str, entity: str = "customers") -> str:
    """A default rule's expression with Chinese field headers, enumeration labels and tag labels.

    ``source == "website_form" and intent_level == "A"`` becomes
    ``客户来源 == "官网表单" and 意向等级 == "A"``.  Functions, operators,
    rule ids and free text stay as they are.  Meant for the canonical
    expressions of :data:`DEFAULT_RULES` (plain Python-like syntax, no
    backticks).
    """
    tree = ast.parse(text, mode="eval")
    edits: list[tuple[int, int, str]] = []

    def name_of(node) -> str | None:
        return node.id if isinstance(node, ast.Name) else None

    def label(enum, node) -> None:
        if enum is None or not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            return
        code = enum.lookup.get(node.value.strip().casefold()) or enum.lookup.get(node.value)
        if code is None:
            from ..schema import norm_token

            code = enum.lookup.get(norm_token(node.value))
        if code is not None:
            edits.append((node.col_offset, node.end_col_offset, '"' + enum.label(code, "zh") + '"'))

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            zh = _zh_field(node.id, entity)
            if zh is not None:
                edits.append((node.col_offset, node.end_col_offset, zh))
        elif isinstance(node, ast.Compare):
            key = name_of(node.left)
            if key is None:
                continue
            enum = _zh_enum(key, entity)
            for comp in node.comparators:
                for item in (comp.elts if isinstance(comp, (ast.List, ast.Tuple)) else [comp]):
                    label(enum, item)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            if fn == "has_tag" and node.args:
                lit = node.args[-1]
                if isinstance(lit, ast.Constant) and lit.value in TAG_LABELS:
                    edits.append((lit.col_offset, lit.end_col_offset, '"' + TAG_LABELS[lit.value][1] + '"'))
            elif fn in ("changed_to", "changed_from") and len(node.args) >= 2 and name_of(node.args[0]):
                label(_zh_enum(name_of(node.args[0]), entity), node.args[1])
    raw = text.encode("utf-8")

    def char(offset: int) -> int:        # AST offsets count UTF-8 bytes
        return len(raw[:offset].decode("utf-8"))

    out = text
    for start, end, new in sorted(edits, reverse=True):
        out = out[:char(start)] + new + out[char(end):]
    return out
