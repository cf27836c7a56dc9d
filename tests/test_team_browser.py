"""Team mode as people use it: `crmkit dashboard DIR --team` in a real (headless) Chromium (issue 17).

The small dashboard workspace: Morgan Lee manages three reps with customers, Alex Chen (rep A),
Sam Patel (rep B) and Jordan Kim.  Alex signs in: no customer ID, name or phone of Sam or Jordan
appears in any dashboard's rendered page, in an export, or in the form's lists, also with URL
parameters tried by hand and a forged X-Crmkit-User header.  Morgan sees the team.  A wrong password
is refused; without a session the pages are the login page, in the browser and over plain HTTP.
"""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from dashboard_process import running_dashboard
from test_browser import ARTIFACTS, CHROMIUM, LOAD_TIMEOUT, leave, rendered
from test_dashboard import small_workspace

from crmkit.users import set_password

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]

ALEX, SAM, JORDAN, MORGAN = "Alex Chen", "Sam Patel", "Jordan Kim", "Morgan Lee"
PASSWORDS = {ALEX: "alex-secret-1", SAM: "sam-secret-1", JORDAN: "jordan-secret-1", MORGAN: "morgan-secret-1"}
DASHBOARDS = ("overview", "my_day", "campaigns", "customers_rfm", "data_quality")
#: what must never reach Alex: the customers of Sam (rep B) and Jordan, by ID, name and phone (full and masked)
OTHERS = {
    SAM: ["C004", "C005", "C006", "C010", "Delta Foods", "Echo Retail", "Fox Media", "Jade Motors",
          "13700002222", "13600003333", "13300006666", "137****2222", "136****3333", "133****6666"],
    JORDAN: ["C007", "C008", "Granite Co", "Harbor Ltd", "13500004444", "13400005555", "135****4444",
             "134****5555"],
}
MINE = ["Acme Tools", "Cedar Labs"]
TRIES = "?" + urllib.parse.urlencode({"owner": SAM, "as_user": SAM, "user": SAM})
FORGED = {"X-Crmkit-User": SAM}


def leaks(text: str) -> list[str]:
    return [s for names in OTHERS.values() for s in names if s in text]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    workspace = small_workspace(tmp_path_factory.mktemp("teambrowser") / "crm")
    for name, password in PASSWORDS.items():
        set_password(workspace, name, password)
    ARTIFACTS.mkdir(exist_ok=True)
    with running_dashboard(workspace, ARTIFACTS / "team-dashboard-server.log", args=("--team",)) as dash:
        yield dash


def signed_in(browser, served, name: str, *, headers: dict | None = None):
    """A browser context (its own cookies) signed in as ``name`` through the login page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    if headers:
        context.set_extra_http_headers(headers)
    page = context.new_page()
    page.goto(served.url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
    assert "/login" in page.url
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#crmkit-login-submit")
    page.wait_for_selector("#crmkit-dashboards", timeout=60_000)
    page.close()
    return context


def open_dashboard(context, served, key: str, query: str = ""):
    page = context.new_page()
    started = time.monotonic()
    page.goto(f"{served.url}voila/render/{key}.ipynb{query}", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
    if key == "form":
        page.wait_for_selector(".crmkit-submit, .crmkit-form-index", timeout=LOAD_TIMEOUT)
    else:
        page.wait_for_selector("#loading", state="detached", timeout=LOAD_TIMEOUT)
        rendered(page, 1)
    return page, time.monotonic() - started


def exports(page) -> list[pd.DataFrame]:
    """Every export of the page, downloaded and read back."""
    frames = []
    buttons = page.locator("button.crmkit-export")
    for i in range(buttons.count()):
        buttons.nth(i).click()
        link = page.locator("a.crmkit-download").nth(i)
        link.wait_for(timeout=30_000)
        with page.expect_download(timeout=30_000) as info:
            link.click()
        frames.append(pd.read_excel(io.BytesIO(Path(info.value.path()).read_bytes()), engine="openpyxl"))
    return frames


def owner_choices(page) -> list[str]:
    return options(page, ".crmkit-owner select option")


def options(page, css: str) -> list[str]:
    """The labels of a dropdown's options (ipywidgets writes spaces as no-break spaces)."""
    raw = page.eval_on_selector_all(css, "els => els.map(e => e.textContent)")
    return [x.replace("\xa0", " ").strip() for x in raw]


