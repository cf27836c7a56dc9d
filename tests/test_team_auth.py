"""Team mode sign-in (issue 17, item 4): the password store, the identity provider, the binding rule,
and a real `--team` server over plain HTTP (no session, no data; wrong passwords; the rate limit; sign-out).

The browser checks (a rep sees none of another rep's customers) are in test_team_browser.py.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
from tornado.httputil import HTTPHeaders
from tornado.web import create_signed_value, decode_signed_value

from crmkit.dashboard import auth
from crmkit.dashboard.server import check_binding, is_loopback, start
from crmkit.exceptions import UsageError
from crmkit.users import check_password, list_users, read_users, remove_user, set_password, users_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def team_ws(tmp_path):
    """The small dashboard workspace (Morgan Lee manages Alex Chen, Sam Patel, Jordan Kim, Taylor Brooks),
    with Taylor Brooks inactive and passwords for Alex and Morgan."""
    from test_dashboard import small_workspace

    from crmkit.workspace import open_workspace

    path = small_workspace(tmp_path / "crm")
    ws = open_workspace(path)
    team = ws["team"].copy()
    team["active"] = team["active"].astype("object") if "active" in team else None
    team.loc[team["name"] == "Taylor Brooks", "active"] = "no"
    ws.replace("team", team)
    ws.save()
    set_password(path, "Alex Chen", "alex-secret-1")
    set_password(path, "Morgan Lee", "morgan-secret-1")
    return path


def cli(*args, stdin: str = "", cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "crmkit", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


# --------------------------------------------------------------------------- the password store

def test_passwords_are_argon2_hashes_in_a_private_file_never_in_a_workbook(team_ws):
    path = users_path(team_ws)
    assert path == team_ws / ".crmkit" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "alex-secret-1" not in text and "morgan-secret-1" not in text
    assert json.loads(text)["users"]["Alex Chen"]["hash"].startswith("$argon2id$")
    for book in team_ws.glob("*.xlsx"):
        import zipfile

        with zipfile.ZipFile(book) as z:
            assert not any(b"argon2" in z.read(n) for n in z.namelist()), book
    assert check_password(team_ws, "Alex Chen", "alex-secret-1")
    assert not check_password(team_ws, "Alex Chen", "alex-secret-2")
    assert not check_password(team_ws, "Sam Patel", "alex-secret-1")      # no password set
    assert not check_password(team_ws, "Nobody", "x")
    # a changed password replaces the hash, atomically, and keeps the mode and no backup of the old one
    old = read_users(team_ws)["Alex Chen"]["hash"]
    set_password(team_ws, "alex chen", "alex-secret-2")                  # the Team sheet's spelling is kept
    assert read_users(team_ws)["Alex Chen"]["hash"] != old
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert check_password(team_ws, "Alex Chen", "alex-secret-2")
    assert not list((team_ws / ".crmkit").rglob("users.*.json"))


def test_only_active_team_members_get_a_password(team_ws):
    with pytest.raises(UsageError, match="not on the Team sheet"):
        set_password(team_ws, "Mallory", "long-enough-1")
    with pytest.raises(UsageError, match="inactive"):
        set_password(team_ws, "Taylor Brooks", "long-enough-1")
    with pytest.raises(UsageError, match="too short"):
        set_password(team_ws, "Sam Patel", "short")
    assert "Taylor Brooks" not in read_users(team_ws) and "Sam Patel" not in read_users(team_ws)


def test_list_and_remove(team_ws):
    rows = {r.name: r for r in list_users(team_ws)}
    assert rows["Alex Chen"].has_password and rows["Alex Chen"].role == "rep"
    assert not rows["Sam Patel"].has_password
    assert rows["Taylor Brooks"].active is False
    assert remove_user(team_ws, "Alex Chen") is True
    assert remove_user(team_ws, "Alex Chen") is False
    assert not check_password(team_ws, "Alex Chen", "alex-secret-1")


def test_user_command_line(team_ws):
    done = cli("user", str(team_ws), "set-password", "Sam Patel", "--password-stdin", stdin="sam-secret-1\n")
    assert done.returncode == 0, done.stderr
    assert "Sam Patel" in done.stdout and "sam-secret-1" not in done.stdout + done.stderr
    assert check_password(team_ws, "Sam Patel", "sam-secret-1")
    bad = cli("user", str(team_ws), "set-password", "Mallory", "--password-stdin", stdin="whatever-123\n")
    assert bad.returncode == 2 and "Team" in bad.stderr and "Traceback" not in bad.stderr
    inactive = cli("user", str(team_ws), "set-password", "Taylor Brooks", "--password-stdin", stdin="whatever-123\n")
    assert inactive.returncode == 2 and "inactive" in inactive.stderr
    listed = cli("user", str(team_ws), "list", "--json")
    users = {u["name"]: u for u in json.loads(listed.stdout)["users"]}
    assert users["Sam Patel"]["has_password"] and not users["Jordan Kim"]["has_password"]
    assert "hash" not in listed.stdout
    removed = cli("user", str(team_ws), "remove", "Sam Patel")
    assert removed.returncode == 0 and "Sam Patel" not in read_users(team_ws)
    assert cli("user", str(team_ws), "remove", "Sam Patel").returncode == 1


# --------------------------------------------------------------------------- the identity provider

SECRET = b"k" * 64


class FakeHandler:
    """What the identity provider uses of a tornado request handler; cookies signed as tornado signs them."""

    def __init__(self, jar: dict | None = None, headers: dict | None = None, ip: str = "10.0.0.7"):
        self.request = SimpleNamespace(headers=HTTPHeaders(headers or {}), remote_ip=ip, protocol="http")
        self.base_url = "/"
        self.jar = jar if jar is not None else {}
        self.options = {}

    def get_secure_cookie(self, name, max_age_days=31, **_):
        value = self.jar.get(name)
        return decode_signed_value(SECRET, name, value, max_age_days=max_age_days) if value else None

    def set_secure_cookie(self, name, value, **options):
        self.jar[name] = create_signed_value(SECRET, name, value).decode()
        self.options = options


@pytest.fixture
def provider(team_ws):
    return auth.TeamIdentityProvider(workspace=str(team_ws))


def test_sign_in_with_the_right_password_only(provider):
    h = FakeHandler()
    user, reason = provider.sign_in(h, "Alex Chen", "wrong-password")
    assert user is None and reason == "login_failed" and not h.jar
    user, reason = provider.sign_in(h, "Alex Chen", "alex-secret-1")
    assert user.username == "Alex Chen" and reason == ""
    assert h.options["httponly"] and h.options["samesite"] == "Lax"
    # the next request carries the cookie: signed in, and the kernel header names them
    nxt = FakeHandler(h.jar)
    assert provider.get_user(nxt).username == "Alex Chen"
    assert nxt.request.headers[auth.USER_HEADER] == "Alex Chen"
    # no cookie, or a cookie not signed with the secret: nobody
    assert provider.get_user(FakeHandler()) is None
    forged = {auth.COOKIE: json.dumps({"name": "Morgan Lee", "at": 1e12, "set": "x"})}
    assert provider.get_user(FakeHandler(forged)) is None


def test_unknown_and_inactive_members_cannot_sign_in(provider, team_ws):
    from crmkit.workspace import open_workspace

    assert provider.sign_in(FakeHandler(), "Mallory", "alex-secret-1") == (None, "login_failed")
    signed = FakeHandler()
    assert provider.sign_in(signed, "Alex Chen", "alex-secret-1")[0] is not None
    assert provider.get_user(FakeHandler(signed.jar)).username == "Alex Chen"
    # Alex is set inactive after the password was set: refused although the password is right
    ws = open_workspace(team_ws)
    team = ws["team"].copy()
    team["active"] = team["active"].astype("object") if "active" in team else None
    team.loc[team["name"] == "Alex Chen", "active"] = "no"
    ws.replace("team", team)
    ws.save()
    assert provider.sign_in(FakeHandler(), "Alex Chen", "alex-secret-1") == (None, "login_failed")
    # and the session Alex already had ends with it, at the next request
    assert provider.get_user(FakeHandler(signed.jar)) is None


def test_a_forged_user_header_is_replaced_or_removed(provider):
    # without a session the header a visitor sends is removed: the kernel never sees it
    h = FakeHandler(headers={"X-Crmkit-User": "Morgan Lee"})
    assert provider.get_user(h) is None
    assert auth.USER_HEADER not in h.request.headers
    # twice, in another spelling: both go
    h = FakeHandler(headers={"x-crmkit-user": "Morgan Lee"})
    h.request.headers.add("X-CRMKIT-USER", "Jordan Kim")
    provider.get_user(h)
    assert h.request.headers.get_list(auth.USER_HEADER) == []
    # signed in as Alex, sending Morgan: the header says Alex, once
    signed = FakeHandler()
    provider.sign_in(signed, "Alex Chen", "alex-secret-1")
    h = FakeHandler(signed.jar, headers={"X-Crmkit-User": "Morgan Lee"})
    assert provider.get_user(h).username == "Alex Chen"
    assert h.request.headers.get_list(auth.USER_HEADER) == ["Alex Chen"]


def test_failed_sign_ins_are_rate_limited_per_name_and_address(provider):
    for _ in range(4):
        assert provider.sign_in(FakeHandler(ip="10.0.0.9"), "Alex Chen", "nope")[1] == "login_failed"
    assert provider.sign_in(FakeHandler(ip="10.0.0.9"), "Alex Chen", "nope")[1] == "login_throttled"
    # now even the right password waits, from that address, for that name
    assert provider.sign_in(FakeHandler(ip="10.0.0.9"), "Alex Chen", "alex-secret-1") == (None, "login_throttled")
    assert provider.sign_in(FakeHandler(ip="10.0.0.9"), "alex  chen", "alex-secret-1") == (None, "login_throttled")
    # another address, or another name from that address, is not locked out
    assert provider.sign_in(FakeHandler(ip="10.0.0.10"), "Alex Chen", "alex-secret-1")[0] is not None
    assert provider.sign_in(FakeHandler(ip="10.0.0.9"), "Morgan Lee", "morgan-secret-1")[0] is not None


def test_the_lockout_ends_after_ten_minutes():
    now = [1000.0]
    throttle = auth.LoginThrottle(clock=lambda: now[0])
    for _ in range(5):
        throttle.failed("Alex Chen", "1.2.3.4")
    assert throttle.wait_left("Alex Chen", "1.2.3.4") == pytest.approx(600)
    now[0] += 599
    assert throttle.wait_left("Alex Chen", "1.2.3.4") > 0
    now[0] += 2
    assert throttle.wait_left("Alex Chen", "1.2.3.4") == 0
    # failures spread over more than the window do not add up
    for _ in range(4):
        throttle.failed("Sam Patel", "1.2.3.4")
    now[0] += 601
    throttle.failed("Sam Patel", "1.2.3.4")
    assert throttle.wait_left("Sam Patel", "1.2.3.4") == 0


def test_sessions_expire_and_end_with_a_new_password(provider, team_ws):
    signed = FakeHandler()
    provider.sign_in(signed, "Alex Chen", "alex-secret-1")
    start_time = provider.clock()
    provider.clock = lambda: start_time + 8 * 3600 - 5
    assert provider.get_user(FakeHandler(signed.jar)) is not None
    provider.clock = lambda: start_time + 8 * 3600 + 5
    assert provider.get_user(FakeHandler(signed.jar)) is None
    provider.clock = lambda: start_time + 60
    assert provider.get_user(FakeHandler(signed.jar)) is not None
    set_password(team_ws, "Alex Chen", "alex-secret-2")
    assert provider.get_user(FakeHandler(signed.jar)) is None
    provider.sign_in(signed, "Alex Chen", "alex-secret-2")
    assert provider.get_user(FakeHandler(signed.jar)) is not None
    remove_user(team_ws, "Alex Chen")
    assert provider.get_user(FakeHandler(signed.jar)) is None


def test_the_cookie_secret_is_kept_private_and_stable(tmp_path):
    (tmp_path / "ws").mkdir()
    first = auth.cookie_secret(tmp_path / "ws")
    path = tmp_path / "ws" / ".crmkit" / auth.SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 64
    assert auth.cookie_secret(tmp_path / "ws") == first


def test_the_login_page_speaks_both_languages_and_escapes(provider):
    page = auth.login_page(workspace="crm", next_url='/"><script>', xsrf_html="", message="x<y", name="<b>")
    assert "登录" in page and "Sign in" in page and "密码" in page and "Password" in page
    assert "<script>" not in page and "&lt;b&gt;" in page


# --------------------------------------------------------------------------- binding

def test_only_loopback_addresses_without_team_mode():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert check_binding("127.0.0.1", False) == "127.0.0.1"
    with pytest.raises(UsageError, match="--team"):
        check_binding("0.0.0.0", False)
    assert check_binding("0.0.0.0", True) == "0.0.0.0"


def test_dashboard_refuses_a_public_address_without_team(team_ws):
    done = cli("dashboard", str(team_ws), "--host", "0.0.0.0", "--no-browser")
    assert done.returncode == 2 and "--team" in done.stderr and "Traceback" not in done.stderr
    done = cli("dashboard", str(team_ws), "--host", "192.168.10.20", "--no-browser")
    assert done.returncode == 2 and "--team" in done.stderr


def test_team_mode_needs_a_password(tmp_path):
    from test_dashboard import small_workspace

    path = small_workspace(tmp_path / "crm")
    with pytest.raises(UsageError, match="set-password"):
        start(path, team=True, preheat=False, timeout=60)


# --------------------------------------------------------------------------- a real server, plain HTTP

def request(port, method, path, *, cookies=None, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        hdrs = dict(headers or {})
        if cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            body = urllib.parse.urlencode(body)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        for raw in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            if cookies is not None:
                cookies[name] = rest.split(";", 1)[0]
        return resp.status, resp.headers, data
    finally:
        conn.close()


def sign_in(port, name, password, cookies):
    status, _, page = request(port, "GET", "/login", cookies=cookies)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    return request(port, "POST", "/login", cookies=cookies,
                   body={"_xsrf": xsrf, "name": name, "password": password, "next": "/"})


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    from test_dashboard import small_workspace

    path = small_workspace(tmp_path_factory.mktemp("teamhttp") / "crm")
    set_password(path, "Alex Chen", "alex-secret-1")
    server = start(path, team=True, preheat=False, timeout=90,
                   log=tmp_path_factory.getbasetemp() / "team-http.log")
    guard = threading.Timer(300, server.stop)
    guard.daemon = True
    guard.start()
    try:
        yield server
    finally:
        guard.cancel()
        server.stop()


PRIVATE = ["Acme Tools", "Blue River", "Delta Foods", "Granite Co", "C001", "C004", "13812345678"]


def test_without_a_session_every_door_is_closed(http_server):
    port = http_server.port
    for path in ("/", "/voila/render/overview.ipynb", "/voila/render/my_day.ipynb?owner=Alex%20Chen",
                 "/voila/render/form.ipynb", "/voila/tree", "/voila/render/customers_rfm.ipynb?as_user=Alex%20Chen"):
        status, headers, body = request(port, "GET", path, headers={"X-Crmkit-User": "Alex Chen"})
        assert status == 302 and headers["Location"].startswith("/login?next="), path
        assert not any(p in body for p in PRIVATE)
    for path in ("/api/kernels/00000000-0000-0000-0000-000000000000", "/voila/api/contents/",
                 "/voila/api/shutdown/00000000-0000-0000-0000-000000000000",
                 "/api/kernels/00000000-0000-0000-0000-000000000000/channels"):
        status, _, body = request(port, "GET", path, headers={"X-Crmkit-User": "Alex Chen"})
        assert status in (302, 403, 404), (path, status)
        assert not any(p in body for p in PRIVATE)
    # the notebooks' source is not served as a file
    status, _, body = request(port, "GET", "/voila/files/overview.ipynb")
    assert status in (302, 403, 404) and "load_context" not in body
    # a kernel cannot be started through the API
    status, _, _ = request(port, "POST", "/api/kernels", body={})
    assert status in (403, 404, 405)


def test_sign_in_wrong_password_rate_limit_and_sign_out(http_server):
    port = http_server.port
    jar: dict = {}
    status, _, page = sign_in(port, "Alex Chen", "wrong-password", jar)
    assert status == 401 and "姓名或密码错误" in page and "Wrong name or password" in page
    status, _, _ = request(port, "GET", "/", cookies=jar)
    assert status == 302
    status, headers, _ = sign_in(port, "Alex Chen", "alex-secret-1", jar)
    assert status == 302 and headers["Location"] == "/"
    set_cookie = headers.get_all("Set-Cookie")
    assert any(c.startswith(auth.COOKIE) and "HttpOnly" in c and "SameSite=Lax" in c for c in set_cookie)
    status, _, landing = request(port, "GET", "/", cookies=jar)
    assert status == 200 and "overview.ipynb" in landing and "logout" in landing
    # sign out: the cookie is cleared and the landing page asks for a login again
    status, _, page = request(port, "GET", "/logout", cookies=jar)
    assert status == 200 and "已退出登录" in page
    assert request(port, "GET", "/", cookies=jar)[0] == 302
    # five failures for one name lock it, even with the right password, for ten minutes
    other: dict = {}
    codes = [sign_in(port, "Alex Chen", f"guess-{i}", other)[0] for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    status, _, page = sign_in(port, "Alex Chen", "alex-secret-1", other)
    assert status == 429 and "10" in page
