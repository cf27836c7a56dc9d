"""Bilingual (English / Simplified Chinese) user-facing text.

Field, entity and enumeration labels live in :mod:`crmkit.schema`; this module
holds the other words a user sees (messages, report and dashboard labels).
``t(key, lang)`` looks a phrase up; unknown keys fall back to the key itself so
a missing translation is visible rather than fatal.
"""

from __future__ import annotations

LANGS = ("en", "zh")
DEFAULT_LANG = "en"

TEXT: dict[str, tuple[str, str]] = {
    # workbook furniture
    "readme": ("README", "说明"),
    "readme_title": ("How to use this workbook", "本工作簿使用说明"),
    "readme_intro": (
        "Each sheet below is an Excel table. Type one record per row; the first row holds the "
        "column headers (do not rename them). Columns marked * are required. Choose values from "
        "the dropdown lists. Dates are real Excel dates (yyyy-mm-dd). crmkit reads English or "
        "Chinese headers and values.",
        "下列每个工作表都是一个 Excel 表格。每行填写一条记录；第一行为列标题（请勿修改）。"
        "带 * 的列为必填项。请从下拉列表中选择取值。日期请填写 Excel 日期（yyyy-mm-dd）。"
        "crmkit 可读取中文或英文的列标题和取值。",
    ),
    "sheet": ("Sheet", "工作表"),
    "field": ("Field", "字段"),
    "key": ("Key", "字段代码"),
    "type": ("Type", "类型"),
    "required": ("Required", "必填"),
    "allowed_values": ("Allowed values", "可选值"),
    "description": ("Description", "说明"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "derived_note": ("Computed by crmkit; do not type here.", "由 crmkit 自动计算，请勿手工填写。"),
    # field types
    "type_id": ("ID", "编号"),
    "type_text": ("Text", "文本"),
    "type_longtext": ("Long text", "长文本"),
    "type_int": ("Whole number", "整数"),
    "type_number": ("Number", "数字"),
    "type_money": ("Amount", "金额"),
    "type_date": ("Date", "日期"),
    "type_datetime": ("Date and time", "日期时间"),
    "type_enum": ("Single choice", "单选"),
    "type_multi": ("Multiple choice (separate with ;)", "多选（用 ; 分隔）"),
    "type_bool": ("Yes / no", "是/否"),
    "type_rating": ("Rating 1-5", "评分 1-5"),
    "type_person": ("Person from Team", "团队成员"),
    "type_phone": ("Phone number", "电话号码"),
    "type_email": ("E-mail address", "电子邮箱"),
    "type_expression": ("Rule expression", "规则表达式"),
    "type_params": ("Action parameters (key=value; ...)", "动作参数（键=值; ...）"),
    # workbooks
    "wb_customers": ("Customers, interactions, orders and deals", "客户、跟进记录、订单与商机"),
    "wb_tasks": ("Tasks and service tickets", "任务与服务工单"),
    "wb_campaigns": ("Marketing campaigns and messages", "营销活动与消息"),
    "wb_rules": ("Automation rules, routing, team and settings", "自动化规则、分配规则、团队与设置"),
    "wb_log": ("Rule log and change history (written by crmkit only)", "规则日志与变更历史（仅由 crmkit 写入）"),
}


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The phrase ``key`` in ``lang`` ("en" or "zh")."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "zh" else pair[0]


def check_lang(lang: str | None) -> str:
    """Normalise a language code; accepts en/zh and common spellings (zh_CN, 中文)."""
    if lang is None or str(lang).strip() == "":
        return DEFAULT_LANG
    s = str(lang).strip().lower().replace("-", "_")
    if s in ("zh", "zh_cn", "cn", "chinese", "中文", "简体中文", "zh_hans"):
        return "zh"
    if s in ("en", "en_us", "en_gb", "english", "英文", "英语"):
        return "en"
    from .exceptions import UsageError

    raise UsageError(f"unknown language {lang!r}: use 'en' or 'zh'")
