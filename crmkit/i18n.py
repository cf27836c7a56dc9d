"""Bilingual (English / Simplified Chinese) user-facing text.

Field, entity and enumeration labels live in :mod:`crmkit.schema`; this module
holds the other words a user sees (messages, report and dashboard labels).
``t(key, lang)`` looks a phrase up; unknown keys fall back to the key itself so
a missing translation is visible rather than fatal.

Why one file of about a thousand lines: nine tenths of it is the catalogue,
one table of English/Chinese pairs.  Kept in one file, a translator reviews
every label in one place, a test checks that every key has both languages and
that no key is defined twice, and a grep for a phrase finds its one home.  The
code (lookup, the current language, :class:`Msg`) is the last two hundred lines.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

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
    # sample workspace and demo (crmkit.sample / crmkit.demo)
    "sample_summary": ("Workspace {path} (language: {lang}; as of {as_of})", "工作区 {path}（语言：{lang}；数据基准时间 {as_of}）"),
    "sample_now": ("now (no fixed as_of)", "当前时间（未设置 as_of）"),
    "lang_en": ("English", "英文"),
    "lang_zh": ("Chinese", "中文"),
    "demo_building": ("Building the demo workspace in {path} ({n} customers) ...", "正在 {path} 生成演示工作区（{n} 位客户）……"),
    "demo_rules": ("Rules run as of {as_of}: {actions} actions, {suppressed} suppressed, {errors} errors",
                   "已按 {as_of} 运行规则：执行 {actions} 个动作，拦截 {suppressed} 个，错误 {errors} 个"),
    "demo_by_rule": ("Actions by rule", "各规则动作数"),
    "demo_rfm": ("RFM segments ({customers} customers)", "RFM 客户分群（{customers} 位客户）"),
    "demo_failed": ("{step} failed: {reason}", "{step} 失败：{reason}"),
    "demo_serve": ("Starting the dashboards at {url} ...", "正在启动看板：{url} ……"),
    "demo_step_rules": ("rules", "规则"),
    "demo_step_rfm": ("RFM", "RFM 评分"),
    "demo_next": ("Next: open the workbooks in {path}, or run 'crmkit demo --serve' to see the dashboards.",
                  "下一步：打开 {path} 中的工作簿，或运行 'crmkit demo --serve' 查看看板。"),
    "demo_not_sample": ("holds files that crmkit's demo did not create; nothing was changed. Choose another --dir.",
                        "包含不是由 crmkit 演示生成的文件，未做任何修改。请使用 --dir 指定其他文件夹。"),
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
    "col_queued": ("Not due yet", "未到发送时间"),
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
    "rep_no_value": ("no data", "无数据"),
    "rep_note_funnel": ("Reached stage = customers at this stage or further (lost customers count at the first stage). "
                        "Conversion = reached / reached at the previous stage. New this period: customers created in "
                        "the period, by their current stage.",
                        "到达该阶段 = 当前处于该阶段或之后阶段的客户（流失客户计入第一阶段）。转化率 = 到达该阶段 / 到达上一阶段。"
                        "本期新增：本期建档的客户，按当前阶段统计。"),
    "rep_note_channels": ("Conversion = won / all customers from the source. Revenue = net order amounts in the period "
                          "(returns subtracted).",
                          "转化率 = 成交客户 / 该来源全部客户。收入 = 本期订单净额（已扣除退货）。"),
    "rep_note_cycle": ("Open stages: average days deals have spent in their current stage. Won / lost: days from "
                       "creation to close.",
                       "进行中阶段：商机在当前阶段已停留的平均天数。成交/流失：从创建到关闭的天数。"),
    "rep_note_follow_up": ("On time = the last interaction is within the stage's follow-up cadence (Settings cadence_*).",
                           "按时跟进 = 最近一次跟进在该阶段的跟进周期内（设置项 cadence_*）。"),
    "rep_note_tasks": ("Open tasks at the report time: overdue = due before then; due today = due later that day.",
                       "截至报表时间的待办任务：已逾期 = 截止时间已过；今日到期 = 当天稍后到期。"),
    "rep_note_tickets": ("Tickets created in the period. Compliance = answered in time / (answered in time + late).",
                         "本期创建的工单。达标率 = 按时响应 / (按时响应 + 超时)。"),
    "rep_note_campaigns": ("Messages queued in the period and due. Reach = sent / audience; open rate = opened / sent; "
                           "conversion = clicked / opened; ROI = (revenue - cost) / cost.",
                           "本期排队且已到发送时间的消息。触达率 = 已发送 / 目标人数；打开率 = 已打开 / 已发送；"
                           "转化率 = 已点击 / 已打开；投资回报率 = (收入 - 成本) / 成本。"),
    "rep_note_segments": ("RFM segments at the report time (previous period: at its end). Revenue = net order amounts.",
                          "截至报表时间的 RFM 分群（上期：截至上期末）。收入 = 订单净额。"),
    "rep_note_data_quality": ("Share of customers with each field filled. Possible duplicates share a phone, e-mail or "
                              "name + contact.",
                              "各字段已填写的客户比例。疑似重复客户的电话、邮箱或名称+联系人相同。"),
    "rep_note_trend": ("New customers, orders and net revenue per week or month.", "每周或每月的新增客户、订单数和净收入。"),
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
    "dash_cycle_at": ("The daily cycle runs every day at {at} while the dashboards are served.", "看板运行期间，每天 {at} 自动运行每日任务。"),
    "cyc_title": ("Daily cycle as of", "每日自动运行，时间"),
    "cyc_validate": ("validation", "数据校验"),
    "cyc_errors": ("errors", "个错误"),
    "cyc_warnings": ("warnings", "个警告"),
    "cyc_stopped": ("stopped: fix the errors (crmkit validate lists them); no rule ran and nothing was sent",
                    "已停止：请先修正错误（crmkit validate 可列出）；未执行任何规则，也未发送任何消息"),
    "cyc_stopped_settings": ("stopped before acting: a delivery setting cannot be used",
                             "已在执行前停止：发送相关的设置无法使用"),
    "cyc_outside_hours": ("outside sending hours: the deferred messages go when the window opens at",
                          "当前不在发送时段：推迟的消息将在发送时段开始时发出，时间"),
    "cyc_rules": ("rules", "自动化规则"),
    "cyc_actions": ("actions", "个动作"),
    "cyc_send": ("sending", "消息发送"),
    "cyc_sent": ("sent", "条已发送"),
    "cyc_failed": ("failed", "条发送失败"),
    "cyc_deferred": ("deferred", "条推迟"),
    "cyc_left_sending": ("left sending (check them)", "条发送状态不明（请核对）"),
    "cyc_customers": ("customers scored", "位客户已评分"),
    "cyc_reports": ("reports", "报表"),
    "cyc_none_due": ("none due", "暂无到期报表"),
    "rfm_scored": ("customers scored", "位客户已完成评分"),
    "rfm_segment_sizes": ("RFM segments", "RFM 客户分群"),
    "rfm_as_of": ("as of", "截至"),
    # validation, import and de-duplication (crmkit.validate / importer / dedupe)
    "r_required": ("required value missing", "必填项为空"),
    "r_phone": ("not a valid phone number (default region {region})", "不是有效的电话号码（默认地区 {region}）"),
    "r_email": ("not a valid e-mail address", "不是有效的电子邮箱地址"),
    "r_date": ("not a date (e.g. 2024-05-01)", "不是有效日期（如 2024-05-01）"),
    "r_number": ("not a number", "不是数字"),
    "r_int": ("not a whole number", "不是整数"),
    "r_rating": ("not a rating from 1 to 5", "不是 1-5 的评分"),
    "r_bool": ("not yes or no", "不是“是/否”"),
    "r_multi": ("no option given, only separators", "只有分隔符，没有填写选项"),
    "r_enum": ("not one of the allowed values ({allowed})", "不是可选值之一（{allowed}）"),
    "r_enum_kept": ("not one of the allowed values ({allowed}); kept as typed", "不是可选值之一（{allowed}）；已按原样保留"),
    "r_dup_id": ("duplicate ID (also in row {other})", "编号重复（与第 {other} 行相同）"),
    "r_ref": ("refers to a record that does not exist in {entity}", "引用的记录在{entity}中不存在"),
    "r_person": ("not a member of the Team sheet", "不是团队表中的成员"),
    "r_dup_customer": ("possible duplicate of {other} (same {key})", "可能与 {other} 重复（{key}相同）"),
    "r_header_repeat": ("repeated header row", "重复的表头行"),
    "r_conflict": ("also matches existing record {other}; run 'crmkit dedupe'", "同时匹配已有记录 {other}；请运行 crmkit dedupe"),
    "r_merged_bad": ("rejected together with row {other} (same customer)", "与第 {other} 行（同一客户）一并拒绝"),
    "r_setting": ("setting cannot be read: {detail}", "设置项无法读取：{detail}"),
    "r_unmatched": ("column not recognised: kept as an extra column", "未识别的列：已作为附加列保留"),
    "r_completeness": ("completeness {value} below target {target}", "信息完整度 {value} 低于目标 {target}"),
    "error": ("error", "错误"),
    "warning": ("warning", "警告"),
    "severity": ("Severity", "级别"),
    "reason": ("Reason", "原因"),
    "value": ("Value", "值"),
    "column": ("Column", "列"),
    "row": ("Row", "行号"),
    "file": ("File", "文件"),
    "record_id": ("Record ID", "记录编号"),
    "outcome": ("Outcome", "处理结果"),
    "issues": ("Issues", "问题清单"),
    "summary": ("Summary", "汇总"),
    "source_rows": ("Source rows", "源数据行"),
    "flagged_rows": ("Rows with issues", "问题行"),
    "completeness": ("Completeness", "信息完整度"),
    "target": ("Target", "目标"),
    "filled": ("Filled", "已填写"),
    "imported": ("imported", "新增"),
    "updated": ("updated", "更新"),
    "unchanged": ("unchanged", "无变化"),
    "merged": ("merged as duplicate", "合并重复"),
    "rejected": ("rejected", "拒绝"),
    "blank_rows": ("blank rows skipped", "跳过的空行"),
    "unmatched_columns": ("unmatched columns (kept)", "未识别的列（已保留）"),
    "errors": ("errors", "错误"),
    "warnings": ("warnings", "警告"),
    "records": ("records", "记录"),
    "dry_run_note": ("dry run: nothing was written", "试运行：未写入任何内容"),
    "duplicate_groups": ("duplicate groups", "重复客户组"),
    "group": ("Group", "组"),
    "match_key": ("Matched on", "匹配依据"),
    "match_value": ("Matched value", "匹配值"),
    "survivor": ("kept", "保留"),
    "dedupe_apply_hint": ("run with --apply to merge them", "加 --apply 参数以合并"),
    "key_phone": ("phone", "电话"),
    "key_email": ("e-mail", "邮箱"),
    "key_name+contact_name": ("company and contact", "公司名称与联系人"),
    "key_id": ("ID", "编号"),
    "step_read": ("reading the source file", "正在读取源文件"),
    "incomplete_records": ("Incomplete records", "信息不完整的记录"),
    "missing": ("Blank fields", "未填写的字段"),
    "name": ("Name", "名称"),
    "step_check": ("checking and matching rows", "正在校验并匹配数据行"),
    "step_write": ("writing the workspace", "正在写入工作区"),
    # forms, custom fields, exports and template refresh
    "form_submit": ("Submit", "提交"),
    "form_saving": ("Saving ...", "正在保存……"),
    "form_submitted_by": ("Submitted by", "填写人"),
    "form_saved": ("Saved as {id}.", "已保存，编号 {id}。"),
    "form_owner": ("Owner", "负责人"),
    "form_fix_errors": ("Nothing was saved: please correct the marked fields.", "未保存：请修改标红的字段。"),
    "form_duplicate": ("Nothing was saved: this customer may already exist.", "未保存：该客户可能已存在。"),
    "form_open_existing": ("add a follow-up to this customer", "为该客户填写跟进记录"),
    "form_create_anyway": ("Create anyway", "仍然新建"),
    "form_rules_failed": ("The record was saved, but the rules did not run", "记录已保存，但自动化规则未能运行"),
    "form_not_allowed": ("{name} may not submit this form (see Who may submit in the Forms sheet)",
                         "{name} 无权填写此表单（见表单设置中的“可填写人员”）"),
    "form_unknown_field": ("unknown field", "未知字段"),
    "form_pick_customer": ("Customer ID or name", "客户编号或名称"),
    "form_no_customer": ("No customer with ID {id}.", "不存在编号为 {id} 的客户。"),
    "form_list": ("Forms", "表单"),
    "export_done": ("exported {rows} rows x {columns} columns to {file}", "已导出 {rows} 行 × {columns} 列到 {file}"),
    "refresh_added": ("added", "新增"),
    "refresh_nothing": ("the workspace already has every column and sheet; nothing was changed",
                        "工作区已包含所有列和工作表，未做任何修改"),
}


# dashboards (crmkit.dashboard and its notebooks)
TEXT.update({
    "dash_subtitle": ("Workspace {workspace} · as of {as_of}", "工作区 {workspace} · 数据截至 {as_of}"),
    "dash_all": ("All", "全部"),
    "dash_all_owners": ("All owners", "全部负责人"),
    "dash_all_segments": ("All segments", "全部分群"),
    "dash_owner": ("Owner", "负责人"),
    "dash_rep": ("Sales rep", "销售代表"),
    "dash_channel": ("Channel", "渠道"),
    "dash_segment": ("Segment", "客户分群"),
    "dash_period": ("Customers created", "建档时间"),
    "dash_created_in": ("Created", "建档时间"),
    "dash_sent_in": ("Sent", "发送时间"),
    "dash_kpi_period": ("KPI period", "指标周期"),
    "dash_this_month": ("Last month (to date)", "近一个月"),
    "dash_this_week": ("Last 7 days", "近 7 天"),
    "dash_period_7d": ("Last 7 days", "近 7 天"),
    "dash_period_30d": ("Last 30 days", "近 30 天"),
    "dash_period_90d": ("Last 90 days", "近 90 天"),
    "dash_period_365d": ("Last 12 months", "近 12 个月"),
    "dash_period_all": ("All time", "全部时间"),
    "dash_target": ("Target", "目标"),
    "dash_count": ("Count", "数量"),
    "dash_no_rows": ("Nothing to show for this selection.", "当前筛选条件下没有数据。"),
    "dash_rows_shown": ("Showing the first {shown} of {total} rows; export to Excel for all of them.",
                        "仅显示前 {shown} 行（共 {total} 行），导出到 Excel 可查看全部。"),
    "dash_export": ("Export to Excel", "导出到 Excel"),
    "dash_download": ("Download {file} ({rows} rows)", "下载 {file}（{rows} 行）"),
    "dash_unassigned": ("(unassigned)", "（未分配）"),
    "dash_kpis": ("Key figures against targets", "关键指标与目标"),
    "dash_sales": ("Sales funnel and channels", "销售漏斗与渠道"),
    "dash_funnel": ("Funnel: customers who reached each stage", "销售漏斗：到达各阶段的客户数"),
    "dash_weakest_step": ("Weakest step: into {stage} ({rate})", "最薄弱环节：进入{stage}（{rate}）"),
    "dash_conversion_by_channel": ("Lead conversion by source channel", "各来源渠道的线索转化率"),
    "dash_trend": ("Trend: new customers, orders and revenue", "趋势：新增客户、订单与销售额"),
    "dash_work": ("Open work per owner", "各负责人待办工作"),
    "dash_overdue_by_owner": ("Open tasks per owner", "各负责人的待办任务"),
    "dash_tasks": ("Tasks", "任务数"),
    "dash_tickets": ("Service tickets: SLA and satisfaction", "服务工单：响应时效与满意度"),
    "dash_today_tasks": ("Today's and overdue tasks", "今日及逾期任务"),
    "dash_no_tasks": ("No tasks due today and nothing overdue.", "今天没有到期任务，也没有逾期任务。"),
    "dash_task": ("Task", "任务"),
    "dash_no_open_tasks": ("No open tasks", "没有未完成的任务"),
    "dash_mark_done": ("Mark done", "标记完成"),
    "dash_marked_done": ("Task {task} marked done and saved to tasks.xlsx.", "任务 {task} 已标记完成，并已保存到 tasks.xlsx。"),
    "dash_already_done": ("Task {task} was already done.", "任务 {task} 已经完成。"),
    "dash_follow_ups": ("Customers due for follow-up (stage cadence)", "按阶段跟进周期需要跟进的客户"),
    "dash_follow_ups_due": ("Follow-ups due", "待跟进客户"),
    "dash_no_follow_ups": ("Every customer is followed up on time.", "所有客户都已按时跟进。"),
    "dash_rule_actions": ("Recent rule actions for my customers", "我的客户最近的自动化规则动作"),
    "dash_rule_actions_since": ("Rule actions in", "规则动作时间"),
    "dash_no_rule_actions": ("No rule actions for these customers in this period.", "这段时间内没有针对这些客户的规则动作。"),
    "dash_file_overdue_tasks": ("overdue_tasks", "逾期任务"),
    "dash_campaign_count": ("Campaigns", "活动数"),
    "dash_campaign_results": ("Campaign results", "活动效果"),
    "dash_campaign_rates": ("Reach, open and conversion rates", "触达率、打开率与转化率"),
    "dash_roi": ("Return on investment", "投资回报率"),
    "dash_campaign_table": ("Campaigns against targets (below target in red)", "活动与目标对比（未达标标红）"),
    "dash_no_campaigns": ("No campaigns for this selection.", "当前筛选条件下没有营销活动。"),
    "dash_file_campaigns": ("campaigns", "营销活动"),
    "dash_segments": ("RFM segments", "RFM 客户分群"),
    "dash_value_tiers": ("Value tiers", "客户价值分层"),
    "dash_rfm_grid": ("RFM grid: customers by R and F score", "RFM 矩阵：按 R 评分与 F 评分的客户数"),
    "dash_buyers": ("Customers with orders", "有订单客户"),
    "dash_segment_table": ("Segment sizes and value", "分群规模与价值"),
    "dash_segment_customers": ("Customers in: {segment}", "分群客户明细：{segment}"),
    "dash_file_segment": ("customers", "客户"),
    "dash_completeness": ("Completeness per field", "各字段信息完整度"),
    "dash_completeness_by_field": ("Filled share per customer field", "客户字段填写率"),
    "dash_customers_below_target": ("Customers below target", "未达完整度目标的客户"),
    "dash_duplicates": ("Possible duplicate customers", "疑似重复客户"),
    "dash_no_duplicates": ("No duplicate customers found.", "未发现重复客户。"),
    "dash_invalid_values": ("Problems found", "数据问题"),
    "dash_no_issues": ("No invalid values found.", "未发现无效数据。"),
    "dash_file_issues": ("data_problems", "数据问题"),
    "col_customer_name": ("Customer", "客户名称"),
    "col_days_overdue": ("Days overdue", "逾期天数"),
    "col_open_tasks": ("Open tasks", "未完成任务"),
    "col_last_contact": ("Last contact", "上次跟进"),
    "col_due_at": ("Follow-up due", "应跟进时间"),
    "col_days_late": ("Days late", "逾期天数"),
    "col_rule_name": ("Rule", "规则名称"),
    "col_below_target": ("Below target", "未达标指标"),
    "col_problems": ("Problems", "问题数"),
    "col_group": ("Group", "重复组"),
    "col_match_value": ("Matching value", "匹配值"),
    "col_f_score": ("F score", "F 评分"),
    "col_r_score": ("R score", "R 评分"),
})

# rule engine (crmkit run)
TEXT.update({
    "run_title": ("Rules run as of", "规则执行，时间点"),
    "run_dry_title": ("Dry run (nothing written) as of", "试运行（未写入任何文件），时间点"),
    "run_dry_note": ("dry run: no file was changed", "试运行：未修改任何文件"),
    "run_done": ("done", "已执行"),
    "run_suppressed": ("suppressed", "已拦截"),
    "run_failed": ("failed", "失败"),
    "run_skipped": ("skipped", "已跳过"),
    "run_error": ("error in rule", "规则错误"),
    "run_errors": ("errors", "错误"),
    "run_actions": ("actions", "动作"),
    "run_position": ("position", "位置"),
    "run_for": ("for", "负责人"),
    "run_due": ("due", "截止"),
    "run_to": ("to", "通知"),
    "run_scheduled": ("scheduled", "计划发送"),
    "run_task": ("task", "任务"),
    "run_written": ("written", "已写入"),
    "run_ticket": ("ticket", "工单"),
    "run_owner": ("owner", "负责人"),
    "run_tags": ("tags", "标签"),
    "run_routing_row": ("Routing row {row}", "分配规则第 {row} 行"),
    "reason_unsubscribed": ("unsubscribed", "已退订"),
    "reason_no_consent": ("no marketing consent", "未同意接收营销信息"),
    "reason_daily_cap": ("daily message cap reached", "已达每日营销消息上限"),
    "reason_no_email": ("no e-mail address", "缺少电子邮箱"),
    "reason_no_phone": ("no phone number", "缺少联系电话"),
    "reason_address_bounced": ("the address bounced before", "该地址曾退信"),
    "reason_no_customer": ("no customer for this record", "该记录没有对应客户"),
    "reason_no_recipient": ("nobody to send it to (no owner and no manager in Team)", "无接收人（没有负责人，团队表中也没有主管）"),
    # --- defaults: a blank workspace's checklist, the dry-run summary, the plan file
    "setup_nothing_to_run": ("Nothing to run yet: no rule is enabled. To start:",
                             "暂无可执行的规则：还没有启用任何规则。开始前请先："),
    "setup_before_running": ("Before the rules can do their work:", "要让规则正常工作，还需要："),
    "setup_team": ("add your team in rules.xlsx, sheet {team} (name, role, manager, e-mail): tasks, notifications "
                   "and escalations go to these people",
                   "在 rules.xlsx 的“{team}”表中填写团队成员（姓名、角色、直属主管、电子邮箱）：任务、通知和升级都发给他们"),
    "setup_rules": ("switch on the rules you want: rules.xlsx, sheet {rules}, column {enabled} = yes "
                    "(the default rules are listed there as examples, all off)",
                    "启用需要的规则：rules.xlsx 的“{rules}”表，“{enabled}”列填“是”（默认规则已作为示例列出，均未启用）"),
    "setup_routing": ("fill sheet {routing} in rules.xlsx (who gets new leads): an enabled rule assigns owners by it",
                      "在 rules.xlsx 的“{routing}”表中填写线索分配规则：已启用的规则按它分配负责人"),
    "setup_customers": ("add customers: type them into customers.xlsx, or run crmkit import FILE --into DIR",
                        "录入客户：直接填写 customers.xlsx，或运行 crmkit import 文件 --into 目录"),
    "setup_settings": ("check sheet {settings} in rules.xlsx: language, time zone, phone region, daily message cap",
                       "检查 rules.xlsx 的“{settings}”表：语言、时区、电话区域、每日消息上限"),
    "setup_note": ("note", "提示"),
    "init_next": ("Next: fill in the team and switch on the rules you want (crmkit run DIR says what is missing).",
                  "下一步：填写团队成员并启用需要的规则（运行 crmkit run 目录 可查看还缺什么）。"),
    "run_sum_by_action": ("By action", "按动作"),
    "run_sum_by_reason": ("Not done, by reason", "未执行原因"),
    "run_sum_examples": ("Examples", "示例"),
    "run_sum_more": ("and {n} more", "另有 {n} 条"),
    "run_sum_full": ("The full plan: --full, --plan FILE.xlsx|csv, or --json",
                     "查看完整计划：--full、--plan 文件.xlsx|csv 或 --json"),
    "run_plan_written": ("Plan written to", "计划已写入"),
    "plan_col_rule": ("Rule ID", "规则编号"),
    "plan_col_entity": ("Sheet", "数据表"),
    "plan_col_record": ("Record", "记录"),
    "plan_col_customer": ("Customer ID", "客户编号"),
    "plan_col_action": ("Action", "动作"),
    "plan_col_detail": ("Detail", "详情"),
    "plan_col_target": ("Target", "对象"),
    # --- sources: imports of real exports (mapping, defaults, kept values, encoding, Excel limits)
    "r_kept": ("kept as typed", "已按原样保留"),
    "r_kept_notes": ("the value is kept in Notes", "原值已保存到备注"),
    "r_required_kept": ("required value missing; the record is kept: fill it in, or import with --default {field}=...",
                        "必填项为空；记录已保留：请补填，或导入时使用 --default {field}=..."),
    "r_name_from_contact": ("no customer name: the contact's name is used", "客户名称为空：已使用联系人姓名"),
    "r_too_long": ("{n} characters: longer than an Excel cell holds (32,767); only the first 32,767 are kept",
                   "共 {n} 个字符，超过 Excel 单元格上限（32,767）；只保留前 32,767 个字符"),
    "suggested_map": ("suggested mapping", "建议的列映射"),
    "defaults_applied": ("defaults applied", "已应用的默认值"),
    "map_saved": ("mapping saved to the ImportMap sheet", "列映射已保存到“导入映射”工作表"),
    "joined_columns": ("joined columns", "合并的列"),
    "r_total_row": ("a total row (合计/Total), not a record", "合计行，不是一条记录"),
    # --- phones: phone numbers read without guessing their country, region on init
    "r_phone_plus": ("not a number of region {region}, but valid with a leading +: kept as typed; add the + "
                     "(or the right phone_region in Settings)",
                     "不是地区 {region} 的号码，但加上 + 后是有效的国际号码：已按原样保留；请补上 +（或在设置中修改 phone_region）"),
    "r_phone_no_region": ("no country code and no default region (phone_region is none): kept as typed; "
                          "write it as +<country code> ... or set phone_region in Settings",
                          "号码没有国家区号，且未设置默认地区（phone_region 为 none）：已按原样保留；"
                          "请写成 +国家区号 ... 或在设置中填写 phone_region"),
    "init_region_prompt": ("Country of phone numbers written without +code (e.g. US, GB, IN; none = always +code)",
                           "未带 + 国家区号的电话号码所属国家（如 CN、US；none 表示号码都带 + 区号）"),
    "init_region_none": ("phone numbers without a +country code are kept as typed and flagged (phone_region = none); "
                         "use --region US (or set phone_region in Settings) to read national numbers",
                         "未带 + 国家区号的电话号码将按原样保留并标记（phone_region = none）；"
                         "如需识别本国号码，请使用 --region CN（或在设置中填写 phone_region）"),
    # --- small: dashboards (filters, empty charts), forms, CLI consistency
    "dash_no_data_yet": ("No data yet", "暂无数据"),
    "dash_no_data_hint": ("Nothing to chart for this selection.", "当前筛选条件下没有可绘制的数据。"),
    "dash_scope": ("Every figure on this page (KPI cards, charts, tables) covers the same customers: owner {owner} · "
                   "source {channel} · created {created}. KPI cards count {kpi_period}.",
                   "本页所有指标卡、图表和表格都针对同一批客户：负责人 {owner} · 来源渠道 {channel} · 建档时间 {created}。"
                   "指标卡统计周期：{kpi_period}。"),
    "form_not_on_form": ("'{field}' is not a field of this form", "“{field}”不是本表单的字段"),
    "form_id_exists": ("{id} already exists: a form only creates new records (use the follow-up form or edit the "
                       "workbook to change it)", "编号 {id} 已存在：表单只能新建记录（请使用跟进记录表或在工作簿中修改）"),
    "form_unknown_owner": ("'{name}' is not a member of the team (Team sheet)", "“{name}”不是团队成员（见团队表）"),
    "form_busy": ("The workspace is busy (another save or run); nothing was saved, please submit again.",
                  "工作区正忙（另一次保存或规则运行）；未保存，请重新提交。"),
    "form_index_intro": ("Pick a form to enter records into the workspace {workspace}.",
                         "选择一个表单，向工作区 {workspace} 录入数据。"),
    "form_no_forms": ("No forms are enabled (Forms sheet of rules.xlsx).", "没有启用的表单（见 rules.xlsx 的表单工作表）。"),
    "import_written": ("written", "已写入"),
    "import_nothing_written": ("nothing changed, no workbook written", "没有变化，未写入任何工作簿"),
    "validate_issues_more": ("{more} more issues not listed (first {shown} shown)", "另有 {more} 条问题未列出（仅列出前 {shown} 条）"),
    # --- atomic: interrupted runs, rows skipped for their errors
    "interrupted": ("interrupted; the workbooks are consistent (a change is saved whole or not at all)",
                    "已中断；工作簿保持一致（每次改动要么全部保存，要么完全不保存）"),
    "reason_invalid_row": ("the row has errors, fix them first: {what}", "该行有错误，请先修正：{what}"),
    "run_invalid_rows": ("{n} matched rows were skipped for their errors (see RuleLog, or 'crmkit validate')",
                         "{n} 条符合条件的记录因有错误被跳过（见规则日志，或运行 crmkit validate）"),
})

# --- zh: messages of errors and prints (crmkit.i18n.msg keys; every one in English and Chinese)
TEXT.update({
    # the place of an error (crmkit.exceptions)
    "place_file": ("{}", "文件 {}"),
    "place_sheet": ("sheet '{}'", "工作表“{}”"),
    "place_row": ("row {}", "第 {} 行"),
    "place_column": ("column '{}'", "列“{}”"),
    "place_sep": (", ", "，"),
    "place_then": ("{place}: {message}", "{place}：{message}"),
    "place_value": (" (value: {})", "（值：{}）"),
    "expr_rule": ("rule {}: ", "规则 {}："),
    "expr_position": (" at position {}", "（位置 {}）"),
    "expr_in": (" in {}", "，表达式 {}"),
    # the command line (crmkit.cli)
    "cli_error": ("crmkit: error: {error}", "crmkit：错误：{error}"),
    "cli_aborted": ("crmkit: aborted", "crmkit：已中止"),
    "cli_unexpected": ("crmkit: unexpected error: {error} (set CRMKIT_DEBUG=1 for details)",
                       "crmkit：意外错误：{error}（设置 CRMKIT_DEBUG=1 可查看详情）"),
    "cli_created": ("created workspace {path} ({lang})", "已创建工作区 {path}（{lang}）"),
    "cli_created_sample": ("created workspace {path} ({lang}) with sample data", "已创建工作区 {path}（{lang}），含示例数据"),
    "cli_field_left_out": ("crmkit: warning: {file}, sheet '{sheet}', row {row}, column '{column}': {reason}; "
                           "this custom field is left out",
                           "crmkit：警告：{file}，工作表“{sheet}”，第 {row} 行，列“{column}”：{reason}；已忽略该自定义字段"),
    "e_unknown_lang": ("unknown language {lang}: use 'en' or 'zh'", "未知语言 {lang}：请使用 'en' 或 'zh'"),
    "e_ws_not_found": ("workspace folder not found", "找不到工作区文件夹"),
    "e_ws_not_folder": ("not a folder (a workspace is a folder of workbooks)", "不是文件夹（工作区是存放工作簿的文件夹）"),
    'e_ws_not_workspace': ("not a crmkit workspace (no customers.xlsx, tasks.xlsx, campaigns.xlsx, rules.xlsx or log.xlsx); create one with 'crmkit init DIR'", "不是 crmkit 工作区（没有 customers.xlsx、tasks.xlsx、campaigns.xlsx、rules.xlsx 或 log.xlsx）；请用 'crmkit init DIR' 创建"),
    'e_no_sheet_restore': ("no sheet '{en}' / '{zh}' (sheets: {sheets}); rename the sheet back, or restore the workbook from .crmkit/backups", '没有工作表“{zh}”/“{en}”（现有工作表：{sheets}）；请把工作表改回原名，或从 .crmkit/backups 恢复该工作簿'),
    "e_as_of": ("--as-of: not a date or time: {value}", "--as-of：不是有效的日期或时间：{value}"),
    'e_required_column': ("the required column '{en}' / '{zh}' is missing; add it back as the header of a column", '缺少必填列“{zh}”/“{en}”；请把它重新加为某一列的列标题'),
    "e_no_crmkit_sheet": ("no crmkit sheet in this workbook (sheets: {sheets})", "该工作簿中没有 crmkit 工作表（现有工作表：{sheets}）"),
    "e_file_not_found": ("file not found", "找不到文件"),
    "e_folder_not_workbook": ("is a folder, not a workbook", "是文件夹，不是工作簿"),
    "e_not_excel": ("not an Excel workbook (extension {ext})", "不是 Excel 工作簿（扩展名 {ext}）"),
    "w:none": ("none", "无"),
    "e_encrypted": ("workbook is password-protected (encrypted); save it without a password", "工作簿设有密码（已加密）；请去掉密码后另存"),
    "e_not_zip": ("workbook is corrupt or not an .xlsx file (not a valid zip archive)", "工作簿已损坏或不是 .xlsx 文件（不是有效的 zip 压缩包）"),
    "e_cannot_read_workbook": ("cannot read workbook: {detail}", "无法读取工作簿：{detail}"),
    "e_cannot_read_sheet": ("cannot read sheet: {detail}", "无法读取工作表：{detail}"),
    'e_no_sheet': ("no sheet '{en}' / '{zh}' (sheets: {sheets})", '没有工作表“{zh}”/“{en}”（现有工作表：{sheets}）'),
    "e_open_in_excel": ("the workbook is open in Excel or another program ({lock} exists); close it and try again (or wait for it with --wait SECONDS)", "该工作簿正在 Excel 或其他程序中打开（存在 {lock}）；请关闭后重试（或用 --wait 秒数 等待其关闭）"),
    "e_folder_not_file": ("is a folder, not a file", "是文件夹，不是文件"),
    "e_new_file_damaged": ("the new file is damaged ({detail}); the old file was kept", "新文件已损坏（{detail}）；已保留原文件"),
    "e_lock_folder": ("cannot create the workspace lock folder: {detail}", "无法创建工作区锁文件夹：{detail}"),
    "e_workspace_busy": ("another crmkit run is working on this workspace; try again when it has finished (or pass --wait SECONDS)", "另一个 crmkit 进程正在处理该工作区；请等它结束后重试（或加 --wait 秒数）"),
    "e_corrupt_detail": ("workbook is corrupt or not an .xlsx file ({detail})", "工作簿已损坏或不是 .xlsx 文件（{detail}）"),
    'e_unsafe_content': ("this workbook holds {what}, which crmkit cannot keep when it saves the file, so it was not changed. Move that content to another workbook (or save a copy without it, as .xlsx) and run the command again; or write crmkit's output to a new file instead", '该工作簿包含{what}，crmkit 保存文件时无法保留这些内容，因此未做修改。请把这些内容移到另一个工作簿（或另存一份不含它们的 .xlsx 副本）后重新运行命令；或把 crmkit 的输出写到新文件'),
    "e_cannot_open_update": ("cannot open the workbook to update it: {detail}", "无法打开工作簿进行更新：{detail}"),
    "w:charts": ("charts", "图表"),
    "w:images": ("images", "图片"),
    "w:pivot tables": ("pivot tables", "数据透视表"),
    "w:macros (VBA)": ("macros (VBA)", "宏（VBA）"),
    "w:form controls": ("form controls", "表单控件"),
    "w:slicers": ("slicers", "切片器"),
    "w:timelines": ("timelines", "日程表"),
    "w:embedded objects": ("embedded objects", "嵌入对象"),
    "w:threaded comments (replies would become plain notes)": ("threaded comments (replies would become plain notes)", "批注会话（回复会变成普通批注）"),
    "w:shapes or text boxes": ("shapes or text boxes", "形状或文本框"),
    "w:data validation that refers to another sheet (Excel 2010 style)": ("data validation that refers to another sheet (Excel 2010 style)", "引用其他工作表的数据验证（Excel 2010 格式）"),
    "w:Excel 2010 conditional formats (data bars, icon sets)": ("Excel 2010 conditional formats (data bars, icon sets)", "Excel 2010 条件格式（数据条、图标集）"),
    "w:sparklines": ("sparklines", "迷你图"),
    "e_sample_too_many": ("{rows} rows do not fit in one Excel sheet ({name}; at most {max}); choose fewer --customers or --orders-per-customer", "{rows} 行超出单个 Excel 工作表的容量（{name}；最多 {max} 行）；请减少 --customers 或 --orders-per-customer"),
    "e_sample_customers": ("--customers must be at least 1", "--customers 至少为 1"),
    "e_sample_opc": ("--orders-per-customer must be positive", "--orders-per-customer 必须大于 0"),
    "e_exists_not_folder": ("exists and is not a folder", "已存在且不是文件夹"),
    "e_sample_exists": ("already holds a workspace ({found}); nothing was changed. Use --force to replace it, or choose another folder.", "已包含工作区（{found}）；未做任何修改。如要替换请加 --force，或选择其他文件夹。"),
    "e_init_exists": ("already holds a workspace ({found}); nothing was changed. Choose an empty folder.", "已包含工作区（{found}）；未做任何修改。请选择一个空文件夹。"),
    "e_folder_not_source": ("is a folder, not a file to import", "是文件夹，不是可导入的文件"),
    "e_file_empty": ("the file is empty (0 bytes)", "文件为空（0 字节）"),
    'e_unsupported_type': ("unsupported file type '{suffix}': import reads .xlsx, .xlsm or .csv files", '不支持的文件类型“{suffix}”：导入只支持 .xlsx、.xlsm 或 .csv 文件'),
    "e_no_sheets": ("the workbook has no sheets", "该工作簿没有工作表"),
    'e_no_such_sheet': ("no sheet '{sheet}' (sheets: {sheets})", '没有工作表“{sheet}”（现有工作表：{sheets}）'),
    "e_no_data_lines": ("the file holds no data (only blank lines)", "文件中没有数据（只有空行）"),
    "e_no_data_cells": ("the file holds no data (every cell is blank)", "文件中没有数据（所有单元格均为空）"),
    "e_no_header": ("no header row found in the first {n} rows: no cell names a {entity} field (expected headers such as {examples})", "前 {n} 行中找不到表头行：没有单元格是{entity_zh}的字段名（应有 {examples} 等列标题）"),
    "e_unknown_entity": ("unknown entity {entity}; one of {known}", "未知的数据表 {entity}；可选：{known}"),
    "e_no_columns": ("--columns: {entity} has no column {unknown} (columns: {known})", "--columns：{entity} 没有列 {unknown}（现有列：{known}）"),
    "e_format": ("--format must be xlsx or csv, not {fmt}", "--format 只能是 xlsx 或 csv，而不是 {fmt}"),
    "e_out_suffix": ("--out ends in .{suffix} but --format is {fmt}", "--out 的扩展名是 .{suffix}，但 --format 是 {fmt}"),
    "e_out_folder": ("--out is a folder; give a file name", "--out 是文件夹；请给出文件名"),
    'e_import_entity': ("cannot import into '{entity}': choose one of {known}", '无法导入到“{entity}”：请选择 {known} 之一'),
    "e_x_unknown_field": ("unknown field {name}", "未知字段 {name}"),
    "e_x_expected_here": ("expected {what} here", "此处应为{what}"),
    "e_x_func": ("{func}(): {detail}", "{func}()：{detail}"),
    "e_x_func_eval": ("{func}(): cannot evaluate ({detail})", "{func}()：无法计算（{detail}）"),
    "w:division by zero": ("division by zero", "除数为零"),
    "e_x_compute": ("cannot compute {op} ({detail})", "无法计算 {op}（{detail}）"),
    "w:arithmetic needs numbers (this is not a number field)": ("arithmetic needs numbers (this is not a number field)", "算术运算需要数字（这不是数字字段）"),
    "w:arithmetic needs numbers": ("arithmetic needs numbers", "算术运算需要数字"),
    'e_x_needs_list': ('\'{op}\' needs a list such as ["a", "b"] on its right', '“{op}”右边应为列表，如 ["a", "b"]'),
    "w:a list [...] may only follow 'in'": ("a list [...] may only follow 'in'", '列表 [...] 只能用在 in 之后'),
    "e_x_compare": ("cannot compare {a} with {b} using {op}", "不能用 {op} 比较{a}和{b}"),
    "w:a yes/no field": ("a yes/no field", "是/否字段"),
    "w:a number field": ("a number field", "数字字段"),
    "w:a date field": ("a date field", "日期字段"),
    "w:a text field": ("a text field", "文本字段"),
    "w:yes/no": ("yes/no", "是/否值"),
    "w:a number": ("a number", "数字"),
    "w:a date": ("a date", "日期"),
    "w:text": ("text", "文本"),
    "w:blank": ("blank", "空值"),
    "e_x_not_bool": ("{value} is not yes/no for field {field}", "{value} 不是字段 {field} 的“是/否”取值"),
    "e_x_not_number": ("{value} is not a number (field {field} holds numbers)", "{value} 不是数字（字段 {field} 存放数字）"),
    "e_x_not_date": ("{value} is not a date", "{value} 不是日期"),
    "w:expression is nested too deeply": ("expression is nested too deeply", "表达式嵌套层数过多"),
    "w:the expression is nested too deeply": ("the expression is nested too deeply", "表达式嵌套层数过多"),
    "e_x_eval": ("cannot evaluate: {detail}", "无法计算：{detail}"),
    "e_x_read": ("cannot read expression: {detail}", "无法读取表达式：{detail}"),
    "w:the expression is empty": ("the expression is empty", "表达式为空"),
    "e_x_too_long": ("the expression is too long (more than {n} characters)", "表达式过长（超过 {n} 个字符）"),
    "w:cannot read the expression (invalid characters or too complex)": ("cannot read the expression (invalid characters or too complex)", "无法读取表达式（含无效字符或过于复杂）"),
    "w:a name opened with ` is never closed": ("a name opened with ` is never closed", "以 ` 开头的名称没有闭合"),
    "w:empty name between backticks": ("empty name between backticks", "反引号之间的名称为空"),
    "e_x_literal_kind": ("literal of this kind is not allowed ({kind})", "不允许这种字面值（{kind}）"),
    "e_x_operator": ("operator {op} is not allowed{hint}", "不允许使用运算符 {op}{hint}"),
    "w:; use and": ("; use and", "；请用 and"),
    "w:; use or": ("; use or", "；请用 or"),
    "w:": ("", ""),
    "e_x_node_here": ("{kind} is not allowed here", "此处不允许 {kind}"),
    "e_x_name": ("name {name} is not allowed", "不允许使用名称 {name}"),
    "e_x_is_function": ("{name} is a function: call it as {name}(...)", "{name} 是函数：请写成 {name}(...)"),
    "e_x_unknown_function": ("unknown function {name}", "未知函数 {name}"),
    "e_x_no_keywords": ("{name}() takes no keyword arguments", "{name}() 不接受关键字参数"),
    "e_x_nargs": ("{name}() takes {want} arguments, got {got}", "{name}() 需要 {want} 个参数，实际为 {got} 个"),
    "e_x_nargs1": ("{name}() takes {want} argument, got {got}", "{name}() 需要 {want} 个参数，实际为 {got} 个"),
    'w:a list may only hold literals such as "a" or 3': ('a list may only hold literals such as "a" or 3', '列表只能包含字面值，如 "a" 或 3'),
    'e_x_arg_literal': ('{name}(): argument {i} must be a literal such as "x" or 30', '{name}()：第 {i} 个参数必须是字面值，如 "x" 或 30'),
    "e_x_arg_field": ("{name}(): argument {i} must be a field name", "{name}()：第 {i} 个参数必须是字段名"),
    "w:expected a date field": ("expected a date field", "此处应为日期字段"),
    "e_x_expected_quotes": ("expected {what} in quotes", "此处应为带引号的{what}"),
    "e_x_expected": ("expected {what}", "此处应为{what}"),
    "w:has_tag(): the tag is empty": ("has_tag(): the tag is empty", "has_tag()：标签为空"),
    "w:a tag": ("a tag", "标签"),
    "w:a rule or campaign id": ("a rule or campaign id", "规则或活动编号"),
    "w:a number of days": ("a number of days", "天数"),
    "w:a literal": ("a literal", "字面值"),
    "w:attribute access ('.') is not allowed": ("attribute access ('.') is not allowed", "不允许属性访问（'.'）"),
    "w:subscripts ('[...]' after a value) are not allowed": ("subscripts ('[...]' after a value) are not allowed", "不允许下标（值后面的 '[...]'）"),
    "w:lambda is not allowed": ("lambda is not allowed", "不允许 lambda"),
    "w:comprehensions are not allowed": ("comprehensions are not allowed", "不允许推导式"),
    "w:':=' is not allowed": ("':=' is not allowed", "不允许 ':='"),
    "w:'... if ... else ...' is not allowed": ("'... if ... else ...' is not allowed", "不允许 '... if ... else ...'"),
    "w:dictionaries are not allowed": ("dictionaries are not allowed", "不允许字典"),
    "w:sets are not allowed; use a list [...]": ("sets are not allowed; use a list [...]", "不允许集合；请用列表 [...]"),
    "w:f-strings are not allowed": ("f-strings are not allowed", "不允许 f 字符串"),
    "w:'*' unpacking is not allowed": ("'*' unpacking is not allowed", "不允许 '*' 解包"),
    "w:await is not allowed": ("await is not allowed", "不允许 await"),
    "w:yield is not allowed": ("yield is not allowed", "不允许 yield"),
    "w:slices are not allowed": ("slices are not allowed", "不允许切片"),
    "w:number too large": ("number too large", "数字过大"),
    "w:operator '~' is not allowed; use not": ("operator '~' is not allowed; use not", "不允许运算符 '~'；请用 not"),
    "w:'is' is not allowed; use == or !=": ("'is' is not allowed; use == or !=", "不允许 'is'；请用 == 或 !="),
    "w:only functions called by name are allowed": ("only functions called by name are allowed", "只允许按名称调用函数"),
    "e_syntax": ("syntax error", "语法错误"),
    "e_syntax_comma": ("syntax error. Perhaps you forgot a comma?", "语法错误：是否漏了逗号或运算符？"),
    "e_syntax_assign": ("syntax error: use == to compare", "语法错误：比较请用 =="),
    "e_syntax_string": ("unterminated string literal (a quote is not closed)", "字符串缺少结尾的引号"),
    'e_syntax_unclosed': ("'{ch}' was never closed", '“{ch}”没有闭合'),
    'e_syntax_unmatched': ("unmatched '{ch}'", '多余的“{ch}”'),
    'e_syntax_mismatch': ("closing parenthesis '{ch}' does not match opening parenthesis '{open}'", '右括号“{ch}”与左括号“{open}”不匹配'),
    "e_syntax_number": ("invalid decimal literal", "无效的数字写法"),
    'e_syntax_char': ("invalid character '{ch}'", '无效字符“{ch}”'),
    "e_syntax_other": ("{detail}", "语法错误（{detail}）"),
    "e_params": ("parameters: {detail}", "参数：{detail}"),
    "e_p_named": ("parameters: {name}: {detail}", "参数 {name}：{detail}"),
    "e_p_expected_kv": ("expected key=value, found {found}", "应为 键=值，实际为 {found}"),
    "w:a parameter has no name before '='": ("a parameter has no name before '='", "有参数在 '=' 前没有名称"),
    "w:quoted value is never closed": ("quoted value is never closed", "带引号的值没有闭合"),
    "w:expected ';' after a quoted value": ("expected ';' after a quoted value", "带引号的值后面应为 ';'"),
    "e_p_choice": ("parameters: {name}={value} is not one of {codes}", "参数：{name}={value} 不是 {codes} 之一"),
    "e_p_missing": ("parameters: {name}=... is missing", "参数：缺少 {name}=..."),
    "e_tpl_field": ("the template uses {{{name}}}, which is not a field (known: {known})", "模板中的 {{{name}}} 不是字段（可用：{known}）"),
    "e_tpl_empty": ("the template has an empty placeholder {{}} at character {pos}; write {{{{ for a literal brace", "模板第 {pos} 个字符处有空的占位符 {{}}；要输出花括号请写 {{{{"),
    "e_tpl_syntax": ("the template cannot be read: {detail}", "模板无法解析：{detail}"),
    "e_tpl_render": ("the template cannot be filled for {record}: {detail}", "无法为 {record} 填充模板：{detail}"),
    "e_p_not_settable": ("parameters: field={name} is not a field that can be set on {entity}", "参数：field={name} 不是 {entity} 中可设置的字段"),
    "e_p_value_fit": ("parameters: value={value} does not fit field {field} ({type})", "参数：value={value} 不符合字段 {field}（{type}）"),
    "e_p_kind": ("parameters: kind={kind} must be marketing or service", "参数：kind={kind} 只能是 marketing 或 service"),
    "e_p_channel": ("parameters: channel={channel} is not email, sms, wecom or preferred", "参数：channel={channel} 不是 email、sms、wecom 或 preferred"),
    "e_rule_state": ("the workbooks were saved, but the rule state could not be written ({detail}); changed_to() may repeat on the next run", "工作簿已保存，但无法写入规则状态（{detail}）；下次运行时 changed_to() 可能重复触发"),
    "e_duration": ("not a duration: {text} (use 30m, 4h, 3d or 1w)", "不是有效的时长：{text}（请写 30m、4h、3d 或 1w）"),
    "e_setting_type": ("setting {key}: cannot read {text} as {type}", "设置项 {key}：无法把 {text} 读作 {type}"),
    "e_rfm_part": ("cannot read {part}; write e.g. r=30,60,90,180", "无法读取 {part}；请写成 r=30,60,90,180 这样"),
    "e_rfm_metric": ("unknown metric {name} (use r, f or m)", "未知指标 {name}（请用 r、f 或 m）"),
    "e_rfm_numbers": ("{key}: thresholds must be numbers", "{key}：阈值必须是数字"),
    "e_rfm_four": ("{key}: give exactly 4 thresholds (one between each of the 5 scores), got {n}", "{key}：需要正好 4 个阈值（5 档评分之间各一个），实际为 {n} 个"),
    "e_rfm_increase": ("{key}: thresholds must increase", "{key}：阈值必须递增"),
    "e_rfm_setting": ("setting rfm_thresholds: {detail}", "设置项 rfm_thresholds：{detail}"),
    "e_rfm_orders_column": ("orders have no column for this field", "订单表没有该字段的列"),
    "e_dash_notebooks": ("the dashboard notebooks are missing (looked in {path})", "缺少看板笔记本文件（已查找 {path}）"),
    "e_dash_template": ("the dashboard template is missing (looked in {path})", "缺少看板模板（已查找 {path}）"),
    "e_dash_no_workspace": ("no workspace to show: give its folder, set {env}, or start in a workspace folder", "没有可显示的工作区：请指定工作区文件夹、设置 {env}，或在工作区文件夹中启动"),
    "e_dash_stopped": ("the dashboard server stopped (exit code {code})", "看板服务已停止（退出码 {code}）"),
    "e_dash_stopped_log": ("the dashboard server stopped (exit code {code}); see {log}", "看板服务已停止（退出码 {code}）；详见 {log}"),
    "e_dash_timeout": ("the dashboard server did not answer within {seconds} s", "看板服务在 {seconds} 秒内没有响应"),
    "e_dash_port": ("port {port} is already in use on {host}; choose another with --port", "{host} 上的端口 {port} 已被占用；请用 --port 指定其他端口"),
    "e_dash_no_start": ("the dashboard server did not start", "看板服务未能启动"),
    "e_dash_no_start_detail": ("the dashboard server did not start: {detail}", "看板服务未能启动：{detail}"),
    "dash_ctrl_c": ("Press Ctrl-C to stop.", "按 Ctrl-C 停止。"),
    "dash_no_login": ("No login: anyone who can open these addresses sees the data. Host names answered: {hosts}",
                      "没有登录：能打开这些地址的人都能看到数据。接受的主机名：{hosts}"),
    "dash_stopping": ("stopping the dashboard server", "正在停止看板服务"),
    "dash_for": ("crmkit dashboards for {workspace}:", "crmkit 看板（工作区 {workspace}）："),
    "e_period": ("unknown period {period}: use week or month", "未知周期 {period}：请用 week 或 month"),
    "e_task_list": ("unknown task list {when}: use today, overdue or open", "未知任务列表 {when}：请用 today、overdue 或 open"),
    "e_report_xlsx": ("the report is an Excel workbook: give a file name ending in .xlsx", "报表是 Excel 工作簿：请给出以 .xlsx 结尾的文件名"),
    "run_sla": ("SLA", "响应时限"),
    'e_run_applies_to': ("'applies to' must be one of {known}, not {entity}", '“适用对象”必须是 {known} 之一，而不是 {entity}'),
    "e_run_action": ("unknown action {action} (one of {known})", "未知动作 {action}（可选：{known}）"),
    "e_run_param": ("parameters: {act} does not know {name} (it takes {allowed})", "参数：{act} 不接受 {name}（可用参数：{allowed}）"),
    "e_run_dup_id": ("rule id {rule} is used by more than one enabled rule (Rules row {row}); give each rule its own id", "规则编号 {rule} 被多条启用的规则使用（规则表第 {row} 行）；请给每条规则不同的编号"),
    "e_run_routing": ("Routing row {row}: {detail}", "分配规则第 {row} 行：{detail}"),
    "more_issues": ("... {n} more", "……另有 {n} 条"),
    "more_issues_see": ("... {n} more (see {report})", "……另有 {n} 条（见 {report}）"),
    "sum_path": ("Checked", "检查对象"),
    "sum_errors": ("Errors", "错误"),
    "sum_warnings": ("Warnings", "警告"),
    "sum_duplicate_groups": ("Possible duplicate groups", "疑似重复客户组"),
    "sum_source_rows": ("Source rows", "源数据行"),
    "sum_imported": ("Imported", "新增"),
    "sum_updated": ("Updated", "更新"),
    "sum_merged": ("Merged as duplicates", "合并重复"),
    "sum_rejected": ("Rejected", "拒绝"),
    "sum_unmatched_columns": ("Unmatched columns (kept)", "未识别的列（已保留）"),
    "sum_unchanged": ("Unchanged", "无变化"),
    "sum_blank_rows": ("Blank rows skipped", "跳过的空行"),
    "sum_history_rows": ("History rows", "变更历史行数"),
    "sum_dry_run": ("Dry run", "试运行"),
    "sum_file": ("File", "文件"),
    "sum_sheet": ("Sheet", "工作表"),
    "sum_header_row": ("Header row", "表头所在行"),
    "sum_entity": ("Imported into", "导入到"),
    "sum_encoding": ("Encoding", "文本编码"),
    "sum_column_map": ("Columns matched", "列匹配"),
    "sum_report": ("Report", "报告文件"),
    "sum_created_at_filled": ("Creation dates filled in", "补填的创建日期"),
    "sum_completeness": ("Completeness", "信息完整度"),
    "sum_completeness_target": ("Completeness target", "信息完整度目标"),
    "p_counts": ("{counts}", "{counts}"),
    "p_count": ("{entity} {n}", "{entity} {n}"),
    "w:customers": ("customers", "客户"),
    "w:interactions": ("interactions", "跟进记录"),
    "w:orders": ("orders", "订单"),
    "w:deals": ("deals", "商机"),
    "w:tasks": ("tasks", "任务"),
    "w:tickets": ("tickets", "工单"),
    "w:messages": ("messages", "消息"),
    "p_generated": ("generated; writing workbooks", "已生成数据，正在写入工作簿"),
    "p_done": ("done", "完成"),
    "p_written": ("{file}: {rows} rows in {seconds}s", "{file}：{rows} 行，用时 {seconds} 秒"),
    "run_rules_bar": ("rules", "规则"),
    "e_f_entity": ("custom fields may be added to {codes}", "自定义字段只能添加到 {codes}"),
    "e_f_key": ("a key is snake_case letters, digits and _ (starting with a letter), e.g. expected_amount", "字段代码由小写字母、数字和 _ 组成（以字母开头），如 expected_amount"),
    "e_f_taken": ("{entity} already has a field named {key}", "{entity} 已有名为 {key} 的字段"),
    "e_f_type": ("type must be one of {codes}", "类型必须是 {codes} 之一"),
    "e_f_clash": ("{label} is already a column header of {entity}", "{label} 已是 {entity} 的列标题"),
    "e_f_options": ("a single choice field needs options separated by ;", "单选字段需要用 ; 分隔的选项"),
    "run_cc": ("cc", "抄送"),
    "cli_usage": ("crmkit: usage error: {error}", "crmkit：用法错误：{error}"),
    "cli_no_such_option": ("no such option: {name}", "没有选项 {name}"),
    "cli_missing": ("missing {name}", "缺少 {name}"),
    "cli_bad_value": ("invalid value for {name}: {detail}", "{name} 的取值无效：{detail}"),
    "cli_usage_detail": ("{detail}", "{detail}"),
    'cli_help_hint': ("Run '{command} -h' for help.", "运行 '{command} -h' 查看帮助。"),
    "cli_bad_choice": ("invalid value for {name}: choose one of {choices}", "{name} 的取值无效：请选择 {choices} 之一"),
    # --- zh: end
})


# --- team mode: dashboard passwords and sign-in (issue 17, items 4-5)
TEXT.update({
    "e_users_file": ("the password file cannot be read ({detail}); set the passwords again with crmkit user DIR "
                     "set-password NAME", "无法读取密码文件（{detail}）；请用 crmkit user DIR set-password NAME 重新设置密码"),
    "e_user_inactive": ("{name} is an inactive member (Team sheet, active = no): inactive members cannot sign in",
                        "{name} 是停用成员（团队表 active = 否）：停用成员不能登录"),
    "e_password_short": ("the password is too short: at least {n} characters", "密码太短：至少 {n} 个字符"),
    "e_password_long": ("the password is too long: at most {n} characters", "密码太长：最多 {n} 个字符"),
    "e_password_mismatch": ("the two passwords differ; nothing was changed", "两次输入的密码不一致；未做任何修改"),
    "user_password_prompt": ("New dashboard password for {name}:", "{name} 的新看板密码："),
    "user_password_again": ("Repeat the password:", "再输入一次密码："),
    "user_password_set": ("Password set for {name} ({role}).", "已为 {name}（{role}）设置密码。"),
    "user_removed": ("Password of {name} removed: they can no longer sign in.", "已删除 {name} 的密码：其不能再登录。"),
    "user_not_stored": ("{name} has no password; nothing was changed.", "{name} 没有密码；未做任何修改。"),
    "user_active": ("active", "在职"),
    "user_has_password": ("password", "密码"),
    "user_yes": ("yes", "是"),
    "user_no": ("no", "否"),
    "user_none": ("The Team sheet has no members.", "团队表中没有成员。"),
    "e_dash_host_team": ("--host {host} serves the dashboards to other computers: add --team (members sign in with "
                         "the passwords of crmkit user DIR set-password)",
                         "--host {host} 会让其他电脑访问看板：请加上 --team（成员使用 crmkit user DIR set-password "
                         "设置的密码登录）"),
    "e_dash_no_users": ("--team: no member of {workspace} has a password yet; set one with crmkit user DIR "
                        "set-password NAME", "--team：{workspace} 中还没有成员设置密码；请用 crmkit user DIR "
                        "set-password NAME 设置"),
    "dash_team_login": ("Team mode: members sign in with their password; sessions last {hours} h. "
                        "Host names answered: {hosts}",
                        "团队模式：成员用自己的密码登录；登录有效期 {hours} 小时。接受的主机名：{hosts}"),
    "login_title": ("Sign in", "登录"),
    "login_intro": ("crmkit dashboards of {workspace}: sign in with your name and the password your administrator "
                    "set.", "crmkit 看板（工作区 {workspace}）：请用姓名和管理员为您设置的密码登录。"),
    "login_name": ("Name", "姓名"),
    "login_password": ("Password", "密码"),
    "login_submit": ("Sign in", "登录"),
    "login_failed": ("Wrong name or password.", "姓名或密码错误。"),
    "login_throttled": ("Too many failed attempts: wait {minutes} minutes and try again.",
                        "失败次数过多：请等待 {minutes} 分钟后再试。"),
    "login_signed_out": ("You are signed out.", "您已退出登录。"),
    "login_signed_in_as": ("Signed in as {name} ({role})", "当前用户：{name}（{role}）"),
    "login_sign_out": ("Sign out", "退出登录"),
    "e_scope_role": ("{user} ({role}) may not {action}: a campaign reaches customers of the whole workspace, "
                     "so only admins may",
                     "{user}（{role}）无权{action}：营销活动面向整个工作区的客户，仅管理员可以"),
    "scope_launch": ("launch a campaign", "启动营销活动"),
    "e_dash_not_signed_in": ("not signed in: sign in again on the landing page", "未登录：请回到首页重新登录"),
    "e_scope_task": ("task {task} is not among your records", "任务 {task} 不在您的记录范围内"),
    "form_out_of_scope": ("{name} is not in your team", "{name} 不在您的团队中"),
    "form_duplicate_elsewhere": ("This looks like a customer another owner already has: ask your manager; nothing "
                                 "was saved", "该客户与其他负责人的已有客户相似：请联系主管；未保存"),
})


# --- merge: survivorship, match rules, merges listed (issue 14, items 1-4)
TEXT.update({
    "info": ("note", "提示"),
    "dedupe_keeps": ("kept", "保留"),
    "rule_kept": ("the kept record's own value", "保留记录的原值"),
    "rule_filled": ("blank filled from", "空值取自"),
    "rule_appended": ("notes appended", "备注已合并"),
    "rule_union": ("tags combined", "标签已合并"),
    "rule_earliest": ("the earliest", "取最早"),
    "not_taken": ("not taken", "未采用"),
    "r_merged_into_row": ("merged with row {other} into one record (same {key}: {value})",
                          "与第 {other} 行合并为同一记录（{key}相同：{value}）"),
    "r_matched_existing": ("updates existing record {other} (same {key}: {value})",
                           "更新已有记录 {other}（{key}相同：{value}）"),
    "r_kept_existing": ("kept the existing value {old}; this file's value was not taken (--update overwrite "
                        "replaces it)", "保留已有值 {old}，未采用本文件的值（使用 --update overwrite 可覆盖）"),
    "r_not_merged": ("shares {key} with existing record {other}, but company or contact differ: kept apart",
                     "与已有记录 {other} 的{key}相同，但公司或联系人不同：未合并"),
    "identical_without_id": ("rows without an ID that repeat another row's values (kept as separate records)",
                             "无编号且内容与其他行相同的行（按不同记录保留）"),
    "update_mode": ("update mode", "更新方式"),
    # summary keys of the import report workbook for the fields the merge and mapping work added
    "sum_suggested_map": ("Suggested column mapping", "建议的列映射"),
    "sum_defaults_applied": ("Defaults filled in", "填入的默认值"),
    "sum_joined_columns": ("Columns joined", "合并的列"),
    "sum_map_saved": ("Mapping saved", "已保存映射"),
    "sum_update": ("Update mode", "更新方式"),
    "sum_notes": ("Notes", "提示"),
    "sum_identical_without_id": ("Rows without an ID repeating another row (kept)", "无编号且与其他行相同的行（已保留）"),
})


# --- integration: settings checks and output paths in both languages
TEXT.update({
    "e_setting_bad": ("setting {key}: {detail}", "设置项 {key}：{detail}"),
    "w:crmkit speaks en (English) or zh (Simplified Chinese)": (
        "crmkit speaks en (English) or zh (Simplified Chinese)", "crmkit 只支持 en（英文）或 zh（简体中文）"),
    "w:not a time zone; use a name such as Asia/Shanghai, Europe/Berlin or UTC": (
        "not a time zone; use a name such as Asia/Shanghai, Europe/Berlin or UTC",
        "不是有效的时区；请写 Asia/Shanghai、Europe/Berlin 或 UTC 这样的名称"),
    "w:not a country code for phone numbers; use two letters such as CN, US or DE": (
        "not a country code for phone numbers; use two letters such as CN, US or DE",
        "不是电话号码的国家/地区代码；请写两个字母，如 CN、US 或 DE"),
    "w:must not be negative": ("must not be negative", "不能为负数"),
    "w:at most 1000 backups per workbook": ("at most 1000 backups per workbook", "每个工作簿最多保留 1000 份备份"),
    "w:must be a number, not negative": ("must be a number, not negative", "必须是不小于 0 的数字"),
    "w:a share between 0 and 1 (write 85% or 0.85)": ("a share between 0 and 1 (write 85% or 0.85)",
                                                      "应为 0 到 1 之间的比例（写 85% 或 0.85）"),
    "w:an average satisfaction between 1 and 5": ("an average satisfaction between 1 and 5", "平均满意度应在 1 到 5 之间"),
    "w:a whole number": ("a whole number", "整数"),
    "w:yes or no": ("yes or no", "是或否"),
    "w:a time (e.g. 09:00)": ("a time (e.g. 09:00)", "时间（如 09:00）"),
    "w:a date and time": ("a date and time", "日期时间"),
    "w:a duration (30m, 4h, 3d or 1w)": ("a duration (30m, 4h, 3d or 1w)", "时长（30m、4h、3d 或 1w）"),
    "e_out_resolve": ("{option}: cannot resolve the path ({detail})", "{option}：无法解析路径（{detail}）"),
    "e_out_is_folder": ("{option} is a folder; give a file name", "{option} 是文件夹；请给出文件名"),
    "e_out_workspace": ("{option} names a workbook of the workspace {workspace}; crmkit never writes its output over "
                        "the workspace's data: give another file name (e.g. in the reports folder)",
                        "{option} 指向工作区 {workspace} 的工作簿；crmkit 不会用输出覆盖工作区数据：请换一个文件名"
                        "（例如放在 reports 文件夹中）"),
    "e_out_state": ("{option} is inside crmkit's own folder {folder}; give another file name",
                    "{option} 位于 crmkit 自用的文件夹 {folder} 中；请换一个文件名"),
    "e_out_input": ("{option} is the file being read; give another file name", "{option} 就是正在读取的文件；请换一个文件名"),
    "e_out_foreign": ("{option}: the file exists and was not written by crmkit (or was changed since); it was left "
                      "untouched: give another file name, or pass --force to replace it",
                      "{option}：该文件已存在，且不是 crmkit 写入的（或之后被修改过）；未做改动：请换一个文件名，"
                      "或加 --force 覆盖"),
    "e_read_only": ("the file is read-only; make it writable (or write to another file) and try again; it was not "
                    "changed", "该文件为只读；请取消只读（或写入其他文件）后重试；文件未被修改"),
})

# --------------------------------------------------------------------------- order sources outside the workbook
TEXT.update({
    "e_order_source": ("the order source (Settings order_source) cannot be read: {reason}",
                       "无法读取订单数据源（设置 order_source）：{reason}"),
    "e_order_source_missing": ("no such file or folder; check the path (relative paths start at the workspace "
                               "folder) or clear the setting to read the Orders sheet",
                               "文件或文件夹不存在；请检查路径（相对路径从工作区文件夹算起），或清空该设置以读取订单表"),
    "e_order_source_table": ("the database has no table {table} (tables: {tables}); set order_source_table",
                             "数据库中没有表 {table}（现有的表：{tables}）；请设置 order_source_table"),
    "e_order_source_column": ("no column for {columns} (columns found: {found})",
                              "缺少列 {columns}（找到的列：{found}）"),
    "w_orders_sheet_ignored": ("{n} rows in the Orders sheet are not counted: Settings order_source names {source}, "
                               "where orders are read from; move them there with crmkit import --entity orders",
                               "订单表中有 {n} 行不会被计入：设置 order_source 指定从 {source} 读取订单；"
                               "请用 crmkit import --entity orders 将其导入该数据源"),
    "e_store_import_kind": ("crmkit import --entity orders appends to a Parquet folder; the order source {source} "
                            "is a {kind}: add the rows there with its own tools, or point order_source to a folder",
                            "crmkit import --entity orders 只能追加到 Parquet 文件夹；订单数据源 {source} 是 {kind}："
                            "请用其自身的工具添加，或将 order_source 指向一个文件夹"),
    "r_order_id_in_store": ("order ID {id} is already in the order store: not imported again",
                            "订单编号 {id} 已在订单数据源中：不重复导入"),
    "store_part_written": ("Order store: new part file", "订单数据源：新写入的分片文件"),
    "store_rows_before": ("orders in the store before", "导入前数据源中的订单数"),
})

# --- customer lifetime value: crmkit.clv (issue 18, item 1)
TEXT.update({
    "e_clv_cannot_fit": ("lifetime value cannot be estimated from these orders: {reason}",
                         "无法根据这些订单估算客户终身价值：{reason}"),
    "e_clv_no_orders": ("there are no purchases (orders with a customer, a date and an amount of 0 or more)",
                        "没有购买记录（有客户编号、日期且金额不小于 0 的订单）"),
    "e_clv_few_repeaters": ("only {n} customers bought again on a later day; at least {need} repeat buyers are needed",
                            "只有 {n} 位客户在之后的日期再次购买；至少需要 {need} 位复购客户"),
    "e_clv_same_amounts": ("every repeat buyer spent the same amount per order; the spend model needs amounts that "
                           "differ", "所有复购客户的每单金额都相同；消费金额模型需要有差异的金额"),
    "e_clv_no_convergence": ("the {model} model did not converge (the purchase pattern does not fit it)",
                             "{model} 模型未能收敛（购买规律与模型不符）"),
    "e_clv_no_time": ("every customer first bought on the as-of date; there is no history to learn from",
                      "所有客户都在统计日当天首次购买；没有可用于估算的购买历史"),
    "e_clv_setting": ("setting {key}: {value} is not allowed (horizon: days, 0 or more; discount rate: a share "
                      "a year between 0 and 10, e.g. 10% or 0.1)",
                      "设置项 {key}：不允许取值 {value}（预测期：天数，不小于 0；贴现率：年利率，0 到 10 之间，如 10% 或 0.1）"),
    "clv_title": ("Customer lifetime value", "客户终身价值"),
    "clv_as_of": ("as of", "统计日"),
    "clv_horizon": ("horizon {days} days, discount rate {rate} a year", "预测期 {days} 天，年贴现率 {rate}"),
    "clv_purchases_model": ("Purchases (BG/NBD)", "购买次数（BG/NBD 模型）"),
    "clv_spend_model": ("Spend per order (Gamma-Gamma)", "每单金额（Gamma-Gamma 模型）"),
    "clv_customers_fitted": ("customers", "位客户"),
    "clv_repeat_buyers": ("repeat buyers", "位复购客户"),
    "clv_total": ("Total CLV", "客户终身价值合计"),
    "clv_total_purchases": ("Expected purchases", "预计购买次数合计"),
    "clv_mean_p_alive": ("Mean P(alive)", "平均活跃概率"),
    "clv_top": ("Top customers by CLV", "客户终身价值最高的客户"),
    "clv_call": ("Who to call this week (value at risk)", "本周优先联系（流失风险价值）"),
    "clv_written": ("CLV columns written to Customers ({n} customers).", "已将客户终身价值列写入客户表（{n} 位客户）。"),
    "col_customer": ("Customer", "客户"),
    "col_p_alive": ("P(alive)", "活跃概率"),
    "col_expected_purchases": ("Expected purchases", "预计购买次数"),
    "col_expected_spend": ("Expected order value", "预计客单价"),
    "col_clv": ("CLV", "客户终身价值"),
    "col_value_at_risk": ("Value at risk", "流失风险价值"),
    "col_days_since_purchase": ("Days since purchase", "距上次购买天数"),
    "col_repeat_buyers": ("Repeat buyers", "复购客户"),
    "dash_clv": ("Customer lifetime value (next {days} days)", "客户终身价值（未来 {days} 天）"),
    "dash_clv_unavailable": ("Customer lifetime value", "客户终身价值"),
    "dash_clv_top": ("Most valuable customers", "价值最高的客户"),
    "dash_clv_call": ("Who to call this week: valuable customers slipping away", "本周优先联系：正在流失的高价值客户"),
})


def t(key: str, lang: str | None = DEFAULT_LANG) -> str:
    """The phrase ``key`` in ``lang`` ("en" or "zh"; ``None``: the current language)."""
    pair = TEXT.get(key)
    if pair is None:
        return key[2:] if key.startswith("w:") else key
    if lang is None:
        lang = current_lang()
    return pair[1] if lang == "zh" else pair[0]


# --------------------------------------------------------------------------- the current language

_LANG: contextvars.ContextVar[str | None] = contextvars.ContextVar("crmkit_lang", default=None)


def current_lang() -> str:
    """The language messages are shown in: the one set by :func:`using_lang` (or the CLI), else English."""
    return _LANG.get() or DEFAULT_LANG


def lang_is_set() -> bool:
    """Whether a language was chosen for this context (by ``--lang``, a workspace or :func:`using_lang`)."""
    return _LANG.get() is not None


def set_lang(lang: str | None) -> contextvars.Token:
    """Set the current language (``None``: back to the default); returns a token for :func:`reset_lang`."""
    return _LANG.set(None if lang is None else _code(lang))


def reset_lang(token: contextvars.Token) -> None:
    """Back to the language before the :func:`set_lang` that returned ``token``."""
    _LANG.reset(token)


@contextlib.contextmanager
def using_lang(lang: str | None) -> Iterator[str]:
    """Show messages in ``lang`` inside the block (``None`` keeps the current language)."""
    token = _LANG.set(_code(lang) if lang is not None else _LANG.get())
    try:
        yield current_lang()
    finally:
        _LANG.reset(token)


class Msg(str):
    """A catalogued message: the English text (so code and tests can read it as a ``str``) plus its
    key and parameters, to render it in another language when it is shown (``render(lang)``).

    Parameters that are themselves :class:`Msg` render in the same language.
    """

    key: str
    params: dict

    def __new__(cls, key: str, /, **params: object) -> Msg:
        obj = super().__new__(cls, _render(key, "en", params))
        obj.key = key
        obj.params = params
        return obj

    def render(self, lang: str | None = None) -> str:
        return _render(self.key, lang or current_lang(), self.params)

    def __reduce__(self):  # pickling (worker processes) keeps the key
        return (_msg_from, (self.key, self.params))


def _msg_from(key: str, params: dict) -> Msg:
    return Msg(key, **params)


def _render(key: str, lang: str, params: dict) -> str:
    text = t(key, lang)
    if not params:
        return text
    shown = {k: _shown(v, lang) for k, v in params.items()}
    try:
        return text.format(**shown)
    except (KeyError, IndexError, ValueError):
        return t(key, "en").format(**shown) if lang != "en" else text


def _shown(v: object, lang: str) -> object:
    if isinstance(v, Msg):
        return v.render(lang)
    if isinstance(v, tuple):   # a list of words: "a, b" / "a、b"
        return ("、" if lang == "zh" else ", ").join(str(_shown(x, lang)) for x in v)
    return v


def word(text: str) -> Msg:
    """A word or phrase shown to users: ``text`` in English, its Chinese from the catalogue key ``w:text``."""
    return Msg("w:" + text)


def msg(key: str, /, **params: object) -> Msg:
    """The catalogued message ``key`` with ``params``: a ``str`` in English that renders in the current
    language when shown (``CrmkitError`` does so at display time)."""
    return Msg(key, **params)


#: the spellings of each language crmkit accepts (Settings sheet, ``--lang``)
LANGUAGE_NAMES = {"zh": ("zh", "zh_cn", "cn", "chinese", "中文", "简体中文", "zh_hans"),
                  "en": ("en", "en_us", "en_gb", "english", "英文", "英语")}


def lang_code(lang: object) -> str | None:
    """``"en"`` or ``"zh"`` for a spelling of either (zh_CN, 中文, English ...); None for anything else.

    :func:`crmkit.settings.check_lang` is the checking form (blank: the default; unknown: UsageError).
    """
    s = str(lang).strip().lower().replace("-", "_")
    for code, names in LANGUAGE_NAMES.items():
        if s in names:
            return code
    return None


def _code(lang: str) -> str:
    code = lang_code(lang)
    if code is None:
        raise ValueError(f"unknown language {lang!r}; check it first with crmkit.settings.check_lang")
    return code


def tr(text: object, lang: str | None = None) -> str:
    """``text`` in ``lang`` (default: the current language) if it is a :class:`Msg`, else as it is."""
    return text.render(lang) if isinstance(text, Msg) else str(text)


_SYNTAX = (
    (r"syntax error", "e_syntax"),
    (r"syntax error\. Perhaps you forgot a comma\?", "e_syntax_comma"),
    (r"syntax error\. Maybe you meant '==' or ':=' instead of '='\?", "e_syntax_assign"),
    (r"invalid syntax\. Maybe you meant '==' or ':=' instead of '='\?", "e_syntax_assign"),
    (r"cannot assign to .*", "e_syntax_assign"),
    (r"unterminated string literal.*", "e_syntax_string"),
    (r"unterminated triple-quoted string literal.*", "e_syntax_string"),
    (r"'(?P<ch>.)' was never closed", "e_syntax_unclosed"),
    (r"unmatched '(?P<ch>.)'", "e_syntax_unmatched"),
    (r"closing parenthesis '(?P<ch>.)' does not match opening parenthesis '(?P<open>.)'.*", "e_syntax_mismatch"),
    (r"invalid decimal literal", "e_syntax_number"),
    (r"invalid character '(?P<ch>.)' \(U\+[0-9A-F]+\)", "e_syntax_char"),
    (r"(unexpected EOF while parsing|expected an indented block.*|invalid syntax)", "e_syntax"),
)


def syntax_message(text: str) -> Msg:
    """Python's parser message about a rule expression, as a catalogued message."""
    import re

    for pattern, key in _SYNTAX:
        m = re.fullmatch(pattern, text)
        if m:
            return Msg(key, **m.groupdict())
    return Msg("e_syntax_other", detail=text)


