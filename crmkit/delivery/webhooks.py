"""SMS and WeCom through HTTP webhooks (:mod:`httpx`, one synchronous client per transport).

A :class:`WebhookTransport` POSTs one JSON body per message.  The body comes
from a preset or from the user's template:

* ``wecom`` — WeCom's group robot: ``{"msgtype": "text", "text": {"content":
  ..., "mentioned_mobile_list": [phone]}}`` (the list only when there is a
  phone).  Success is HTTP 200 with ``errcode`` 0; another errcode fails with
  the robot's ``errmsg`` (45009, the robot's rate limit, and -1, busy, are
  transient).  A text over 2048 bytes (UTF-8), which the robot refuses, fails
  before it is sent.
* ``generic`` — ``{"to": "{address}", "text": "{content}", "message_id":
  "{message_id}"}``, for SMS gateways.
* a template (Settings ``<channel>_webhook_body``) is JSON with ``{field}``
  placeholders in its strings.  It is parsed as JSON once; for each message,
  each string is rendered (:func:`crmkit.delivery.render.render_value`) and the
  result serialised by :func:`json.dumps`, so a quote or a newline in a
  customer's name stays inside its JSON string (values are always strings).

Placeholders: message_id, customer_id, address, phone, email, subject,
content, name, contact_name, campaign_id, rule_id.  The ``content`` of a
marketing SMS ends with the unsubscribe hint (zh 回T退订, en Reply STOP to
unsubscribe) unless it already says 退订/STOP/unsubscribe.

HTTP 5xx, 429, timeouts and refused connections are transient; other 4xx are
permanent.  Redirects are not followed to another host: a 307/308 to the same
scheme, host and port is followed (three times at most), anything else fails
naming where it pointed.  ``id_field`` (a dotted path such as ``data.id`` or
``result.0.sid``) reads the provider's message id from a JSON reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..exceptions import CrmkitError
from ..i18n import msg
from .outgoing import Delivered, DeliveryFailed, Outgoing, Transport, one_line, sms_text
from .render import render_value

PRESETS = ("generic", "wecom")
PLACEHOLDERS = ("message_id", "customer_id", "address", "phone", "email", "subject", "content", "name",
                "contact_name", "campaign_id", "rule_id")
GENERIC_BODY = {"to": "{address}", "text": "{content}", "message_id": "{message_id}"}
#: WeCom robot errcodes worth trying again: -1 system busy, 45009 rate limit
WECOM_TRANSIENT = (-1, 45009)
#: the most a WeCom robot takes in a text message (bytes of UTF-8)
WECOM_MAX_BYTES = 2048
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str, env: Mapping[str, str]) -> str:
    """``${VAR}`` replaced from ``env``; raises KeyError(VAR) for a variable that is not set."""
    def one(m: re.Match) -> str:
        if m.group(1) not in env:
            raise KeyError(m.group(1))
        return env[m.group(1)]

    return _ENV.sub(one, text)


def parse_headers(text: str | None, env: Mapping[str, str]) -> dict[str, str]:
    """``Name: value; Name2: value2`` (``${VAR}`` from ``env``) as a dict.

    Raises ValueError for a part without ``Name:`` and KeyError for an unset variable.
    """
    out: dict[str, str] = {}
    for part in (text or "").replace("；", ";").split(";"):
        if not part.strip():
            continue
        name, colon, value = part.partition(":")
        name = name.strip()
        if not colon or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
            raise ValueError(part.strip())
        out[name] = expand_env(value.strip(), env)
    return out


def message_values(out: Outgoing) -> dict[str, object]:
    """The placeholder values of one message (``content`` with the SMS unsubscribe hint when it applies)."""
    content = sms_text(out) if out.channel == "sms" else out.content or ""
    address = out.address or ""
    return {"message_id": out.message_id, "customer_id": out.customer_id, "address": address,
            "phone": "" if "@" in address else address, "email": address if "@" in address else "",
            "subject": out.subject or "", "content": content, "name": out.customer_name or "",
            "contact_name": out.contact_name or "", "campaign_id": out.campaign_id or "",
            "rule_id": out.rule_id or ""}


def fill(template: object, values: Mapping[str, object]) -> object:
    """The JSON template with each string rendered from ``values`` (keys and other types are kept)."""
    if isinstance(template, str):
        return render_value(template, values) if "{" in template or "}" in template else template
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    return template


def dig(data: object, path: str) -> object:
    """The value at a dotted ``path`` (``data.id``, ``list.0.sid``) in a JSON reply; None when absent."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit() and -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