def test_a_rep_sees_only_their_own_records_everywhere(browser, served):
    timings = {}
    exported = 0
    for query, headers in (("", None), (TRIES, FORGED)):
        context = signed_in(browser, served, ALEX, headers=headers)
        try:
            for key in DASHBOARDS:
                page, took = open_dashboard(context, served, key, query)
                timings.setdefault(key, []).append(round(took, 2))
                html = page.content()
                assert leaks(html) == [], (key, query, leaks(html))
                assert "Alex Chen" in page.inner_text(".crmkit-user")
                assert page.locator(".crmkit-msg-err").count() == 0, key
                choices = owner_choices(page)
                assert SAM not in choices and JORDAN not in choices, (key, choices)
                if key == "my_day":
                    assert choices == [ALEX]
                for frame in exports(page):
                    exported += 1
                    text = frame.to_csv(index=False)
                    assert leaks(text) == [], (key, "export", leaks(text))
                if key == "customers_rfm":
                    assert any(m in html for m in MINE)      # the rep's own customers are there
                leave(page)
            # the form page: the owner list and the customer list hold only Alex's scope
            for form, extra in (("New customer registration", {"owner": SAM}), ("Follow-up record", {"customer_id": "C004"})):
                q = "?" + urllib.parse.urlencode({"form": form, **extra, "as_user": SAM, "user": SAM})
                page, _ = open_dashboard(context, served, "form", q)
                html = page.content()
                assert leaks(html) == [], (form, leaks(html))
                who = options(page, ".crmkit-submitter select option")
                assert who == [ALEX]
                if page.locator(".crmkit-field-owner select").count():
                    owners = options(page, ".crmkit-field-owner select option")
                    assert set(owners) <= {"", ALEX}, owners
                listed = page.eval_on_selector_all("datalist option", "els => els.map(e => e.value)")
                assert leaks(" ".join(listed)) == []
                if form == "Follow-up record":
                    assert any(x.startswith("C001") for x in listed), listed     # Alex's own customers are offered
                leave(page)
            page, _ = open_dashboard(context, served, "form")
            assert leaks(page.content()) == []
            leave(page)
        finally:
            context.close()
    assert exported >= 6          # my_day, customers_rfm, data_quality and campaigns offer exports, twice over
    (ARTIFACTS / "team-page-seconds.json").write_text(json.dumps(timings, indent=1))


def test_a_manager_sees_the_team(browser, served):
    context = signed_in(browser, served, MORGAN)
    try:
        page, _ = open_dashboard(context, served, "my_day")
        choices = owner_choices(page)
        assert {ALEX, SAM, JORDAN} <= set(choices)
        leave(page)
        page, _ = open_dashboard(context, served, "customers_rfm")
        html = page.content()
        assert "Delta Foods" in html and "Acme Tools" in html and "Granite Co" in html
        leave(page)
    finally:
        context.close()


def test_a_wrong_password_is_refused(browser, served):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(served.url + "voila/render/overview.ipynb", wait_until="domcontentloaded", timeout=LOAD_TIMEOUT)
        page.fill("#name", SAM)
        page.fill("#password", "not-the-password")
        page.click("#crmkit-login-submit")
        page.wait_for_selector("#crmkit-login-message", timeout=30_000)
        assert "Wrong name or password" in page.inner_text("#crmkit-login-message")
        assert "/login" in page.url and page.locator("#crmkit-dashboards").count() == 0
        assert not any(c["name"] == "crmkit-session" for c in context.cookies())
    finally:
        context.close()


def test_without_a_session_there_is_only_the_login_page(browser, served):
    context = browser.new_context(extra_http_headers=FORGED)
    try:
        page = context.new_page()
        for key in (*DASHBOARDS, "form"):
            page.goto(f"{served.url}voila/render/{key}.ipynb{TRIES}", wait_until="domcontentloaded",
                      timeout=LOAD_TIMEOUT)
            assert "/login" in page.url and page.locator("#crmkit-login").count() == 1
            assert leaks(page.content()) == [] and "Acme Tools" not in page.content()
        page.close()
    finally:
        context.close()
    # plain HTTP, no redirects followed: never a page of data
    opener = urllib.request.build_opener(NoRedirect)
    for path in ("", "voila/render/overview.ipynb", "voila/render/customers_rfm.ipynb" + TRIES,
                 "voila/render/form.ipynb?form=New%20customer%20registration", "voila/tree"):
        req = urllib.request.Request(served.url + path, headers=FORGED)
        try:
            resp = opener.open(req, timeout=60)
            status, body = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode("utf-8", "replace")
        assert status in (302, 403), (path, status)
        assert leaks(body) == [] and "Acme Tools" not in body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
