"""Machine information and the Markdown rendering of benchmark results."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTES = HERE / "NOTES.md"

STAGE_TITLES = {
    "generate": "generate workspace",
    "load": "load (open + type every table)",
    "load_cached": "load, workbooks unchanged (cached)",
    "validate": "validate (load + validate_workspace)",
    "validate_cached": "validate, workbooks unchanged (cached)",
    "import_dry": "import {import_rows} rows, dry run",
    "import": "import {import_rows} rows, written",
    "rfm": "RFM scores",
    "rules_dry": "rules, dry run",
    "rules_write": "rules with writes",
    "append": "append 100 tasks + 100 messages",
    "report": "monthly report",
    "dashboard": "dashboard first render (overview)",
    "campaign_preview": "preview every campaign (audience, guards, samples)",
    "send": "send 1,000 e-mails to a local SMTP server",
    "results_import": "results import of 100,000 events, dry run",
    "split": "crmkit split into every rep and the manager",
    "merge": "crmkit merge of one rep (1% edited each side, 20 new customers)",
    "merge_again": "the same merge again (a no-op)",
    "scoped_open": "a rep's dashboard reads (as_user, cached)",
    "store_rfm": "RFM scores from the Parquet order store",
    "store_clv_summary": "CLV summary from the Parquet order store",
    "clv": "CLV: summary + BG/NBD and Gamma-Gamma fit + predict, ~10 orders per customer",
}
BASELINE_TITLES = {
    "baseline_fastexcel": "raw fastexcel read",
    "baseline_openpyxl": "pandas.read_excel(openpyxl)",
    "baseline_import_fastexcel": "raw fastexcel read of the file",
    "baseline_rfm_iterrows": "iterrows RFM",
    "baseline_rules_rowloop": "row-by-row rules loop",
    "baseline_voila": "bare Voila notebook",
    "baseline_voila_preheated": "bare notebook, preheated Voila",
    "baseline_smtplib": "the same mails over one bare smtplib connection",
    "baseline_unscoped_open": "the same reads, whole workspace",
    "baseline_store_scan": "DuckDB scan of the same files (count, sum, max of the columns read)",
    "baseline_store_groupby": "DuckDB's bare GROUP BY customer_id of the same files",
}


def effective(res: dict | None) -> float | None:
    """The time a verdict uses: the smaller of wall and CPU time.

    On a shared machine a single-threaded stage waits for the CPU, which
    inflates wall time but not CPU time; a multi-threaded one uses more CPU
    than wall time.  The smaller of the two is the better estimate of the time
    on an idle machine.  Stages timed outside the child (the dashboard) have
    wall time only.
    """
    if not res or res.get("status") != "ok" or res.get("seconds") is None:
        return None
    cpu = res.get("cpu_seconds")
    if cpu is None or res.get("stage") in WALL_ONLY:
        return res["seconds"]
    return min(res["seconds"], cpu)


WALL_ONLY = {"dashboard", "baseline_voila", "baseline_voila_preheated"}


def _rfm_target(section: dict, res: dict):
    orders = (res.get("extra") or {}).get("orders") or 0
    limit = max(0.3, 1.5 * orders / 1_000_000)
    return effective(res) <= limit, f"≈1 s per 1M orders (≤ {limit:.2f} s)"


def _rules_target(section: dict, res: dict):
    n = (res.get("extra") or {}).get("customers") or section.get("customers") or 0
    if n < 100_000:
        # the target is set at 100,000 customers; smaller sizes show the fixed cost (see the scaling table)
        return None, "≈2 s at 100k customers (set at 100k; see scaling)"
    limit = 3.0 * n / 100_000
    return effective(res) <= limit, f"≈2 s per 100k customers (≤ {limit:.2f} s)"


def _ratio_target(limit: float):
    def check(section: dict, res: dict, ratio: float | None):
        if ratio is None:
            return None, f"≤ {limit:g}x baseline"
        return ratio <= limit, f"≤ {limit:g}x baseline"
    check.ratio = True
    return check


def _rerun_untouched(section: dict, res: dict):
    extra = res.get("extra") or {}
    again = extra.get("rerun_rewritten")
    if again is None:
        return None, "rerun rewrites no customers.xlsx"
    return "customers.xlsx" not in again, "rerun rewrites no customers.xlsx"


def _append_untouched(section: dict, res: dict):
    extra = res.get("extra") or {}
    changed = extra.get("rewritten")
    if changed is None:
        return None, "customers.xlsx untouched"
    return "customers.xlsx" not in changed, "customers.xlsx untouched (mtime, bytes)"


def _merge_noop(section: dict, res: dict):
    extra = res.get("extra") or {}
    if extra.get("applied") is None:
        return None, "applies, adds and writes nothing"
    return (extra["applied"] == 0 and extra.get("new_added") == 0 and not extra.get("written")
            and not extra.get("history_rows")), "applies, adds and writes nothing"


def _clv_target(section: dict, res: dict):
    # 15 %: the orders are dated to whole days, so same-day purchases merge (see benchmarks.synth.clv_orders)
    extra = res.get("extra") or {}
    worst = extra.get("worst_param_error")
    if worst is None:
        return None, "fits the generating parameters within 15 %, no NaN"
    return worst <= 0.15 and extra.get("nan_cells") == 0, "fits the generating parameters within 15 %, no NaN"


#: (stage, baseline or None, target check or None)
COMPARISONS = (
    ("generate", None, None),
    ("load", "baseline_fastexcel", _ratio_target(1.5)),
    ("load", "baseline_openpyxl", None),
    ("load_cached", "baseline_fastexcel", _ratio_target(1.5)),
    ("validate", "baseline_fastexcel", _ratio_target(1.5)),
    ("validate_cached", "baseline_fastexcel", _ratio_target(1.5)),
    ("import_dry", "baseline_import_fastexcel", None),
    ("import", "baseline_import_fastexcel", None),
    ("rfm", "baseline_rfm_iterrows", _rfm_target),
    ("rules_dry", "baseline_rules_rowloop", _rules_target),
    ("rules_write", "baseline_rules_rowloop", _rerun_untouched),
    ("append", None, _append_untouched),
    ("report", None, None),
    ("dashboard", "baseline_voila", _ratio_target(2.0)),
    ("dashboard", "baseline_voila_preheated", None),
    ("campaign_preview", None, None),
    ("send", "baseline_smtplib", None),
    ("results_import", None, None),
    ("split", None, None),
    ("merge", None, None),
    ("merge_again", None, _merge_noop),
    ("scoped_open", "baseline_unscoped_open", None),
    ("store_rfm", "baseline_store_scan", None),          # set below: within 2x of the scan, under 4 GB
    ("store_clv_summary", "baseline_store_scan", None),
    ("store_rfm", "baseline_store_groupby", False),       # for information: the grouping every summary needs
    ("store_clv_summary", "baseline_store_groupby", False),
    ("clv", None, _clv_target),
)


def _store_target(section: dict, res: dict, ratio: float | None):
    """The order store's goal: within 2x of DuckDB's own scan of the same files, under 4 GB peak."""
    text = "≤ 2x scan, < 4 GB peak"
    if ratio is None:
        return None, text
    return ratio <= 2.0 and (res.get("peak_mb") or 0) < 4096, text


_store_target.ratio = True
COMPARISONS = tuple((s, b, (_store_target if c is None else None) if s.startswith("store_") else c)
                    for s, b, c in COMPARISONS)


def machine_info() -> dict:
    info: dict = {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    try:
        info["cores_usable"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import importlib.metadata as md

    for pkg in ("pandas", "numpy", "fastexcel", "xlsxwriter", "openpyxl", "voila"):
        try:
            info[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE.parent, capture_output=True,
                                        text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def _fmt_s(v) -> str:
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _status_cell(res: dict | None) -> str | None:
    if res is None:
        return "not run"
    if res.get("status") == "unavailable":
        return "not available yet"
    if res.get("status") == "skipped":
        return "skipped (--full)"
    if res.get("status") != "ok":
        return "error"
    return None


def rows_of(section: dict) -> list[dict]:
    """One table row per comparison, with ratio and verdict."""
    out = []
    stages, bases = section.get("stages", {}), section.get("baselines", {})
    for stage, base, check in COMPARISONS:
        res = stages.get(stage)
        if res is None and stage != "generate":
            continue
        row = {"stage": stage, "title": STAGE_TITLES[stage].format(import_rows=f"{section.get('import_rows', 0):,}"),
               "res": res, "baseline": base}
        bres = bases.get(base) if base else None
        row["bres"] = bres
        ratio = wall_ratio = None
        if res and res.get("status") == "ok" and bres and bres.get("status") == "ok" and bres.get("seconds"):
            wall_ratio = res["seconds"] / bres["seconds"]
            ratio = effective(res) / effective(bres) if effective(bres) else None
        row["ratio"], row["wall_ratio"] = ratio, wall_ratio
        verdict, target = None, "—"
        if check is not None and res and res.get("status") == "ok":
            verdict, target = check(section, res, ratio) if getattr(check, "ratio", False) else check(section, res)
        elif check is not None:
            target = check(section, {"seconds": 0, "extra": {}}, None)[1] if getattr(check, "ratio", False) else "—"
        row["verdict"], row["target"] = verdict, target
        out.append(row)
    return out


def _table(section: dict) -> list[str]:
    lines = ["| stage | median s (wall) | cpu s | runs | peak MB | baseline | baseline s (wall / cpu) "
             "| ratio (wall) | ratio | target | result |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|"]
    for row in rows_of(section):
        res, bres = row["res"], row["bres"]
        status = _status_cell(res)
        if status:
            sec = runs = peak = status if status != "error" else "error"
            sec, runs, peak, cpu = status, "", "", ""
        else:
            sec = _fmt_s(res.get("seconds"))
            cpu = "—" if row["stage"] in WALL_ONLY else _fmt_s(res.get("cpu_seconds"))
            runs = str(res.get("runs", ""))
            if row["stage"] == "generate" and res.get("cached"):
                runs = "1 (cached)"
            peak = f"{res.get('peak_mb', 0):,.0f}" if res.get("peak_mb") is not None else "—"
        bname = BASELINE_TITLES.get(row["baseline"], "—") if row["baseline"] else "—"
        if row["baseline"]:
            bstatus = _status_cell(bres)
            if bstatus:
                bsec = bstatus
            else:
                bsec = _fmt_s(bres.get("seconds"))
                if bres.get("cpu_seconds") is not None and row["baseline"] not in WALL_ONLY:
                    bsec += f" / {_fmt_s(bres['cpu_seconds'])}"
                note = []
                if bres.get("runs") == 1 and section.get("runs", 1) > 1:
                    note.append("1 run")
                if (bres.get("extra") or {}).get("extrapolated"):
                    note.append(f"extrapolated from {bres['extra']['measured_rows']:,} rows")
                if note:
                    bsec += f" ({', '.join(note)})"
        else:
            bsec = "—"
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "—"
        wall_ratio = f"{row['wall_ratio']:.2f}x" if row["wall_ratio"] is not None else "—"
        verdict = {True: "pass", False: "**FAIL**", None: "—"}[row["verdict"]]
        lines.append(f"| {row['title']} | {sec} | {cpu} | {runs} | {peak} | {bname} | {bsec} | {wall_ratio} | {ratio} "
                     f"| {row['target']} | {verdict} |")
    return lines


def _details(section: dict) -> list[str]:
    lines = []
    for bucket in ("stages", "baselines"):
        for name, res in section.get(bucket, {}).items():
            if res.get("status") == "ok":
                extra = {k: v for k, v in (res.get("extra") or {}).items()}
                if res.get("all_seconds") and len(res["all_seconds"]) > 1:
                    extra["runs_s"] = [round(x, 3) for x in res["all_seconds"]]
                if extra:
                    lines.append(f"- `{name}`: " + ", ".join(f"{k}={v}" for k, v in extra.items()))
            else:
                lines.append(f"- `{name}`: {res.get('status')}: {res.get('reason')}")
    return lines


def _scaling(store: dict) -> list[str]:
    pts = []
    for label, sec in store.get("sizes", {}).items():
        res = sec.get("stages", {}).get("rules_dry")
        if res and res.get("status") == "ok" and sec.get("customers"):
            pts.append((sec["customers"], bool(sec.get("orders_per_customer")), effective(res), res["seconds"], label))
    pts.sort()
    if len(pts) < 2:
        return []
    lines = ["## Scaling of the rules (dry run)", "",
             "| size | s (smaller of wall and CPU) | s (wall) | µs per customer |", "|---|---:|---:|---:|"]
    for n, _opc, eff, wall, label in pts:
        lines.append(f"| {label} | {_fmt_s(eff)} | {_fmt_s(wall)} | {eff / n * 1e6:.1f} |")
    same = [p for p in pts if not p[1]]
    if len(same) >= 2 and same[-1][0] > same[0][0]:
        (n0, _, s0, _, _), (n1, _, s1, _, _) = same[0], same[-1]
        growth = (s1 / s0) / (n1 / n0)
        lines += ["", f"With the generator's own order volume, time grew {s1 / s0:.1f}x for {n1 / n0:.0f}x the "
                  f"customers ({growth:.2f} of linear: below 1 means a fixed cost weighs on the small size; "
                  "above 1 would mean worse than linear growth).", ""]
    return lines


def render(store: dict) -> str:
    m = store.get("machine", {})
    lines = [
        "# crmkit benchmark results", "",
        "Generated by `make bench` (`python -m benchmarks.run`); `make bench-big` adds the 1,000,000-order size. "
        "Do not edit by hand: the notes at the end come from `benchmarks/NOTES.md`.", "",
        f"Machine: {m.get('cores_usable', m.get('cores'))} usable cores of {m.get('cores')}, "
        f"{m.get('memory_gb')} GB memory, {m.get('cpu', 'unknown CPU')}; {m.get('platform')}; "
        f"Python {m.get('python')}, pandas {m.get('pandas')}, numpy {m.get('numpy')}, fastexcel {m.get('fastexcel')}, "
        f"xlsxwriter {m.get('xlsxwriter')}, openpyxl {m.get('openpyxl')}, voila {m.get('voila')}; "
        f"commit {m.get('commit', '?')}.", "",
        "How to read: each stage and each baseline runs in a fresh Python process on the same files; "
        "**median s** is the median wall time of the work itself (interpreter start and imports excluded; "
        "stages that need loaded tables load them outside the clock unless the stage says 'load'); "
        "**peak MB** is the child's peak resident memory (VmHWM, setup included; for the dashboard, the largest of "
        "the Voila server and its kernel). "
        "A stage whose first run took longer than 60 s ran once (shown as runs = 1). "
        "**cpu s** is the CPU time of the same work (median). The machine is shared: a stage that waits for "
        "the CPU has a longer wall time but the same CPU time, so **ratio** and the verdicts use, for each "
        "side, the smaller of wall and CPU time (wall time only for the dashboard, which runs in the Voila "
        "server); **ratio (wall)** is the plain wall-time ratio. The load average during each size is shown "
        "with it.", "",
    ]
    for label, sec in store.get("sizes", {}).items():
        counts = sec.get("workspace_counts") or {}
        count_text = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k != "bytes" and isinstance(v, int))
        size_mb = counts.get("bytes", 0) / 1e6
        lines += [f"## {label}", "",
                  f"Run {sec.get('date', '?')}, workspace from `{sec.get('generator')}` "
                  f"({count_text}; {size_mb:,.1f} MB of {sec.get('files_kind', '.xlsx')}), median of {sec.get('runs')} run(s), "
                  f"{sec.get('elapsed_s', '?')} s for this size; load average {sec.get('loadavg', '?')} "
                  f"on {m.get('cores_usable', m.get('cores'))} cores.", ""]
        if sec.get("updates"):
            lines += ["Stages re-measured by later partial runs (their rows show the later figures): "
                      + "; ".join(sec["updates"]) + ".", ""]
        lines += _table(sec)
        lines += ["", "<details><summary>Details per stage</summary>", ""] + _details(sec) + ["", "</details>", ""]
    lines += _scaling(store)
    if NOTES.exists():
        lines += [NOTES.read_text(encoding="utf-8").strip(), ""]
    lines.append(f"_Rendered {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}._")
    return "\n".join(lines) + "\n"
