"""Sign-in for the dashboards in team mode (``crmkit dashboard DIR --team``, issue 17).

Voila runs with :class:`TeamIdentityProvider` as its ``identity_provider_class``
(Jupyter Server's own authentication hook).  Every Jupyter handler of Voila
(the landing page, ``/voila/render/...``, ``/api/kernels``, the kernel
websockets, the contents API) asks it who the visitor is before answering; with
no valid session a page is redirected to ``/login`` and an API call or a
websocket gets 403.

* **Passwords**: the argon2 hashes of :mod:`crmkit.users` (``.crmkit/users.json``).
* **Session**: a cookie signed with Voila's ``cookie_secret`` (kept in
  ``.crmkit/dashboard_cookie_secret``, mode 0600, so sessions survive a restart),
  holding the name, the time of sign-in and a fingerprint of the password hash.  It
  ends after ``session_hours`` (``crmkit dashboard --session-hours``, default
  8), on sign-out, and when the password is changed or removed.
* **Rate limit**: 5 failed sign-ins for one name from one address within 10
  minutes lock that name at that address for 10 minutes (a right password is
  refused too meanwhile).  Behind a reverse proxy the address is the proxy's,
  so the limit is per name.
* **The user in the kernel**: Voila copies the request header ``X-Crmkit-User``
  into the kernel's environment (``VoilaConfiguration.http_header_envs``; with
  preheated kernels it reaches the kernel with the rest of the request).
  :meth:`TeamIdentityProvider.get_user` deletes whatever header of that name the
  browser sent and sets it to the signed-in member, so a visitor cannot forge
  it; :func:`crmkit.dashboard.context.signed_in_user` reads it.
"""

from __future__ import annotations

import html
import json
import os
import threading
import time
from collections import deque
from pathlib import Path

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.base.handlers import JupyterHandler
from traitlets import Float, Int, Unicode

from ..i18n import t
from ..io.safety import state_dir
from ..schema import workbook_file
from ..team import members
from ..users import check_password, read_users, team_member
from ..workspace import open_workspace

#: the request header Voila passes to the kernel (as ``HTTP_X_CRMKIT_USER``)
USER_HEADER = "X-Crmkit-User"
USER_ENV = "HTTP_X_CRMKIT_USER"
#: set in the Voila process (and so in every kernel) in team mode: no signed-in user, no data
TEAM_ENV = "CRMKIT_TEAM"
SECRET_FILE = "dashboard_cookie_secret"
COOKIE = "crmkit-session"
SESSION_HOURS = 8.0


def cookie_secret(workspace: str | os.PathLike) -> bytes:
    """The key that signs the session cookies: ``.crmkit/dashboard_cookie_secret`` (made on first use, 0600)."""
    path = state_dir(workspace) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex())
    os.chmod(path, 0o600)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise OSError(f"{path}: the cookie secret is too short; delete the file to make a new one")
    return secret.encode("ascii")


def password_mark(entry: dict) -> str:
    """A short fingerprint of a stored hash: a session names it, so a new password ends old sessions."""
    import hashlib

    return hashlib.sha256(str(entry.get("hash", "")).encode("utf-8")).hexdigest()[:16]


class LoginThrottle:
    """Failed sign-ins per (name, address): ``limit`` failures within ``window`` seconds lock for ``lockout``."""

    def __init__(self, limit: int = 5, window: float = 600.0, lockout: float = 600.0, clock=time.monotonic):
        self.limit, self.window, self.lockout, self.clock = limit, window, lockout, clock
        self._failures: dict[tuple[str, str], deque] = {}
        self._locked: dict[tuple[str, str], float] = {}
        self._mutex = threading.Lock()

    @staticmethod
    def _key(name: str, address: str) -> tuple[str, str]:
        return (" ".join(str(name).split()).casefold(), str(address))

    def wait_left(self, name: str, address: str) -> float:
        """Seconds before ``name`` may try again from ``address`` (0 when not locked)."""
        with self._mutex:
            until = self._locked.get(self._key(name, address), 0.0)
            return max(0.0, until - self.clock())

    def failed(self, name: str, address: str) -> None:
        key = self._key(name, address)
        now = self.clock()
        with self._mutex:
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                self._locked[key] = now + self.lockout
                q.clear()
            if len(self._failures) > 10_000:          # bounded memory under a flood of made-up names
                for k in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
                    del self._failures[k]

    def succeeded(self, name: str, address: str) -> None:
        with self._mutex:
            self._failures.pop(self._key(name, address), None)


