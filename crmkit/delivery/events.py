"""The words of a sending service's event export: its columns and its events, in English and Chinese.

One home for the vocabulary :mod:`crmkit.delivery.results` reads.  An export
is described like a sheet (:data:`EXPORT`, a :class:`~crmkit.schema.Entity`
that no workbook holds), so that :func:`crmkit.io.sources.read_source` finds
its header row below title rows and matches its headers case-, space- and
language-insensitively, as for any import.  :data:`RESULT_EVENT` lists the
events with their spellings (``opened``, ``打开``, ``hard_bounce``, ``退信`` ...).
"""

from __future__ import annotations

from ..schema import Choice, Entity, Enum
from ..schema import Field as F

#: The events an export may report, in the order the summary lists them.  ``bounce`` without a
#: kind is a hard bounce; ``deferred`` (the service will try again) is a soft one.
RESULT_EVENT = Enum("result_event", tuple(Choice(*row) for row in (
    ("delivered", "delivered", "送达", ("deliver", "delivery", "sent", "processed", "已送达", "发送成功",
                                        "成功", "已发送")),
    ("open", "opened", "打开", ("open", "opens", "read", "已打开", "已读", "阅读")),
    ("click", "clicked", "点击", ("click", "clicks", "已点击", "点击链接")),
    ("conversion", "converted", "转化", ("conversion", "convert", "purchase", "order", "成交", "已转化",
                                         "下单", "购买")),
    ("hard_bounce", "hard bounce", "硬退信", ("bounce", "bounced", "hardbounce", "退信", "退回", "已退信",
                                             "无法送达", "undeliverable", "空号")),
    # "failed" says nothing about the address (a gateway's rate limit, its balance): never a mark on it
    ("soft_bounce", "soft bounce", "软退信", ("softbounce", "deferred", "暂时退信", "延迟", "失败", "failed",
                                             "发送失败")),
    ("unsubscribe", "unsubscribed", "退订", ("unsubscribe", "unsub", "opt-out", "optout", "已退订",
                                             "取消订阅")),
    ("complaint", "complaint", "投诉", ("spam", "spamreport", "spam report", "abuse", "举报",
                                        "垃圾邮件举报", "标记为垃圾邮件")),
)))

#: The columns of an event export.  An id column is tried against both the provider's id and
#: crmkit's own message id, whichever way the service named it.
EXPORT = Entity("results", "Results", "发送结果", "campaigns", synonyms=("events", "事件", "发送明细"), fields=(
    F("provider_message_id", "Provider message ID", "服务商消息编号", "text",
      synonyms=("provider id", "服务商编号", "sg_message_id", "smtp-id", "smtp id", "x-message-id",
                "provider message id", "服务商消息ID", "第三方消息编号", "sid", "biz_id", "bizid")),
    F("message_id", "Message ID", "消息编号", "text",
      synonyms=("message-id", "msg_id", "msgid", "消息ID", "消息id", "id", "message", "邮件编号", "短信编号")),
    F("event", "Event", "事件", "text", True,
      synonyms=("type", "status", "event type", "事件类型", "状态", "发送状态", "类型", "event_name", "action")),
    F("address", "Recipient", "收件人", "text",
      synonyms=("email", "e-mail", "recipient", "to", "phone", "mobile", "邮箱", "手机号", "手机", "手机号码",
                "电子邮箱", "email address", "地址", "号码", "收件地址", "接收号码")),
    F("at", "Time", "时间", "text",
      synonyms=("timestamp", "date", "event_time", "event time", "datetime", "发生时间", "事件时间", "日期",
                "时间戳", "created", "time")),
    F("revenue", "Revenue", "收入", "text",
      synonyms=("amount", "order_amount", "order amount", "value", "金额", "订单金额", "成交金额", "带来收入")),
    F("detail", "Reason", "原因", "text",
      synonyms=("detail", "details", "description", "response", "bounce reason", "详情", "说明", "退信原因",
                "失败原因", "备注")),
))