class WebhookTransport(Transport):
    """POSTs each message of ``channel`` as JSON to ``url``.

    ``body`` is the parsed JSON template (None: the preset's); ``headers`` are
    sent as given (Content-Type is application/json unless they say otherwise).
    """

    def __init__(self, channel: str, url: str, *, preset: str = "generic", headers: Mapping[str, str] | None = None,
                 body: object = None, id_field: str | None = None, timeout: float = 10.0, transport=None):
        import httpx

        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}, not {preset!r}")
        self.channel, self.url, self.preset = channel, url, preset
        self.body = body
        self.id_field = id_field or None
        self.timeout = float(timeout)
        head = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "crmkit"}
        head.update(headers or {})
        self._client = httpx.Client(headers=head, timeout=httpx.Timeout(self.timeout), follow_redirects=False,
                                    transport=transport)
        self.requests = 0           # how many requests were made (for tests and figures)

    def __repr__(self) -> str:
        return f"WebhookTransport({self.channel}, {self.preset}, {_safe_url(self.url)})"

    def payload(self, out: Outgoing) -> object:
        """The JSON body for ``out``."""
        values = message_values(out)
        if self.body is not None:
            return fill(self.body, values)
        if self.preset == "wecom":
            size = len(str(values["content"]).encode("utf-8"))
            if size > WECOM_MAX_BYTES:
                raise DeliveryFailed(msg("tx_wecom_long", size=size, most=WECOM_MAX_BYTES), transient=False)
            text: dict[str, object] = {"content": values["content"]}
            if values["phone"]:
                text["mentioned_mobile_list"] = [values["phone"]]
            return {"msgtype": "text", "text": text}
        return fill(GENERIC_BODY, values)

    def send(self, out: Outgoing) -> Delivered:
        import httpx

        try:
            content = json.dumps(self.payload(out), ensure_ascii=False).encode("utf-8")
        except CrmkitError as exc:       # a filter of the body template fails for this message; nothing was sent
            raise DeliveryFailed(exc.message, transient=False) from None
        url = self.url
        where = _safe_url(url)
        for _hop in range(4):
            try:
                self.requests += 1
                reply = self._client.post(url, content=content)
            except httpx.ConnectTimeout:
                raise DeliveryFailed(msg("tx_timeout", host=where, seconds=f"{self.timeout:g}"), transient=True) \
                    from None
            except httpx.TimeoutException:
                raise DeliveryFailed(msg("tx_timeout", host=where, seconds=f"{self.timeout:g}"), transient=True,
                                     maybe_sent=True) from None
            except httpx.ConnectError as exc:
                text = one_line(exc)
                if "CERTIFICATE_VERIFY_FAILED" in text:
                    raise DeliveryFailed(msg("tx_cert_http", host=where, detail=text), transient=False,
                                         fatal=True) from None
                raise DeliveryFailed(msg("tx_http_connect", host=where, detail=text), transient=True) from None
            except httpx.HTTPError as exc:      # the connection broke after the request went out
                raise DeliveryFailed(msg("tx_conn_lost", host=where, detail=one_line(exc) or type(exc).__name__),
                                     transient=True, maybe_sent=True) from None
            if reply.is_redirect:
                target = reply.next_request.url if reply.next_request is not None else None
                same = target is not None and (target.scheme, target.host, target.port) == \
                    (reply.request.url.scheme, reply.request.url.host, reply.request.url.port)
                if same and reply.status_code in (307, 308):
                    url = str(target)
                    continue
                raise DeliveryFailed(msg("tx_redirect", host=where, status=reply.status_code,
                                         target=_safe_url(str(target)) if target is not None else "-"),
                                     transient=False, code=reply.status_code)
            return self._outcome(reply, where)
        raise DeliveryFailed(msg("tx_redirect", host=where, status=reply.status_code, target=_safe_url(url)),
                             transient=False, code=reply.status_code)

    def _outcome(self, reply, where: str) -> Delivered:
        status = reply.status_code
        if status >= 400 or status < 200:
            transient = status >= 500 or status in (408, 425, 429)
            raise DeliveryFailed(msg("tx_http_status", host=where, status=status,
                                     detail=one_line(reply.text, 200) or reply.reason_phrase),
                                 transient=transient, code=status)
        try:
            data = reply.json() if reply.content else None
        except ValueError:
            data = None
        if self.preset == "wecom":
            errcode = dig(data, "errcode")
            if not isinstance(errcode, int) or isinstance(errcode, bool):
                raise DeliveryFailed(msg("tx_wecom_reply", host=where, detail=one_line(reply.text, 200) or "-"),
                                     transient=False, code=status, maybe_sent=True)
            if errcode != 0:
                raise DeliveryFailed(msg("tx_wecom_error", errcode=errcode,
                                         errmsg=one_line(dig(data, "errmsg") or "-", 200)),
                                     transient=errcode in WECOM_TRANSIENT, code=errcode)
        provider_id = dig(data, self.id_field) if self.id_field else None
        if isinstance(provider_id, (dict, list)) or provider_id is None or provider_id == "":
            provider_id = None
        return Delivered(None if provider_id is None else str(provider_id))

    def close(self) -> None:
        self._client.close()


def _safe_url(url: str) -> str:
    """Scheme, host and port of the URL only, for messages: its path and query may hold a secret
    (a WeCom robot's key, a gateway token in the path)."""
    from urllib.parse import urlsplit

    try:
        u = urlsplit(url)
        return f"{u.scheme}://{u.hostname}" + (f":{u.port}" if u.port else "")
    except (TypeError, ValueError):
        return "?"
