"""Profile a dashboard's work after a visit arrives, as a preheated kernel does it.

``python -m benchmarks.profile_page WORKSPACE [--page overview] [--out FILE]``

Runs :func:`crmkit.dashboard.context.warm_up` first (what a preheated kernel has done before
the visit), then the notebook's code cells in this process under pyinstrument
(``display`` is a no-op), and writes the profile as text.  The timed GET of
the *dashboard* stage adds Voila's own work (the request, cell execution
messages, the page) to what this shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile_page", description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--page", default="overview", help="notebook name in notebooks/ (default overview)")
    ap.add_argument("--out", type=Path, default=None, help="profile text file (default: stdout)")
    ns = ap.parse_args(argv)
    os.environ["CRMKIT_WORKSPACE"] = str(ns.workspace.resolve())
    os.environ["CRMKIT_DASHBOARD_KERNEL"] = "1"
    from pyinstrument import Profiler

    from crmkit.dashboard import context

    context.warm_up()
    nb = json.loads((ROOT / "notebooks" / f"{ns.page}.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    code = code.replace("display(", "(lambda *a, **k: None)(")
    profiler = Profiler(interval=0.001)
    t0, c0 = time.perf_counter(), time.process_time()
    profiler.start()
    exec(compile(code, f"{ns.page}.ipynb", "exec"), {"__name__": "__main__"})
    profiler.stop()
    head = (f"{ns.page} at {ns.workspace}: {time.perf_counter() - t0:.3f} s wall, "
            f"{time.process_time() - c0:.3f} s CPU after warm-up\n")
    text = head + profiler.output_text(unicode=True, color=False)
    if ns.out:
        ns.out.parent.mkdir(parents=True, exist_ok=True)
        ns.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
