"""What a transport is given, what it gives back, and how it fails.

* :class:`Outgoing` — one message to deliver, with everything the wire needs
  (the send loop fills it from a Messages row and the customer).
* :class:`Delivered` — the provider's id for it (the SMTP Message-ID, or an id
  read from a webhook's reply), stored in Messages ``provider_message_id``.
* :class:`DeliveryFailed` — why it did not go: a one-line reason and whether
  trying again later may help (``transient``).
* :class:`Transport` — the base of the channel transports (e-mail over SMTP in
  :mod:`crmkit.delivery.smtp`, SMS and WeCom over HTTP webhooks in
  :mod:`crmkit.delivery.webhooks`); :mod:`crmkit.delivery.transports` builds
  them from Settings.

The unsubscribe wording every marketing message carries lives here too, so
e-mail and SMS word it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..exceptions import CrmkitError
from ..i18n import t

CHANNELS = ("email", "sms", "wecom")


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver.

    ``address`` is the e-mail address (channel ``email``) or the phone number
    (``sms``; for ``wecom`` it is optional and, when given, the robot @-mentions
    that mobile).  ``kind`` is ``marketing`` or ``service``: only marketing
    messages carry an unsubscribe header and line.  ``lang`` is the workspace
    language (en/zh), used for the unsubscribe line.
    """

    message_id: str
    customer_id: str
    channel: str
    address: str | None
    subject: str | None
    content: str
    kind: str
    customer_name: str | None = None
    contact_name: str | None = None
    campaign_id: str | None = None
    rule_id: str | None = None
    lang: str = "en"

    @property
    def marketing(self) -> bool:
        return (self.kind or "marketing").strip().lower() != "service"


@dataclass(frozen=True)
class Delivered:
    """The server took the message; ``provider_message_id`` is its id there (None: the reply gave none)."""

    provider_message_id: str | None


class DeliveryFailed(CrmkitError):
    """A message was not delivered.

    A :class:`~crmkit.exceptions.CrmkitError` (exit 1 if it ever reached the
    command line), raised by :meth:`Transport.send` for one message; the other
    messages can still go.

    * ``reason`` — one line.  crmkit's own wording is a catalogued
      :class:`~crmkit.i18n.Msg` (a ``str`` holding the English text;
      ``exc.text("zh")`` or ``crmkit.i18n.tr(exc.reason, "zh")`` gives the
      Chinese); the server's own words (an SMTP reply, a webhook's errmsg) are
      quoted inside it as they came.
    * ``transient`` — True when the same message may go through later (a 4xx
      SMTP reply, HTTP 5xx or 429, a timeout, a refused or dropped connection,
      WeCom's rate limit); False when retrying cannot help (a 5xx SMTP reply
      such as 550 recipient refused, HTTP 4xx, a bad address, a refused
      certificate or login).
    * ``code`` — the SMTP reply code or HTTP status when there was one.
    * ``maybe_sent`` — the whole message had been handed to the server when the
      connection broke or timed out, so the server may have delivered it:
      sending it again may deliver it twice.
    * ``fatal`` — nothing can go through this transport as configured (login
      refused, certificate not trusted, STARTTLS not offered): a send loop may
      stop the channel rather than fail every message with the same reason.
    """

    def __init__(self, reason: str, *, transient: bool, code: int | None = None, maybe_sent: bool = False,
                 fatal: bool = False):
        super().__init__(reason)
        self.transient = transient
        self.code = code
        self.maybe_sent = maybe_sent
        self.fatal = fatal

    @property
    def reason(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DeliveryFailed({str(self.message)!r}, transient={self.transient}, code={self.code})"

    def __reduce__(self):  # pickling keeps the keyword arguments (and a catalogued reason's key)
        return (_failed, (self.message, self.transient, self.code, self.maybe_sent, self.fatal))


def _failed(reason: str, transient: bool, code: int | None, maybe_sent: bool, fatal: bool) -> DeliveryFailed:
    return DeliveryFailed(reason, transient=transient, code=code, maybe_sent=maybe_sent, fatal=fatal)


class Transport:
    """Sends the messages of one channel; keeps what it may reuse (a connection) until :meth:`close`.

    Use it as a context manager, or call :meth:`close` when done.
    """

    channel: str = ""

    def send(self, out: Outgoing) -> Delivered:
        """Deliver ``out`` or raise :class:`DeliveryFailed` (nothing else: another exception is a bug).

        A failure found before anything left the machine (a bad address, a
        mail that cannot be written) is permanent with ``maybe_sent`` False.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the connection (idempotent)."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def one_line(text: object, limit: int = 300) -> str:
    """A server's reply as one short line (SMTP replies span lines; bytes are decoded leniently)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def unsubscribe_line(lang: str, url: str | None = None) -> str:
    """The line a marketing e-mail ends with, in the workspace language."""
    return t("tx_unsub_url", lang).format(url=url) if url else t("tx_unsub_reply", lang)


#: an SMS that already says how to unsubscribe gets no second hint
_SMS_HINT = re.compile(r"退订|\bunsubscribe\b|\bopt[ -]?out\b|\breply\s+stop\b|\btext\s+stop\b", re.IGNORECASE)


def sms_text(out: Outgoing) -> str:
    """The text of an SMS: a marketing one ends with the unsubscribe hint of its language
    (zh ``回T退订``, en ``Reply STOP to unsubscribe``) unless the content already says how
    (退订, unsubscribe, opt out, reply STOP)."""
    content = out.content or ""
    if not out.marketing or _SMS_HINT.search(content):
        return content
    hint = t("tx_sms_stop", out.lang)
    return f"{content.rstrip()}{'' if out.lang == 'zh' else ' '}{hint}" if content.strip() else hint
