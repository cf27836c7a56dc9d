"""Delivery transports against real servers on 127.0.0.1: an aiosmtpd SMTP server (plain, login, STARTTLS and
implicit TLS with a self-signed certificate made by trustme) and a local HTTP server receiving webhooks.

Every server listens on a free port of 127.0.0.1, and stops at the end of its test; timeouts are short.
"""

from __future__ import annotations

import contextlib
import email
import json
import socket
import ssl
import threading
import time
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crmkit.delivery.transports import (
    Delivered,
    DeliveryFailed,
    Outgoing,
    RateLimiter,
    check_settings,
    transports_from_settings,
)
from crmkit.exceptions import UsageError
from crmkit.i18n import tr

pytestmark = pytest.mark.timeout(120)

BLANK = {"smtp_host": None, "sms_webhook_url": None, "wecom_webhook_url": None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def out(message_id="M000123", *, address="li.lei@example.com", kind="marketing", channel="email", lang="en",
        subject="Spring offer", content="Hello Li Lei,\nour spring offer is here.", **kw) -> Outgoing:
    return Outgoing(message_id=message_id, customer_id=kw.pop("customer_id", "C000042"), channel=channel,
                    address=address, subject=subject, content=content, kind=kind, lang=lang, **kw)


# --------------------------------------------------------------------------- SMTP server


class Inbox:
    """aiosmtpd handler: keeps each envelope; refuses recipients starting with refused (550) or later (451)."""

    def __init__(self):
        self.envelopes = []
        self.logins = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return f"550 5.1.1 <{address}>: user unknown"
        if address.startswith("later"):
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        if envelope.rcpt_tos[0].startswith("drop"):     # takes the mail, then hangs up before saying so
            server.transport.close()
        return "250 Message accepted for delivery"

    def mails(self):
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"sales" and auth_data.password == "s3cret-密码".encode()
        return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def smtp_server(inbox: Inbox | None = None, *, port: int | None = None, **kw):
    from aiosmtpd.controller import Controller

    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), ready_timeout=10, **kw)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def smtp_settings(port: int, **kw) -> dict:
    return {**BLANK, "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
            "smtp_from": "Sales 销售部 <sales@example.com>", "smtp_timeout": 5.0, **kw}


def email_transport(settings: dict, env: dict | None = None):
    transports = transports_from_settings(settings, env or {})
    assert set(transports) == {"email"}
    return transports["email"]


@pytest.fixture(scope="module")
def ca():
    import trustme

    return trustme.CA()


@pytest.fixture
def server_tls(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def test_marketing_mail_has_chinese_subject_and_body_list_unsubscribe_and_both_message_ids():
    with smtp_server() as (controller, inbox):
        settings = smtp_settings(controller.port, unsubscribe_url="https://crm.example.com/u/{message_id}?c={customer_id}")
        with email_transport(settings) as transport:
            done = transport.send(out(subject="春季新品：给您的专属优惠", content="李雷您好：\n春季新品已上市，欢迎选购。",
                                      lang="zh", contact_name="李雷"))
    assert isinstance(done, Delivered)
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "sales@example.com" and envelope.rcpt_tos == ["li.lei@example.com"]
    raw = envelope.content.decode("ascii")                      # the wire form is plain ASCII
    assert "Subject: =?utf-8?" in raw
    [mail] = inbox.mails()
    assert mail["Subject"] == "春季新品：给您的专属优惠"
    assert mail["To"].addresses[0].display_name == "李雷"
    assert mail["To"].addresses[0].addr_spec == "li.lei@example.com"
    assert mail["From"].addresses[0].display_name == "Sales 销售部"
    assert mail["Message-ID"] == done.provider_message_id and done.provider_message_id.endswith("@example.com>")
    assert mail["X-Crmkit-Message-Id"] == "M000123"
    assert mail["List-Unsubscribe"] == ("<mailto:sales@example.com?subject=unsubscribe%20M000123>, "
                                        "<https://crm.example.com/u/M000123?c=C000042>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    body = mail.get_content()
    assert body.splitlines()[:2] == ["李雷您好：", "春季新品已上市，欢迎选购。"]
    assert body.rstrip().endswith("退订此类邮件：https://crm.example.com/u/M000123?c=C000042")


def test_service_mail_carries_no_unsubscribe_header_nor_line():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port, unsubscribe_url="https://crm.example.com/u")) as tr_:
            tr_.send(out(kind="service", subject="Your ticket T000007 is solved", content="Dear customer,\nsolved."))
    [mail] = inbox.mails()
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert mail.get_content().splitlines() == ["Dear customer,", "solved."]
    assert "unsubscribe" not in mail.get_content().lower()


