"""E-mail over SMTP (stdlib :mod:`smtplib` and :class:`email.message.EmailMessage`).

:class:`SmtpTransport` keeps one connection open across messages and opens a
new one when the server has dropped it.  Security is ``starttls`` (port 587),
``tls`` (implicit TLS, port 465) or ``none``; certificates are always
verified, against the system's store plus ``ca_file`` when given (this is how
a self-signed or company CA is trusted).

A mail is plain UTF-8 text.  Its headers: From, To (with the contact's name),
Subject (RFC 2047 encoded when not ASCII), Date, a Message-ID made here (its
value, ``<...@sender-domain>``, is the provider message id) and
``X-Crmkit-Message-Id`` (our message id).  A marketing mail also carries
``List-Unsubscribe`` (RFC 2369: a mailto with the subject
``unsubscribe M000123``, plus the unsubscribe URL when Settings give one) and,
with an https URL, ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058); its body ends with an unsubscribe line in the workspace language.

Failures, by what retrying can do:

* transient — a 4xx reply, a timeout, a refused, reset or dropped connection;
* permanent — a 5xx reply (550 recipient refused fails that message only: the
  connection is reset and kept for the next one), an address that is no
  address, a certificate that is not trusted, a refused login (those two are
  ``fatal``: nothing can go until Settings change).
"""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import quote

from ..i18n import msg
from .outgoing import Delivered, DeliveryFailed, Outgoing, Transport, one_line, unsubscribe_line
from .render import render_value

SECURITY = ("starttls", "tls", "none")


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus ``ca_file`` (PEM) when given."""
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def is_ascii(text: str) -> bool:
    return text.isascii()


def sender_address(sender: str) -> str | None:
    """The one address of a From value (``Sales <sales@example.com>``), None when it holds none or several."""
    if "\n" in sender or "\r" in sender:
        return None
    try:
        header = policy.default.header_factory("From", sender)
        addresses = header.addresses
    except (ValueError, IndexError, TypeError):
        return None
    if len(addresses) != 1 or "@" not in addresses[0].addr_spec or _defects(header):
        return None
    return addresses[0].addr_spec


def _defects(header) -> list:
    """A header's defects, but a non-ASCII local part (fine with SMTPUTF8, RFC 6531)."""
    return [d for d in header.defects if not isinstance(d, errors.NonASCIILocalPartDefect)]


def _msgid_domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip()
    try:
        return domain.encode("idna").decode("ascii") if domain else "crmkit.invalid"
    except UnicodeError:
        return "crmkit.invalid"