# --- safety: rule outcomes on cells the user owns
TEXT.update({
    "reason_formula_cell": ("the cell of {field} holds the user's formula, which crmkit never overwrites; "
                            "replace the formula with a value to let the rule set it",
                            "{field} 单元格中是用户的公式，crmkit 不会覆盖公式；如需由规则设置，请将公式改为数值"),
})


# --- delivery: results imported from a sending service (crmkit results)
TEXT.update({
    "res_title": ("Results import: {file} ({rows} rows)", "发送结果导入：{file}（{rows} 行）"),
    "res_matched": ("matched", "已匹配"),
    "res_already_known": ("already known", "已有记录"),
    "res_unmatched": ("unmatched", "未匹配"),
    "res_rejected": ("rejected", "已拒绝"),
    "res_events": ("Events", "事件"),
    "res_new": ("new", "新增"),
    "res_unmatched_rows": ("Unmatched rows", "未匹配的行"),
    "res_rejected_rows": ("Rejected rows", "被拒绝的行"),
    "res_more": ("... and {n} more", "……另有 {n} 行"),
    "res_dry_run": ("dry run: nothing was written", "试运行：未写入任何内容"),
    "res_hard_bounce": ("hard bounce", "硬退信"),
    "res_soft_bounce": ("soft bounce", "软退信"),
    "e_res_no_event": ("no event column (event, type, status, 事件, 状态 ...) among the headers: {headers}",
                       "表头中没有事件列（event、type、status、事件、状态……）：{headers}"),
    "e_res_no_key": ("no message ID column and no recipient column (message_id, provider message ID, email, phone, "
                     "消息编号, 收件人 ...) among the headers: {headers}",
                     "表头中没有消息编号列，也没有收件人列（message_id、服务商消息编号、email、phone、消息编号、收件人……）：{headers}"),
    "r_res_unknown_event": ("unknown event: use delivered, opened, clicked, converted, bounce, soft bounce, "
                            "unsubscribed or complaint", "无法识别的事件：请使用 送达、打开、点击、转化、退信、软退信、退订 或 投诉"),
    "r_res_no_event": ("the event is blank", "事件为空"),
    "r_res_bad_time": ("not a date and time", "不是有效的日期时间"),
    "r_res_no_time": ("the event time is blank", "事件时间为空"),
    "r_res_bad_amount": ("not an amount", "不是有效的金额"),
    "r_res_no_key": ("no message ID and no recipient: the event cannot be matched to a message",
                     "既没有消息编号也没有收件人：无法对应到消息"),
    "r_res_not_sent": ("the message was never sent (queued or suppressed)", "该消息从未发出（待发送或已拦截）"),
    "r_res_unknown_id": ("no message has this ID", "没有该编号的消息"),
    "r_res_no_id_or_address": ("no message has this ID, and none was sent to this recipient in the {days} days before "
                               "the event", "没有该编号的消息，事件发生前 {days} 天内也没有发给该收件人的消息"),
    "r_res_no_address": ("no message was sent to this recipient in the {days} days before the event",
                         "事件发生前 {days} 天内没有发给该收件人的消息"),
    "col_bounced": ("Bounced", "已退信"),
    "col_unsubscribed": ("Unsubscribed", "已退订"),
})