def test_unsubscribe_goes_to_the_mailto_setting_and_an_http_url_gets_no_one_click_post():
    with smtp_server() as (controller, inbox):
        settings = smtp_settings(controller.port, unsubscribe_mailto="mailto:optout@example.com",
                                 unsubscribe_url="http://crm.example.com/u/{message_id}")
        with email_transport(settings) as transport:
            transport.send(out())
            transport.send(out("M000124", lang="en"))
    first, second = inbox.mails()
    assert first["List-Unsubscribe"] == ("<mailto:optout@example.com?subject=unsubscribe%20M000123>, "
                                         "<http://crm.example.com/u/M000123>")
    assert first["List-Unsubscribe-Post"] is None
    assert "subject=unsubscribe%20M000124" in second["List-Unsubscribe"]
    assert second.get_content().rstrip().endswith("To unsubscribe from these e-mails: http://crm.example.com/u/M000124")


def test_without_unsubscribe_url_the_line_asks_for_a_reply_in_the_workspace_language():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port)) as transport:
            transport.send(out(lang="zh"))
            transport.send(out("M000124", lang="en"))
    zh, en = inbox.mails()
    assert zh["List-Unsubscribe"] == "<mailto:sales@example.com?subject=unsubscribe%20M000123>"
    assert zh.get_content().rstrip().endswith("如不想再收到此类邮件，请回复“退订”。")
    assert en.get_content().rstrip().endswith("reply with the word unsubscribe.")


def test_login_uses_the_password_from_the_environment_variable_named_in_settings():
    inbox = Inbox()
    with smtp_server(inbox, authenticator=inbox.authenticate, auth_require_tls=False) as (controller, _):
        settings = smtp_settings(controller.port, smtp_user="sales", smtp_password_env="CRM_TEST_SMTP_PW")
        with email_transport(settings, {"CRM_TEST_SMTP_PW": "s3cret-密码"}) as transport:
            assert transport.send(out()).provider_message_id
        with email_transport(settings, {"CRM_TEST_SMTP_PW": "wrong"}) as transport:
            with pytest.raises(DeliveryFailed) as info:
                transport.send(out("M000124"))
    assert len(inbox.envelopes) == 1
    failure = info.value
    assert not failure.transient and failure.fatal and failure.code == 535
    assert "refused the login of sales" in failure.reason and "smtp_password_env" in failure.reason
    assert "拒绝了 sales 的登录" in tr(failure.reason, "zh")


def test_password_variable_named_but_unset_is_a_usage_error_naming_the_setting():
    settings = smtp_settings(2525, smtp_user="sales", smtp_password_env="CRM_TEST_SMTP_PW")
    with pytest.raises(UsageError) as info:
        transports_from_settings(settings, {})
    assert info.value.exit_code == 2
    assert "smtp_password_env" in str(info.value) and "CRM_TEST_SMTP_PW" in str(info.value)


