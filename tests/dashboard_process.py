"""``crmkit dashboard`` as a real process on 127.0.0.1 for the browser tests (stopped on exit, bounded in time).

>>> with running_dashboard(workspace, log_path) as dash:
...     page.goto(dash.url + "voila/render/campaigns.ipynb")
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest


@contextlib.contextmanager
def running_dashboard(workspace: Path, log_path: Path, *, timeout: float = 120,
                      args: tuple[str, ...] = ()) -> Iterator[SimpleNamespace]:
    """Start ``crmkit dashboard WORKSPACE [args]`` on a free port, wait until it answers, stop it at the end.

    Voila's own log goes to ``log_path``; a server that does not start fails the test with its tail.
    """
    from crmkit.dashboard.server import free_port

    port = free_port()
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "crmkit", "dashboard", str(workspace), "--port", str(port),
                             "--no-browser", *args], stdout=log, stderr=subprocess.STDOUT, cwd=Path(workspace).parent,
                            env=dict(os.environ, CRMKIT_DEBUG="1"))
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("crmkit dashboard did not start: " + Path(log_path).read_text()[-3000:])
            time.sleep(0.3)
        yield SimpleNamespace(url=url, port=port, workspace=workspace, proc=proc)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