# --- campaigns: preview and launch (crmkit.delivery.campaign, crmkit campaign, the Campaigns dashboard)
TEXT.update({
    "e_campaign_unknown": ("no campaign with the ID {id} (campaigns: {known})", "没有编号为 {id} 的营销活动（现有活动：{known}）"),
    "e_campaign_audience": ("campaign {id}: the audience {expr} cannot be used: {detail}{where}",
                            "营销活动 {id}：目标人群 {expr} 无法使用：{detail}{where}"),
    "camp_at_position": (" (at character {pos})", "（第 {pos} 个字符处）"),
    "e_campaign_template": ("campaign {id}: {detail}", "营销活动 {id}：{detail}"),
    "e_campaign_channel": ("campaign {id}: the channel {channel} is not one of {codes}",
                           "营销活动 {id}：推送渠道 {channel} 不是 {codes} 之一"),
    "e_campaign_no_audience": ("campaign {id} has no audience expression", "营销活动 {id} 没有填写目标人群表达式"),
    "e_campaign_no_content": ("campaign {id} has no content", "营销活动 {id} 没有填写推送内容"),
    "camp_title": ("Campaign {id} {name} ({channel}), as of {as_of}", "营销活动 {id} {name}（{channel}），截至 {as_of}"),
    "camp_audience": ("Audience", "目标人群"),
    "camp_already": ("Already in this campaign", "已在本活动中"),
    "camp_suppressed": ("Suppressed", "已拦截"),
    "camp_to_queue": ("To queue", "待加入发送队列"),
    "camp_n_at": ("{n} (scheduled for {at})", "{n}（计划发送时间 {at}）"),
    "camp_samples": ("Sample messages", "消息示例"),
    "camp_no_samples": ("No sample message: the audience is empty.", "没有消息示例：目标人群为空。"),
    "camp_subject": ("Subject", "主题"),
    "camp_address": ("Sent to", "发送地址"),
    "camp_text": ("Message", "消息内容"),
    "camp_queued": ("Queued", "已加入发送队列"),
    "camp_scheduled_at": ("scheduled for", "计划发送时间"),
    "camp_queued_done": ("Queued: {n} messages, scheduled for {at}.", "已加入发送队列：{n} 条消息，计划发送时间 {at}。"),
    "camp_written": ("Written", "已写入"),
    "camp_dry_run": ("Dry run: nothing was written.", "试运行：未写入任何内容。"),
    "dash_campaign_launch": ("Preview and launch a campaign", "预览并发起营销活动"),
    "dash_campaign_pick": ("Campaign", "营销活动"),
    "dash_preview": ("Preview", "预览"),
    "dash_launch": ("Launch", "发起"),
    "dash_campaign_launched": ("{n} messages of {id} queued, scheduled for {at}; saved to campaigns.xlsx.",
                               "{id} 已有 {n} 条消息加入发送队列，计划发送时间 {at}；已保存到 campaigns.xlsx。"),
    "dash_campaign_preview_first": ("Preview the campaign first, then launch it.", "请先预览营销活动，再发起。"),
})