def test_a_refused_recipient_fails_permanently_and_the_others_go_on_the_same_connection():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port)) as transport:
            results = []
            for i, address in enumerate(["a@example.com", "refused@example.com", "later@example.com",
                                         "b@example.com"]):
                try:
                    results.append(transport.send(out(f"M00000{i}", address=address)))
                except DeliveryFailed as exc:
                    results.append(exc)
            assert transport.connections == 1
    ok, refused, later, ok2 = results
    assert isinstance(ok, Delivered) and isinstance(ok2, Delivered)
    assert isinstance(refused, DeliveryFailed) and not refused.transient and refused.code == 550
    assert "refused@example.com" in refused.reason and "user unknown" in refused.reason
    assert isinstance(later, DeliveryFailed) and later.transient and later.code == 451
    assert [e.rcpt_tos for e in inbox.envelopes] == [["a@example.com"], ["b@example.com"]]


def test_a_server_that_is_down_is_a_transient_failure():
    with email_transport(smtp_settings(free_port())) as transport:
        with pytest.raises(DeliveryFailed) as info:
            transport.send(out())
    assert info.value.transient and not info.value.maybe_sent
    assert "refused the connection" in info.value.reason


def test_a_server_that_never_answers_times_out_as_a_transient_failure():
    with socket.socket() as listener:          # accepts the TCP connection, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        settings = smtp_settings(listener.getsockname()[1], smtp_timeout=0.5)
        started = time.monotonic()
        with email_transport(settings) as transport:
            with pytest.raises(DeliveryFailed) as info:
                transport.send(out())
    assert time.monotonic() - started < 5
    assert info.value.transient and "did not answer within 0.5 s" in info.value.reason


def test_the_transport_reconnects_when_the_server_dropped_the_connection():
    port = free_port()
    inbox = Inbox()
    with smtp_settings_transport(port) as transport:
        with smtp_server(inbox, port=port):
            transport.send(out("M000001"))
        with smtp_server(inbox, port=port):          # the old connection died with the old server
            transport.send(out("M000002"))
        assert transport.connections == 2
    assert [m["X-Crmkit-Message-Id"] for m in inbox.mails()] == ["M000001", "M000002"]


@contextlib.contextmanager
def smtp_settings_transport(port: int, **kw):
    with email_transport(smtp_settings(port, **kw)) as transport:
        yield transport


def test_starttls_with_a_self_signed_certificate_trusted_through_smtp_ca_file(server_tls, ca_file):
    with smtp_server(tls_context=server_tls, require_starttls=True) as (controller, inbox):
        settings = smtp_settings(controller.port, smtp_security="starttls", smtp_ca_file=str(ca_file))
        with email_transport(settings) as transport:
            transport.send(out(subject="加密传输", content="内容"))
        with email_transport({**settings, "smtp_ca_file": None}) as transport:
            with pytest.raises(DeliveryFailed) as info:
                transport.send(out("M000124"))
    [mail] = inbox.mails()
    assert mail["Subject"] == "加密传输"
    failure = info.value
    assert not failure.transient and failure.fatal
    assert "certificate" in failure.reason and "smtp_ca_file" in failure.reason
    assert "证书不受信任" in tr(failure.reason, "zh")


def test_starttls_refused_by_a_server_without_it_is_a_clear_permanent_failure():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port, smtp_security="starttls")) as transport:
            with pytest.raises(DeliveryFailed) as info:
                transport.send(out())
    assert not info.value.transient and "STARTTLS" in info.value.reason and not inbox.envelopes


def test_implicit_tls_with_a_self_signed_certificate(server_tls, ca_file):
    with smtp_server(ssl_context=server_tls) as (controller, inbox):
        settings = smtp_settings(controller.port, smtp_security="tls", smtp_ca_file=str(ca_file))
        with email_transport(settings) as transport:
            transport.send(out())
    assert len(inbox.envelopes) == 1


def test_a_mail_to_no_address_fails_permanently_without_contacting_the_server():
    with email_transport(smtp_settings(free_port())) as transport:
        with pytest.raises(DeliveryFailed) as info:
            transport.send(out(address="not-an-address"))
    assert not info.value.transient and "not an e-mail address" in info.value.reason


