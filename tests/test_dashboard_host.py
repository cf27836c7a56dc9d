"""The dashboard server answers only requests for localhost names (no DNS rebinding): a real server."""

from __future__ import annotations

import http.client
import threading

import pandas as pd
import pytest

from crmkit.dashboard.server import allowed_hosts, start
from crmkit.exceptions import UsageError

pytestmark = pytest.mark.timeout(240) if hasattr(pytest.mark, "timeout") else []


def status(port: int, host: str, path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.fixture
def small_workspace(make_workspace):
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"],
                              "created_at": ["2026-10-01"]})
    return make_workspace({"customers": customers}, settings={"as_of": "2026-11-20 10:00"})


def serve_briefly(workspace, **kw):
    """A real server on 127.0.0.1 that stops itself after two minutes whatever happens."""
    server = start(workspace, timeout=90, **kw)
    guard = threading.Timer(120, server.stop)
    guard.daemon = True
    guard.start()
    return server, guard


def test_a_foreign_host_header_is_refused_and_localhost_is_served(small_workspace, monkeypatch):
    monkeypatch.setenv("CRMKIT_PREHEAT", "0")          # no kernels: this test is about the front door
    server, guard = serve_briefly(small_workspace)
    try:
        port = server.port
        assert status(port, f"localhost:{port}") == 200
        assert status(port, f"127.0.0.1:{port}") == 200
        assert status(port, f"[::1]:{port}") == 200
        assert status(port, f"evil.example:{port}") == 403
        assert status(port, "attacker.test") == 403
        assert status(port, f"10.0.0.8:{port}") == 403
        # the pages that run code are behind the same check
        assert status(port, f"evil.example:{port}", "/voila/render/overview.ipynb") == 403
        assert status(port, f"evil.example:{port}", "/api/kernels") in (403, 404, 405)
    finally:
        guard.cancel()
        server.stop()
    assert server.process.poll() is not None
    assert server.config_dir is not None and not server.config_dir.exists()


def test_a_host_name_allowed_on_the_command_line_is_served(small_workspace, monkeypatch):
    monkeypatch.setenv("CRMKIT_PREHEAT", "0")
    server, guard = serve_briefly(small_workspace, allow_hosts=("crm.office.lan",))
    try:
        port = server.port
        assert status(port, f"crm.office.lan:{port}") == 200
        assert status(port, f"CRM.office.lan:{port}") in (200, 403)   # browsers send it lower-case
        assert status(port, f"other.office.lan:{port}") == 403
    finally:
        guard.cancel()
        server.stop()


def test_allowed_hosts_reads_settings_and_refuses_addresses_that_are_no_names():
    assert allowed_hosts() == ("localhost", "127.0.0.1", "::1")
    assert "crm.lan" in allowed_hosts(settings={"dashboard_allow_hosts": "crm.lan; crm2.lan"})
    assert "crm2.lan" in allowed_hosts(["crm.lan, crm2.lan"])
    assert "*" in allowed_hosts(["*"])
    with pytest.raises(UsageError, match="host names, not addresses"):
        allowed_hosts(["192.168.1.20"])
    with pytest.raises(UsageError, match="not a host name"):
        allowed_hosts(["bad host/x"])


def test_the_readme_says_there_is_no_login_yet():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "no login" in readme.lower()
    assert "--allow-host" in readme