# --- delivery transports: SMTP and webhooks (crmkit.delivery.outgoing, smtp, webhooks, transports)
TEXT.update({
    "tx_unsub_url": ("To unsubscribe from these e-mails: {url}", "退订此类邮件：{url}"),
    "tx_unsub_reply": ("To stop receiving these e-mails, reply with the word unsubscribe.",
                       "如不想再收到此类邮件，请回复“退订”。"),
    "tx_sms_stop": ("Reply STOP to unsubscribe", "回T退订"),
    "tx_bad_email": ("not an e-mail address: {address}", "不是有效的邮箱地址：{address}"),
    "tx_bad_mail": ("the e-mail cannot be written: {detail}", "无法生成该邮件：{detail}"),
    "tx_no_starttls": ("{host} does not offer STARTTLS; set smtp_security to tls (port 465) or check smtp_port",
                       "{host} 不支持 STARTTLS；请将 smtp_security 设为 tls（端口 465）或检查 smtp_port"),
    "tx_login": ("{host} refused the login of {user}: {reply}; check smtp_user and the password variable "
                 "(smtp_password_env)",
                 "{host} 拒绝了 {user} 的登录：{reply}；请检查 smtp_user 和密码环境变量（smtp_password_env）"),
    "tx_no_auth": ("{host} offers no login (AUTH) on this connection; leave smtp_user blank, or use starttls or tls",
                   "{host} 在此连接上不提供登录（AUTH）；请将 smtp_user 留空，或使用 starttls 或 tls"),
    "tx_smtp_greeting": ("{host} refused the session: {reply}", "{host} 拒绝了会话：{reply}"),
    "tx_cert": ("the certificate of {host} is not trusted ({detail}); give its CA or certificate (PEM) in "
                "smtp_ca_file", "{host} 的证书不受信任（{detail}）；请在 smtp_ca_file 中提供其 CA 或证书（PEM）"),
    "tx_cert_http": ("the certificate of {host} is not trusted: {detail}", "{host} 的证书不受信任：{detail}"),
    "tx_tls": ("TLS with {host} failed ({detail}); check smtp_security ({security}) and smtp_port",
               "与 {host} 的 TLS 连接失败（{detail}）；请检查 smtp_security（{security}）和 smtp_port"),
    "tx_timeout": ("{host} did not answer within {seconds} s", "{host} 在 {seconds} 秒内没有响应"),
    "tx_refused": ("{host} refused the connection (is the server running?)", "{host} 拒绝连接（服务器是否在运行？）"),
    "tx_unknown_host": ("unknown host {host}", "找不到主机 {host}"),
    "tx_conn_lost": ("the connection to {host} broke: {detail}", "与 {host} 的连接中断：{detail}"),
    "tx_no_smtputf8": ("{host} does not take international addresses such as {address} (no SMTPUTF8)",
                       "{host} 不接受 {address} 这样的国际化地址（不支持 SMTPUTF8）"),
    "tx_sender_refused": ("the server refused the sender {sender}: {reply}", "服务器拒绝了发件人 {sender}：{reply}"),
    "tx_rcpt_refused": ("the server refused the recipient {address}: {reply}", "服务器拒收收件人 {address}：{reply}"),
    "tx_data_refused": ("the server refused the message: {reply}", "服务器拒收了这封邮件：{reply}"),
    "tx_http_connect": ("cannot connect to {host}: {detail}", "无法连接 {host}：{detail}"),
    "tx_redirect": ("{host} answered HTTP {status}, pointing to {target}; put the final address in the webhook URL",
                    "{host} 返回 HTTP {status}，指向 {target}；请在 Webhook 地址中填写最终地址"),
    "tx_http_status": ("{host} answered HTTP {status}: {detail}", "{host} 返回 HTTP {status}：{detail}"),
    "tx_wecom_reply": ("{host} gave no WeCom robot reply (no errcode): {detail}",
                       "{host} 的返回不是企业微信机器人的格式（没有 errcode）：{detail}"),
    "tx_wecom_long": ("the text is {size} bytes; a WeCom robot takes at most {most} (about 680 Chinese characters)",
                      "内容为 {size} 字节；企业微信机器人最多接受 {most} 字节（约 680 个汉字）"),
    "tx_wecom_error": ("WeCom robot error {errcode}: {errmsg}", "企业微信机器人错误 {errcode}：{errmsg}"),
    # Settings problems (the detail of e_setting_bad)
    "tx_set_number": ("a number from {low} to {high}", "应为 {low} 到 {high} 之间的数字"),
    "tx_set_choice": ("{value} is not one of {choices}", "{value} 不是 {choices} 之一"),
    "tx_set_from": ("{value} is no e-mail address; write e.g. Sales <sales@example.com>",
                    "{value} 不是邮箱地址；请写成如 销售部 <sales@example.com>"),
    "tx_set_env_name": ("smtp_user is set, so name the environment variable that holds the password",
                        "已填写 smtp_user，请填写保存密码的环境变量名"),
    "tx_set_env_unset": ("the environment variable {var} (the SMTP password) is not set; set it before running "
                         "crmkit, or leave smtp_user blank to send without login",
                         "环境变量 {var}（SMTP 密码）未设置；请在运行 crmkit 前设置，或将 smtp_user 留空以免登录发送"),
    "tx_set_env_not_name": ("this is not the name of an environment variable (letters, digits and _): write the "
                            "variable's name here, e.g. CRMKIT_SMTP_PASSWORD, and put the password in that variable, "
                            "never in the workbook",
                            "这里应填写环境变量的名称（字母、数字和下划线），如 CRMKIT_SMTP_PASSWORD；密码请放在该环境变量中，"
                            "不要写进工作簿"),
    "tx_set_ca_missing": ("no such file: {path}", "找不到文件：{path}"),
    "tx_set_ca_bad": ("{path} is not a PEM certificate file: {detail}", "{path} 不是 PEM 证书文件：{detail}"),
    "tx_set_url": ("{value} is not an http:// or https:// address", "{value} 不是 http:// 或 https:// 地址"),
    "tx_set_var": ("the environment variable {var} is not set", "环境变量 {var} 未设置"),
    "tx_set_header": ("{part} is not Name: value (separate headers with ;)", "{part} 不是“名称: 值”的格式（多个请求头用 ; 分隔）"),
    "tx_set_header_ascii": ("the value of {name} is not ASCII; HTTP headers carry ASCII only",
                            "{name} 的值含有非 ASCII 字符；HTTP 请求头只能使用 ASCII 字符"),
    "tx_set_json": ("not JSON: {detail}", "不是有效的 JSON：{detail}"),
    "tx_set_json_kind": ("a JSON object, e.g. {\"to\": \"{phone}\", \"text\": \"{content}\"}",
                         "应为 JSON 对象，如 {\"to\": \"{phone}\", \"text\": \"{content}\"}"),
    "tx_set_id_field": ("{value} is not a dotted path such as data.id", "{value} 不是 data.id 这样以点分隔的路径"),
    "tx_set_clear_password": ("none sends the SMTP password unencrypted to another machine; use starttls or tls",
                              "none 会把 SMTP 密码以明文发往其他机器；请使用 starttls 或 tls"),
    "tx_set_clear_webhook": ("http:// sends messages and headers unencrypted; use https://",
                             "http:// 会以明文发送消息和请求头；请使用 https://"),
    "tx_set_port_hint": ("port {port} is usually not the one for smtp_security {security} (usually {usual})",
                         "端口 {port} 通常不用于 smtp_security {security}（通常为 {usual}）"),
})