# --------------------------------------------------------------------------- Settings


@pytest.mark.parametrize(("changes", "key", "words"), [
    ({"smtp_security": "foo"}, "smtp_security", "foo is not one of starttls, tls, none"),
    ({"smtp_from": None}, "smtp_from", "no e-mail address"),
    ({"smtp_port": 70000}, "smtp_port", "from 1 to 65535"),
    ({"smtp_ca_file": "/nonexistent/ca.pem"}, "smtp_ca_file", "no such file"),
    ({"smtp_user": "sales", "smtp_password_env": None}, "smtp_password_env", "environment variable"),
    ({"unsubscribe_url": "https://x.example/{message}"}, "unsubscribe_url", "{message}"),
    ({"unsubscribe_url": "crm.example.com/u"}, "unsubscribe_url", "http://"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_body": "{\"to\": \"{phone}\""}, "sms_webhook_body",
     "not JSON"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_body": "{\"to\": \"{mobile}\"}"}, "sms_webhook_body",
     "{mobile}"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_body": "\"{content}\""}, "sms_webhook_body",
     "a JSON object"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_headers": "Authorization: Bearer ${NO_SUCH_VAR}"},
     "sms_webhook_headers", "NO_SUCH_VAR is not set"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_headers": "X-Sign: 样例公司"},
     "sms_webhook_headers", "X-Sign is not ASCII"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_headers": "Authorization Bearer x"},
     "sms_webhook_headers", "not Name: value"),
    ({"sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_preset": "twilio"}, "sms_webhook_preset",
     "twilio is not one of generic, wecom"),
    ({"wecom_webhook_url": "qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "wecom_webhook_url", "http://"),
    ({"wecom_webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${NO_SUCH_KEY}"},
     "wecom_webhook_url", "NO_SUCH_KEY"),
])
def test_a_half_filled_or_invalid_configuration_is_a_usage_error_naming_the_setting(changes, key, words):
    settings = {**smtp_settings(2525), **changes}
    with pytest.raises(UsageError) as info:
        transports_from_settings(settings, {})
    text = str(info.value)
    assert f"setting {key}:" in text and words in text and "\n" not in text
    problems = check_settings(settings, {})
    assert any(f"setting {key}:" in p and words in p for p in problems)


def test_blank_channels_are_absent_and_check_settings_finds_nothing_wrong():
    assert transports_from_settings(BLANK, {}) == {}
    assert check_settings(BLANK, {}) == []
    with contextlib.ExitStack() as stack:
        transports = transports_from_settings(
            {**smtp_settings(2525), "sms_webhook_url": "https://sms.example.com/send",
             "wecom_webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${K}"}, {"K": "abc"})
        for t in transports.values():
            stack.enter_context(t)
        assert sorted(transports) == ["email", "sms", "wecom"]
        assert transports["wecom"].url.endswith("key=abc") and transports["wecom"].preset == "wecom"


def test_check_settings_warns_of_passwords_and_webhooks_sent_unencrypted_to_another_machine():
    remote = {**smtp_settings(2525), "smtp_host": "mail.example.com", "smtp_user": "sales",
              "sms_webhook_url": "http://sms.example.com/send", "wecom_webhook_url": "http://127.0.0.1:8080/hook"}
    problems = check_settings(remote, {"CRMKIT_SMTP_PASSWORD": "pw"})
    assert problems == ["setting smtp_security: none sends the SMTP password unencrypted to another machine; "
                        "use starttls or tls",
                        "setting sms_webhook_url: http:// sends messages and headers unencrypted; use https://"]
    local = {**remote, "smtp_host": "localhost", "sms_webhook_url": "https://sms.example.com/send"}
    assert check_settings(local, {"CRMKIT_SMTP_PASSWORD": "pw"}) == []


def test_check_settings_lists_every_problem_in_chinese_too():
    settings = {**smtp_settings(2525, smtp_security="tls"), "smtp_port": 587,
                "sms_webhook_url": "http://127.0.0.1:9/sms", "sms_webhook_body": "not json"}
    problems = check_settings(settings, {}, lang="zh")
    assert len(problems) == 2
    assert any("sms_webhook_body" in p and "不是有效的 JSON" in p for p in problems)
    assert any("smtp_port" in p and "465" in p for p in problems)


# --------------------------------------------------------------------------- rate limit


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_lets_n_per_minute_through_then_waits_for_the_oldest_to_leave_the_window():
    clock = FakeClock()
    limiter = RateLimiter.from_settings({"send_rate_email": 3, "send_rate_sms": 0, "send_rate_wecom": 20},
                                        clock=clock, sleep=clock.sleep)
    assert [limiter.wait("email") for _ in range(3)] == [0, 0, 0]
    clock.now += 10
    assert limiter.wait("email") == pytest.approx(50)        # the first left the window at 1060
    assert clock.now == pytest.approx(1060)
    assert [limiter.wait("sms") for _ in range(100)] == [0] * 100   # 0: no limit
    assert limiter.wait("wecom") == 0                                # channels are counted apart
    clock.now += 100
    assert limiter.wait("email") == 0 and limiter.waited == pytest.approx(50)


# --------------------------------------------------------------------------- webhooks


class Hook(BaseHTTPRequestHandler):
    """Answers by path: /wecom (errcode 0), /wecom-busy (45009), /wecom-bad (93000), /sms (an id in data.id),
    /status/NNN, /slow (sleeps past the client's timeout), /redirect-same, /redirect-away."""

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "raw": body,
                                     "json": json.loads(body.decode("utf-8"))})
        path = self.path.split("?")[0]
        if path == "/wecom":
            return self.reply(200, {"errcode": 0, "errmsg": "ok"})
        if path == "/wecom-busy":
            return self.reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
        if path == "/wecom-bad":
            return self.reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        if path == "/sms":
            return self.reply(200, {"code": 0, "data": {"id": f"gw-{len(self.server.received)}"}})
        if path.startswith("/status/"):
            return self.reply(int(path.rsplit("/", 1)[1]), {"error": "as asked"})
        if path == "/slow":
            time.sleep(1.5)
            with contextlib.suppress(OSError):        # the client gave up long ago
                self.reply(200, {})
            return None
        if path == "/redirect-same":
            return self.reply(307, {}, location="/sms")
        if path == "/redirect-away":
            return self.reply(307, {}, location="http://198.51.100.7/sms")
        return self.reply(404, {"error": "no such path"})

    def reply(self, status: int, data: object, *, location: str | None = None):
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def hook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    server.daemon_threads = True
    server.block_on_close = False
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def hook_transport(channel: str, url: str, env: dict | None = None, **kw):
    prefix = f"{channel}_webhook_"
    settings = {**BLANK, prefix + "url": url, "webhook_timeout": 0.5, **{prefix + k: v for k, v in kw.items()}}
    return transports_from_settings(settings, env or {})[channel]


