"""The new-customer form page, filled in headless Chromium through Voila.

An invalid phone shows a message next to the field and writes nothing; a valid
submission writes the customer, the routing rule assigns the owner, the first
follow-up task is created and the page says so; the same customer again is
caught as a duplicate.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from crmkit.workspace import open_workspace

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EXISTING = pd.DataFrame({"customer_id": ["C00007"], "name": ["Bolt Ltd"], "phone": ["+8613900001111"],
                         "source": ["referral"], "created_at": ["2026-10-01"], "owner": ["Sam Patel"]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    from crmkit.templates import write_workspace

    root = tmp_path_factory.mktemp("form_browser")
    ws_dir = write_workspace(root / "ws", {"customers": EXISTING}, settings={"as_of": "2026-11-20 10:00"})
    nb_dir = root / "notebooks"
    nb_dir.mkdir()
    shutil.copy(ROOT / "notebooks" / "form.ipynb", nb_dir / "form.ipynb")
    port = free_port()
    env = dict(os.environ, CRMKIT_WORKSPACE=str(ws_dir), PYTHONPATH=str(ROOT))
    log = open(root / "voila.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(nb_dir), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", "--VoilaConfiguration.show_tracebacks=True"],
                            env=env, cwd=str(root), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base, timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("Voila did not start: " + (root / "voila.log").read_text(errors="replace")[-2000:])
                time.sleep(0.3)
        yield base, ws_dir
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    base, _ = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page()
        query = urllib.parse.urlencode({"form": "New customer registration"})
        pg.goto(f"{base}voila/render/form.ipynb?{query}", wait_until="domcontentloaded", timeout=60000)
        pg.wait_for_selector(".crmkit-submit", timeout=60000)
        yield pg
        browser.close()


def fill_hot_lead(page, phone: str) -> None:
    page.select_option(".crmkit-submitter select", label="Alex Chen")
    page.fill(".crmkit-field-name input", "Acme Robotics")
    page.fill(".crmkit-field-phone input", phone)
    page.select_option(".crmkit-field-industry select", label="IT / internet")
    page.select_option(".crmkit-field-intent_level select", label="A")


def test_new_customer_form_in_the_browser(page, server):
    _, ws_dir = server
    # 1. an invalid phone: a message next to the field, nothing written
    fill_hot_lead(page, "1381234")
    page.click(".crmkit-submit button, button.crmkit-submit")
    page.wait_for_function(
        "document.querySelector('.crmkit-error-phone') && "
        "document.querySelector('.crmkit-error-phone').innerText.trim().length > 0", timeout=30000)
    assert "phone" in page.inner_text(".crmkit-error-phone")
    assert "Nothing was saved" in page.inner_text(".crmkit-status")
    assert open_workspace(ws_dir)["customers"]["customer_id"].tolist() == ["C00007"]

    # 2. a valid phone: saved, owner assigned by routing, first task created, all shown on the page
    page.fill(".crmkit-field-phone input", "13812345678")
    page.click(".crmkit-submit button, button.crmkit-submit")
    page.wait_for_function("document.querySelector('.crmkit-status').innerText.includes('Saved as')",
                           timeout=60000)
    status = page.inner_text(".crmkit-status")
    assert "Saved as C00008." in status and "Owner: Alex Chen" in status and "create task" in status
    assert page.inner_text(".crmkit-error-phone").strip() == ""
    ws = open_workspace(ws_dir)
    row = ws["customers"].set_index("customer_id").loc["C00008"]
    assert (row["name"], row["phone"], row["owner"]) == ("Acme Robotics", "+8613812345678", "Alex Chen")
    tasks = ws["tasks"]
    assert ((tasks["customer_id"] == "C00008") & (tasks["created_by"] == "rule:R01C")).sum() == 1

    # 3. the same customer again: caught as a duplicate, with a way to the existing record
    fill_hot_lead(page, "138 1234 5678")
    page.click(".crmkit-submit button, button.crmkit-submit")
    page.wait_for_selector(".crmkit-duplicates", timeout=30000)
    assert "C00008" in page.inner_text(".crmkit-duplicates")
    assert "may already exist" in page.inner_text(".crmkit-status")
    assert len(open_workspace(ws_dir)["customers"]) == 2
