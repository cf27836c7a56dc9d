"""The measured stages and their baselines, each run in a fresh child process.

``python -m benchmarks.stages STAGE WORKSPACE [--opts JSON] [--profile FILE]`` runs
one stage and prints one JSON line (``--profile`` also writes a pyinstrument profile)::

    {"stage": "load", "status": "ok", "seconds": 1.23, "peak_mb": 456.7, "extra": {...}}

``seconds`` covers the work only (imports and untimed setup such as copying a
workspace are outside the clock); ``peak_mb`` is the child's peak resident
memory (``ru_maxrss``, setup included).  A stage that fails reports
``status: "error"`` with the reason, so one broken stage never stops the run.
(Older results may hold ``status: "unavailable"``, from before crmkit had all its modules.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"

STAGES: dict[str, Callable[[Path, dict, Clock], dict | None]] = {}


class Clock:
    """Accumulates the wall time spent inside ``with clock:`` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._t0 = time.perf_counter()
        self._c0 = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._t0
        self.cpu += time.process_time() - self._c0


def stage(name: str):
    def register(fn):
        STAGES[name] = fn
        return fn
    return register


def fresh_copy(ws: Path, tag: str) -> Path:
    """A scratch copy of a workspace (outside the clock) for stages that write."""
    dest = WORK / f"{ws.name}-{tag}-{os.getpid()}"
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ws, dest, ignore=shutil.ignore_patterns(".crmkit", "~$*"))
    return dest