def sms(message_id="M000200", **kw):
    kw.setdefault("address", "+8613800138000")
    kw.setdefault("subject", None)
    kw.setdefault("content", "王女士您好，您的会员积分即将到期。")
    return out(message_id, channel="sms", **kw)


def test_wecom_robot_gets_its_json_shape_and_the_phone_is_mentioned(hook_server):
    server, base = hook_server
    with hook_transport("wecom", base + "/wecom?key=${WECOM_KEY}", {"WECOM_KEY": "k-123"}) as transport:
        done = transport.send(out(channel="wecom", address="13800138000", content="新工单 T000007：打印机故障",
                                  kind="service"))
        transport.send(out("M000124", channel="wecom", address=None, content="日报已生成", kind="service"))
    first, second = server.received
    assert first["path"] == "/wecom?key=k-123"
    assert first["json"] == {"msgtype": "text", "text": {"content": "新工单 T000007：打印机故障",
                                                          "mentioned_mobile_list": ["13800138000"]}}
    assert second["json"] == {"msgtype": "text", "text": {"content": "日报已生成"}}
    assert first["headers"]["Content-Type"].startswith("application/json")
    assert done.provider_message_id is None


def test_wecom_errcode_fails_with_errmsg_and_its_rate_limit_is_transient(hook_server):
    server, base = hook_server
    with hook_transport("wecom", base + "/wecom-bad") as transport, pytest.raises(DeliveryFailed) as bad:
        transport.send(out(channel="wecom", address=None, kind="service"))
    with hook_transport("wecom", base + "/wecom-busy") as transport, pytest.raises(DeliveryFailed) as busy:
        transport.send(out(channel="wecom", address=None, kind="service"))
    assert not bad.value.transient and bad.value.code == 93000
    assert bad.value.reason == "WeCom robot error 93000: invalid webhook url"
    assert tr(bad.value.reason, "zh") == "企业微信机器人错误 93000：invalid webhook url"
    assert busy.value.transient and "api freq out of limit" in busy.value.reason


