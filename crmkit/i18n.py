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
    # analytics, RFM and reports (crmkit.analytics / rfm / report)
    "kpi_revenue": ("Revenue", "销售额"),
    "kpi_orders": ("Orders", "订单数"),
    "kpi_new_customers": ("New customers", "新增客户"),
    "kpi_won_customers": ("Deals won", "成交商机"),
    "kpi_lead_conversion": ("Lead conversion", "线索转化率"),
    "kpi_follow_up_compliance": ("Follow-up on cadence", "按时跟进率"),
    "kpi_overdue_tasks": ("Overdue tasks", "逾期任务"),
    "kpi_sla_compliance": ("Ticket SLA compliance", "工单按时响应率"),
    "kpi_satisfaction": ("Satisfaction (1-5)", "客户满意度（1-5）"),
    "kpi_reach": ("Campaign reach", "营销触达率"),
    "kpi_open_rate": ("Open rate", "打开率"),
    "kpi_conversion": ("Conversion (clicked / opened)", "转化率（点击/打开）"),
    "kpi_campaign_roi": ("Campaign ROI", "营销投资回报率"),
    "kpi_completeness": ("Data completeness", "信息完整度"),
    "kpi_duplicate_groups": ("Possible duplicates", "疑似重复客户组"),
    "col_kpi": ("KPI", "指标"),
    "col_value": ("This period", "本期"),
    "col_previous": ("Previous period", "上期"),
    "col_change": ("Change", "变化"),
    "col_target": ("Target", "目标"),
    "col_status": ("Status", "状态"),
    "col_stage": ("Stage", "阶段"),
    "col_customers": ("Customers", "客户数"),
    "col_reached": ("Reached stage", "到达该阶段"),
    "col_conversion": ("Conversion", "转化率"),
    "col_weakest": ("Weakest step", "最薄弱环节"),
    "col_source": ("Source", "客户来源"),
    "col_won": ("Won", "成交"),
    "col_lost": ("Lost", "流失"),
    "col_open": ("Open", "未完成"),
    "col_deals": ("Deals", "商机数"),
    "col_avg_days": ("Average days", "平均天数"),
    "col_median_days": ("Median days", "天数中位数"),
    "col_max_days": ("Longest (days)", "最长天数"),
    "col_outcome": ("Outcome", "结果"),
    "col_amount": ("Amount", "金额"),
    "col_on_cadence": ("Followed up on time", "按时跟进"),
    "col_overdue": ("Overdue", "已逾期"),
    "col_compliance": ("Compliance", "达标率"),
    "col_owner": ("Owner", "负责人"),
    "col_assignee": ("Assignee", "处理人"),
    "col_due_today": ("Due today", "今日到期"),
    "col_later": ("Later", "以后到期"),
    "col_done_today": ("Done today", "今日完成"),
    "col_type": ("Ticket type", "工单类型"),
    "col_tickets": ("Tickets", "工单数"),
    "col_with_sla": ("With SLA", "设有时限"),
    "col_met": ("Answered in time", "按时响应"),
    "col_breached": ("Late", "超时"),
    "col_pending": ("Waiting (in time)", "待响应（未超时）"),
    "col_rated": ("Rated", "已评价"),
    "col_satisfaction": ("Satisfaction", "满意度"),
    "col_low_satisfaction": ("Rated 3 or less", "评分≤3"),
    "col_avg_response_hours": ("Average response (hours)", "平均响应时长（小时）"),
    "col_campaign_id": ("Campaign ID", "活动编号"),
    "col_name": ("Name", "名称"),
    "col_channel": ("Channel", "渠道"),
    "col_target_count": ("Audience", "目标人数"),
    "col_sent": ("Sent", "已发送"),
    "col_opened": ("Opened", "已打开"),
    "col_clicked": ("Clicked", "已点击"),
    "col_converted": ("Converted", "已转化"),
    "col_revenue": ("Revenue", "收入"),
    "col_cost": ("Cost", "成本"),
    "col_reach": ("Reach", "触达率"),
    "col_open_rate": ("Open rate", "打开率"),
    "col_roi": ("ROI", "投资回报率"),
    "col_target_reach": ("Target reach", "目标触达率"),
    "col_target_open": ("Target open", "目标打开率"),
    "col_target_conversion": ("Target conversion", "目标转化率"),
    "col_reach_ok": ("Reach on target", "触达达标"),
    "col_open_ok": ("Open on target", "打开达标"),
    "col_conversion_ok": ("Conversion on target", "转化达标"),
    "col_field": ("Field", "字段"),
    "col_filled": ("Filled", "已填写"),
    "col_rate": ("Rate", "比例"),
    "col_ok": ("On target", "达标"),
    "col_key": ("Matched on", "匹配字段"),
    "col_groups": ("Groups", "重复组数"),
    "col_segment": ("RFM segment", "RFM 客户分群"),
    "col_value_tier": ("Value tier", "客户价值分层"),
    "col_customers_share": ("Share of customers", "客户占比"),
    "col_revenue_share": ("Share of revenue", "收入占比"),
    "col_orders": ("Orders", "订单数"),
    "col_period": ("Period", "期间"),
    "col_new_customers": ("New customers", "新增客户"),
    "col_new_leads": ("New this period", "本期新增"),
    "col_new_leads_prev": ("New previous period", "上期新增"),
    "rep_title": ("CRM report", "客户管理报表"),
    "rep_week": ("Weekly", "周报"),
    "rep_month": ("Monthly", "月报"),
    "rep_period": ("Period", "统计期间"),
    "rep_previous": ("Compared with", "对比期间"),
    "rep_as_of": ("As of", "截至"),
    "rep_workspace": ("Workspace", "工作区"),
    "rep_generated": ("Generated by crmkit", "由 crmkit 生成"),
    "rep_summary": ("Summary", "汇总"),
    "rep_kpis": ("Key figures against targets", "关键指标与目标对比"),
    "rep_on_target": ("on target", "达标"),
    "rep_below_target": ("below target", "未达标"),
    "rep_no_target": ("no target", "未设目标"),
    "rep_funnel": ("Funnel", "销售漏斗"),
    "rep_channels": ("Channels", "渠道转化"),
    "rep_revenue_by_channel": ("Revenue by sales channel", "各销售渠道收入"),
    "rep_cycle": ("Cycle time", "销售周期"),
    "rep_days_to_close": ("Days to close", "成交周期"),
    "rep_follow_up": ("Follow-up", "跟进达标"),
    "rep_tasks": ("Tasks", "任务"),
    "rep_tickets": ("Tickets", "工单"),
    "rep_campaigns": ("Campaigns", "营销活动"),
    "rep_segments": ("Segments", "客户分群"),
    "rep_value_tiers": ("Value tiers", "价值分层"),
    "rep_data_quality": ("Data quality", "数据质量"),
    "rep_duplicates": ("Possible duplicates", "疑似重复客户"),
    "rep_trend": ("Trend", "趋势"),
    "rep_this_period": ("this period", "本期"),
    "rep_previous_period": ("previous period", "上期"),
    "rep_chart_funnel": ("Sales funnel (customers reaching each stage)", "销售漏斗（到达各阶段的客户数）"),
    "rep_chart_channels": ("Lead conversion by source", "各来源线索转化率"),
    "rep_chart_segments": ("RFM segments: customers and revenue", "RFM 分群：客户数与收入"),
    "rep_chart_campaigns": ("Campaign KPIs against targets", "营销指标与目标对比"),
    "rep_chart_overdue": ("Overdue tasks by owner", "各负责人逾期任务"),
    "rep_chart_sla": ("Ticket SLA compliance by type", "各类工单按时响应率"),
    "rep_no_data": ("No data for this period.", "本期无数据。"),
    "rep_unassigned": ("(unassigned)", "（未分配）"),
    "rep_blank": ("(blank)", "（空白）"),
    "rep_all": ("All", "合计"),
    "rep_written": ("report written", "报表已生成"),
    "rfm_scored": ("customers scored", "位客户已完成评分"),
    "rfm_segment_sizes": ("RFM segments", "RFM 客户分群"),
    "rfm_as_of": ("as of", "截至"),
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