class TeamIdentityProvider(IdentityProvider):
    """Jupyter Server identity provider: Team members signed in with their crmkit password."""

    workspace = Unicode("", config=True, help="The workspace folder (default: $CRMKIT_WORKSPACE).")
    session_hours = Float(SESSION_HOURS, config=True, help="Hours a session lasts after signing in.")
    max_failures = Int(5, config=True, help="Failed sign-ins (per name and address) before a lockout.")
    failure_window = Float(600.0, config=True, help="Seconds in which max_failures count.")
    lockout_seconds = Float(600.0, config=True, help="Seconds a name stays locked at an address.")

    def __init__(self, **kwargs):
        kwargs.pop("login_handler_class", None)       # Voila passes its own; ours is in get_handlers
        kwargs["token"] = ""
        super().__init__(**kwargs)
        self.clock = time.time             # a test moves it on to see a session expire
        self.throttle = LoginThrottle(self.max_failures, self.failure_window, self.lockout_seconds)
        self._team_seen: tuple[object, dict] = (None, {})     # (rules.xlsx stamp, members) for still_active

    # --- what Jupyter Server asks
    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    @property
    def logout_available(self) -> bool:
        return True

    def get_handlers(self) -> list[tuple[str, object]]:
        return [(r"/login", TeamLoginHandler), (r"/logout", TeamLogoutHandler)]

    def get_cookie_name(self, handler) -> str:
        return self.cookie_name or COOKIE

    @property
    def workspace_path(self) -> Path:
        return Path(self.workspace or os.environ.get("CRMKIT_WORKSPACE", "")).resolve()

    def get_user(self, handler) -> User | None:
        """The signed-in member of this request, or None; puts them (and only them) in ``X-Crmkit-User``."""
        headers = handler.request.headers
        if USER_HEADER in headers:
            del headers[USER_HEADER]                  # whatever the browser sent: never trusted
        user = self.session_user(handler)
        if user is not None:
            headers[USER_HEADER] = user.username
        return user

    def session_user(self, handler) -> User | None:
        raw = handler.get_secure_cookie(self.get_cookie_name(handler), max_age_days=max(self.session_hours / 24, 0.01))
        if not raw:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
            name, issued, set_at = str(data["name"]), float(data["at"]), str(data["set"])
        except (ValueError, KeyError, TypeError):
            return None
        if not (0 <= self.clock() - issued < self.session_hours * 3600):
            return None
        entry = read_users(self.workspace_path).get(name)
        if entry is None or password_mark(entry) != set_at:   # removed or changed password: signed out
            return None
        if not self.still_active(name):                         # made inactive (or left the Team sheet)
            return None
        return User(username=name, name=name, display_name=name)

    def still_active(self, name: str) -> bool:
        """Whether ``name`` is still an active Team member, read again whenever rules.xlsx changes."""
        try:
            rules = self.workspace_path / workbook_file("rules")
            stamp = (rules.stat().st_mtime_ns, rules.stat().st_size)
            if self._team_seen[0] != stamp:
                self._team_seen = (stamp, members(open_workspace(self.workspace_path)["team"]))
            m = self._team_seen[1].get(name)
        except Exception:  # noqa: BLE001 - an unreadable Team sheet signs nobody in
            return False
        return m is not None and m.active

    def sign_in(self, handler, name: str, password: str) -> tuple[User | None, str]:
        """Check a sign-in; returns (user, "") or (None, the reason shown: ``login_failed`` / ``login_throttled``)."""
        address = handler.request.remote_ip or ""
        name = " ".join(str(name).split())
        if self.throttle.wait_left(name, address) > 0:
            return None, "login_throttled"
        try:
            member = team_member(self.workspace_path, name)
            active = member.active
            name = member.name
        except Exception:  # noqa: BLE001 - an unknown name is a wrong name; nothing is said about who exists
            member, active = None, False
        ok = check_password(self.workspace_path, name, password)
        if not (ok and member is not None and active):
            self.throttle.failed(name, address)
            return None, "login_throttled" if self.throttle.wait_left(name, address) > 0 else "login_failed"
        self.throttle.succeeded(name, address)
        entry = read_users(self.workspace_path).get(name, {})
        value = json.dumps({"name": name, "at": self.clock(), "set": password_mark(entry)})
        options = {"httponly": True, "samesite": "Lax", "path": handler.base_url, "expires_days": None}
        if self.secure_cookie or (self.secure_cookie is None and handler.request.protocol == "https"):
            options["secure"] = True
        handler.set_secure_cookie(self.get_cookie_name(handler), value, **options)
        return User(username=name, name=name, display_name=name), ""


