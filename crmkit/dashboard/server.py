"""Serving the Voila dashboards of a workspace (DESIGN §6).

The five dashboards are notebooks in ``notebooks/``.  :func:`serve` runs
Voila on 127.0.0.1 over that folder with crmkit's own template (Voila's lab
template without the FontAwesome CDN link, plus a bilingual landing page) and
``CRMKIT_WORKSPACE`` pointing at the workspace, and blocks until Ctrl-C.
:func:`start` does the same in the background and returns a handle, for tests
and benchmarks.  ``team=True`` (``crmkit dashboard --team``) adds sign-in
(:mod:`crmkit.dashboard.auth`) and lets the server bind another address than
127.0.0.1 (:func:`check_binding`).

>>> serve("sample_data", port=8866, open_browser=False)   # blocks
>>> with start("sample_data") as server:                    # background
...     print(server.url_of("overview"))
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from ..analytics import duplicates
from ..console import clean_text
from ..cycle import DailyCycle
from ..exceptions import UsageError, WorkspaceNotFound
from ..i18n import msg
from ..schema import WORKBOOKS, workbook_file
from ..workspace import open_workspace

# The notebooks and the Voila template are package data (they travel in the wheel).
PACKAGE_DIR = Path(__file__).resolve().parent          # crmkit/dashboard
NOTEBOOK_DIR = PACKAGE_DIR / "notebooks"
ASSETS_DIR = PACKAGE_DIR / "assets"
TEMPLATE = "crmkit"
TEMPLATE_DIR = ASSETS_DIR / "voila" / "templates" / TEMPLATE
ROOT = PACKAGE_DIR.parent.parent                        # the folder holding the crmkit package
CHECKOUT_SAMPLE = ROOT / "sample_data"                  # exists only in a checkout of the repository
ENV_VAR = "CRMKIT_WORKSPACE"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Dashboard:
    """One dashboard notebook."""

    key: str          # notebook file stem
    en: str
    zh: str

    @property
    def notebook(self) -> str:
        return f"{self.key}.ipynb"

    def title(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


DASHBOARDS: tuple[Dashboard, ...] = (
    Dashboard("overview", "Overview", "经营总览"),
    Dashboard("my_day", "My day", "我的一天"),
    Dashboard("campaigns", "Campaigns", "营销活动"),
    Dashboard("customers_rfm", "Customers & RFM", "客户与 RFM 分群"),
    Dashboard("data_quality", "Data quality", "数据质量"),
)


def is_workspace(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds at least one of a workspace's workbooks."""
    path = Path(folder)
    return path.is_dir() and any((path / workbook_file(w)).is_file() for w in WORKBOOKS)


def workspace_path(value: str | os.PathLike | None = None) -> Path:
    """The workspace a dashboard or form page shows.

    ``value``, else ``$CRMKIT_WORKSPACE``, else the current folder when it is a
    workspace, else the repository's ``sample_data/`` when crmkit runs from a
    checkout (found from this file, not the working directory).  An installed
    crmkit with none of these raises :class:`UsageError`.  A relative path is
    taken from the current directory.
    """
    raw = value if value not in (None, "") else os.environ.get(ENV_VAR, "")
    if raw not in (None, ""):
        return Path(raw).expanduser().resolve()
    here = Path.cwd()
    if is_workspace(here):
        return here.resolve()
    if CHECKOUT_SAMPLE.is_dir():
        return CHECKOUT_SAMPLE
    raise UsageError(msg("e_dash_no_workspace", env=ENV_VAR))


def notebook_dir() -> Path:
    """The folder holding the dashboard notebooks (package data), checked together with the template."""
    if not NOTEBOOK_DIR.is_dir() or not any(NOTEBOOK_DIR.glob("*.ipynb")):
        raise UsageError(msg("e_dash_notebooks", path=str(NOTEBOOK_DIR)))
    if not (TEMPLATE_DIR / "conf.json").is_file():
        raise UsageError(msg("e_dash_template", path=str(TEMPLATE_DIR)))
    return NOTEBOOK_DIR


def kernel_pythonpath(current: str | None = None) -> str | None:
    """``PYTHONPATH`` for the dashboard kernels: ``current``, with the folder holding crmkit put first
    only when a fresh interpreter would not find crmkit there by itself (crmkit run from a checkout
    that is not installed); None when nothing is to be set."""
    import site
    import sysconfig

    entries = [p for p in (current or "").split(os.pathsep) if p]
    installed = {sysconfig.get_paths().get(k) for k in ("purelib", "platlib")}
    installed.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    installed.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else None)
    places = {Path(p).resolve() for p in installed | set(entries) if p}
    if ROOT not in places:
        entries.insert(0, str(ROOT))
    return os.pathsep.join(entries) if entries else None


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