# --- crmkit send (crmkit.delivery.send, send_summary)
TEXT.update({
    "send_title": ("Sending as of {as_of}", "消息发送（截至 {as_of}）"),
    "send_dry": (" (dry run: no server contacted, nothing written)", "（试运行：未连接任何服务器，未写入任何内容）"),
    "send_bar": ("Sending", "正在发送"),
    "send_nothing_due": ("No message is due.", "没有到期待发送的消息。"),
    "send_counts": ("Due {due}: sent {sent}, failed {failed}, suppressed {suppressed}, deferred {deferred}",
                    "到期 {due} 条：已发送 {sent}，发送失败 {failed}，已拦截 {suppressed}，暂缓 {deferred}"),
    "send_would": ("Would send {n}", "将发送 {n} 条"),
    "send_would_word": ("would send", "将发送"),
    "send_suppressed": ("Suppressed", "已拦截"),
    "send_deferred": ("Deferred (still queued)", "暂缓（仍为待发送）"),
    "send_deferred_word": ("deferred", "暂缓"),
    "send_by_channel": ("By channel", "按渠道"),
    "send_failed_one": ("failed", "发送失败"),
    "send_recovered": ("Outcomes of an interrupted run applied from the send log: {n} ({what})",
                       "已按发送日志补记上次中断运行的结果：{n} 条（{what}）"),
    "send_recovered_dry": ("Outcomes of an interrupted run the send log would apply: {n} ({what})",
                           "发送日志中可补记的上次中断运行结果：{n} 条（{what}）"),
    "send_left_sending": ("{n} messages may or may not have been sent: check and set them to sent or queued: {ids}",
                          "{n} 条消息可能已发出，也可能未发出：请核实后将其发送状态改为“已发送”或“待发送”：{ids}"),
    "send_next_window": ("Outside sending hours: the next window opens at {at}",
                         "当前不在发送时段：下一个发送时段开始于 {at}"),
    "send_maybe_sent": ("may have been delivered: {detail}", "可能已送达：{detail}"),
    "send_deferred_outside_hours": ("outside sending hours", "不在发送时段"),
    "send_deferred_daily_cap": ("daily message cap reached, moved to the next sending day",
                                "已达每日营销消息上限，顺延至下一个发送日"),
    "send_deferred_not_configured": ("channel not set up in Settings", "该渠道未在设置中配置"),
    "send_deferred_channel_unavailable": ("server unreachable, left for the next run", "服务器无法连接，留待下次发送"),
    "send_deferred_limit": ("beyond --limit", "超出 --limit 数量"),
    "send_deferred_channel_error": ("channel cannot send as set up, waiting for Settings to be corrected",
                                    "该渠道按当前设置无法发送，等待修正设置"),
    "send_channel_error": ("{channel} stopped: {reason}", "{channel} 已停止发送：{reason}"),
    "send_deferred_duplicate_id": ("message_id on more than one row", "消息编号重复"),
    "send_deferred_no_id": ("no message_id", "缺少消息编号"),
    "send_duplicate_ids": ("{n} message IDs are on more than one Messages row: none of those rows is sent; "
                           "give each row its own message_id: {ids}",
                           "{n} 个消息编号出现在多行消息记录中：这些行均未发送；请为每行设置不同的消息编号：{ids}"),
    "send_restored": ("Already handed to the provider by an earlier run (per the send ledger), set back instead of "
                      "sent again: {n} ({what})",
                      "按发送台账，以下消息此前已交给服务商，已恢复其状态而不再重复发送：{n} 条（{what}）"),
    "send_restored_dry": ("Already handed to the provider by an earlier run (per the send ledger), would be set back "
                          "instead of sent again: {n} ({what})",
                          "按发送台账，以下消息此前已交给服务商，将恢复其状态而不再重复发送：{n} 条（{what}）"),
    "send_ledger_maybe": ("may have been delivered (send ledger): check, then set to sent",
                          "可能已送达（发送台账）：请核实后改为“已发送”"),
})