def test_a_text_too_long_for_the_wecom_robot_fails_before_it_is_sent(hook_server):
    server, base = hook_server
    with hook_transport("wecom", base + "/wecom") as transport:
        transport.send(out(channel="wecom", address=None, kind="service", content="字" * 682))   # 2046 bytes
        with pytest.raises(DeliveryFailed) as info:
            transport.send(out(channel="wecom", address=None, kind="service", content="字" * 683))
    assert len(server.received) == 1
    assert not info.value.transient and not info.value.maybe_sent and "2049 bytes" in info.value.reason


def test_a_relative_ca_file_is_read_from_the_workspace_folder(ca, tmp_path):
    (tmp_path / "certs").mkdir()
    ca.cert_pem.write_to_path(str(tmp_path / "certs" / "ca.pem"))
    settings = smtp_settings(2525, smtp_security="starttls", smtp_ca_file="certs/ca.pem")
    with transports_from_settings(settings, {}, folder=tmp_path)["email"]:
        pass
    with pytest.raises(UsageError, match="smtp_ca_file"):
        transports_from_settings(settings, {}, folder=tmp_path / "elsewhere")
    (tmp_path / "certs" / "bad.pem").write_text("not a certificate", encoding="utf-8")
    with pytest.raises(UsageError, match="not a PEM certificate file"):
        transports_from_settings({**settings, "smtp_ca_file": "certs/bad.pem"}, {}, folder=tmp_path)


def test_generic_sms_body_ends_marketing_texts_with_the_unsubscribe_hint(hook_server):
    server, base = hook_server
    with hook_transport("sms", base + "/sms") as transport:
        transport.send(sms(lang="zh"))
        transport.send(sms("M000201", lang="en", content="Your points expire soon."))
        transport.send(sms("M000202", lang="zh", content="回T退订前请先使用积分。"))
        transport.send(sms("M000203", lang="zh", kind="service", content="您的工单已处理。"))
    texts = [r["json"]["text"] for r in server.received]
    assert texts == ["王女士您好，您的会员积分即将到期。回T退订", "Your points expire soon. Reply STOP to unsubscribe",
                     "回T退订前请先使用积分。", "您的工单已处理。"]
    assert server.received[0]["json"] == {"to": "+8613800138000", "text": texts[0], "message_id": "M000200"}


