"""Workspace settings (the Settings sheet of rules.xlsx): keys, defaults, types.

The sheet holds ``key, value, description`` rows.  :func:`parse_settings`
turns it into a plain dict of typed values with every default filled in, so
code never needs to know whether a user typed a setting.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import pandas as pd

from .exceptions import ValidationError


@dataclass(frozen=True)
class Setting:
    key: str
    default: object
    type: str            # str, int, float, bool, time, date, datetime, list, duration
    en: str
    zh: str


SPEC: tuple[Setting, ...] = (
    Setting("language", "en", "str", "Workspace language: en or zh.", "工作区语言：en（英文）或 zh（中文）。"),
    Setting("timezone", "Asia/Shanghai", "str", "Time zone of the team.", "团队所在时区。"),
    Setting("as_of", None, "datetime", "Fixed 'now' for this workspace (demo data). Leave blank to use the real time.",
            "固定的当前时间（用于演示数据）。留空则使用实际时间。"),
    Setting("send_window_start", _dt.time(9, 0), "time", "Messages are sent from this time on working days.",
            "工作日消息发送开始时间。"),
    Setting("send_window_end", _dt.time(18, 0), "time", "... and until this time.", "工作日消息发送结束时间。"),
    Setting("daily_message_cap", 2, "int", "At most this many marketing messages per customer per day.",
            "每位客户每天最多接收的营销消息条数。"),
    Setting("holiday_region", "CN", "str", "Public holiday calendar (country code, e.g. CN).",
            "法定节假日日历（国家代码，如 CN）。"),
    Setting("extra_holidays", (), "list", "Extra days off, yyyy-mm-dd separated by ;", "额外的休息日，yyyy-mm-dd，用 ; 分隔。"),
    Setting("makeup_workdays", (), "list", "Weekend days that are working days (调休), separated by ;",
            "调休上班的周末日期，用 ; 分隔。"),
    Setting("cadence_lead", "7d", "duration", "Follow up leads at least this often.", "初步接触阶段客户的跟进周期。"),
    Setting("cadence_qualified", "3d", "duration", "Follow-up cadence for qualified customers.", "需求分析阶段的跟进周期。"),
    Setting("cadence_proposal", "3d", "duration", "Follow-up cadence at proposal.", "方案报价阶段的跟进周期。"),
    Setting("cadence_negotiation", "3d", "duration", "Follow-up cadence at negotiation.", "商务谈判阶段的跟进周期。"),
    Setting("cadence_won", "30d", "duration", "Follow-up cadence for won customers.", "成交客户的回访周期。"),
    Setting("completeness_target", 0.9, "float", "Target share of filled fields (0-1).", "客户信息完整度目标（0-1）。"),
    Setting("phone_region", "CN", "str", "Default country of phone numbers without +code.", "未带国家区号的电话号码默认所属国家。"),
    Setting("date_dayfirst", False, "bool", "Read 01/05/2024 as 1 May (yes) or 5 January (no).",
            "将 01/05/2024 读作 5 月 1 日（是）或 1 月 5 日（否）。"),
    Setting("show_full_contacts", False, "bool", "Show full phone numbers and e-mails in dashboards and exports.",
            "在看板和导出中显示完整的电话和邮箱。"),
    Setting("dedupe_keys", ("phone", "email", "name+contact_name"), "list",
            "Duplicate keys, separated by ;", "判定重复客户的字段，用 ; 分隔。"),
    Setting("target_reach", 0.85, "float", "Campaign reach target (sent / audience).", "营销触达率目标（已发送/目标人数）。"),
    Setting("target_open", 0.25, "float", "Campaign open-rate target (opened / sent).", "营销打开率目标（打开/已发送）。"),
    Setting("target_conversion", 0.10, "float", "Campaign conversion target (clicked / opened).", "营销转化率目标（点击/打开）。"),
    Setting("target_follow_up_compliance", 0.9, "float", "Share of customers followed up on cadence.", "按周期跟进客户的比例目标。"),
    Setting("target_sla_compliance", 0.95, "float", "Share of tickets answered within SLA.", "工单按时响应率目标。"),
    Setting("target_satisfaction", 4.0, "float", "Average ticket satisfaction target (1-5).", "工单平均满意度目标（1-5）。"),
    Setting("target_lead_conversion", 0.2, "float", "Share of leads that become won customers.", "线索转化为成交客户的比例目标。"),
    Setting("target_revenue_month", 0.0, "float", "Monthly revenue target (0 = none).", "月度销售额目标（0 表示不设）。"),
    Setting("rfm_thresholds", None, "str",
            "Fixed RFM score thresholds instead of quantiles, e.g. r=30,60,90,180; f=2,3,5,8; m=1000,5000,10000,50000",
            "固定的 RFM 评分阈值（代替分位数），如 r=30,60,90,180; f=2,3,5,8; m=1000,5000,10000,50000"),
    Setting("backups_keep", 10, "int", "How many previous versions of each workbook to keep.", "每个工作簿保留的历史版本数。"),
    Setting("dedupe_max_shared", 5, "int",
            "A phone or e-mail held by more customers than this is no identity: it never matches duplicates.",
            "同一电话或邮箱被超过此数量的客户使用时不作为查重依据（如总机、占位邮箱）。"),
)

SPEC_BY_KEY = {s.key: s for s in SPEC}


def defaults() -> dict[str, object]:
    return {s.key: s.default for s in SPEC}


def parse_duration(text: object) -> pd.Timedelta:
    """``30m``, ``4h``, ``3d``, ``1w`` (also 分钟/小时/天/周) -> Timedelta."""
    import re

    s = str(text).strip().lower()
    m = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|分钟|分|h|hours?|小时|时|d|days?|天|日|w|weeks?|周)?", s)
    if not m:
        raise ValidationError(f"not a duration: {text!r} (use 30m, 4h, 3d or 1w)")
    n = float(m.group(1))
    unit = (m.group(2) or "d")
    if unit in ("m", "min", "mins", "minute", "minutes", "分钟", "分"):
        return pd.Timedelta(minutes=n)
    if unit in ("h", "hour", "hours", "小时", "时"):
        return pd.Timedelta(hours=n)
    if unit in ("w", "week", "weeks", "周"):
        return pd.Timedelta(weeks=n)
    return pd.Timedelta(days=n)


def _convert(spec: Setting, raw: object):
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or (isinstance(raw, str) and not raw.strip()):
        return spec.default
    if raw is pd.NA or raw is pd.NaT:
        return spec.default
    text = str(raw).strip()
    try:
        if spec.type == "int":
            return int(float(text))
        if spec.type == "float":
            return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
        if spec.type == "bool":
            return text.lower() in ("yes", "y", "true", "1", "是", "允许")
        if spec.type == "time":
            if isinstance(raw, _dt.time):
                return raw
            ts = pd.to_datetime(text if ":" in text else f"{text}:00", format="mixed")
            return ts.time()
        if spec.type in ("date", "datetime"):
            from .normalize import to_datetime

            out, bad = to_datetime(pd.Series([text]))
            if bad.iloc[0]:
                raise ValueError(text)
            return out.iloc[0]
        if spec.type == "list":
            import re

            return tuple(x.strip() for x in re.split(r"[;,，；\n]", text) if x.strip())
        if spec.type == "duration":
            parse_duration(text)
            return text
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"setting {spec.key}: cannot read {text!r} as {spec.type}", column="value",
                              value=text) from exc
    return text


def parse_settings(df: pd.DataFrame | None) -> dict[str, object]:
    """Typed settings from the Settings sheet, with defaults for keys not given.

    Unknown keys are kept as text, so users may add their own.
    """
    out = defaults()
    if df is None or df.empty:
        return out
    for _, row in df.iterrows():  # a handful of rows
        key = row.get("key")
        if key is None or pd.isna(key):
            continue
        key = str(key).strip()
        spec = SPEC_BY_KEY.get(key)
        out[key] = _convert(spec, row.get("value")) if spec else row.get("value")
    return out


def settings_frame(lang: str, overrides: dict[str, object] | None = None) -> pd.DataFrame:
    """The Settings sheet with defaults (and overrides) as text, described in ``lang``."""
    overrides = overrides or {}
    rows = []
    for s in SPEC:
        v = overrides.get(s.key, s.default)
        if s.key == "language":
            v = overrides.get("language", lang)
        rows.append({"key": s.key, "value": format_value(v), "description": s.zh if lang == "zh" else s.en})
    return pd.DataFrame(rows, dtype="string")


def format_value(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, _dt.time):
        return v.strftime("%H:%M")
    if isinstance(v, pd.Timestamp | _dt.datetime):
        return pd.Timestamp(v).strftime("%Y-%m-%d %H:%M")
    if isinstance(v, tuple | list):
        return ";".join(map(str, v)) or None
    return str(v)