TEXT.update({
    # crmkit split (team mode: one workspace per member)
    "readme_reference": ("Read-only reference (protected, no password): {sheets}. Changes made there are not "
                         "merged back into the main workspace.",
                         "只读参考表（已保护，无密码）：{sheets}。在其中所做的修改不会合并回主工作区。"),
    "split_title": ("Split {main} into {out}: {n} workspaces", "已将 {main} 拆分到 {out}：共 {n} 个工作区"),
    "split_folder": ("Folder", "文件夹"),
    "split_no_owner": ("Customers without an owner, in no workspace: {n} ({ids})",
                       "未设负责人的客户（未分入任何工作区）：{n} 个（{ids}）"),
    "split_not_split": ("Customers whose owner got no workspace in this split: {n} ({ids})",
                        "负责人本次未拆分出工作区的客户：{n} 个（{ids}）"),
    "split_unreadable": ("{n} cells of the split rows could not be read as their type and are blank in the "
                         "members' workspaces (the main keeps them; fix them there with crmkit validate), "
                         "first: {file}, sheet {sheet}, row {row}, column {column}: {value!r} ({reason})",
                         "拆分的记录中有 {n} 个单元格无法按其类型读取，在成员工作区中为空（主工作区中保留原值，"
                         "请用 crmkit validate 查找并修正），第一个：{file}，工作表 {sheet}，第 {row} 行，{column} 列："
                         "{value!r}（{reason}）"),
    "split_reference_note": (
        "Rules, Routing, Team, Settings, Fields, Forms, ImportMap and Campaigns are read-only reference sheets "
        "in each workspace (protected, no password): changes there are not merged back by crmkit merge.",
        "各工作区中的规则、分配规则、团队、设置、自定义字段、表单、导入映射和营销活动为只读参考表（已保护，无密码）："
        "在其中的修改不会被 crmkit merge 合并回主工作区。"),
    "e_split_inside": ("the output folder is the workspace itself or inside it: choose a folder outside it",
                       "输出文件夹就是工作区本身或位于其中：请选择工作区以外的文件夹"),
    "e_split_not_folder": ("is a file, not a folder", "这是一个文件，不是文件夹"),
    "e_split_not_empty": ("the folder is not empty and holds no crmkit split: choose an empty folder "
                          "(nothing was written)",
                          "该文件夹不为空，且不是 crmkit 拆分出的工作区：请选择空文件夹（未写入任何内容）"),
    "e_split_other_owner": ("the folder holds the split of {owner}, not of {name}: choose another --out "
                            "(nothing was written)",
                            "该文件夹中是 {owner} 的拆分工作区，不是 {name} 的：请换一个 --out（未写入任何内容）"),
    "e_split_exists": ("the folder already holds {name}'s split of {at}, whose edits may not be merged yet: "
                       "merge it first (crmkit merge), or add --force to replace it (its workbooks are kept in "
                       ".crmkit/backups); nothing was written",
                       "该文件夹中已有 {name} 于 {at} 拆分的工作区，其中的修改可能尚未合并：请先合并（crmkit merge），"
                       "或加 --force 覆盖（原工作簿保存在 .crmkit/backups 中）；未写入任何内容"),
})

