"""Workspace settings (the Settings sheet of rules.xlsx): keys, defaults, types.

The sheet holds ``key, value, description`` rows.  :func:`parse_settings`
turns it into a plain dict of typed values with every default filled in, so
code never needs to know whether a user typed a setting.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .exceptions import UsageError, ValidationError
from .i18n import DEFAULT_LANG, lang_code, msg, word


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
    # delivery (crmkit send): where messages go.  Secrets never live in a workbook: the SMTP password comes from
    # the environment variable named by smtp_password_env, and ${NAME} in webhook headers is read from the environment.
    Setting("smtp_host", None, "str", "SMTP server for e-mail (blank: e-mail is not sent).",
            "发送邮件的 SMTP 服务器（留空则不发送邮件）。"),
    Setting("smtp_port", 587, "int", "SMTP port (587 for STARTTLS, 465 for TLS).", "SMTP 端口（STARTTLS 用 587，SSL 用 465）。"),
    Setting("smtp_security", "starttls", "str", "starttls, tls (implicit, port 465) or none.",
            "加密方式：starttls、tls（隐式 SSL，端口 465）或 none。"),
    Setting("smtp_user", None, "str", "SMTP login name (blank: no login).", "SMTP 登录用户名（留空则不登录）。"),
    Setting("smtp_password_env", "CRMKIT_SMTP_PASSWORD", "str",
            "Name of the environment variable holding the SMTP password (never the password itself).",
            "保存 SMTP 密码的环境变量名（不要在此填写密码本身）。"),
    Setting("smtp_from", None, "str", "Sender address of e-mails, e.g. Sales <sales@example.com>.",
            "发件人地址，如 销售部 <sales@example.com>。"),
    Setting("smtp_ca_file", None, "str",
            "A CA or self-signed certificate file (PEM) to trust for the SMTP server, besides the system's.",
            "额外信任的 CA 或自签名证书文件（PEM），用于连接 SMTP 服务器。"),
    Setting("smtp_timeout", 30.0, "float", "Seconds to wait for the SMTP server.", "等待 SMTP 服务器的秒数。"),
    Setting("unsubscribe_url", None, "str",
            "Unsubscribe link put in marketing e-mails; may use {message_id} and {customer_id}.",
            "营销邮件中的退订链接，可使用 {message_id} 和 {customer_id}。"),
    Setting("unsubscribe_mailto", None, "str", "Address that receives unsubscribe replies (blank: the sender).",
            "接收退订回复的邮箱（留空则为发件人）。"),
    Setting("sms_webhook_url", None, "str", "HTTP endpoint of the SMS gateway (blank: SMS is not sent).",
            "短信网关的 HTTP 地址（留空则不发送短信）。"),
    Setting("sms_webhook_preset", "generic", "str", "Body format: generic (JSON) or wecom.", "请求格式：generic（通用 JSON）或 wecom。"),
    Setting("sms_webhook_headers", None, "str", "Extra HTTP headers, Name: value separated by ;; ${VAR} reads the environment.",
            "附加 HTTP 请求头，格式 名称: 值，用 ; 分隔；${变量} 从环境变量读取。"),
    Setting("sms_webhook_body", None, "str", "JSON body template, e.g. {\"to\": \"{phone}\", \"text\": \"{content}\"}.",
            "JSON 请求体模板，如 {\"to\": \"{phone}\", \"text\": \"{content}\"}。"),
    Setting("sms_webhook_id_field", None, "str", "Where the gateway's reply holds its message id, e.g. data.id.",
            "网关返回结果中消息编号所在的字段，如 data.id。"),
    Setting("wecom_webhook_url", None, "str", "WeCom group robot webhook URL (blank: WeCom is not sent).",
            "企业微信群机器人 Webhook 地址（留空则不发送企业微信消息）。"),
    Setting("wecom_webhook_preset", "wecom", "str", "Body format: wecom or generic (JSON).", "请求格式：wecom 或 generic（通用 JSON）。"),
    Setting("wecom_webhook_headers", None, "str", "Extra HTTP headers, Name: value separated by ;.",
            "附加 HTTP 请求头，格式 名称: 值，用 ; 分隔。"),
    Setting("wecom_webhook_body", None, "str", "JSON body template (blank: the preset's).", "JSON 请求体模板（留空则使用预设格式）。"),
    Setting("wecom_webhook_id_field", None, "str", "Where the reply holds a message id.", "返回结果中消息编号所在的字段。"),
    Setting("webhook_timeout", 10.0, "float", "Seconds to wait for a webhook.", "等待 Webhook 响应的秒数。"),
    Setting("send_rate_email", 60, "int", "At most this many e-mails per minute.", "每分钟最多发送的邮件数。"),
    Setting("send_rate_sms", 60, "int", "At most this many SMS per minute.", "每分钟最多发送的短信数。"),
    Setting("send_rate_wecom", 20, "int", "At most this many WeCom messages per minute (the robot allows 20).",
            "每分钟最多发送的企业微信消息数（群机器人上限为 20）。"),
    Setting("send_max_attempts", 3, "int", "Tries per message before it is marked failed.", "每条消息最多尝试发送的次数。"),
    Setting("send_retry_delay", 2.0, "float", "Seconds before the first retry; doubled for each next one.",
            "首次重试前等待的秒数，之后每次加倍。"),
    Setting("send_batch_size", 20, "int", "Messages sent between two saves of the Messages sheet.",
            "每保存一次消息表之间发送的消息数。"),
    Setting("cycle_at", None, "time", "While crmkit dashboard runs, run the daily cycle at this time (blank: never).",
            "看板运行期间，每天在此时间自动运行每日任务（留空则不运行）。"),
    Setting("cycle_reports", ("week", "month"), "list", "Reports the daily cycle writes when due: week; month.",
            "每日任务到期时生成的报表：week（周报）; month（月报）。"),
    # orders outside the workbook (crmkit.orderstore): RFM, CLV and the analytics read them through DuckDB
    Setting("order_source", None, "str",
            "Orders outside the workbook: a CSV or Parquet file, a folder of Parquet files, or a DuckDB file "
            "(relative to the workspace folder). Blank: the Orders sheet.",
            "存放在工作簿之外的订单：CSV 或 Parquet 文件、Parquet 文件夹或 DuckDB 数据库文件"
            "（相对路径从工作区文件夹算起）。留空则使用订单表。"),
    Setting("order_source_table", "orders", "str", "Table of the orders in a DuckDB order_source.",
            "DuckDB 订单数据源中的订单表名。"),
    # customer lifetime value (crmkit clv): the horizon of the predictions and the discount rate of the CLV
    Setting("clv_horizon_days", 365, "int", "Days ahead that CLV and expected purchases cover (crmkit clv).",
            "客户终身价值和预计购买次数的预测天数（crmkit clv）。"),
    Setting("clv_discount_rate", 0.10, "float",
            "Annual discount rate of future revenue in the CLV, e.g. 10% (money later is worth less today).",
            "客户终身价值中未来收入的年贴现率，如 10%（将来的钱折算到今天价值更低）。"),
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
        raise ValidationError(msg("e_duration", text=repr(text)))
    n = float(m.group(1))
    unit = (m.group(2) or "d")
    if unit in ("m", "min", "mins", "minute", "minutes", "分钟", "分"):
        minutes = n
    elif unit in ("h", "hour", "hours", "小时", "时"):
        minutes = n * 60
    elif unit in ("w", "week", "weeks", "周"):
        minutes = n * 7 * 1440
    else:
        minutes = n * 1440
    if abs(minutes) > MAX_DURATION_DAYS * 1440:
        raise ValidationError(f"duration {text!r} is too long (at most {MAX_DURATION_DAYS} days, about 100 years)")
    return pd.Timedelta(minutes=minutes)


#: The longest duration a rule or setting may give (dates beyond ~2262 do not exist in pandas).
MAX_DURATION_DAYS = 36_525


def _convert(spec: Setting, raw: object):
    if raw is None or (isinstance(raw, float) and pd.isna(raw)) or (isinstance(raw, str) and not raw.strip()):
        return spec.default
    if raw is pd.NA or raw is pd.NaT:
        return spec.default
    text = str(raw).strip()
    try:
        if spec.type == "int":
            num = float(text)
            if not num.is_integer():
                raise ValueError(text)
            return _checked(spec, int(num), text)
        if spec.type == "float":
            num = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
            return _checked(spec, num, text)
        if spec.type == "bool":
            low = text.lower()
            if low in _YES:
                return True
            if low in _NO:
                return False
            raise ValueError(text)
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
    except ValidationError as exc:
        raise ValidationError(msg("e_setting_bad", key=spec.key, detail=exc.message), column="value",
                              value=text) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationError(msg("e_setting_type", key=spec.key, text=repr(text),
                                  type=word(_TYPE_WORDS[spec.type]) if spec.type in _TYPE_WORDS else spec.type),
                              column="value", value=text) from exc
    return _checked(spec, text, text)


_YES = ("yes", "y", "true", "1", "是", "允许", "on")
_NO = ("no", "n", "false", "0", "否", "不允许", "off")
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "bool": "yes or no", "time": "a time (e.g. 09:00)",
               "date": "a date", "datetime": "a date and time", "duration": "a duration (30m, 4h, 3d or 1w)"}
#: Shares (0-1): "85%" or 0.85
_SHARES = ("completeness_target", "target_reach", "target_open", "target_conversion", "target_follow_up_compliance",
           "target_sla_compliance", "target_lead_conversion", "clv_discount_rate")


def _bad(spec: Setting, message: str, text: str) -> ValidationError:
    return ValidationError(msg("e_setting_bad", key=spec.key, detail=word(message)), column="value", value=text)


def _checked(spec: Setting, value, text: str):
    """Check the range or the allowed values of one setting; return the value to use."""
    key = spec.key
    if key == "language":
        if lang_code(text) is None:
            raise _bad(spec, "crmkit speaks en (English) or zh (Simplified Chinese)", text)
        return value
    if key == "timezone":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _bad(spec, "not a time zone; use a name such as Asia/Shanghai, Europe/Berlin or UTC",
                       text) from None
        return value
    if key == "phone_region":
        import phonenumbers

        from .phones import phone_region_code

        region = text.upper()
        if phone_region_code(text) == "ZZ":      # none: only numbers written with +country code are read
            return value
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise _bad(spec, "not a country code for phone numbers; use two letters such as CN, US or DE", text)
        return region
    if key == "rfm_thresholds":
        from .settings import parse_thresholds

        try:
            parse_thresholds(text)           # the parser RFM scoring uses: validate and run agree
        except ValidationError as exc:
            raise ValidationError(exc.message, column="value", value=text) from None
        return value
    if spec.type == "int":
        if value < 0:
            raise _bad(spec, "must not be negative", text)
        if key == "backups_keep" and value > 1000:
            raise _bad(spec, "at most 1000 backups per workbook", text)
        return value
    if spec.type == "float":
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise _bad(spec, "must be a number, not negative", text)
        if key in _SHARES and value > 1:
            raise _bad(spec, "a share between 0 and 1 (write 85% or 0.85)", text)
        if key == "target_satisfaction" and not 1 <= value <= 5:
            raise _bad(spec, "an average satisfaction between 1 and 5", text)
        return value
    return value




def parse_settings(df: pd.DataFrame | None) -> dict[str, object]:
    """Typed settings from the Settings sheet, with defaults for keys not given.

    Unknown keys are kept as text, so users may add their own.
    """
    out = defaults()
    if df is None or df.empty:
        return out
    file, sheet = df.attrs.get("file") or None, df.attrs.get("sheet") or None
    for row_no, row in df.iterrows():  # a handful of rows
        key = row.get("key")
        if key is None or pd.isna(key):
            continue
        key = str(key).strip()
        spec = SPEC_BY_KEY.get(key)
        try:
            out[key] = _convert(spec, row.get("value")) if spec else row.get("value")
        except ValidationError as exc:       # named by file, sheet, row and column
            raise ValidationError(exc.message, file=exc.file or file, sheet=exc.sheet or sheet,
                                  row=int(row_no) if isinstance(row_no, (int, np.integer)) else None,
                                  column="value", value=exc.value) from None
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


# --------------------------------------------------------------------------- languages and RFM thresholds

def check_lang(lang: str | None) -> str:
    """Normalise a language code; accepts en/zh and common spellings (zh_CN, 中文)."""
    if lang is None or str(lang).strip() == "":
        return DEFAULT_LANG
    code = lang_code(lang)
    if code is not None:
        return code
    raise UsageError(msg("e_unknown_lang", lang=repr(lang)))


def parse_thresholds(spec: object) -> dict[str, tuple[float, float, float, float]]:
    """Read ``r=30,60,90,180; f=2,3,5,8; m=1000,5000,10000,50000`` (or a dict).

    Returns ``{metric: (t1, t2, t3, t4)}`` for the metrics given; an empty
    dict (quantiles for all) for a blank spec.  Raises
    :class:`~crmkit.exceptions.ValidationError` naming the setting otherwise.
    """
    if spec is None or (isinstance(spec, float) and np.isnan(spec)):
        return {}
    if isinstance(spec, Mapping):
        items = [(str(k), v) for k, v in spec.items()]
    else:
        text = str(spec).strip()
        if not text:
            return {}
        items = []
        for part in re.split(r"[;；\n]", text):
            part = part.strip()
            if not part:
                continue
            m = re.fullmatch(r"([A-Za-z]+)\s*[=:：]\s*(.+)", part)
            if not m:
                raise _threshold_error(msg("e_rfm_part", part=repr(part)), spec)
            items.append((m.group(1), re.split(r"[,，\s]+", m.group(2).strip())))
    out: dict[str, tuple[float, float, float, float]] = {}
    names = {"r": "r", "recency": "r", "f": "f", "frequency": "f", "m": "m", "monetary": "m"}
    for name, values in items:
        key = names.get(name.strip().lower())
        if key is None:
            raise _threshold_error(msg("e_rfm_metric", name=repr(name)), spec)
        try:
            nums = tuple(float(str(v).replace("_", "")) for v in values if str(v).strip())
        except ValueError:
            raise _threshold_error(msg("e_rfm_numbers", key=key), spec) from None
        if len(nums) != 4:
            raise _threshold_error(msg("e_rfm_four", key=key, n=len(nums)), spec)
        if any(b <= a for a, b in zip(nums, nums[1:])):
            raise _threshold_error(msg("e_rfm_increase", key=key), spec)
        out[key] = nums  # type: ignore[assignment]
    return out


def _threshold_error(message: str, spec: object) -> ValidationError:
    return ValidationError(msg("e_rfm_setting", detail=message), sheet="Settings", column="value",
                           value=None if isinstance(spec, Mapping) else str(spec))
