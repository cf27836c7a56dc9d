"""Shared test fixtures. Paths are built from __file__, never from the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
TEMPLATES = ROOT / "templates"


@pytest.fixture
def make_workspace(tmp_path):
    """Build a workspace in a temp folder from entity frames (others from the template).

    >>> ws_dir = make_workspace({"customers": df}, settings={"as_of": "2026-11-20 10:00"})
    """
    from crmkit.templates import write_workspace

    counter = {"n": 0}

    def build(tables: dict[str, pd.DataFrame] | None = None, *, lang: str = "en",
              settings: dict | None = None, name: str | None = None) -> Path:
        counter["n"] += 1
        folder = tmp_path / (name or f"ws{counter['n']}")
        return write_workspace(folder, tables or {}, lang=lang, settings=settings)

    return build


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (crash and interruption trials at scale, a million-row import) run only when
    asked for with ``-m slow``; ``make test`` stays well inside CI's time."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _environment_restored():
    """No test leaks environment variables (e.g. CRMKIT_CACHE set by a benchmark stage) into the next."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


# --------------------------------------------------------------------------- crmkit send (test_send*.py)

@pytest.fixture
def inbox():
    """A real SMTP server on 127.0.0.1 (tests/local_servers.py) for the send tests."""
    from local_servers import smtp_inbox

    with smtp_inbox() as box:
        yield box


@pytest.fixture
def build(make_workspace):
    """``build(port, customers=None, messages=None, **settings)``: a workspace whose e-mail goes to ``port``
    (the people, messages and Settings of tests/test_send.py)."""
    from test_send import customer, message, settings_for

    def make(port: int, customers=None, messages=None, **settings) -> Path:
        customers = customers if customers is not None else [customer(i) for i in range(1, 5)]
        messages = messages if messages is not None else [message(n, 1 + (n - 1) % 4) for n in range(1, 7)]
        return make_workspace({"customers": pd.DataFrame(customers), "messages": pd.DataFrame(messages)},
                              settings=settings_for(port, **settings))
    return make


# --------------------------------------------------------------------------- the browser tests

@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (test_browser.py's CHROMIUM and ARGS), one per test module."""
    from playwright.sync_api import sync_playwright
    from test_browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()
