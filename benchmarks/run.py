"""Run the crmkit benchmark suite and write ``benchmarks/RESULTS.md``.

    python -m benchmarks.run                 # 10,000 and 100,000 customers (make bench)
    python -m benchmarks.run --big           # 100,000 customers with 1,000,000 orders (make bench-big)
    python -m benchmarks.run --quick         # 2,000 customers, 1 run per stage (smoke run)
    python -m benchmarks.run --sizes 10000 --stages load,rfm --runs 5
    python -m benchmarks.run --order-store 10000000   # RFM + CLV summary over Parquet (make bench-orders)

Every stage and baseline runs in a fresh child process (:mod:`benchmarks.stages`),
``--runs`` times; the table shows the median time and the highest peak
memory.  A stage whose first run takes longer than ``--slow`` seconds is run
once only (the table says so).  Workspaces are generated under
``benchmarks/data/`` and reused while the generator, seed and size match.
Results are kept per size in ``benchmarks/results.json`` so that ``make bench``
and ``make bench-big`` add up to one RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"

SEED = 7
IMPORT_ROWS = 100_000

#: stage -> baseline it is compared with (None: reported without a ratio)
STAGE_ORDER = ("generate", "load", "load_cached", "validate", "validate_cached", "import_dry", "import", "rfm",
               "rules_dry", "rules_write", "append",
               "report", "dashboard", "campaign_preview", "send", "results_import",
               "split", "merge", "merge_again", "scoped_open",
               "clv")
BASELINES = ("baseline_fastexcel", "baseline_openpyxl", "baseline_import_fastexcel", "baseline_rfm_iterrows",
             "baseline_rules_rowloop", "baseline_voila", "baseline_voila_preheated",
             "baseline_smtplib", "baseline_unscoped_open")
#: stages that write into a scratch copy are slower to set up; all run in fresh children anyway
NEEDS_IMPORT_FILE = {"import_dry", "import", "baseline_import_fastexcel"}
#: stages run only up to this many customers unless --full: importing with writes rewrites
#: customers.xlsx with every interaction, order and deal (a minute or more beyond 100,000 customers)
FULL_ONLY = {"import": 100_000}


def progress(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- child processes


def run_child(stage: str, ws: Path, opts: dict, timeout: float) -> dict:
    """Run one stage in a fresh interpreter; its JSON result (status error on crash/timeout)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [sys.executable, "-m", "benchmarks.stages", stage, str(ws), "--opts", json.dumps(opts)]
    try:
        proc = subprocess.run(cmd, cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"stage": stage, "status": "error", "reason": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return {"stage": stage, "status": "error",
            "reason": f"child exited {proc.returncode}: {proc.stderr.strip()[-400:]}"}


def measure(stage: str, ws: Path, opts: dict, runs: int, slow: float, timeout: float) -> dict:
    """Median of ``runs`` child runs (one run when the first is slower than ``slow`` s)."""
    results = []
    for i in range(runs):
        r = run_child(stage, ws, opts, timeout)
        results.append(r)
        if r.get("status") != "ok":
            break
        if i == 0 and r["seconds"] > slow:
            break
    ok = [r for r in results if r.get("status") == "ok"]
    if not ok:
        out = dict(results[-1])
        out["runs"] = 0
        return out
    times = [r["seconds"] for r in ok]
    cpu = [r["cpu_seconds"] for r in ok if r.get("cpu_seconds") is not None]
    return {
        "stage": stage, "status": "ok", "seconds": statistics.median(times), "all_seconds": times,
        "cpu_seconds": statistics.median(cpu) if cpu else None,
        "runs": len(ok), "peak_mb": max(r.get("peak_mb", 0) for r in ok), "extra": ok[-1].get("extra", {}),
    }


# --------------------------------------------------------------------------- workspaces


def generator_version(generator: str) -> str:
    srcs = sorted((ROOT / "crmkit" / "sample").glob("*.py")) if generator == "crmkit.sample" else [HERE / "synth.py"]
    srcs = [p for p in srcs if p.exists()]
    return hashlib.sha1(b"".join(p.read_bytes() for p in srcs)).hexdigest()[:10] if srcs else "missing"


def pick_generator(choice: str) -> str:
    if choice != "auto":
        return choice
    return "crmkit.sample" if (ROOT / "crmkit" / "sample" / "__init__.py").exists() else "synth"


def ensure_workspace(data: Path, customers: int, orders_per_customer: float | None, generator: str, seed: int,
                     timeout: float, force: bool = False, reuse: bool = False) -> tuple[Path, dict]:
    """The cached workspace for this size, generated (and timed) when missing or stale."""
    tag = "sample" if generator == "crmkit.sample" else "synth"
    opc = f"-opc{orders_per_customer:g}" if orders_per_customer else ""
    ws = data / f"ws-{customers}{opc}-{tag}-seed{seed}"
    meta_path = ws.parent / (ws.name + ".json")
    version = generator_version(generator)
    if not force and ws.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (meta.get("version") == version or reuse) and meta.get("status") == "ok":
            meta["cached"] = True
            return ws, meta
    progress(f"generating {customers:,} customers with {generator} into {ws}")
    opts = {"customers": customers, "seed": seed, "generator": generator}
    if orders_per_customer:
        opts["orders_per_customer"] = orders_per_customer
    res = run_child("generate", ws, opts, timeout)
    res.update(version=version, generator=generator, created=_dt.datetime.now().isoformat(timespec="seconds"),
               customers=customers, orders_per_customer=orders_per_customer, seed=seed)
    if res.get("status") == "ok":
        meta_path.write_text(json.dumps(res, indent=1, default=str))
    res["cached"] = False
    return ws, res


def ensure_import_file(data: Path, rows: int) -> Path:
    from benchmarks.synth import VERSION

    path = data / f"import-customers-{rows}-{VERSION}.xlsx"
    if not path.exists():
        progress(f"writing the {rows:,}-row import file {path.name}")
        from benchmarks.synth import write_import_file

        write_import_file(path, rows)
    return path


# --------------------------------------------------------------------------- one size


def run_size(label: str, customers: int, orders_per_customer: float | None, args) -> dict:
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    generator = pick_generator(args.generator)
    started = time.monotonic()
    load0 = os.getloadavg()[0]
    ws, meta = ensure_workspace(data, customers, orders_per_customer, generator, args.seed, args.timeout,
                                force=args.regenerate, reuse=args.reuse)
    section: dict = {"label": label, "customers": customers, "orders_per_customer": orders_per_customer,
                     "generator": generator, "runs": args.runs, "stages": {}, "baselines": {}}
    section["stages"]["generate"] = {
        "stage": "generate", "status": meta.get("status"), "seconds": meta.get("seconds"),
        "peak_mb": meta.get("peak_mb"), "runs": 1 if meta.get("status") == "ok" else 0,
        "extra": meta.get("extra", {}), "cached": meta.get("cached"), "created": meta.get("created"),
        "reason": meta.get("reason")}
    if meta.get("status") != "ok":
        progress(f"generation failed: {meta.get('reason')}")
        section["workspace_counts"] = {}
        return section
    section["workspace_counts"] = meta.get("extra", {})
    import_file = ensure_import_file(data, args.import_rows)
    opts = {"import_file": str(import_file), "seed": args.seed}
    wanted = args.stages
    for name in list(STAGE_ORDER[1:]) + list(BASELINES):
        if wanted and name not in wanted and not _baseline_needed(name, wanted):
            continue
        if name in args.skip:
            continue
        if name in FULL_ONLY and customers > FULL_ONLY[name] and not args.full:
            section["stages"][name] = {"stage": name, "status": "skipped",
                                       "reason": f"over {FULL_ONLY[name]:,} customers only with --full"}
            continue
        progress(f"{label}: {name}")
        res = measure(name, ws, opts, args.runs, args.slow, args.timeout)
        bucket = "baselines" if name.startswith("baseline_") else "stages"
        section[bucket][name] = res
        if res.get("status") != "ok":
            progress(f"  {res.get('status')}: {res.get('reason')}")
        else:
            progress(f"  {res['seconds']:.3f} s (runs {res['runs']}), peak {res['peak_mb']} MB")
    section["import_rows"] = args.import_rows
    section["elapsed_s"] = round(time.monotonic() - started, 1)
    section["loadavg"] = f"{load0:.1f} → {os.getloadavg()[0]:.1f}"
    return section


def _baseline_needed(name: str, wanted: set[str]) -> bool:
    from benchmarks.results import COMPARISONS

    return any(c[1] == name and c[0] in wanted for c in COMPARISONS)


# --------------------------------------------------------------------------- the order store (Parquet)

#: stages of the order-store size, and the DuckDB scan they are compared with
STORE_STAGES = ("store_rfm", "store_clv_summary", "baseline_store_scan", "baseline_store_groupby")


def run_order_store(orders: int, args) -> tuple[str, dict]:
    """RFM and the CLV summary over ``orders`` generated orders in Parquet, against DuckDB's raw scan."""
    from benchmarks.synth import ORDER_STORE_VERSION, write_order_store

    data = Path(args.data_dir)
    folder = data / f"orders-{orders}-{ORDER_STORE_VERSION}-seed{args.seed}"
    meta_path = folder.parent / (folder.name + ".json")
    started = time.monotonic()
    load0 = os.getloadavg()[0]
    if args.regenerate or not meta_path.exists():
        progress(f"writing {orders:,} orders as Parquet into {folder}")
        t0 = time.perf_counter()
        meta = write_order_store(folder, orders, seed=args.seed)
        meta["seconds"] = round(time.perf_counter() - t0, 1)
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    label = f"{orders:,} orders in Parquet (order store)"
    section: dict = {"label": label, "customers": meta["customers"], "orders_per_customer": None,
                     "generator": f"benchmarks.synth.write_order_store ({ORDER_STORE_VERSION})", "runs": args.runs,
                     "files_kind": "Parquet", "stages": {}, "baselines": {},
                     "workspace_counts": {"orders": meta["orders"], "customers": meta["customers"],
                                          "parts": meta["parts"], "bytes": meta["bytes"]}}
    section["stages"]["generate"] = {"stage": "generate", "status": "ok", "seconds": meta.get("seconds"),
                                     "runs": 1, "peak_mb": None, "cached": True, "extra": {"parts": meta["parts"]}}
    for name in STORE_STAGES:
        if name in args.skip:
            continue
        progress(f"{label}: {name}")
        res = measure(name, folder, {"orders": orders}, args.runs, args.slow, args.timeout)
        section["baselines" if name.startswith("baseline_") else "stages"][name] = res
        if res.get("status") != "ok":
            progress(f"  {res.get('status')}: {res.get('reason')}")
        else:
            progress(f"  {res['seconds']:.3f} s (runs {res['runs']}), peak {res['peak_mb']} MB")
    section["elapsed_s"] = round(time.monotonic() - started, 1)
    section["loadavg"] = f"{load0:.1f} → {os.getloadavg()[0]:.1f}"
    return label, section


# --------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description="crmkit benchmark suite")
    ap.add_argument("--quick", action="store_true", help="2,000 customers, 1 run per stage (smoke run)")
    ap.add_argument("--big", action="store_true", help="100,000 customers with 1,000,000 orders")
    ap.add_argument("--sizes", help="comma-separated customer counts (default 10000,100000)")
    ap.add_argument("--orders-per-customer", type=float, default=None,
                    help="orders per customer for --sizes (default: the generator's own)")
    ap.add_argument("--runs", type=int, default=None, help="runs per stage (default 3; 1 with --quick)")
    ap.add_argument("--stages", help="comma-separated stage names (default: all)")
    ap.add_argument("--skip", help="comma-separated stage or baseline names not to run (their earlier "
                                   "results in the store are kept)")
    ap.add_argument("--import-rows", type=int, default=None, help="rows of the import file (default 100,000)")
    ap.add_argument("--generator", choices=("auto", "crmkit.sample", "synth"), default="auto")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--slow", type=float, default=60.0, help="run a stage once when its first run exceeds this (s)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per child process (s)")
    ap.add_argument("--data-dir", default=str(DATA))
    ap.add_argument("--out", help="Markdown output (default benchmarks/RESULTS.md; with --quick, under --data-dir)")
    ap.add_argument("--json", dest="json_path", help="results store (default benchmarks/results.json)")
    ap.add_argument("--regenerate", action="store_true", help="generate the workspaces again")
    ap.add_argument("--full", action="store_true",
                    help="also run the written import at every size (minutes per run at 100,000 customers)")
    ap.add_argument("--merge", action="append", default=[], metavar="JSON",
                    help="merge the sizes of another results file (e.g. a run made in parallel) into the store")
    ap.add_argument("--render-only", action="store_true", help="only write the Markdown from the stored results")
    ap.add_argument("--order-store", dest="order_store", type=int, default=None, metavar="ORDERS",
                    help="only the order-store size: RFM and the CLV summary over this many generated orders in "
                         "Parquet, against DuckDB's raw scan of the same files (make bench-orders: 10,000,000)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse a cached workspace even when the generator's source changed since")
    args = ap.parse_args(argv)
    args.stages = set(args.stages.split(",")) if args.stages else set()
    args.skip = set(args.skip.split(",")) if args.skip else set()
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.import_rows is None:
        args.import_rows = 2_000 if args.quick else IMPORT_ROWS
    data = Path(args.data_dir)
    if args.out is None:
        args.out = str(data / "RESULTS-quick.md") if args.quick else str(RESULTS_MD)
    if args.json_path is None:
        args.json_path = str(data / "results-quick.json") if args.quick else str(RESULTS_JSON)
    return args


def plan(args) -> list[tuple[str, int, float | None]]:
    if args.sizes:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        return [(_label(n, args.orders_per_customer), n, args.orders_per_customer) for n in sizes]
    if args.quick:
        return [(_label(2_000, None), 2_000, None)]
    if args.big:
        return [(_label(100_000, 10.0), 100_000, 10.0)]
    return [(_label(10_000, None), 10_000, None), (_label(100_000, None), 100_000, None)]


def _label(n: int, opc: float | None) -> str:
    text = f"{n:,} customers"
    if opc:
        text += f", {int(n * opc):,} orders"
    return text


def merge_store(store: dict, other: dict) -> None:
    """Fold ``other``'s sizes into ``store``: stages measured in ``other`` replace those in ``store``."""
    for label, sec in other.get("sizes", {}).items():
        old = store["sizes"].get(label)
        if old is None:
            store["sizes"][label] = sec
            continue
        for bucket in ("stages", "baselines"):
            old[bucket] = {**old.get(bucket, {}), **sec.get(bucket, {})}
        old.setdefault("updates", []).append(_update_note(sec))
    store.setdefault("machine", other.get("machine", {}))


def _update_note(sec: dict) -> str:
    names = sorted(sec.get("stages", {}))
    return f"{sec.get('date', '?')}: {', '.join(n for n in names if n != 'generate')} (+ baselines)"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from benchmarks import results

    store_path = Path(args.json_path)
    store = json.loads(store_path.read_text()) if store_path.exists() else {"sizes": {}}
    for other in args.merge:
        merge_store(store, json.loads(Path(other).read_text()))
    if args.render_only or args.merge:
        store_path.write_text(json.dumps(store, indent=1, default=str))
        Path(args.out).write_text(results.render(store), encoding="utf-8")
        progress(f"wrote {args.out}")
        if args.render_only:
            return 0
    store["machine"] = results.machine_info()
    if args.order_store:
        label, section = run_order_store(args.order_store, args)
        section["date"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        store["sizes"][label] = section
        store_path.parent.mkdir(parents=True, exist_ok=True)
        store_path.write_text(json.dumps(store, indent=1, default=str))
        Path(args.out).write_text(results.render(store), encoding="utf-8")
        progress(f"wrote {args.out}")
        return 0
    for label, n, opc in plan(args):
        section = run_size(label, n, opc, args)
        section["date"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        old = store["sizes"].get(label)
        if args.stages and old and old.get("generator") == section["generator"]:
            # a partial run (--stages) updates the stages it ran and keeps the others
            note = _update_note(section)          # the stages this run measured, before the merge
            for bucket in ("stages", "baselines"):
                section[bucket] = {**old.get(bucket, {}), **section[bucket]}
            section["updates"] = old.get("updates", []) + [note]
            section["date"], section["elapsed_s"] = old.get("date"), old.get("elapsed_s")
        store["sizes"][label] = section
        store_path.parent.mkdir(parents=True, exist_ok=True)
        store_path.write_text(json.dumps(store, indent=1, default=str))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(results.render(store), encoding="utf-8")
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
