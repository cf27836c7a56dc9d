"""The delivery transports of a workspace, built from its Settings, and the per-channel rate limit.

One import for the send loop::

    from crmkit.delivery.transports import (Outgoing, Delivered, DeliveryFailed, RateLimiter,
                                             transports_from_settings, check_settings)

    limiter = RateLimiter.from_settings(settings)
    transports = transports_from_settings(settings, folder=workspace_path)  # {"email": SmtpTransport, ...}
    try:
        limiter.wait("email")
        done = transports["email"].send(Outgoing(...))     # done.provider_message_id
    except DeliveryFailed as exc:
        exc.reason, exc.transient, exc.maybe_sent, exc.fatal   # maybe_sent: never resend blindly
    finally:
        for transport in transports.values():
            transport.close()

A channel is switched on by one key: ``smtp_host`` for e-mail,
``sms_webhook_url`` for SMS, ``wecom_webhook_url`` for WeCom.  Blank, the
channel is absent from the dict (its messages stay queued).  Set, the rest
must be complete and valid, or :func:`transports_from_settings` raises a
:class:`~crmkit.exceptions.UsageError` (exit 2) naming the Settings key:
``smtp_from`` missing, ``smtp_security`` not starttls/tls/none, ``smtp_user``
given but the variable named by ``smtp_password_env`` unset, an unreadable
``smtp_ca_file``, a webhook body that is not JSON or names an unknown field,
a header that is not ``Name: value``, a ``${VAR}`` that is not set ...
Nothing is contacted while building: connections open on the first send.
:func:`check_settings` lists the same problems (all of them) as lines, for a
dry run.

Secrets never come from a workbook: the SMTP password is read from the
environment variable named by ``smtp_password_env``; webhook URLs and headers
may say ``${VAR}`` (a WeCom robot's key, a gateway's token).
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..exceptions import CrmkitError, TemplateError, UsageError
from ..i18n import Msg, msg, using_lang
from ..settings import defaults
from .outgoing import CHANNELS, Delivered, DeliveryFailed, Outgoing, Transport
from .render import render_value
from .smtp import SECURITY, SmtpTransport, sender_address
from .webhooks import PLACEHOLDERS, PRESETS, WebhookTransport, expand_env, fill, parse_headers

__all__ = ["CHANNELS", "Delivered", "DeliveryFailed", "Outgoing", "RateLimiter", "Transport", "check_settings",
           "transports_from_settings"]


def _bad(key: str, detail: Msg | str) -> UsageError:
    return UsageError(msg("e_setting_bad", key=key, detail=detail))


def _text(settings: Mapping[str, object], key: str) -> str | None:
    """A Settings value as stripped text, None when blank."""
    v = settings.get(key, defaults().get(key))
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v).strip()
    return s or None


def _number(settings: Mapping[str, object], key: str, kind: type, *, low: float, high: float | None = None):
    raw = settings.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raw = defaults().get(key)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise _bad(key, msg("tx_set_number", low=low, high=high or "-")) from None
    if value != value or value < low or (high is not None and value > high):
        raise _bad(key, msg("tx_set_number", low=low, high=high or "-"))
    return value


def _choice(settings: Mapping[str, object], key: str, choices: tuple[str, ...]) -> str:
    value = (_text(settings, key) or str(defaults().get(key) or "")).lower()
    if value not in choices:
        raise _bad(key, msg("tx_set_choice", value=value, choices=choices))
    return value


def _url(key: str, text: str, env: Mapping[str, str]) -> str:
    try:
        url = expand_env(text, env)
    except KeyError as exc:
        raise _bad(key, msg("tx_set_var", var=exc.args[0])) from None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _bad(key, msg("tx_set_url", value=text))
    return url


def smtp_from_settings(settings: Mapping[str, object], env: Mapping[str, str] = os.environ, *,
                       folder: str | os.PathLike | None = None) -> SmtpTransport | None:
    """The e-mail transport (None when ``smtp_host`` is blank); ``folder`` resolves a relative ``smtp_ca_file``."""
    host = _text(settings, "smtp_host")
    if host is None:
        return None
    security = _choice(settings, "smtp_security", SECURITY)
    port = _number(settings, "smtp_port", int, low=1, high=65535)
    timeout = _number(settings, "smtp_timeout", float, low=0.1)
    sender = _text(settings, "smtp_from")
    if sender is None or sender_address(sender) is None:
        raise _bad("smtp_from", msg("tx_set_from", value=sender or "-"))
    user = _text(settings, "smtp_user")
    password = None
    if user is not None:
        var = _text(settings, "smtp_password_env")
        if var is None:
            raise _bad("smtp_password_env", msg("tx_set_env_name"))
        password = env.get(var)
        if not password:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):     # never echo what may be the password itself
                raise _bad("smtp_password_env", msg("tx_set_env_not_name"))
            raise _bad("smtp_password_env", msg("tx_set_env_unset", var=var))
    ca_file = _text(settings, "smtp_ca_file")
    if ca_file is not None:
        path = Path(ca_file).expanduser()
        if not path.is_absolute() and folder is not None:
            path = Path(folder) / path
        if not path.is_file():
            raise _bad("smtp_ca_file", msg("tx_set_ca_missing", path=str(path)))
        ca_file = str(path)
    url = _text(settings, "unsubscribe_url")
    if url is not None:
        try:
            render_value(url, {"message_id": "M000001", "customer_id": "C000001"})
        except TemplateError as exc:
            raise _bad("unsubscribe_url", exc.message) from None
        if urlsplit(url).scheme.lower() not in ("http", "https") or not urlsplit(url).hostname:
            raise _bad("unsubscribe_url", msg("tx_set_url", value=url))
    mailto = _text(settings, "unsubscribe_mailto")
    if mailto is not None:
        mailto = sender_address(mailto.removeprefix("mailto:").strip())
        if mailto is None:
            raise _bad("unsubscribe_mailto", msg("tx_set_from", value=_text(settings, "unsubscribe_mailto")))
    import ssl

    try:
        return SmtpTransport(host, port, sender=sender, security=security, user=user, password=password,
                             ca_file=ca_file, timeout=timeout, unsubscribe_url=url, unsubscribe_mailto=mailto)
    except (ssl.SSLError, OSError) as exc:     # the CA file is no PEM
        raise _bad("smtp_ca_file", msg("tx_set_ca_bad", path=ca_file, detail=str(exc))) from None


def webhook_from_settings(channel: str, settings: Mapping[str, object],
                          env: Mapping[str, str] = os.environ) -> WebhookTransport | None:
    """The SMS or WeCom transport (None when ``<channel>_webhook_url`` is blank)."""
    import json

    prefix = f"{channel}_webhook_"
    raw_url = _text(settings, prefix + "url")
    if raw_url is None:
        return None
    url = _url(prefix + "url", raw_url, env)
    preset = _choice(settings, prefix + "preset", PRESETS)
    try:
        headers = parse_headers(_text(settings, prefix + "headers"), env)
    except KeyError as exc:
        raise _bad(prefix + "headers", msg("tx_set_var", var=exc.args[0])) from None
    except ValueError as exc:
        raise _bad(prefix + "headers", msg("tx_set_header", part=str(exc))) from None
    for name, value in headers.items():
        if not value.isascii():
            raise _bad(prefix + "headers", msg("tx_set_header_ascii", name=name))
    body = None
    text = _text(settings, prefix + "body")
    if text is not None:
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise _bad(prefix + "body", msg("tx_set_json", detail=str(exc))) from None
        if not isinstance(body, (dict, list)):
            raise _bad(prefix + "body", msg("tx_set_json_kind"))
        try:
            fill(body, dict.fromkeys(PLACEHOLDERS, "x"))
        except TemplateError as exc:
            raise _bad(prefix + "body", exc.message) from None
    id_field = _text(settings, prefix + "id_field")
    if id_field is not None and not all(part.strip() for part in id_field.split(".")):
        raise _bad(prefix + "id_field", msg("tx_set_id_field", value=id_field))
    timeout = _number(settings, "webhook_timeout", float, low=0.1)
    return WebhookTransport(channel, url, preset=preset, headers=headers, body=body, id_field=id_field,
                            timeout=timeout)


def _build(channel: str, settings: Mapping[str, object], env: Mapping[str, str], folder) -> Transport | None:
    if channel == "email":
        return smtp_from_settings(settings, env, folder=folder)
    return webhook_from_settings(channel, settings, env)


def transports_from_settings(settings: Mapping[str, object], env: Mapping[str, str] = os.environ, *,
                             folder: str | os.PathLike | None = None) -> dict[str, Transport]:
    """One transport per configured channel (``email``, ``sms``, ``wecom``); raises UsageError for a bad one.

    ``folder`` (the workspace) resolves a relative ``smtp_ca_file``.  Close the
    transports when done (each is a context manager).
    """
    out: dict[str, Transport] = {}
    try:
        for channel in CHANNELS:
            transport = _build(channel, settings, env, folder)
            if transport is not None:
                out[channel] = transport
    except BaseException:
        for transport in out.values():
            transport.close()
        raise
    return out


def check_settings(settings: Mapping[str, object], env: Mapping[str, str] = os.environ, *,
                   folder: str | os.PathLike | None = None, lang: str | None = None) -> list[str]:
    """Every problem of the delivery Settings, one line each (in ``lang``; default the current language).

    The errors :func:`transports_from_settings` would raise, for all channels,
    then hints that do not stop sending: a port that does not match
    ``smtp_security``, a password or webhook sent unencrypted to another
    machine.  Empty when all is well.  Contacts no server.
    """
    problems: list[str] = []
    for channel in CHANNELS:
        try:
            transport = _build(channel, settings, env, folder)
        except CrmkitError as exc:
            problems.append(_line(exc, lang))
            continue
        if transport is not None:
            transport.close()
    if _text(settings, "smtp_host") is not None:
        security = (_text(settings, "smtp_security") or "").lower()
        port = settings.get("smtp_port", defaults()["smtp_port"])
        usual = {"starttls": 587, "tls": 465}.get(security)
        if usual is not None and port in (465, 587) and port != usual:
            problems.append(_line(_bad("smtp_port", msg("tx_set_port_hint", port=port, security=security,
                                                        usual=usual)), lang))
        if security == "none" and _text(settings, "smtp_user") and not _local(_text(settings, "smtp_host")):
            problems.append(_line(_bad("smtp_security", msg("tx_set_clear_password")), lang))
    for channel in ("sms", "wecom"):
        url = _text(settings, f"{channel}_webhook_url")
        if url is not None and urlsplit(url).scheme.lower() == "http" and not _local(urlsplit(url).hostname):
            problems.append(_line(_bad(f"{channel}_webhook_url", msg("tx_set_clear_webhook")), lang))
    return problems


def _local(host: str | None) -> bool:
    """A name or address of this machine (where unencrypted traffic does not cross a network)."""
    import ipaddress

    host = (host or "").strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _line(exc: CrmkitError, lang: str | None) -> str:
    with using_lang(lang):
        return str(exc)


class RateLimiter:
    """At most N sends per minute per channel (a sliding window of 60 s).

    ``per_minute`` maps a channel to its limit (0 or absent: no limit).
    :meth:`wait` blocks until the channel may send once more and counts that
    send.  ``clock`` and ``sleep`` default to :func:`time.monotonic` and
    :func:`time.sleep`; tests give fake ones.
    """

    def __init__(self, per_minute: Mapping[str, int], *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, window: float = 60.0):
        self.per_minute = {k: int(v) for k, v in per_minute.items() if v}
        self.clock, self.sleep, self.window = clock, sleep, float(window)
        self._sent: dict[str, deque[float]] = {}
        self.waited = 0.0             # seconds spent waiting, all channels

    @classmethod
    def from_settings(cls, settings: Mapping[str, object], **kw) -> RateLimiter:
        """Limits from Settings ``send_rate_email``, ``send_rate_sms``, ``send_rate_wecom``."""
        limits = {}
        for channel in CHANNELS:
            key = f"send_rate_{channel}"
            limits[channel] = _number(settings, key, int, low=0)
        return cls(limits, **kw)

    def delay(self, channel: str) -> float:
        """Seconds until ``channel`` may send again (0: now)."""
        limit = self.per_minute.get(channel)
        sent = self._sent.get(channel)
        if not limit or not sent:
            return 0.0
        now = self.clock()
        while sent and sent[0] <= now - self.window:
            sent.popleft()
        return 0.0 if len(sent) < limit else max(0.0, sent[0] + self.window - now)

    def wait(self, channel: str) -> float:
        """Block until ``channel`` may send, count one send; returns the seconds waited."""
        waited = 0.0
        while (pause := self.delay(channel)) > 0:
            self.sleep(pause)
            waited += pause
        if self.per_minute.get(channel):
            self._sent.setdefault(channel, deque()).append(self.clock())
        self.waited += waited
        return waited