def test_a_user_body_template_stays_valid_json_with_quotes_and_chinese_and_headers_read_the_environment(hook_server):
    server, base = hook_server
    body = ('{"sign": "【样例公司】", "mobile": "{phone}", "msg": "{content}", "ref": "{message_id}/{customer_id}", '
            '"meta": {"who": "{contact_name} @ {name}", "tags": ["crm", "{campaign_id}"], "n": 1, "ok": true}}')
    with hook_transport("sms", base + "/sms", {"GW_TOKEN": "tok-123"}, body=body, id_field="data.id",
                        headers="Authorization: Bearer ${GW_TOKEN}; X-Tenant: acme") as transport:
        done = transport.send(sms(content='Say "hi" to 李雷\nand \\ backslash {braces}', kind="service",
                                  contact_name='王"大"明', customer_name="Acme 有限公司", campaign_id="CP01"))
    [got] = server.received
    assert got["json"] == {"sign": "【样例公司】", "mobile": "+8613800138000",
                           "msg": 'Say "hi" to 李雷\nand \\ backslash {braces}', "ref": "M000200/C000042",
                           "meta": {"who": '王"大"明 @ Acme 有限公司', "tags": ["crm", "CP01"], "n": 1, "ok": True}}
    assert got["headers"]["Authorization"] == "Bearer tok-123"
    assert got["headers"]["X-Tenant"] == "acme"
    assert done.provider_message_id == "gw-1"


@pytest.mark.parametrize(("path", "transient", "code"), [
    ("/status/500", True, 500), ("/status/503", True, 503), ("/status/429", True, 429),
    ("/status/400", False, 400), ("/status/401", False, 401), ("/status/404", False, 404),
])
def test_http_5xx_and_429_are_transient_other_4xx_permanent(hook_server, path, transient, code):
    server, base = hook_server
    with hook_transport("sms", base + path) as transport, pytest.raises(DeliveryFailed) as info:
        transport.send(sms())
    assert info.value.transient is transient and info.value.code == code
    assert f"HTTP {code}" in info.value.reason and "as asked" in info.value.reason


def test_a_webhook_slower_than_the_timeout_is_a_transient_timeout(hook_server):
    server, base = hook_server
    started = time.monotonic()
    with hook_transport("sms", base + "/slow") as transport, pytest.raises(DeliveryFailed) as info:
        transport.send(sms())
    assert time.monotonic() - started < 1.4
    assert info.value.transient and info.value.maybe_sent and "did not answer within 0.5 s" in info.value.reason


def test_a_webhook_that_is_down_is_transient():
    with hook_transport("sms", f"http://127.0.0.1:{free_port()}/sms") as transport, \
            pytest.raises(DeliveryFailed) as info:
        transport.send(sms())
    assert info.value.transient and not info.value.maybe_sent and "cannot connect" in info.value.reason


def test_redirects_are_followed_on_the_same_host_only(hook_server):
    server, base = hook_server
    with hook_transport("sms", base + "/redirect-same", id_field="data.id") as transport:
        assert transport.send(sms()).provider_message_id == "gw-2"
    with hook_transport("sms", base + "/redirect-away") as transport, pytest.raises(DeliveryFailed) as info:
        transport.send(sms())
    assert [r["path"] for r in server.received] == ["/redirect-same", "/sms", "/redirect-away"]
    assert not info.value.transient and "198.51.100.7" in info.value.reason


def test_an_international_address_goes_with_smtputf8():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port, smtp_from="销售部 <销售@例子.中国>")) as transport:
            transport.send(out(address="李雷@例子.中国", contact_name="李雷", subject="您好", content="您好"))
    [envelope] = inbox.envelopes
    assert envelope.smtp_utf8 and envelope.rcpt_tos == ["李雷@例子.中国"] and envelope.mail_from == "销售@例子.中国"
    mail = email.message_from_string(envelope.content.decode("utf-8"), policy=policy.default)  # UTF-8 headers
    assert mail["To"].addresses[0].addr_spec == "李雷@例子.中国" and mail["Subject"] == "您好"