# --- team mode: roles and scopes (crmkit.team, crmkit.teamwork)
TEXT.update({
    "e_team_unknown": ("{name!r} is not on the Team sheet (members: {names})", "团队表中没有成员 {name!r}（现有成员：{names}）"),
    "e_scoped_read_only": ("this workspace was opened as {user} and is read-only; open it without as_user to change it",
                           "该工作区以 {user} 的身份打开，只能查看；如需修改，请不带 as_user 打开"),
    "e_manifest_missing": ("not a rep workspace made by crmkit split: {path} is missing",
                           "不是由 crmkit split 拆分出的成员工作区：缺少 {path}"),
    "e_manifest_bad": ("the split manifest {path} cannot be read: {detail}", "无法读取拆分清单 {path}：{detail}"),
    "e_split_unrecorded": ("this split is not recorded in {main} (.crmkit/splits): the rep folder was not written by "
                           "crmkit split of this workspace, or its record was removed; nothing was merged",
                           "{main} 中没有此次拆分的记录（.crmkit/splits）：该文件夹不是由本工作区的 crmkit split "
                           "生成的，或其记录已被删除；未合并任何内容"),
    "e_split_record_bad": ("the record of this split in the main workspace cannot be read ({record}): restore it "
                           "from a backup; nothing was merged",
                           "主工作区中此次拆分的记录无法读取（{record}）：请从备份恢复；未合并任何内容"),
    "e_split_changed": ("the split manifest was changed since the split (it no longer matches the record the split "
                        "kept in the main workspace): merge refuses it; split the rep's records again; nothing was "
                        "merged",
                        "拆分清单在拆分后被修改过（与拆分时在主工作区保存的记录不一致）：拒绝合并；请重新拆分该销售代表的"
                        "记录；未合并任何内容"),
})