#: One kernel per notebook is started and warmed up (imports, plotly) before anyone asks for the page;
#: it then waits for the visit and reads the workspace only then (crmkit.dashboard.context.load_context).  A used
#: kernel is replaced after ``fill_delay`` seconds.
PREHEAT_OPTIONS = ["--preheat_kernel=True", "--pool_size=1", "--VoilaKernelManager.fill_delay=8"]


#: Host headers the server answers by default: the loopback names (any loopback IP address is
#: accepted as well).  Anything else is refused with 403, so that a web page on another site cannot
#: reach the dashboards through a name that resolves to 127.0.0.1 (DNS rebinding).  Without --team there is no login.
LOCAL_HOSTNAMES = ("localhost", "127.0.0.1", "::1")
HOSTS_SETTING = "dashboard_allow_hosts"


def allowed_hosts(extra=(), settings: dict | None = None) -> tuple[str, ...]:
    """The host names the dashboard server answers: the loopback names, ``extra`` (``--allow-host``)
    and Settings ``dashboard_allow_hosts`` (names separated by ``;``).  ``*`` turns the check off.

    Raises :class:`UsageError` for an IP address that is not a loopback address: the server checks
    names, and an address is only accepted through ``*``.
    """
    import ipaddress
    import re

    names = list(LOCAL_HOSTNAMES)
    configured = (settings or {}).get(HOSTS_SETTING)
    items = list(extra or ())
    if configured is not None and not (isinstance(configured, float) and configured != configured):
        items += [configured] if isinstance(configured, str) else list(configured)
    for item in items:
        for name in re.split(r"[;,，；\s]+", str(item)):
            name = name.strip().lower()
            if name.startswith("[") and name.endswith("]"):
                name = name[1:-1]
            if not name or name in names:
                continue
            if name != "*":
                try:
                    addr = ipaddress.ip_address(name)
                except ValueError:
                    addr = None
                if addr is not None and not addr.is_loopback:
                    raise UsageError(f"--allow-host {name}: the dashboard server checks host names, not addresses; "
                                     "give the name people type in the browser, or '*' to accept any host")
                if addr is None and not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*",
                                                     name):
                    raise UsageError(f"--allow-host {name!r} is not a host name")
            names.append(name)
    return tuple(names)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this computer only (127.0.0.1, ::1, localhost)."""
    import ipaddress

    name = str(host).strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_binding(host: str, team: bool) -> str:
    """``host`` when the server may bind it: any non-loopback address needs team mode (logins)."""
    if not is_loopback(host) and not team:
        raise UsageError(msg("e_dash_host_team", host=host))
    return host


def team_config(folder: Path, workspace: Path, *, secure_cookie: bool | None = None,
                session_hours: float | None = None) -> None:
    """Add team mode to the Voila configuration ``folder`` (:func:`host_guard_config`): crmkit's
    identity provider (:class:`crmkit.dashboard.auth.TeamIdentityProvider`), the signed-in member's
    header passed to the kernels, and the cookie secret of the workspace (read by the config file
    from ``.crmkit/``, never on a command line)."""
    from .auth import SECRET_FILE, USER_HEADER, cookie_secret

    cookie_secret(workspace)     # made now, 0600
    lines = [
        "c.Voila.identity_provider_class = 'crmkit.dashboard.auth.TeamIdentityProvider'",
        f"c.VoilaConfiguration.http_header_envs = [{USER_HEADER!r}]",
        f"c.TeamIdentityProvider.workspace = {str(workspace)!r}",
        f"c.Voila.cookie_secret = open({str(workspace / '.crmkit' / SECRET_FILE)!r}, 'rb').read().strip()",
    ]
    if session_hours is not None:
        lines.append(f"c.TeamIdentityProvider.session_hours = {float(session_hours)!r}")
    if secure_cookie is not None:
        lines.append(f"c.TeamIdentityProvider.secure_cookie = {bool(secure_cookie)!r}")
    (folder / "voila.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def host_guard_config(hosts=LOCAL_HOSTNAMES) -> Path:
    """A folder holding a ``voila.json`` that makes Voila check the Host header of every request.

    Voila turns jupyter_server's host check off (``allow_remote_access=True``); its
    ``tornado_settings`` turn it back on, with ``hosts`` as the names allowed.  The folder goes
    first on ``JUPYTER_CONFIG_PATH`` (:func:`voila_env`), so it wins over other configuration.
    """
    import json
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="crmkit-voila-config-"))
    any_host = "*" in hosts
    tornado = {"allow_remote_access": any_host,
               "local_hostnames": sorted({h for h in hosts if h != "*"})}
    (folder / "voila.json").write_text(json.dumps({"Voila": {"tornado_settings": tornado}}, indent=1),
                                       encoding="utf-8")
    return folder


def voila_command(port: int, *, preheat: bool = True, host: str = HOST) -> list[str]:
    """The Voila command line serving the dashboards on ``host:port`` (127.0.0.1 unless told).

    ``preheat`` (the default) keeps one warmed-up kernel ready per dashboard
    (about 150 MB each, no workspace data), so a first visit does not wait for
    Python, pandas and plotly to start.  ``CRMKIT_PREHEAT=0`` turns it off.
    """
    preheat = preheat and os.environ.get("CRMKIT_PREHEAT", "1").strip().lower() not in ("0", "off", "no", "false")
    return [
        sys.executable, "-m", "voila", str(notebook_dir()),
        "--no-browser", f"--port={port}", f"--Voila.ip={host}",
        f"--template={TEMPLATE}", "--VoilaConfiguration.classic_tree=True",
        "--theme=light", "--VoilaConfiguration.show_tracebacks=False",
    ] + (PREHEAT_OPTIONS if preheat else [])


#: where the page finds plotly's widget module (see :func:`plotly_static_root`), below the server's URL
PLOTLY_BUNDLE_PATH = f"voila/templates/{TEMPLATE}/static/plotly-widgetbundle.js"


def plotly_static_root() -> Path | None:
    """A Jupyter data folder whose ``voila/templates/crmkit/static/`` holds plotly's widget module.

    A plotly chart widget carries its JavaScript module (about 5 MB) in its
    state unless the module can be loaded from a URL: every chart of a page
    then sent and evaluated it again.  Voila serves a template's static
    files from every Jupyter data folder, so a per-user folder (one per
    plotly version) holds a copy of plotly's own file; the charts then name its
    URL (:func:`crmkit.dashboard.charts.show_figure`) and the browser loads it once.
    None when it cannot be made (the charts then carry the module as before).
    """
    try:
        import plotly
    except ImportError:
        return None
    source = Path(plotly.__file__).resolve().parent / "package_data" / "widgetbundle.js"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crmkit" / f"voila-plotly-{plotly.__version__}"
    target = base / PLOTLY_BUNDLE_PATH
    try:
        if not source.is_file():
            return None
        if not target.is_file() or target.stat().st_size != source.stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            with contextlib.suppress(OSError):
                tmp.unlink()
            import shutil

            shutil.copyfile(source, tmp)     # a copy: the server does not follow links out of its folders
            os.replace(tmp, target)
        return base
    except OSError:
        return None


def voila_env(workspace: Path, config_dir: Path | None = None, *, team: bool = False) -> dict[str, str]:
    """The environment of the Voila process: the workspace, crmkit's template folder and, first on
    the configuration path, ``config_dir`` (:func:`host_guard_config`).  ``team``: every kernel
    shows only the signed-in member's records (``CRMKIT_TEAM=1``, :mod:`crmkit.dashboard.auth`)."""
    env = dict(os.environ)
    env[ENV_VAR] = str(workspace)
    env.pop("HTTP_X_CRMKIT_USER", None)       # only a request names the user
    if team:
        env["CRMKIT_TEAM"] = "1"
    else:
        env.pop("CRMKIT_TEAM", None)
    if config_dir is not None:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            [str(config_dir)] + ([env["JUPYTER_CONFIG_PATH"]] if env.get("JUPYTER_CONFIG_PATH") else []))
    jp = [str(ASSETS_DIR)]
    plotly_root = plotly_static_root()
    if plotly_root is not None:
        jp.append(str(plotly_root))
        env["CRMKIT_PLOTLY_BUNDLE"] = PLOTLY_BUNDLE_PATH     # crmkit.dashboard.charts: load the module by URL
    if env.get("JUPYTER_PATH"):
        jp.append(env["JUPYTER_PATH"])
    env["JUPYTER_PATH"] = os.pathsep.join(jp)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["CRMKIT_DASHBOARD_KERNEL"] = "1"   # see crmkit.dashboard.charts._light_plotly_widgets
    # the kernels import this crmkit, wherever Voila starts them (a checkout needs its folder on the path)
    pythonpath = kernel_pythonpath(env.get("PYTHONPATH"))
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def check_workspace(directory: str | os.PathLike) -> Path:
    """Resolve and open ``directory`` to fail early (and clearly) when it is not a workspace."""
    path = Path(directory).expanduser().resolve()
    # read every workbook: a broken one is reported before serving, and the typed copy the
    # dashboards read is made now (crmkit.io.cache), not by the first visitor; so are the groups of
    # duplicate customers the overview and data-quality pages count (the slowest of their figures)
    ws = open_workspace(path).check()
    with contextlib.suppress(Exception):   # a figure that cannot be worked out is the page's to report
        duplicates(ws["customers"], ws.settings.get("dedupe_keys") or None,
                   region=ws.settings.get("phone_region") or "CN")
    return path


