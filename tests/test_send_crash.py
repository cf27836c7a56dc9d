"""SIGKILL during ``crmkit send`` at random moments: no message is ever received twice, none is lost.

Each trial builds a workspace of queued e-mails whose Settings point at a
real SMTP server on 127.0.0.1 (aiosmtpd, a few milliseconds per mail, counting
what it receives by X-Crmkit-Message-Id), starts ``python -m crmkit send`` in
a child process and kills it with SIGKILL after a random delay: from the
start of the process (reading, recovery) or from its first claim in the
outcome log (between saves, during network calls).  Then:

* campaigns.xlsx opens as it is on disk (a whole file), and the workspace
  validates;
* ``crmkit send`` runs again to the end (real SMTP transport);
* the server received no message more than once; every message is ``sent``
  (and was received exactly once) or ``sending`` and reported for a person
  (received once or not at all) — none is queued, failed or lost.

The figures (messages, received once, left sending, kills mid-batch ...) are
printed; ``-m slow`` runs the 20-trial version.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from local_servers import smtp_inbox

from crmkit.delivery.outcomes import log_path
from crmkit.delivery.send import send_messages
from crmkit.templates import write_workspace
from crmkit.validate import validate_path
from crmkit.workspace import read_workbook_file

ROOT = Path(__file__).resolve().parent.parent
AS_OF = pd.Timestamp("2026-11-20 10:00")
MESSAGES = 24
CUSTOMERS = 8
BATCH = 4
DELAY = 0.02              # seconds the server takes per mail


def workspace(folder: Path, port: int) -> Path:
    customers = pd.DataFrame([{"customer_id": f"C{i:03d}", "name": f"Firm {i}", "contact_name": f"联系人 {i}",
                               "email": f"c{i}@example.com", "source": "referral",
                               "created_at": AS_OF - pd.Timedelta(days=90), "marketing_consent": True,
                               "unsubscribed": False} for i in range(CUSTOMERS)])
    messages = pd.DataFrame([{"message_id": f"M{n:06d}", "customer_id": f"C{n % CUSTOMERS:03d}", "channel": "email",
                              "kind": "marketing", "subject": f"Offer {n} 优惠", "content": f"Hello {n}，你好",
                              "status": "queued", "queued_at": AS_OF - pd.Timedelta(hours=2),
                              "scheduled_at": AS_OF - pd.Timedelta(minutes=MESSAGES - n)}
                             for n in range(1, MESSAGES + 1)])
    settings = {"as_of": AS_OF.strftime("%Y-%m-%d %H:%M"), "smtp_host": "127.0.0.1", "smtp_port": port,
                "smtp_security": "none", "smtp_from": "Sales <sales@example.com>", "smtp_timeout": 5,
                "send_batch_size": BATCH, "send_retry_delay": 0.01, "daily_message_cap": 10}
    return write_workspace(folder, {"customers": customers, "messages": messages}, lang="en", settings=settings)


def start(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRMKIT_WAIT": "0"}
    return subprocess.Popen([sys.executable, "-m", "crmkit", "send", str(folder)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(path: Path, child: subprocess.Popen, timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() or child.poll() is not None:
            return path.exists()
        time.sleep(0.005)
    return False


def calibrate(folder: Path) -> tuple[float, float]:
    """(seconds from start to the first claim, seconds from it to the end) of one uninterrupted run."""
    with smtp_inbox(delay=DELAY) as inbox:
        ws = workspace(folder, inbox.port)
        began = time.monotonic()
        child = start(ws)
        assert wait_for(log_path(ws), child)
        claimed = time.monotonic()
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
        assert inbox.by_id() == {f"M{n:06d}": 1 for n in range(1, MESSAGES + 1)}
        return claimed - began, time.monotonic() - claimed


def kill_trials(root: Path, trials: int, seed: int) -> Counter:
    rng = random.Random(seed)
    to_claim, sending = calibrate(root / "calibration")
    figures: Counter = Counter()
    for trial in range(trials):
        with smtp_inbox(delay=DELAY) as inbox:
            ws = workspace(root / f"t{trial}", inbox.port)
            child = start(ws)
            if trial % 4 == 0:           # anywhere: while starting, reading, recovering or sending
                time.sleep(rng.uniform(0, to_claim + sending))
            else:                        # while sending: between saves, during network calls
                wait_for(log_path(ws), child)
                time.sleep(rng.uniform(0, sending))
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            else:
                figures["runs_finished_before_the_kill"] += 1
            child.wait()
            if child.stderr is not None:
                child.stderr.close()
            # the workbook on disk is whole, whatever the moment of the kill
            raw = read_workbook_file(ws / "campaigns.xlsx")["messages"]
            status = raw["status"].astype("string")
            if (status == "sending").any():
                figures["kills_mid_batch"] += 1
            figures["received_before_rerun"] += sum(inbox.by_id().values())
            report = validate_path(ws)
            assert report.errors == 0, report.text()
            res = send_messages(ws)
            figures["recovered_from_log"] += res.recovered
            got = inbox.by_id()
            assert max(got.values(), default=0) <= 1, f"trial {trial}: received twice: {got.most_common(3)}"
            final = read_workbook_file(ws / "campaigns.xlsx")["messages"].set_index("message_id")
            status = final["status"].astype("string")
            assert set(status) <= {"sent", "sending"}, f"trial {trial}: {status.value_counts().to_dict()}"
            sent = status[status == "sent"].index
            left = status[status == "sending"].index
            assert all(got[m] == 1 for m in sent), f"trial {trial}: a message marked sent was not received"
            assert sorted(left) == res.left_sending             # each one reported for a person
            figures["messages"] += len(final)
            figures["received_once"] += sum(1 for v in got.values() if v == 1)
            figures["left_sending"] += len(left)
            figures["left_sending_received"] += sum(1 for m in left if got[m])
            figures["trials"] += 1
    return figures


def report(figures: Counter, seconds: float) -> str:
    keys = ("trials", "messages", "received_once", "left_sending", "left_sending_received", "kills_mid_batch",
            "recovered_from_log", "runs_finished_before_the_kill")
    return "send crash trials: " + ", ".join(f"{k}={figures.get(k, 0)}" for k in keys) + f", seconds={seconds:.0f}"


def test_send_killed_at_random_moments_never_sends_twice_and_loses_nothing(tmp_path, capsys):
    began = time.monotonic()
    figures = kill_trials(tmp_path, trials=3, seed=20261203)
    with capsys.disabled():
        print("\n" + report(figures, time.monotonic() - began))
    assert figures["trials"] == 3
    assert figures["received_once"] + figures["left_sending"] - figures["left_sending_received"] \
        == figures["messages"]


@pytest.mark.slow
def test_twenty_kills_during_send_never_send_a_message_twice(tmp_path, capsys):
    began = time.monotonic()
    figures = kill_trials(tmp_path, trials=20, seed=16)
    with capsys.disabled():
        print("\n" + report(figures, time.monotonic() - began))
    assert figures["trials"] == 20
    assert figures["kills_mid_batch"] >= 5          # the kills do land between the saves of a batch
    assert figures["received_once"] + figures["left_sending"] - figures["left_sending_received"] \
        == figures["messages"]