class SmtpTransport(Transport):
    """Sends e-mails through one SMTP server.

    ``sender`` is the From header (``Sales <sales@example.com>`` or a bare
    address); ``unsubscribe_mailto`` defaults to the sender's address;
    ``unsubscribe_url`` may use ``{message_id}`` and ``{customer_id}``.
    """

    channel = "email"

    def __init__(self, host: str, port: int, *, sender: str, security: str = "starttls", user: str | None = None,
                 password: str | None = None, ca_file: str | None = None, timeout: float = 30.0,
                 unsubscribe_url: str | None = None, unsubscribe_mailto: str | None = None,
                 local_hostname: str | None = None):
        if security not in SECURITY:
            raise ValueError(f"security must be one of {SECURITY}, not {security!r}")
        address = sender_address(sender)
        if address is None:
            raise ValueError(f"the sender must be one e-mail address, not {sender!r}")
        self.host, self.port, self.security = host, int(port), security
        self.sender = sender
        self.sender_address = address
        self.user, self._password = user, password
        self.timeout = float(timeout)
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_mailto = unsubscribe_mailto or self.sender_address
        self.local_hostname = local_hostname
        self._context = tls_context(ca_file) if security != "none" else None
        self._conn: smtplib.SMTP | None = None
        self.connections = 0          # how many connections were opened (for tests and figures)

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host}:{self.port}, {self.security}, from {self.sender_address})"

    # ------------------------------------------------------------------ the message

    def unsubscribe_link(self, out: Outgoing) -> str | None:
        if not self.unsubscribe_url:
            return None
        return render_value(self.unsubscribe_url, {"message_id": quote(out.message_id, safe=""),
                                                   "customer_id": quote(out.customer_id or "", safe="")})

    def build(self, out: Outgoing) -> EmailMessage:
        """The mail for ``out`` (raises a permanent :class:`DeliveryFailed` for an address that is none)."""
        address = (out.address or "").strip()
        local, _, domain = address.rpartition("@")
        if not local or not domain or any(ch.isspace() or ch in "<>,;" for ch in address):
            raise DeliveryFailed(msg("tx_bad_email", address=address or "-"), transient=False)
        try:
            return self._compose(out, local, domain)
        except (ValueError, TypeError, IndexError) as exc:      # a header the e-mail library refuses
            raise DeliveryFailed(msg("tx_bad_mail", detail=one_line(exc)), transient=False) from None

    def _compose(self, out: Outgoing, local: str, domain: str) -> EmailMessage:
        mail = EmailMessage(policy=policy.default)
        mail["From"] = self.sender
        name = " ".join((out.contact_name or out.customer_name or "").split())
        mail["To"] = Address(display_name=name, username=local, domain=domain)
        if _defects(mail["To"]) or len(mail["To"].addresses) != 1:
            raise DeliveryFailed(msg("tx_bad_email", address=f"{local}@{domain}"), transient=False)
        mail["Subject"] = " ".join((out.subject or "").split())
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(idstring="crmkit", domain=_msgid_domain(self.sender_address))
        mail["X-Crmkit-Message-Id"] = " ".join(str(out.message_id).split())
        body = out.content or ""
        if out.marketing:
            link = self.unsubscribe_link(out)
            subject = quote(f"unsubscribe {out.message_id}", safe="")
            targets = [f"<mailto:{self.unsubscribe_mailto}?subject={subject}>"]
            if link:
                targets.append(f"<{link}>")
            mail["List-Unsubscribe"] = ", ".join(targets)
            if link and link.lower().startswith("https://"):
                mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            body = body.rstrip("\n") + "\n\n-- \n" + unsubscribe_line(out.lang, link)
        if not body.endswith("\n"):
            body += "\n"
        # 7bit when ASCII; else base64, which every server carries (no 8BITMIME needed)
        mail.set_content(body, charset="utf-8", cte="7bit" if is_ascii(body) else "base64")
        return mail

    # ------------------------------------------------------------------ the connection

    def _connect(self) -> smtplib.SMTP:
        kw = {"timeout": self.timeout, "local_hostname": self.local_hostname}
        try:
            if self.security == "tls":
                conn = smtplib.SMTP_SSL(self.host, self.port, context=self._context, **kw)
            else:
                conn = smtplib.SMTP(self.host, self.port, **kw)
            try:
                conn.ehlo()
                if self.security == "starttls":
                    if not conn.has_extn("starttls"):
                        raise DeliveryFailed(msg("tx_no_starttls", host=self.host), transient=False, fatal=True)
                    conn.starttls(context=self._context)
                    conn.ehlo()
                if self.user:
                    self._login(conn)
            except BaseException:
                _quietly_close(conn)
                raise
        except DeliveryFailed:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(msg("tx_login", user=self.user, host=self.host,
                                     reply=f"{exc.smtp_code} {one_line(exc.smtp_error)}"),
                                 transient=False, code=exc.smtp_code, fatal=True) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryFailed(msg("tx_no_auth", host=self.host), transient=False, fatal=True) from None
        except smtplib.SMTPResponseException as exc:    # SMTPConnectError, SMTPHeloError ...
            raise _reply_failure(exc.smtp_code, exc.smtp_error, "tx_smtp_greeting", host=self.host) from None
        except Exception as exc:                        # noqa: BLE001 - socket, TLS and protocol errors
            raise self._connection_failure(exc) from None
        self.connections += 1
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        """``conn.login``; a non-ASCII name or password goes as UTF-8 through AUTH PLAIN (RFC 4616), which
        smtplib's own login cannot encode."""
        password = self._password or ""
        if is_ascii(self.user) and is_ascii(password):
            conn.login(self.user, password)
            return
        if "plain" not in conn.esmtp_features.get("auth", "").lower().split():
            raise smtplib.SMTPNotSupportedError("AUTH PLAIN")
        token = base64.b64encode(f"\0{self.user}\0{password}".encode()).decode("ascii")
        code, reply = conn.docmd("AUTH", "PLAIN " + token)
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)

    def _connection_failure(self, exc: BaseException, *, handed_over: bool = False) -> DeliveryFailed:
        where = f"{self.host}:{self.port}"
        exc = _root(exc)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryFailed(msg("tx_cert", host=where, detail=one_line(exc.verify_message or exc)),
                                  transient=False, fatal=True)
        if isinstance(exc, ssl.SSLError):
            return DeliveryFailed(msg("tx_tls", host=where, security=self.security, detail=one_line(exc.reason or exc)),
                                  transient=False, fatal=True)
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return DeliveryFailed(msg("tx_timeout", host=where, seconds=f"{self.timeout:g}"), transient=True,
                                  maybe_sent=handed_over)
        if isinstance(exc, ConnectionRefusedError):
            return DeliveryFailed(msg("tx_refused", host=where), transient=True)
        if isinstance(exc, socket.gaierror):
            return DeliveryFailed(msg("tx_unknown_host", host=self.host), transient=True)
        return DeliveryFailed(msg("tx_conn_lost", host=where, detail=one_line(exc) or type(exc).__name__),
                              transient=True, maybe_sent=handed_over)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _quietly_close(conn)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except Exception:  # noqa: BLE001 - the server may already be gone
                _quietly_close(conn)

    # ------------------------------------------------------------------ sending

    def send(self, out: Outgoing) -> Delivered:
        mail = self.build(out)
        rcpt = (out.address or "").strip()
        international = not (is_ascii(rcpt) and is_ascii(self.sender_address))
        try:
            data = mail.as_bytes(policy=policy.SMTPUTF8 if international else policy.SMTP)
        except (ValueError, TypeError, UnicodeError) as exc:    # nothing left the machine
            raise DeliveryFailed(msg("tx_bad_mail", detail=one_line(exc)), transient=False) from None
        reused = self._conn is not None
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._transaction(self._conn, rcpt, data, international)
                return Delivered(str(mail["Message-ID"]))
            except _Dropped as dropped:
                self._drop()
                if dropped.before_data and reused and attempt == 1:
                    continue        # the server closed an idle connection: a new one, once
                raise self._connection_failure(dropped.cause, handed_over=not dropped.before_data) from None
        raise AssertionError("unreachable")

    def _transaction(self, conn: smtplib.SMTP, rcpt: str, data: bytes, international: bool) -> None:
        """MAIL, RCPT, DATA for one recipient; a refusal resets the transaction and keeps the connection."""
        stage = "mail"
        try:
            options = []
            if international:
                if not conn.has_extn("smtputf8"):
                    raise DeliveryFailed(msg("tx_no_smtputf8", host=self.host, address=rcpt), transient=False)
                options = ["SMTPUTF8", "BODY=8BITMIME"]
            elif conn.has_extn("size"):
                options.append(f"SIZE={len(data)}")
            code, reply = conn.mail(self.sender_address, options)
            if code != 250:
                self._reset(conn)
                raise _reply_failure(code, reply, "tx_sender_refused", sender=self.sender_address)
            stage = "rcpt"
            code, reply = conn.rcpt(rcpt)
            if code not in (250, 251):
                self._reset(conn)
                raise _reply_failure(code, reply, "tx_rcpt_refused", address=rcpt)
            stage = "data"
            try:
                code, reply = conn.data(data)
            except smtplib.SMTPDataError as exc:
                self._reset(conn)
                raise _reply_failure(exc.smtp_code, exc.smtp_error, "tx_data_refused") from None
            if code != 250:     # pragma: no cover - smtplib raises SMTPDataError for these
                self._reset(conn)
                raise _reply_failure(code, reply, "tx_data_refused")
        except DeliveryFailed:
            raise
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(exc, before_data=stage != "data") from None

    def _reset(self, conn: smtplib.SMTP) -> None:
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


class _Dropped(Exception):
    """The connection broke during a transaction (``before_data``: nothing was handed over yet)."""

    def __init__(self, cause: BaseException, *, before_data: bool):
        super().__init__(str(cause))
        self.cause = cause
        self.before_data = before_data


def _reply_failure(code: int, reply: object, key: str, **params: object) -> DeliveryFailed:
    """An SMTP reply that is no success: 4xx may pass later, 5xx (and anything else) will not."""
    code = int(code) if code is not None else -1
    text = f"{code} {one_line(reply)}" if code > 0 else one_line(reply)
    return DeliveryFailed(msg(key, reply=text, **params), transient=400 <= code < 500, code=code if code > 0 else None)


def _root(exc: BaseException) -> BaseException:
    """The socket error behind smtplib's wrapping (``SMTPServerDisconnected`` hides a timeout in its context)."""
    seen = exc
    while isinstance(seen, smtplib.SMTPException) and (seen.__cause__ or seen.__context__) is not None:
        seen = seen.__cause__ or seen.__context__
    return seen if isinstance(seen, OSError) else exc


def _quietly_close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken socket
        pass
