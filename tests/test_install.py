"""The wheel serves the dashboards: what a team's analyst does with ``pip install`` (issue 15).

The wheel is built from this checkout's sources, installed with ``[dashboard]``
into a fresh virtual environment outside the checkout (no system site
packages, no ``PYTHONPATH``), and run from a folder outside it too:
``crmkit init --sample``, ``crmkit run`` and ``crmkit dashboard``.  The
landing page and the Overview must render there: Voila runs the notebook
server-side, every cell without an error, and (where Debian's Chromium is
installed) a browser shows the Overview's KPI cards with their numbers.

A wheel without the notebooks or the Voila template fails here: the server
refuses to start, or the pages do not render.  Slow-ish (a minute or two for
``pip install`` from the package index, which pip's cache makes faster);
``make test`` runs it, ``make test-fast`` leaves it out (``-m "not install"``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = [pytest.mark.install, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOKS = {"overview", "my_day", "campaigns", "customers_rfm", "data_quality", "form"}
#: what a wheel is built from (pyproject.toml names the readme and the package); copied, so that the
#: build leaves no build/ or *.egg-info in the checkout and never packs a stale build/lib
SOURCES = ("pyproject.toml", "README.md", "crmkit")


def run(cmd: list[str], *, cwd: Path, env: dict | None = None, timeout: float) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 240) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8")


@pytest.fixture(scope="module")
def installed():
    base = Path(tempfile.mkdtemp(prefix="crmkit-install-")).resolve()
    assert not base.is_relative_to(ROOT)
    try:
        src = base / "src"
        for name in SOURCES:
            if (ROOT / name).is_dir():
                shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                src.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, src / name)
        run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(src)],
            cwd=base, timeout=300)
        wheel = next((base / "dist").glob("crmkit-*.whl"))
        venv = base / "venv"
        # a fresh environment (no system site packages); this interpreter's pip installs into it
        run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base, timeout=120)
        python = venv / "bin" / "python"
        run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", f"{wheel}[dashboard]"],
            cwd=base, timeout=600)
        home = base / "home"
        home.mkdir()
        env = {"PATH": os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"]), "HOME": str(home),
               "LANG": "C.UTF-8", "TMPDIR": str(base), "CRMKIT_PREHEAT": "0"}   # no PYTHONPATH
        work = base / "work"
        work.mkdir()
        yield SimpleNamespace(base=base, venv=venv, python=python, env=env, work=work, crmkit=venv / "bin" / "crmkit")
    finally:   # the environment is large (JupyterLab ...): removed in the background, not waited for
        subprocess.Popen(["rm", "-rf", str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)


def test_the_installed_package_imports_nothing_from_the_checkout(installed):
    code = ("import json, sys, crmkit, crmkit.cli, crmkit.dashboard.server as s, crmkit.dashboard.pages, "
            "crmkit.dashboard.forms_page\n"
            "print(json.dumps({'files': sorted({m.__file__ for n, m in sys.modules.items() "
            "if n.startswith('crmkit') and getattr(m, '__file__', None)}), 'path': sys.path, "
            "'notebooks': sorted(p.stem for p in s.notebook_dir().glob('*.ipynb')), "
            "'template': str(s.TEMPLATE_DIR), 'pythonpath': s.voila_env(s.Path('.')).get('PYTHONPATH')}))")
    got = json.loads(run([str(installed.python), "-c", code], cwd=installed.work, env=installed.env, timeout=120))
    site = (installed.venv / "lib").resolve()
    assert got["files"] and all(Path(f).resolve().is_relative_to(site) for f in got["files"]), got["files"]
    assert not [p for p in got["path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert set(got["notebooks"]) == NOTEBOOKS                          # the notebooks are in the wheel
    assert Path(got["template"]).is_relative_to(site)
    assert (Path(got["template"]) / "tree.html").is_file()              # and so is the Voila template
    assert got["pythonpath"] is None                                    # the kernels need no path of ours


def test_init_run_and_dashboard_render_outside_the_checkout(installed):
    env, work = installed.env, installed.work
    run([str(installed.crmkit), "init", "--sample", "ws"], cwd=work, env=env, timeout=180)
    run([str(installed.crmkit), "run", "ws"], cwd=work, env=env, timeout=300)
    port = free_port()
    log_path = installed.base / "dashboard.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(installed.crmkit), "dashboard", "ws", "--port", str(port), "--no-browser"],
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 120
            while True:
                try:
                    status, landing = get(url, timeout=5)
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail("crmkit dashboard did not start: " + log_path.read_text(errors="replace")[-3000:])
                    time.sleep(0.5)
            assert status == 200
            assert "crmkit · 看板 Dashboards" in landing
            assert "经营总览" in landing and "Overview" in landing and 'href="/voila/render/overview.ipynb"' in landing

            status, page = get(url + "voila/render/overview.ipynb")
            assert status == 200
            outputs = [json.loads(o) for o in re.findall(
                r'<script type="application/vnd\.voila\.cell-output\+json">\s*(.*?)\s*</script>', page, re.S)]
            assert outputs, page[-2000:]
            assert not [o for o in outputs if o.get("output_type") == "error"], outputs
            assert "There was an error when executing cell" not in page
            # the last cell displays the page only after its first render (which computed every number)
            shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
            assert shown and "crmkit-title" in shown[-1]["data"]["text/plain"]
            if CHROMIUM.exists():
                cards = kpi_cards_in_a_browser(url + "voila/render/overview.ipynb")
                assert len(cards) >= 4 and any(v not in ("", "0.0") for v in cards.values()), cards
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)       # crmkit dashboard stops Voila and its kernels
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def kpi_cards_in_a_browser(url: str) -> dict[str, str]:
    """The Overview's KPI cards as headless Chromium shows them: {kpi: raw value}."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=180_000)
            page.wait_for_selector('.crmkit-ready[data-render="1"]', state="attached", timeout=180_000)
            page.wait_for_selector("[data-kpi]", timeout=60_000)
            assert "Overview" in page.inner_text(".crmkit-title") or "经营总览" in page.inner_text(".crmkit-title")
            return {c.get_attribute("data-kpi"): c.get_attribute("data-value")
                    for c in page.query_selector_all("[data-kpi]")}
        finally:
            browser.close()
