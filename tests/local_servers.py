"""Real servers for the send tests, on 127.0.0.1 and a free port: SMTP (aiosmtpd) and an HTTP webhook.

>>> with smtp_inbox() as inbox:
...     inbox.port, inbox.by_id()        # {"M000001": 1, ...} counted by X-Crmkit-Message-Id
>>> with webhook() as hook:
...     hook.url, hook.received          # the JSON bodies posted; hook.status = 500 makes it fail
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """The handler: keeps every mail it accepted; refuses the recipients in :attr:`refuse` with 550; for
    those in :attr:`drop`, takes the mail and hangs up before saying so (the sender cannot know)."""

    def __init__(self, *, delay: float = 0.0):
        self.mails: list = []
        self.refuse: set[str] = set()
        self.drop: set[str] = set()
        self.delay = delay
        self.port = 0
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        if self.delay:
            await asyncio.sleep(self.delay)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.mails.append(mail)
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
        return "250 OK queued"

    def by_id(self) -> Counter:
        """How many mails arrived per crmkit message id (X-Crmkit-Message-Id)."""
        with self._lock:
            return Counter(str(m["X-Crmkit-Message-Id"]) for m in self.mails)

    def to(self) -> list[str]:
        with self._lock:
            return [str(m["To"]) for m in self.mails]


@contextlib.contextmanager
def smtp_inbox(*, delay: float = 0.0) -> Iterator[Inbox]:
    """A running SMTP server on 127.0.0.1 (stopped on exit)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox(delay=delay)
    for _ in range(5):
        inbox.port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, ready_timeout=10)
        try:
            controller.start()
            break
        except (OSError, RuntimeError):        # the port was taken in between: another one
            time.sleep(0.05)
    else:  # pragma: no cover
        raise RuntimeError("no free port for the SMTP server")
    try:
        yield inbox
    finally:
        controller.stop()


@contextlib.contextmanager
def listener() -> Iterator[tuple[int, callable]]:
    """A TCP port that listens but never answers; ``contacted()`` says whether anyone connected."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)

    def contacted() -> bool:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True

    try:
        yield sock.getsockname()[1], contacted
    finally:
        sock.close()


class _Hook(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's hook
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8"))
        hook = self.server.hook
        with hook.lock:
            hook.received.append(body)
            n = len(hook.received)
        raw = json.dumps({"code": 0, "data": {"id": f"gw-{n}"}} if hook.status == 200 else {"error": "busy"}).encode()
        self.send_response(hook.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class Hook:
    def __init__(self):
        self.received: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()
        self.url = ""


@contextlib.contextmanager
def webhook() -> Iterator[Hook]:
    """An SMS gateway: answers each JSON POST with HTTP :attr:`Hook.status` (an id in data.id when 200)."""
    hook = Hook()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.daemon_threads = True
    server.hook = hook
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