LOGIN_STYLE = """
body { margin: 0; background: #f4f6f9; color: #1f2933;
       font-family: "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif; }
header { background: #1f4e79; color: #fff; padding: 28px 48px; }
header h1 { margin: 0; font-size: 28px; font-weight: 600; }
header p { margin: 6px 0 0; opacity: .85; }
main { padding: 32px 48px; }
form { background: #fff; border-radius: 10px; padding: 24px 28px; max-width: 380px;
       box-shadow: 0 1px 3px rgba(0,0,0,.12); border-top: 5px solid #2e75b6; }
label { display: block; font-weight: 600; margin: 12px 0 4px; }
label span { font-weight: 400; color: #52606d; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: 8px 10px; font-size: 15px;
       border: 1px solid #cbd2d9; border-radius: 6px; }
button { margin-top: 18px; background: #2e75b6; color: #fff; border: 0; border-radius: 6px; padding: 9px 22px;
         font-size: 15px; cursor: pointer; }
.message { margin: 0 0 14px; padding: 10px 12px; border-radius: 6px; background: #fde8e8; color: #9b1c1c; }
.message.info { background: #e8f1fb; color: #1f4e79; }
footer { padding: 0 48px 32px; color: #7b8794; font-size: 13px; }
"""


def both(key: str, **params) -> str:
    """A phrase in Chinese and English, the way the landing page shows them."""
    zh, en = t(key, "zh").format(**params), t(key, "en").format(**params)
    return f"{zh} · {en}"


def login_page(*, workspace: str, next_url: str, xsrf_html: str, message: str = "", info: bool = False,
               name: str = "") -> str:
    """The bilingual sign-in page (crmkit's landing-page style)."""
    esc = html.escape
    note = f'<p class="message{" info" if info else ""}" id="crmkit-login-message">{esc(message)}</p>' if message else ""
    return f"""<!DOCTYPE HTML>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="icon" href="data:;base64,="><title>crmkit · {esc(both("login_title"))}</title><style>{LOGIN_STYLE}</style></head>
<body><header><h1>crmkit 客户管理看板 · CRM dashboards</h1><p>{esc(t("login_intro", "zh").format(workspace=workspace))}<br>
{esc(t("login_intro", "en").format(workspace=workspace))}</p></header>
<main><form method="post" action="" id="crmkit-login">{note}{xsrf_html}
<input type="hidden" name="next" value="{esc(next_url)}">
<label for="name">{esc(t("login_name", "zh"))} <span>{esc(t("login_name", "en"))}</span></label>
<input type="text" id="name" name="name" autocomplete="username" value="{esc(name)}" required autofocus>
<label for="password">{esc(t("login_password", "zh"))} <span>{esc(t("login_password", "en"))}</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="crmkit-login-submit">{esc(both("login_submit"))}</button></form></main>
<footer>crmkit · 团队模式 · team mode</footer></body></html>"""


class TeamLoginHandler(LoginFormHandler):
    """GET shows the sign-in page; POST checks the name and password (rate-limited) and sets the session."""

    def _render(self, message=None, *, info: bool = False, name: str = ""):
        self.set_header("Cache-Control", "no-store")
        self.write(login_page(workspace=self.identity_provider.workspace_path.name,
                              next_url=self.get_argument("next", default=self.base_url),
                              xsrf_html=self.xsrf_form_html(), message=message or "", info=info, name=name))

    @allow_unauthenticated
    def get(self):
        if self.current_user:
            self._redirect_safe(self.get_argument("next", default=self.base_url))
        else:
            self._render()

    @allow_unauthenticated
    def post(self):
        name = self.get_argument("name", default="")[:200]
        password = self.get_argument("password", default="")
        user, reason = self.identity_provider.sign_in(self, name, password)
        if user is None:
            self.set_status(429 if reason == "login_throttled" else 401)
            minutes = max(1, round(self.identity_provider.lockout_seconds / 60))
            self._render(both(reason, minutes=minutes), name=name)
            return
        self.current_user = user
        self.log.info("crmkit: %s signed in", user.username)
        self._redirect_safe(self.get_argument("next", default=self.base_url))


class TeamLogoutHandler(JupyterHandler):
    """Ends the session and shows the sign-in page."""

    @allow_unauthenticated
    def get(self):
        self.identity_provider.clear_login_cookie(self)
        self.set_header("Cache-Control", "no-store")
        self.write(login_page(workspace=self.identity_provider.workspace_path.name, next_url=self.base_url,
                              xsrf_html=self.xsrf_form_html(), message=both("login_signed_out"), info=True)
                   .replace('action=""', f'action="{html.escape(self.base_url)}login"'))