# --- crmkit merge DIR REP_FOLDER (crmkit.teamwork.merge, merge_report)
TEXT.update({
    "e_merge_prefer": ("--prefer must be main or rep, not {value}", "--prefer 只能是 main 或 rep，而不是 {value}"),
    "e_merge_same": ("the rep folder is the main workspace itself: give the folder crmkit split wrote for the rep",
                     "销售代表文件夹就是主工作区本身：请指定 crmkit split 为该销售代表生成的文件夹"),
    "e_merge_foreign": ("this rep workspace was split from another workspace, not from {main}; nothing was merged",
                        "此销售代表工作区拆分自其他工作区，而非 {main}；未合并任何内容"),
    "r_merge_parent_rejected": ("its customer {id} is a new row that was rejected",
                                "其所属客户 {id} 是被拒绝的新记录"),
    "r_merge_out_of_scope": ("{value} is outside {owner}'s scope (owners of this split: {owners}): a rep cannot "
                             "give a record away; a manager or admin reassigns it in the main workspace",
                             "{value} 不在 {owner} 的范围内（本次拆分的负责人：{owners}）：销售代表不能把记录转给他人；"
                             "请由主管或管理员在主工作区中重新分配"),
    "r_merge_ref_out_of_scope": ("customer {value} is not one of this rep workspace's customers: not applied",
                                 "客户 {value} 不属于此销售代表工作区的客户：未合并"),
    "rm_title": ("Merge of {rep} ({owner}) into {main}", "合并 {rep}（{owner}）到 {main}"),
    "rm_rows": ("{rows} rows = {applied} applied + {unchanged} unchanged + {conflicting} with conflicts or "
                "rejected edits + {new} new + {deleted} deleted",
                "共 {rows} 行 = 已合并 {applied} + 无变化 {unchanged} + 有冲突或被拒绝的修改 {conflicting} + "
                "新增 {new} + 已删除 {deleted}"),
    "rm_cells": ("cells applied: {cells}; main changes kept: {kept}; conflicts: {conflicts} ({open} open); "
                 "edits rejected: {rejected}",
                 "已合并单元格：{cells}；保留主工作区的修改：{kept}；冲突：{conflicts}（待处理 {open}）；"
                 "被拒绝的修改：{rejected}"),
    "rm_new": ("new rows: {new} = {added} added with new IDs + {matched} matched an existing record + "
               "{rejected} rejected",
               "新增行：{new} = 新建 {added}（已分配新编号）+ 并入已有记录 {matched} + 拒绝 {rejected}"),
    "rm_prefer_hint": ("conflicts are not applied: decide each one in the conflict workbook, or merge again with "
                       "--prefer main or --prefer rep",
                       "冲突未合并：请在冲突工作簿中逐条决定，或使用 --prefer main 或 --prefer rep 重新合并"),
    "rm_reassigned": ("reassigned since the split (the rep's edits were applied all the same)",
                      "拆分后已重新分配负责人的客户（销售代表的修改仍已合并）"),
    "rm_deleted": ("deleted in the rep workspace (never deleted here: a person decides)",
                   "销售代表工作区中删除的记录（此处不会删除，需人工决定）"),
    "rm_rejected": ("rejected (new rows and edits not applied)", "被拒绝的内容（未合并的新增行和修改）"),
    "rm_conflicts": ("conflicts", "冲突"),
    "rm_workbook": ("conflict workbook: {path}", "冲突工作簿：{path}"),
    "rm_nothing": ("nothing to merge: the main workspace already holds every change of this rep workspace",
                   "无需合并：主工作区已包含此销售代表工作区的全部修改"),
    "rm_history": ("History rows: {n}", "历史记录：{n} 行"),
    # the conflict workbook
    "rm_sheet_conflicts": ("Conflicts", "冲突"),
    "rm_sheet_deleted": ("Deleted by the rep", "销售代表删除的记录"),
    "rm_sheet_rejected": ("Rejected rows and edits", "被拒绝的行和修改"),
    "rm_sheet_reassigned": ("Reassigned", "已重新分配"),
    "rm_name": ("Customer", "客户名称"),
    "rm_base": ("Base (as split)", "拆分时的值"),
    "rm_main": ("Main workspace now", "主工作区当前值"),
    "rm_rep": ("Rep workspace", "销售代表工作区的值"),
    "rm_resolution": ("Resolution", "处理结果"),
    "rm_res_open": ("open: a person decides", "待处理：需人工决定"),
    "rm_res_rep": ("rep's value applied (--prefer rep)", "已采用销售代表的值（--prefer rep）"),
    "rm_res_main": ("main value kept (--prefer main)", "保留主工作区的值（--prefer main）"),
    "rm_res_invalid": ("rep's value is not valid for the field: not applied", "销售代表的值不符合字段类型：未合并"),
    "rm_res_missing_in_main": ("record no longer in the main workspace: not applied",
                               "主工作区中已无此记录：未合并"),
    "rm_rep_id": ("ID in the rep workspace", "销售代表工作区中的编号"),
    "rm_base_owner": ("Owner at the split", "拆分时的负责人"),
    "rm_main_owner": ("Owner now", "当前负责人"),
    "rm_rep_owner": ("Owner in the rep workspace", "销售代表工作区中的负责人"),
    "rm_cells_applied": ("Cells applied", "已合并单元格"),
    "rm_c_rows": ("Rows seen", "涉及行数"),
    "rm_c_applied": ("Rows applied", "已合并的行"),
    "rm_c_unchanged": ("Rows unchanged", "无变化的行"),
    "rm_c_conflicting": ("Rows with conflicts", "有冲突的行"),
    "rm_c_new": ("New rows", "新增行"),
    "rm_c_deleted": ("Rows deleted by the rep", "销售代表删除的行"),
    "rm_c_cells_applied": ("Cells applied", "已合并单元格"),
    "rm_c_conflicts": ("Conflicting cells", "冲突单元格"),
    "rm_c_kept_main": ("Main changes kept", "保留主工作区的修改"),
    "rm_c_new_added": ("New rows added", "新建的行"),
    "rm_c_new_matched": ("New rows matching an existing record", "并入已有记录的新增行"),
    "rm_c_new_rejected": ("New rows rejected", "被拒绝的新增行"),
    "rm_c_cells_rejected": ("Edited cells rejected", "被拒绝的修改单元格"),
})


# --- analyst toolkit: cohorts, repeat purchases and campaign intervals (crmkit.analytics, issue 18 item 3)
TEXT.update({
    "e_cohort_period": ("unknown cohort period {period}: use month, quarter or week",
                        "未知的群组周期 {period}：请用 month、quarter 或 week"),
    "e_repeat_curve": ("the repeat-purchase curve needs purchase numbers of 2 or more (2nd, 3rd ...), a step of 1 day "
                       "or more and max_days of 0 or more", "复购曲线需要：购买次数不小于 2（第 2 次、第 3 次……），"
                       "步长至少 1 天，max_days 不小于 0"),
    "e_confidence": ("confidence must be between 0 and 1 (e.g. 0.95), not {value}",
                     "置信水平必须在 0 和 1 之间（如 0.95），不能是 {value}"),
    "e_successes": ("the successes must be between 0 and the number of trials", "成功次数必须在 0 和试验次数之间"),
    "e_campaign_rate": ("unknown campaign rate {rate}: use {known}", "未知的营销活动比率 {rate}：请用 {known}"),
})


# --- product catalogue: validation, analytics, rules, dashboard
TEXT.update({
    "r_ref_soft": ("not in {entity}: the order is kept and counts, but has no product details",
                   "不在{entity}中：订单仍保留并计入统计，但没有产品信息"),
    "r_amount_line": ("does not match quantity × unit price ({expected})",
                      "与 数量 × 成交单价（{expected}）不一致"),
    "r_amount_blank_line": ("required value missing: quantity × unit price is {expected} (crmkit import fills it in)",
                            "必填项为空：数量 × 成交单价 = {expected}（用 crmkit import 导入时会自动填入）"),
    "r_negative": ("must not be negative", "不能为负数"),
    "r_negative_stock": ("negative stock: sold more than was in stock?", "库存为负数：是否超卖？"),
    "r_cost_above_price": ("cost is above the unit price: every sale loses money",
                           "成本高于单价：每卖出一件都亏损"),
    "r_amount_filled": ("amount filled in as quantity × unit price", "订单金额按 数量 × 成交单价 自动填入"),
    "no_product": ("no product", "未指定产品"),
    "no_category": ("no category", "未分类"),
    "col_units": ("Units", "销量"),
    "col_returns": ("Returns", "退货金额"),
    "col_margin": ("Margin", "毛利"),
    "col_margin_pct": ("Margin %", "毛利率"),
    "col_lines_without_quantity": ("Lines without quantity", "无数量的订单行"),
    "col_rank": ("Rank", "排名"),
    "col_share": ("Share of revenue", "销售额占比"),
    "col_short_by": ("Short by", "缺口"),
    "col_products": ("Products", "产品数"),
    "col_category": ("Category", "产品类别"),
    "col_orders_of_a": ("Orders of A", "A的订单数"),
    "col_spent_on_a": ("Spent on A", "在A上的消费"),
    "col_last_order": ("Last order of A", "最近一次购买A"),
    "col_a": ("A", "A"),
    "col_b": ("B", "B"),
    "col_a_name": ("A name", "A名称"),
    "col_b_name": ("B name", "B名称"),
    "col_a_customers": ("Bought A", "购买A的客户数"),
    "col_b_customers": ("Bought B", "购买B的客户数"),
    "col_confidence": ("Also bought B", "购买A者也购买B的比例"),
    "col_confidence_ba": ("Also bought A", "购买B者也购买A的比例"),
    "col_lift": ("Lift", "提升度"),
    "e_x_low_stock": ("low_stock() needs the stock and reorder_level fields: use it in a rule on products",
                      "low_stock() 需要库存和补货点字段：请在适用对象为产品的规则中使用"),
    "dash_products": ("Products", "产品"),
    "dash_products_by_product": ("Revenue and margin by product", "各产品销售额与毛利"),
    "dash_products_by_category": ("Revenue and margin by category", "各类别销售额与毛利"),
    "dash_low_stock": ("Low stock (at or below the reorder level)", "库存不足（不高于补货点）"),
    "dash_low_stock_none": ("No product is at or below its reorder level.", "没有库存低于补货点的产品。"),
    "dash_top_per_segment": ("Top products per RFM segment", "各RFM分群的热销产品"),
    "dash_no_products": ("No order carries a product yet: fill Product ID on Orders and the Products sheet.",
                         "订单尚未关联产品：请在订单中填写产品编号，并维护产品表。"),
    # order store fixes: an Excel workbook named as order source; unreadable text amounts/dates in a source
    "e_order_source_excel": ("an Excel workbook cannot be an order source: import it with `crmkit import FILE "
                             "--into DIR --entity orders`, or save it as CSV or Parquet",
                             "Excel 工作簿不能作为订单数据源：请用 `crmkit import 文件 --into 目录 --entity orders` "
                             "导入，或另存为 CSV 或 Parquet"),
    "w_order_source_unreadable": ("{rows} row(s) of column {column} in the order source are no readable number "
                                  "or date (e.g. {example!r}): they read as blank",
                                  "订单数据源的 {column} 列有 {rows} 行无法识别为数字或日期（例如 {example!r}）：按空白处理"),
})


# --- analyst toolkit review: campaign counts that are not a proportion, the CLV command's options
TEXT.update({
    "e_campaign_counts": ("campaign {id}: {rate} would be {k} {num} of {n} {den}; more {num} than {den} is not a "
                          "proportion, so it has no interval (check its messages' {num} and {den} times)",
                          "营销活动 {id}：{rate} 为 {n} 个{den}中的 {k} 个{num}；{num}多于{den}，不能算比例，"
                          "因此没有置信区间（请检查其消息的{num}与{den}时间）"),
    "e_clv_rate_text": ("write a yearly rate such as 10% or 0.1", "请填写年利率，如 10% 或 0.1"),
    "e_clv_rate_range": ("a yearly rate between 0 and 100% (e.g. 10% or 0.1)", "年利率须在 0 到 100% 之间（如 10% 或 0.1）"),
})


# --- team split / merge with an order source outside the workbook
TEXT.update({
    "e_split_order_source": ("Settings name an order source (order_source = {source}): {what} needs the orders in "
                             "the Orders sheet. Clear order_source in Settings while the team works in split "
                             "workspaces, or keep the orders in the Orders sheet (nothing was written)",
                             "设置中指定了订单数据源（order_source = {source}）：{what} 需要订单位于订单表中。"
                             "团队使用拆分工作区期间请清空设置中的 order_source，或将订单保留在订单表中（未写入任何内容）"),
})