def test_a_delivery_failure_survives_pickling_with_its_flags_and_catalogued_reason():
    import pickle

    from crmkit.delivery.outgoing import DeliveryFailed as Failed
    from crmkit.i18n import msg

    failure = Failed(msg("tx_refused", host="mail:25"), transient=True, code=None, maybe_sent=False, fatal=False)
    again = pickle.loads(pickle.dumps(failure))
    assert (again.transient, again.maybe_sent, again.fatal) == (True, False, False)
    assert tr(again.reason, "zh") == "mail:25 拒绝连接（服务器是否在运行？）"


@pytest.mark.parametrize(("content", "lang", "kind", "expected"), [
    ("Stop by our shop this week.", "en", "marketing", "Stop by our shop this week. Reply STOP to unsubscribe"),
    ("Big sale. Reply STOP to opt out.", "en", "marketing", "Big sale. Reply STOP to opt out."),
    ("新品上市，拒收请回复R", "zh", "marketing", "新品上市，拒收请回复R回T退订"),
    ("新品上市，回TD退订", "zh", "marketing", "新品上市，回TD退订"),
    ("您的工单已处理", "zh", "service", "您的工单已处理"),
])
def test_sms_unsubscribe_hint(content, lang, kind, expected):
    from crmkit.delivery.outgoing import sms_text

    assert sms_text(sms(content=content, lang=lang, kind=kind)) == expected


def test_line_breaks_in_a_subject_or_name_cannot_add_headers():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port)) as transport:
            transport.send(out(subject="Hello\r\nBcc: victim@example.com", contact_name="Li\nX-Evil: 1",
                               kind="service"))
    [mail] = inbox.mails()
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert mail["Subject"] == "Hello Bcc: victim@example.com"
    assert [e.rcpt_tos for e in inbox.envelopes] == [["li.lei@example.com"]]


def test_a_connection_lost_after_the_whole_mail_was_handed_over_says_it_may_have_been_sent():
    with smtp_server() as (controller, inbox):
        with email_transport(smtp_settings(controller.port)) as transport:
            with pytest.raises(DeliveryFailed) as info:
                transport.send(out("M000001", address="drop@example.com"))
            transport.send(out("M000002"))                 # on a new connection
            assert transport.connections == 2
    assert info.value.transient and info.value.maybe_sent
    assert [e.rcpt_tos for e in inbox.envelopes] == [["drop@example.com"], ["li.lei@example.com"]]


def test_implicit_tls_against_a_plain_server_names_the_security_setting(ca_file):
    with smtp_server() as (controller, inbox):
        settings = smtp_settings(controller.port, smtp_security="tls", smtp_ca_file=str(ca_file), smtp_timeout=3.0)
        with email_transport(settings) as transport, pytest.raises(DeliveryFailed) as info:
            transport.send(out())
    assert not info.value.transient and info.value.fatal and not inbox.envelopes
    assert "TLS" in info.value.reason and "smtp_security (tls)" in info.value.reason


def test_a_secret_in_the_webhook_path_never_reaches_a_failure_reason():
    port = free_port()                                     # nobody listens there: the connection is refused
    settings = {**BLANK, "sms_webhook_url": f"http://127.0.0.1:{port}/bot${{SMS_TOKEN}}/send?key=${{SMS_TOKEN}}",
                "webhook_timeout": 2}
    transport = transports_from_settings(settings, {"SMS_TOKEN": "SuperSecret123"})["sms"]
    with transport, pytest.raises(DeliveryFailed) as info:
        transport.send(out(channel="sms", address="+8613800000001"))
    assert info.value.transient
    for lang in ("en", "zh"):
        text = tr(info.value.reason, lang)
        assert "SuperSecret123" not in text and f"127.0.0.1:{port}" in text


def test_a_password_typed_where_the_variable_name_belongs_is_not_echoed():
    settings = smtp_settings(2525, smtp_user="sales", smtp_password_env="hunter2!secret")
    with pytest.raises(UsageError) as info:
        transports_from_settings(settings, {})
    text = str(info.value)
    assert "hunter2" not in text and "smtp_password_env" in text and "environment variable" in text