class DashboardServer:
    """A running Voila server (see :func:`start`)."""

    def __init__(self, process: subprocess.Popen, port: int, workspace: Path, log: Path | None,
                 config_dir: Path | None = None, hosts: tuple[str, ...] = LOCAL_HOSTNAMES, *,
                 host: str = HOST, team: bool = False):
        self.process = process
        self.port = port
        self.workspace = workspace
        self.log = log
        self.config_dir = config_dir
        self.hosts = hosts
        self.host = host
        self.team = team

    @property
    def url(self) -> str:
        name = self.host if is_loopback(self.host) or self.host not in ("0.0.0.0", "::", "") else HOST
        name = f"[{name}]" if ":" in name else name
        return f"http://{name}:{self.port}/"

    def url_of(self, dashboard: str) -> str:
        """URL of one dashboard, by key (``overview``) or notebook name."""
        name = dashboard if dashboard.endswith(".ipynb") else f"{dashboard}.ipynb"
        return f"{self.url}voila/render/{name}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the landing page answers; raise when the server died or timed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise UsageError(msg("e_dash_stopped_log" if self.log else "e_dash_stopped",
                                     code=self.process.returncode, log=str(self.log)))
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(self.url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            time.sleep(0.2)
        raise UsageError(msg("e_dash_timeout", seconds=f"{timeout:.0f}"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.config_dir is not None:
            import shutil

            shutil.rmtree(self.config_dir, ignore_errors=True)

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<DashboardServer {self.url} workspace={str(self.workspace)!r}>"


def _hosts_of(workspace: Path, allow_hosts, *, host: str = HOST, team: bool = False) -> tuple[str, ...]:
    settings = {}
    with contextlib.suppress(Exception):      # the workspace was checked already
        settings = open_workspace(workspace).settings
    if team and not is_loopback(host) and not allow_hosts and not settings.get(HOSTS_SETTING):
        allow_hosts = ("*",)      # every request needs a session: people may type the machine's address
    return allowed_hosts(allow_hosts, settings)


def _configure(workspace: Path, hosts, *, team: bool, secure_cookie: bool | None,
               session_hours: float | None = None) -> Path:
    """The Voila configuration folder of one server (the Host check, and team mode when asked)."""
    config_dir = host_guard_config(hosts)
    if team:
        from ..users import read_users

        if not read_users(workspace):
            import shutil

            shutil.rmtree(config_dir, ignore_errors=True)
            raise UsageError(msg("e_dash_no_users", workspace=str(workspace)))
        team_config(config_dir, workspace, secure_cookie=secure_cookie, session_hours=session_hours)
    return config_dir


def start(directory: str | os.PathLike, port: int | None = None, *, log: str | os.PathLike | None = None,
          wait: bool = True, timeout: float = 60.0, allow_hosts=(), host: str = HOST, team: bool = False,
          secure_cookie: bool | None = None, session_hours: float | None = None,
          preheat: bool = True) -> DashboardServer:
    """Start Voila in the background on ``host:port`` (127.0.0.1 and a free port by default).

    Requests whose Host header is not a loopback name or one of ``allow_hosts`` (see
    :func:`allowed_hosts`) are refused with 403.  ``team``: members sign in
    (:mod:`crmkit.dashboard.auth`) and see only their scope; a non-loopback ``host`` needs it.
    """
    check_binding(host, team)
    try:
        workspace = check_workspace(directory)
    except WorkspaceNotFound:
        raise
    hosts = _hosts_of(workspace, allow_hosts, host=host, team=team)
    port = free_port() if port is None else int(port)
    if port_in_use(port):
        raise UsageError(msg("e_dash_port", port=port, host=host))
    config_dir = _configure(workspace, hosts, team=team, secure_cookie=secure_cookie,
                            session_hours=session_hours)
    log_path = Path(log) if log is not None else None
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed by the child's exit
    proc = subprocess.Popen(voila_command(port, host=host, preheat=preheat), env=voila_env(workspace, config_dir, team=team),
                            stdout=out, stderr=subprocess.STDOUT, cwd=str(notebook_dir()), start_new_session=True)
    server = DashboardServer(proc, port, workspace, log_path, config_dir, hosts, host=host, team=team)
    if wait:
        try:
            server.wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
    return server


def serve(directory: str | os.PathLike, port: int = 8866, open_browser: bool = False, allow_hosts=(), *,
          host: str = HOST, team: bool = False, secure_cookie: bool | None = None,
          session_hours: float | None = None) -> int:
    """Serve the dashboards of the workspace ``directory`` until Ctrl-C (blocks).

    Prints the URL of the landing page; opens it in the browser when asked.  Only requests for a
    loopback name or one of ``allow_hosts`` are answered (:func:`allowed_hosts`).  Without ``team``
    there is no login and ``host`` must be a loopback address; with it members sign in.
    """
    check_binding(host, team)
    workspace = check_workspace(directory)
    hosts = _hosts_of(workspace, allow_hosts, host=host, team=team)
    if port_in_use(port):
        raise UsageError(msg("e_dash_port", port=port, host=host))
    # Voila runs in its own session: Ctrl-C reaches this process only, which then stops Voila;
    # SIGTERM does the same (so a stopped `crmkit dashboard` never leaves Voila running).
    debug = bool(os.environ.get("CRMKIT_DEBUG"))  # Voila's own log on stderr, for troubleshooting
    config_dir = _configure(workspace, hosts, team=team, secure_cookie=secure_cookie,
                            session_hours=session_hours)
    proc = subprocess.Popen(voila_command(port, host=host), env=voila_env(workspace, config_dir, team=team),
                            cwd=str(notebook_dir()), stdout=None if debug else subprocess.DEVNULL,
                            stderr=None if debug else subprocess.PIPE, start_new_session=True)
    server = DashboardServer(proc, port, workspace, None, config_dir, hosts, host=host, team=team)
    previous = None
    daily = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        try:
            server.wait_ready(90)
        except UsageError:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if (
                proc.poll() is not None and proc.stderr is not None) else ""
            server.stop()
            raise UsageError(msg("e_dash_no_start_detail", detail=err.strip()) if err else msg("e_dash_no_start")) from None
        print(clean_text(msg("dash_for", workspace=str(workspace)).render() + f"\n  {server.url}\n"
              + "\n".join(f"  {d.zh} / {d.en}: {server.url_of(d.key)}" for d in DASHBOARDS)
              + f"\n  表单录入 / Forms: {server.url_of('form')}"
              + "\n" + (msg("dash_team_login", hosts=", ".join(hosts), hours=f"{session_hours or _default_hours():g}") if team
                         else msg("dash_no_login", hosts=", ".join(hosts))).render()
              + "\n" + msg("dash_ctrl_c").render()), flush=True)
        if open_browser:
            with contextlib.suppress(Exception):
                webbrowser.open(server.url)
        daily = start_daily_cycle(workspace)
        if proc.stderr is not None:
            for _line in proc.stderr:  # drain Voila's log so its pipe never fills up
                pass
        return proc.wait()
    except KeyboardInterrupt:
        print("\n" + msg("dash_stopping").render(), flush=True)
        return 0
    finally:
        if daily is not None:
            daily.stop()
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def start_daily_cycle(workspace: Path) -> DailyCycle | None:
    """Start the daily cycle at Settings ``cycle_at`` (None when it is blank): for teams without cron."""
    at = open_workspace(workspace).settings.get("cycle_at")
    if at is None:
        return None
    daily = DailyCycle(workspace, at, report=lambda text: print(text, flush=True))
    daily.start()
    print(msg("dash_cycle_at", at=at.strftime("%H:%M")).render(), flush=True)
    return daily


def _default_hours() -> float:
    from .auth import SESSION_HOURS

    return SESSION_HOURS


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