def file_state(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (mtime_ns, size) of the workbooks in ``folder``."""
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.xlsx"))}


def rewritten(before: dict, after: dict) -> list[str]:
    return sorted(k for k in after if before.get(k) != after[k])


def loaded_workspace(ws: Path):
    from crmkit.workspace import open_workspace

    w = open_workspace(ws)
    w.load_all()
    return w


# --------------------------------------------------------------------------- crmkit stages


@stage("generate")
def generate(ws: Path, opts: dict, clock: Clock) -> dict:
    """Generate the workspace (crmkit.sample, or the synthetic stand-in)."""
    customers = int(opts["customers"])
    seed = int(opts.get("seed", 7))
    opc = opts.get("orders_per_customer")
    if ws.exists():
        shutil.rmtree(ws)
    generator = opts.get("generator", "crmkit.sample")
    if generator == "crmkit.sample":
        from crmkit.sample import generate_workspace

        with clock:
            generate_workspace(ws, customers, seed=seed, lang=opts.get("lang", "en"), overwrite=True,
                               orders_per_customer=opc or None)
    else:
        from benchmarks import synth

        with clock:
            synth.generate(ws, customers, seed=seed, orders_per_customer=float(opc or 4.0))
    return counts(ws)


def counts(ws: Path) -> dict:
    """Rows per main sheet, read with fastexcel (cheap: no conversion)."""
    import fastexcel

    out = {}
    for p in sorted(ws.glob("*.xlsx")):
        r = fastexcel.read_excel(str(p))
        for name in r.sheet_names:
            if name.lower() in ("readme", "说明", "_lists"):
                continue
            sh = r.load_sheet(name, n_rows=0)
            out[name] = int(sh.total_height)
    out["bytes"] = sum(p.stat().st_size for p in ws.glob("*.xlsx"))
    return out


def _cache(on: bool) -> None:
    """Turn crmkit's typed-table cache (.crmkit/cache) on or off for this child; when on, fill it first."""
    os.environ["CRMKIT_CACHE"] = "1" if on else "0"


def _fill_cache(ws: Path) -> None:
    from crmkit.workspace import open_workspace

    _cache(True)
    open_workspace(ws).load_all()     # untimed: parses what changed since the last fill


@stage("load")
def load(ws: Path, opts: dict, clock: Clock) -> dict:
    """open_workspace + every table typed by the schema (ws.load_all()), from the .xlsx files (no cache)."""
    from crmkit.workspace import open_workspace

    _cache(False)
    with clock:
        w = open_workspace(ws)
        frames = w.load_all()
    return {"rows": int(sum(len(f) for f in frames.values())), "problems": len(w.problems())}


@stage("load_cached")
def load_cached(ws: Path, opts: dict, clock: Clock) -> dict:
    """The same load when the workbooks have not changed since the last read (typed copy in .crmkit/cache)."""
    from crmkit.workspace import open_workspace

    _fill_cache(ws)
    with clock:
        w = open_workspace(ws)
        frames = w.load_all()
    return {"rows": int(sum(len(f) for f in frames.values())), "problems": len(w.problems())}


def _validate(ws: Path, clock: Clock) -> dict:
    from crmkit.validate import validate_workspace
    from crmkit.workspace import open_workspace

    with clock:                  # as `crmkit validate DIR`: each table is checked as it is read
        w = open_workspace(ws)
        report = validate_workspace(w)
    inner = Clock()              # the checks alone, on the tables now in memory (outside the clock)
    with inner:
        validate_workspace(w)
    return {"errors": report.errors, "warnings": report.warnings,
            "validate_only_s": round(inner.seconds, 3), "validate_only_cpu_s": round(inner.cpu, 3)}


@stage("validate")
def validate(ws: Path, opts: dict, clock: Clock) -> dict:
    """validate_workspace from the .xlsx files (load included, as `crmkit validate` does; no cache)."""
    _cache(False)
    return _validate(ws, clock)


@stage("validate_cached")
def validate_cached(ws: Path, opts: dict, clock: Clock) -> dict:
    """The same validation when the workbooks have not changed since the last read."""
    _fill_cache(ws)
    return _validate(ws, clock)


def import_source(opts: dict) -> Path:
    path = Path(opts["import_file"])
    if not path.exists():
        raise FileNotFoundError(f"import file missing: {path}")
    return path


def _import_result(res) -> dict:
    out = {k: int(getattr(res, k)) for k in ("source_rows", "imported", "updated", "merged", "rejected")}
    out["phases_s"] = res.seconds
    return out


@stage("import_dry")
def import_dry(ws: Path, opts: dict, clock: Clock) -> dict:
    """Import the 100k-row customers file into the workspace, dry run (nothing written)."""
    from crmkit.importer import import_file

    src = import_source(opts)
    target = fresh_copy(ws, "import")
    try:
        with clock:
            res = import_file(src, target, entity="customers", dry_run=True)
        return _import_result(res)
    finally:
        shutil.rmtree(target, ignore_errors=True)


@stage("import")
def import_write(ws: Path, opts: dict, clock: Clock) -> dict:
    """Import the 100k-row customers file and write customers.xlsx."""
    from crmkit.importer import import_file

    src = import_source(opts)
    target = fresh_copy(ws, "import")
    try:
        before = file_state(target)
        with clock:
            res = import_file(src, target, entity="customers", dry_run=False)
        out = _import_result(res)
        out["rewritten"] = rewritten(before, file_state(target))
        return out
    finally:
        shutil.rmtree(target, ignore_errors=True)


@stage("rfm")
def rfm(ws: Path, opts: dict, clock: Clock) -> dict:
    """rfm_scores over every order (orders loaded outside the clock)."""
    from crmkit.rfm import rfm_scores

    w = loaded_workspace(ws)
    orders, customers, as_of = w["orders"], w["customers"], w.as_of()
    with clock:
        scores = rfm_scores(orders, as_of, customers=customers)
    seg = scores["rfm_segment"].value_counts() if "rfm_segment" in scores else pd.Series(dtype=int)
    return {"orders": len(orders), "customers": len(scores), "segments": int(seg.size)}


@stage("clv")
def clv(ws: Path, opts: dict, clock: Clock) -> dict:
    """crmkit.clv summary + BG/NBD and Gamma-Gamma fits + predictions (365 days) + call list, for as many
    customers as the workspace has and about 10 orders each (100,000 customers: about 975,000 orders), drawn
    from known parameters (benchmarks.synth.clv_orders, outside the clock)."""
    from benchmarks.synth import CLV_TRUTH, clv_orders
    from crmkit import clv as clv_mod

    n = int(opts.get("clv_customers") or len(loaded_workspace(ws)["customers"]))
    orders = clv_orders(n, seed=int(opts.get("seed", 7)))
    with clock:
        t0 = time.perf_counter()
        summary = clv_mod.summary(orders, "2026-11-20 10:00")
        t1 = time.perf_counter()
        model = clv_mod.fit(summary)
        t2 = time.perf_counter()
        pred = clv_mod.predict(model, summary, horizon_days=365, discount_rate=0.10)
        clv_mod.call_list(model, summary, pred, n=20)
        t3 = time.perf_counter()
    phases = {"summary": round(t1 - t0, 3), "fit": round(t2 - t1, 3), "predict": round(t3 - t2, 3)}
    b, g = model.bgnbd, model.gamma_gamma
    fitted = {"r": b.r, "alpha": b.alpha, "a": b.a, "b": b.b, "p": g.p, "q": g.q, "gamma": g.v}
    worst = max(abs(fitted[k] / CLV_TRUTH[k] - 1) for k in CLV_TRUTH)
    return {"orders": len(orders), "customers": len(summary), "repeat_buyers": int((summary["frequency"] > 0).sum()),
            "phases_s": phases, "fitted": {k: round(v, 3) for k, v in fitted.items()}, "truth": CLV_TRUTH,
            "worst_param_error": round(worst, 3), "nan_cells": int(pred.isna().sum().sum()),
            "total_clv": round(float(pred["clv"].sum()), 2)}


def _run_rules(ws_dir: Path, clock: Clock, dry_run: bool) -> dict:
    from crmkit.rules.engine import run_rules

    w = loaded_workspace(ws_dir)
    with clock:
        res = run_rules(w, dry_run=dry_run)  # a real run writes the changed workbooks itself
        if not dry_run and w.dirty:
            w.save()
    out: dict = {"customers": len(w["customers"])}
    if res.written:
        out["written"] = sorted(Path(p).name for p in res.written)
    summary = res.summary()
    out.update(actions=summary["actions"], suppressed=summary["suppressed"], errors=len(summary["errors"]))
    return out


@stage("rules_dry")
def rules_dry(ws: Path, opts: dict, clock: Clock) -> dict:
    """All enabled rules, dry run (derived fields included; tables loaded outside the clock)."""
    target = fresh_copy(ws, "rulesdry")
    try:
        before = file_state(target)
        out = _run_rules(target, clock, True)
        out["rewritten"] = rewritten(before, file_state(target))
        return out
    finally:
        shutil.rmtree(target, ignore_errors=True)


@stage("rules_write")
def rules_write(ws: Path, opts: dict, clock: Clock) -> dict:
    """All enabled rules with writes, then the same run again (which must change nothing)."""
    target = fresh_copy(ws, "ruleswrite")
    try:
        before = file_state(target)
        out = _run_rules(target, clock, False)
        after = file_state(target)
        out["rewritten"] = rewritten(before, after)
        again = Clock()
        second = _run_rules(target, again, False)
        out["rerun_s"] = round(again.seconds, 3)
        out["rerun_actions"] = second.get("actions")
        out["rerun_rewritten"] = rewritten(after, file_state(target))
        return out
    finally:
        shutil.rmtree(target, ignore_errors=True)


@stage("append")
def append(ws: Path, opts: dict, clock: Clock) -> dict:
    """Append 100 tasks and 100 messages, save: only tasks.xlsx and campaigns.xlsx may change."""
    from crmkit.workspace import open_workspace

    target = fresh_copy(ws, "append")
    try:
        w = open_workspace(target)
        cust = w["customers"]["customer_id"].head(100).tolist()
        now = w.as_of()
        n = len(cust)
        tasks = pd.DataFrame({
            "task_id": [f"TB{i:06d}" for i in range(n)], "customer_id": cust, "title": ["Benchmark follow-up"] * n,
            "owner": ["Alex Chen"] * n, "due_at": [now + pd.Timedelta(days=1)] * n, "status": ["open"] * n,
            "created_by": ["benchmark"] * n, "created_at": [now] * n})
        msgs = pd.DataFrame({
            "message_id": [f"MB{i:06d}" for i in range(n)], "customer_id": cust, "channel": ["email"] * n,
            "content": ["Hello"] * n, "status": ["queued"] * n, "queued_at": [now] * n})
        before = file_state(target)
        with clock:
            w.append("tasks", tasks)
            w.append("messages", msgs)
            w.save()
        changed = rewritten(before, file_state(target))
        return {"rewritten": changed, "customers_untouched": "customers.xlsx" not in changed}
    finally:
        shutil.rmtree(target, ignore_errors=True)


# --------------------------------------------------------------------------- delivery

#: e-mails the send stage and its baseline deliver to a local SMTP sink
SEND_MAILS = 1_000


@contextlib.contextmanager
def _smtp_sink():
    """An aiosmtpd server on 127.0.0.1 that counts what it receives (the stage's only peer)."""
    import socket

    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
            Sink.received += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(Sink(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield port, Sink
    finally:
        ctl.stop()


@stage("campaign_preview")
def campaign_preview(ws: Path, opts: dict, clock: Clock) -> dict:
    """Preview every campaign: audience (rule language over customers), guards, three rendered samples."""
    from crmkit.delivery.campaign import preview_campaign
    from crmkit.workspace import open_workspace

    w = open_workspace(ws)
    w.load_all()
    ids = w["campaigns"]["campaign_id"].dropna().astype(str).tolist()
    out = {}
    with clock:
        for cid in ids:
            plan = preview_campaign(w, cid)
            out[cid] = {"audience": plan.audience, "to_queue": plan.queued}
    return {"campaigns": out}


@stage("send")
def send(ws: Path, opts: dict, clock: Clock) -> dict:
    """crmkit send: 1,000 due e-mails to a local SMTP server, batches saved as sending / sent, outcome log."""
    from crmkit.delivery.send import send_messages
    from crmkit.workspace import open_workspace

    target = fresh_copy(ws, "send")
    try:
        w = open_workspace(target)
        now = w.as_of()
        cust = w["customers"]
        cust = cust[cust["email"].notna()]["customer_id"].head(SEND_MAILS).tolist()
        n = len(cust)
        msgs = pd.DataFrame({
            "message_id": [f"MB{i:06d}" for i in range(n)], "customer_id": cust, "channel": ["email"] * n,
            "kind": ["service"] * n, "subject": ["Your order / 您的订单"] * n,
            "content": ["Thank you for your order. 感谢您的订购。"] * n, "status": ["queued"] * n,
            "queued_at": [now - pd.Timedelta(hours=1)] * n, "scheduled_at": [now - pd.Timedelta(minutes=5)] * n})
        w.append("messages", msgs)
        with _smtp_sink() as (port, sink):
            w.set_settings({"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
                               "smtp_from": "bench@example.com", "send_rate_email": 0, "send_batch_size": 50,
                               "send_window_start": "00:00", "send_window_end": "23:59"})
            w.save()
            with clock:
                res = send_messages(target, as_of=now).as_dict()
            received = sink.received
        return {"queued": n, "sent": res.get("sent"), "received": received,
                "messages_per_s": round(received / clock.seconds, 1) if clock.seconds else None,
                "messages_sheet_rows": len(open_workspace(target)["messages"])}
    finally:
        shutil.rmtree(target, ignore_errors=True)


@stage("baseline_smtplib")
def baseline_smtplib(ws: Path, opts: dict, clock: Clock) -> dict:
    """The same 1,000 e-mails through one bare smtplib connection: no workbook, no guards, no log."""
    import smtplib
    from email.message import EmailMessage

    with _smtp_sink() as (port, sink):
        with clock:
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for i in range(SEND_MAILS):
                    m = EmailMessage()
                    m["From"], m["To"], m["Subject"] = "bench@example.com", f"c{i}@example.com", "Your order / 您的订单"
                    m.set_content("Thank you for your order. 感谢您的订购。")
                    smtp.send_message(m)
        return {"received": sink.received}


@stage("results_import")
def results_import(ws: Path, opts: dict, clock: Clock) -> dict:
    """crmkit results --dry-run: an event export of 100,000 rows matched onto the sent messages."""
    import numpy as np

    from crmkit.delivery.results import import_results
    from crmkit.workspace import open_workspace

    w = open_workspace(ws)
    m = w["messages"]
    sent = m[(m["status"] == "sent").fillna(False)]
    if sent.empty:
        return {"skipped": "no sent messages"}
    rng = np.random.default_rng(7)
    pick = sent.iloc[rng.integers(0, len(sent), 100_000)]
    events = pd.DataFrame({
        "Message ID": pick["message_id"].to_numpy(),
        "Event": rng.choice(["delivered", "open", "click", "bounce", "unsubscribe"], 100_000, p=[.5, .3, .15, .03, .02]),
        "Timestamp": (pick["sent_at"] + pd.to_timedelta(rng.integers(1, 5_000, 100_000), unit="m"))
        .dt.strftime("%Y-%m-%d %H:%M").to_numpy()})
    path = WORK / f"events-{os.getpid()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    events.to_csv(path, index=False)
    try:
        with clock:
            res = import_results(path, ws, dry_run=True).summary()
        return {k: res[k] for k in ("source_rows", "matched", "already_known", "unmatched", "rejected")}
    finally:
        path.unlink(missing_ok=True)


@stage("report")
def report(ws: Path, opts: dict, clock: Clock) -> dict:
    """The monthly Excel report (crmkit.report), from the files."""
    from crmkit.report import write_report
    from crmkit.workspace import open_workspace

    out_dir = WORK / f"report-{os.getpid()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    out_file = out_dir / "report.xlsx"
    try:
        with clock:
            w = open_workspace(ws)
            write_report(w, period="month", out=out_file)
        produced = [p for p in out_dir.glob("*.xlsx")] + [p for p in (ws / "reports").glob("*.xlsx")]
        return {"bytes": sum(p.stat().st_size for p in produced)}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


@stage("dashboard")
def dashboard(ws: Path, opts: dict, clock: Clock) -> dict:
    """First render of a dashboard: GET /voila/render/<name>.ipynb on a fresh server."""
    from crmkit.dashboard.server import NOTEBOOK_DIR, start

    name = opts.get("dashboard", "overview")
    if not (NOTEBOOK_DIR / f"{name}.ipynb").exists():
        raise FileNotFoundError(f"no dashboard notebook {NOTEBOOK_DIR / f'{name}.ipynb'}")
    global CHILD_PEAK
    CHILD_PEAK = True
    with start(ws, timeout=120) as server:
        settled = _wait_idle(server.process.pid)
        out = _timed_get(server.url_of(name), clock)
        out["settled_s"] = settled
        return out


def _wait_idle(pid: int, quiet: float = 1.5, timeout: float = 90.0) -> float:
    """Wait until the process ``pid`` and its children have used no CPU for ``quiet`` seconds.

    A freshly started dashboard server warms one kernel per notebook in the
    background (crmkit.dashboard.server.PREHEAT_OPTIONS); a person opening the page
    a few seconds after ``crmkit dashboard`` printed its address finds them
    ready, and so does the measured request.  Returns the seconds waited.
    """
    import psutil

    t0 = time.monotonic()

    def cpu() -> float:
        total = 0.0
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    c = p.cpu_times()
                    total += c.user + c.system
        return total

    last, still = cpu(), time.monotonic()
    while time.monotonic() - t0 < timeout:
        time.sleep(0.25)
        now = cpu()
        if now - last > 0.02:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            break
    return round(time.monotonic() - t0, 1)


def _bare_voila(ws: Path, clock: Clock, preheat: bool) -> dict:
    from crmkit.dashboard import server as d

    global CHILD_PEAK
    CHILD_PEAK = True
    port = d.free_port()
    cmd = d.voila_command(port, preheat=preheat)
    cmd[cmd.index(str(d.notebook_dir()))] = str(HERE / "notebooks")
    import subprocess

    proc = subprocess.Popen(cmd, env=d.voila_env(ws), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            cwd=str(HERE / "notebooks"))
    server = d.DashboardServer(proc, port, ws, None)
    try:
        server.wait_ready(120)
        settled = _wait_idle(proc.pid)
        out = _timed_get(server.url_of("bare"), clock)
        out["settled_s"] = settled
        return out
    finally:
        server.stop()


@stage("baseline_voila")
def baseline_voila(ws: Path, opts: dict, clock: Clock) -> dict:
    """First render of a bare notebook (one markdown, one print cell) in a plain Voila (no preheated kernels)."""
    return _bare_voila(ws, clock, preheat=False)


@stage("baseline_voila_preheated")
def baseline_voila_preheated(ws: Path, opts: dict, clock: Clock) -> dict:
    """The bare notebook on crmkit's own Voila setup (preheated kernels): the floor of a render there."""
    return _bare_voila(ws, clock, preheat=True)


def _timed_get(url: str, clock: Clock) -> dict:
    import urllib.request

    with clock:
        with urllib.request.urlopen(url, timeout=600) as resp:
            body = resp.read()
    text = body.decode("utf-8", errors="replace")
    return {"bytes": len(body), "cell_errors": text.count("There was an error when executing cell"),
            "outputs": text.count("application/vnd.voila.cell-output+json")}


# --------------------------------------------------------------------------- team mode (issue 17)

#: what a signed-in rep's dashboard reads
DASHBOARD_TABLES = ("customers", "tasks", "orders", "history")
#: new customers (one interaction each) a rep adds before the merge
MERGE_NEW = 20


def _a_rep(ws: Path) -> str:
    """The first active rep of the Team sheet who owns a customer (the member the team stages act as)."""
    from crmkit.team import members
    from crmkit.workspace import open_workspace

    w = open_workspace(ws)
    owners = set(w["customers"]["owner"].dropna().astype(str).tolist())
    return next(m.name for m in members(w["team"]).values() if m.role == "rep" and m.active and m.name in owners)


def _size_mb(paths) -> float:
    return round(sum(p.stat().st_size for p in paths) / 1e6, 2)


@stage("split")
def split(ws: Path, opts: dict, clock: Clock) -> dict:
    """crmkit split into the default members (every rep and the manager), from the .xlsx files (no cache)."""
    from crmkit.teamwork.manifest import manifest_path
    from crmkit.teamwork.split import split_workspace

    _cache(False)
    target = fresh_copy(ws, "split")
    out = target.parent / f"{target.name}-members"
    try:
        with clock:
            res = split_workspace(target, out)
        biggest = max(res.members, key=lambda m: sum(m.counts.values()))
        return {"members": len(res.members), "customers_per_member": {m.name: m.counts["customers"]
                                                                      for m in res.members},
                "biggest_member": biggest.name, "biggest_rows": sum(biggest.counts.values()),
                "biggest_manifest_mb": _size_mb([manifest_path(biggest.folder)]),
                "biggest_xlsx_mb": _size_mb(biggest.folder.glob("*.xlsx")),
                "all_members_mb": _size_mb(p for p in out.rglob("*") if p.is_file())}
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)


def _edited_rep(ws: Path, tag: str) -> tuple[Path, Path, Path, dict]:
    """A scratch main workspace, one rep's split of it, and the scripted edits on both sides (untimed).

    The rep (through the workspace API on the rep folder): the notes of 1% of their customers, 20 new
    customers with one interaction each, one interaction deleted.  The main side: the notes of another 1%
    of that rep's customers.  Returns (main, out, rep folder, what was done).
    """
    from crmkit.teamwork.split import split_workspace
    from crmkit.workspace import open_workspace

    _cache(False)
    target = fresh_copy(ws, tag)
    out = target.parent / f"{target.name}-members"
    rep = _a_rep(target)
    folder = split_workspace(target, out, [rep]).members[0].folder
    r = open_workspace(folder)
    now = r.as_of()
    cust = r["customers"].copy()
    ids = sorted(cust["customer_id"].dropna().astype(str).tolist())
    n = max(1, len(ids) // 100)
    rep_ids, main_ids = set(ids[:n]), set(ids[n:2 * n])
    cust.loc[cust["customer_id"].astype(str).isin(rep_ids).to_numpy(), "notes"] = "Benchmark: edited by the rep"
    new_ids = [f"C-BENCH-{i:03d}" for i in range(1, MERGE_NEW + 1)]
    new = pd.DataFrame({"customer_id": new_ids, "name": [f"Benchmark New Customer {i:03d}" for i in range(1, MERGE_NEW + 1)],
                        "source": "referral", "owner": rep, "stage": "lead", "created_at": now})
    r.replace("customers", pd.concat([cust, new], ignore_index=True))
    inter = r["interactions"]
    deleted = str(inter["interaction_id"].iloc[0])
    added = pd.DataFrame({"interaction_id": None, "customer_id": new_ids, "at": now, "method": "phone",
                          "content": "First call (benchmark)", "owner": rep})
    r.replace("interactions", pd.concat([inter.iloc[1:], added], ignore_index=True))
    r.save()
    m = open_workspace(target)
    mcust = m["customers"].copy()
    mcust.loc[mcust["customer_id"].astype(str).isin(main_ids).to_numpy(), "notes"] = "Benchmark: edited in main"
    m.replace("customers", mcust)
    m.save()
    return target, out, folder, {"rep": rep, "rep_customers": len(ids), "rep_edited": n, "main_edited": n,
                                 "new_customers": MERGE_NEW, "new_interactions": MERGE_NEW,
                                 "deleted_interaction": deleted}


def _merge_counts(res) -> dict:
    s = res.summary()
    keys = ("rows", "applied", "unchanged", "conflicting", "new_added", "deleted", "cells_applied", "history_rows")
    return {**{k: s[k] for k in keys}, "written": sorted(Path(p).name for p in res.written)}


@stage("merge")
def merge(ws: Path, opts: dict, clock: Clock) -> dict:
    """crmkit merge of one rep's workspace after scripted edits on both sides (see _edited_rep)."""
    from crmkit.teamwork.merge import merge_rep

    target, out, folder, done = _edited_rep(ws, "merge")
    try:
        with clock:
            res = merge_rep(target, folder)
        return {**done, **_merge_counts(res)}
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)


@stage("merge_again")
def merge_again(ws: Path, opts: dict, clock: Clock) -> dict:
    """The second merge of the same rep folder (the first one untimed): applies and writes nothing."""
    from crmkit.teamwork.merge import merge_rep

    target, out, folder, done = _edited_rep(ws, "mergeagain")
    try:
        merge_rep(target, folder)
        with clock:
            res = merge_rep(target, folder)
        return {"rep": done["rep"], **_merge_counts(res)}
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)


def _dashboard_read(ws: Path, clock: Clock, as_user: str | None) -> dict:
    from crmkit.workspace import open_workspace

    _fill_cache(ws)
    with clock:
        w = open_workspace(ws, as_user=as_user)
        rows = {k: len(w[k]) for k in DASHBOARD_TABLES}
    return {"user": as_user, **rows}


@stage("scoped_open")
def scoped_open(ws: Path, opts: dict, clock: Clock) -> dict:
    """open_workspace(DIR, as_user=<a rep>), then customers, tasks, orders and history (workbooks cached)."""
    return _dashboard_read(ws, clock, _a_rep(ws))


@stage("baseline_unscoped_open")
def baseline_unscoped_open(ws: Path, opts: dict, clock: Clock) -> dict:
    """The same reads on the whole workspace (no as_user)."""
    return _dashboard_read(ws, clock, None)


# --------------------------------------------------------------------------- baselines


def _workbooks(ws: Path) -> list[Path]:
    return sorted(ws.glob("*.xlsx"))


@stage("baseline_fastexcel")
def baseline_fastexcel(ws: Path, opts: dict, clock: Clock) -> dict:
    """Raw fastexcel read of every sheet of every workbook, to pandas (types inferred)."""
    import fastexcel

    rows = 0
    with clock:
        for p in _workbooks(ws):
            r = fastexcel.read_excel(str(p))
            for name in r.sheet_names:
                rows += len(r.load_sheet(name).to_pandas())
    return {"rows": rows}


@stage("baseline_openpyxl")
def baseline_openpyxl(ws: Path, opts: dict, clock: Clock) -> dict:
    """pandas.read_excel(engine="openpyxl") of every sheet of every workbook.

    Sheets longer than ``openpyxl_rows`` (default 20,000) are read up to that
    many rows and their time is extrapolated linearly to the whole sheet
    (openpyxl streams rows, so its time grows with them); ``extrapolated``
    says so.  Reading 1,000,000 rows this way takes many minutes.
    """
    import fastexcel

    cap = int(opts.get("openpyxl_rows", 20_000))
    rows = measured = 0
    for p in _workbooks(ws):
        heights = {}
        r = fastexcel.read_excel(str(p))
        for name in r.sheet_names:
            heights[name] = int(r.load_sheet(name, n_rows=0).total_height)
        with clock:  # opening parses the shared strings once for every sheet: not extrapolated
            book = pd.ExcelFile(p, engine="openpyxl")
        for name, height in heights.items():
            part = Clock()
            with part:
                df = pd.read_excel(book, sheet_name=name, nrows=cap if height > cap else None)
            scale = height / len(df) if height > cap and len(df) else 1.0
            clock.seconds += part.seconds * scale
            clock.cpu += part.cpu * scale
            rows += height
            measured += len(df)
        book.close()
    return {"rows": rows, "measured_rows": measured, "extrapolated": measured < rows}


@stage("baseline_import_fastexcel")
def baseline_import_fastexcel(ws: Path, opts: dict, clock: Clock) -> dict:
    """Raw fastexcel read of the import file."""
    import fastexcel

    src = import_source(opts)
    with clock:
        r = fastexcel.read_excel(str(src))
        df = r.load_sheet(r.sheet_names[0]).to_pandas()
    return {"rows": len(df)}


@stage("baseline_rfm_iterrows")
def baseline_rfm_iterrows(ws: Path, opts: dict, clock: Clock) -> dict:
    """RFM the iterrows way: per-row accumulation in dicts, then quantile scores.

    Over more than ``slice_rows`` orders only the first ``slice_rows`` are
    measured and the time is extrapolated linearly (``extrapolated`` says so).
    """
    w = loaded_workspace(ws)
    orders, as_of = w["orders"], w.as_of()
    limit = int(opts.get("slice_rows", 200_000))
    part = orders.iloc[:limit] if len(orders) > limit else orders
    with clock:
        last: dict = {}
        freq: dict = {}
        money: dict = {}
        for _, row in part.iterrows():
            cid, when, amount = row["customer_id"], row["order_date"], row["amount"]
            if pd.isna(cid) or pd.isna(when) or when > as_of:
                continue
            amount = 0.0 if pd.isna(amount) else float(amount)
            money[cid] = money.get(cid, 0.0) + amount
            if amount >= 0:
                freq[cid] = freq.get(cid, 0) + 1
                if cid not in last or when > last[cid]:
                    last[cid] = when
        df = pd.DataFrame({"last": pd.Series(last), "frequency": pd.Series(freq), "monetary": pd.Series(money)})
        df = df.dropna(subset=["last"])
        df["recency_days"] = (as_of.normalize() - pd.to_datetime(df["last"]).dt.normalize()).dt.days
        for col, score, asc in (("recency_days", "r", False), ("frequency", "f", True), ("monetary", "m", True)):
            ranks = df[col].rank(method="first", ascending=asc)
            df[score] = pd.qcut(ranks, 5, labels=False, duplicates="drop") + 1 if len(df) >= 5 else 3
    seconds_scale = len(orders) / len(part) if len(part) else 1.0
    clock.seconds *= seconds_scale
    clock.cpu *= seconds_scale
    return {"orders": len(orders), "measured_rows": len(part), "extrapolated": seconds_scale > 1.0,
            "customers": len(df)}


@stage("baseline_rules_rowloop")
def baseline_rules_rowloop(ws: Path, opts: dict, clock: Clock) -> dict:
    """The default rules' conditions, hand-written, in a plain Python loop over customer dicts.

    Per-customer aggregates (last interaction, last feedback, last order,
    order counts and sums, messages) are accumulated row by row too, as a
    straightforward script would; value tiers use the iterrows-style RFM
    scores.  Only the conditions are evaluated: no action is carried out.
    """
    w = loaded_workspace(ws)
    as_of = w.as_of()
    settings = w.settings
    cadence = {}
    for stg in ("lead", "qualified", "proposal", "negotiation", "won"):
        with contextlib.suppress(Exception):
            from crmkit.settings import parse_duration

            cadence[stg] = parse_duration(settings.get(f"cadence_{stg}")).total_seconds() / 86400
    frames = {k: w[k] for k in ("customers", "interactions", "orders", "messages")}
    with clock:
        cust = frames["customers"].to_dict("records")
        inter = frames["interactions"].to_dict("records")
        orders = frames["orders"].to_dict("records")
        msgs = frames["messages"].to_dict("records")

        def days(a, b):
            return (a - b).total_seconds() / 86400

        last_int: dict = {}
        feedback: dict = {}
        for r in inter:
            cid, at = r["customer_id"], r["at"]
            if pd.isna(at):
                continue
            if cid not in last_int or at > last_int[cid]:
                last_int[cid] = at
                feedback[cid] = r.get("customer_feedback")
        last_order: dict = {}
        freq: dict = {}
        money: dict = {}
        for r in orders:
            cid, at, amt = r["customer_id"], r["order_date"], r["amount"]
            if pd.isna(at) or at > as_of:
                continue
            freq[cid] = freq.get(cid, 0) + 1
            money[cid] = money.get(cid, 0.0) + (0.0 if pd.isna(amt) else float(amt))
            if cid not in last_order or at > last_order[cid]:
                last_order[cid] = at
        opened: dict = {}
        for r in msgs:
            cid, at = r["customer_id"], r.get("opened_at")
            if at is not None and not pd.isna(at) and (cid not in opened or at > opened[cid]):
                opened[cid] = at
        # value tier from F and M quintiles (rank-based, as the iterrows RFM baseline)
        ids = list(freq)
        tier: dict = {}
        if ids:
            fm = sorted(ids, key=lambda c: (freq[c], money[c]))
            n = len(fm)
            for i, c in enumerate(fm):
                q = 5 * i // n + 1
                r = 5 if days(as_of, last_order[c]) <= 30 else (3 if days(as_of, last_order[c]) <= 180 else 1)
                tier[c] = ("high_value" if q >= 4 and r >= 3 else "potential" if r >= 4
                           else "churn_risk" if r <= 2 else "regular")
        hits = 0
        for c in cust:
            cid = c["customer_id"]
            tags = set(str(c["tags"]).split(";")) if isinstance(c["tags"], str) else set()
            li = last_int.get(cid)
            dsi = days(as_of, li) if li is not None else 1e9
            created = c["created_at"]
            since_created = days(as_of, created) if not pd.isna(created) else None
            conds = [
                c["source"] == "website_form" and c["intent_level"] == "A" and pd.isna(c["owner"]),
                c["source"] == "website_form" and c["intent_level"] == "A" and c["stage"] == "lead"
                and since_created is not None and since_created <= 1,
                dsi >= 90 and "to_reactivate" not in tags and c["stage"] != "lost",
                not pd.isna(c["contract_end"]) and 0 <= days(c["contract_end"], as_of) <= 30,
                isinstance(feedback.get(cid), str) and ("技术支持" in feedback[cid]
                                                        or "technical support" in feedback[cid].lower()),
                c["stage"] == "lead" and since_created is not None and since_created >= 3 and li is None,
                since_created is not None and since_created <= 1,
                tier.get(cid) in ("regular", "churn_risk") and cid in last_order
                and days(as_of, last_order[cid]) > 90 and "deep_dormant" not in tags
                and not (cid in opened and days(as_of, opened[cid]) <= 30),
                c["stage"] in cadence and dsi >= cadence[c["stage"]],
            ]
            bday = c["birthday"]
            if tier.get(cid) == "high_value" and not pd.isna(bday):
                try:
                    nxt = bday.replace(year=as_of.year)
                except ValueError:  # 29 February
                    nxt = bday.replace(year=as_of.year, day=28)
                if nxt.normalize() < as_of.normalize():
                    nxt = nxt.replace(year=as_of.year + 1)
                conds.append(0 <= days(nxt.normalize(), as_of.normalize()) <= 3)
            hits += sum(bool(x) for x in conds)
        for r in orders:
            if not pd.isna(r["order_date"]) and 3 <= days(as_of, r["order_date"]) <= 7:
                hits += 1
    return {"customers": len(cust), "condition_hits": hits}


# --------------------------------------------------------------------------- the order store: orders in Parquet
# Here the "workspace" argument is the folder of Parquet part files (benchmarks.synth.write_order_store).

def _store_folder(path: Path, opts: dict) -> Path:
    """``path`` when it holds Parquet files; else (a workspace, as in the smoke test) a small generated store
    (outside the clock)."""
    if next(path.rglob("*.parquet"), None) is not None:
        return path
    from benchmarks.synth import write_order_store

    folder = WORK / f"orders-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    write_order_store(folder, int(opts.get("orders") or 3_000), part_rows=1_000)
    return folder


def _store_rel(folder: Path):
    from crmkit import orderstore

    return orderstore.read_source(folder)


@stage("store_rfm")
def store_rfm(folder: Path, opts: dict, clock: Clock) -> dict:
    """rfm_scores over every order of the Parquet store (read, aggregate in DuckDB, score)."""
    from benchmarks.synth import AS_OF
    from crmkit.rfm import rfm_scores

    folder = _store_folder(folder, opts)
    with clock:
        scores = rfm_scores(_store_rel(folder), AS_OF)
    return {"orders": opts.get("orders"), "customers": len(scores),
            "segments": int(scores["rfm_segment"].nunique())}


@stage("store_clv_summary")
def store_clv_summary(folder: Path, opts: dict, clock: Clock) -> dict:
    """crmkit.clv.summary (frequency, recency, T, mean repeat spend per customer) over the Parquet store."""
    from benchmarks.synth import AS_OF
    from crmkit import clv

    folder = _store_folder(folder, opts)
    with clock:
        summary = clv.summary(_store_rel(folder), AS_OF)
    return {"orders": opts.get("orders"), "customers": len(summary)}


@stage("baseline_store_scan")
def baseline_store_scan(folder: Path, opts: dict, clock: Clock) -> dict:
    """DuckDB's own scan of the columns RFM reads: count, sum of amount, latest date, largest customer ID."""
    from crmkit.orderstore import connect

    folder = _store_folder(folder, opts)
    glob = str(folder / "**" / "*.parquet").replace("'", "''")
    with clock:
        con = connect()
        row = con.sql(f"SELECT count(*), sum(amount), max(order_date), max(customer_id) "
                      f"FROM read_parquet('{glob}')").fetchall()[0]
    return {"orders": int(row[0])}


@stage("baseline_store_groupby")
def baseline_store_groupby(folder: Path, opts: dict, clock: Clock) -> dict:
    """DuckDB's bare GROUP BY customer_id (count, sum, latest date) of the same files, fetched to Arrow."""
    from crmkit.orderstore import connect

    folder = _store_folder(folder, opts)
    glob = str(folder / "**" / "*.parquet").replace("'", "''")
    with clock:
        con = connect()
        got = con.sql(f"SELECT customer_id, count(*), sum(amount), max(order_date) "
                      f"FROM read_parquet('{glob}') GROUP BY customer_id").to_arrow_table()
    return {"customers": got.num_rows}


# --------------------------------------------------------------------------- child entry point


def peak_mb() -> float:
    """Peak resident memory of this process (and of the children it waited for), in MB.

    On Linux ``ru_maxrss`` of a freshly started process still holds its
    parent's peak at the time of the fork, so the process's own high-water
    mark is read from ``/proc/self/status`` (VmHWM) instead.
    """
    own_kb = None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                own_kb = int(line.split()[1])
                break
    except OSError:
        pass
    if own_kb is None:
        own_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if CHILD_PEAK else 0
    return round(max(own_kb, child_kb) / 1024, 1)


#: set by stages whose work runs in child processes (the dashboard's Voila server)
CHILD_PEAK = False


def run_stage(name: str, ws: Path, opts: dict) -> dict:
    """Run one stage in this process; the result dict the parent reads."""
    clock = Clock()
    result: dict = {"stage": name, "workspace": str(ws)}
    try:
        extra = STAGES[name](ws, opts, clock)
        result.update(status="ok", seconds=round(clock.seconds, 4), cpu_seconds=round(clock.cpu, 4), extra=extra or {})
    except Exception as exc:  # reported, never fatal to the whole run
        tb = traceback.format_exc(limit=6)
        result.update(status="error", reason=f"{type(exc).__name__}: {str(exc)[:300]}", traceback=tb[-2000:])
    result["peak_mb"] = peak_mb()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=sorted(STAGES))
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--opts", default="{}", help="stage options as JSON")
    ap.add_argument("--profile", type=Path, default=None,
                    help="write a pyinstrument profile of the stage (set-up included) to this text file")
    ns = ap.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")
    profiler = None
    if ns.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    result = run_stage(ns.stage, ns.workspace.resolve(), json.loads(ns.opts))
    if profiler is not None:
        profiler.stop()
        ns.profile.parent.mkdir(parents=True, exist_ok=True)
        ns.profile.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
