"""crmkit: an Excel-first CRM automation toolkit.

>>> import crmkit
>>> ws = crmkit.open_workspace("sample_data")
>>> ws["customers"]
>>> crmkit.rfm.rfm_scores(ws["orders"], ws.as_of())

The submodules (``crmkit.rfm``, ``crmkit.analytics``, ``crmkit.rules`` ...)
are imported on first use, so ``import crmkit`` stays fast.

Entry points
------------
* ``crmkit.open_workspace`` — open a workspace folder: typed tables
  (``ws["customers"]``, ``ws["orders"]`` ...), ``ws.settings``, ``ws.as_of()``.
* ``crmkit.validate.validate_workspace`` — check every sheet against the data
  contract; each issue names file, sheet, row, column and reason.
* ``crmkit.importer.import_file`` — import a messy CSV or Excel file (mapping,
  cleaning, duplicate checks).
* ``crmkit.dedupe.find_duplicates`` — duplicate customers;
  ``crmkit.merge.dedupe_workspace`` merges them.
* ``crmkit.rules.run_rules`` — the automation rules, as a dry run
  (``dry_run=True``) or for real; ``crmkit.rules.summary.plan_frame`` is the plan.
* ``crmkit.rfm.workspace_scores`` — RFM scores, segments and value tiers.
* ``crmkit.clv.workspace_clv`` — customer lifetime value (BG/NBD and
  Gamma-Gamma): P(alive), expected purchases and spend, CLV, a call list;
  ``crmkit.clv.summary``, ``crmkit.clv.fit`` and ``crmkit.clv.predict`` step by step.
* ``crmkit.analytics`` — every number of the dashboards and reports, plus
  ``crmkit.analytics.cohort_retention``, ``crmkit.analytics.repeat_purchase_curve``,
  ``crmkit.analytics.campaign_results`` and ``crmkit.analytics.compare_campaigns``.
* ``crmkit.orderstore.workspace_orders`` — the orders as one DuckDB relation,
  wherever they are stored.
* ``crmkit.report.write_report`` — the weekly or monthly Excel report.
* ``crmkit.export.export`` — a filtered table to Excel or CSV.
* ``crmkit.sample.generate_workspace`` — a realistic sample workspace.

The command line (``crmkit --help``) runs the same functions; the guide
notebooks in the repository's ``notebooks/guides/`` folder show them at work.
"""

from __future__ import annotations

import importlib
import pkgutil

from .exceptions import CrmkitError, DataError, UsageError

try:
    from .workspace import Workspace, open_workspace
except KeyboardInterrupt:                   # Ctrl-C while the command line starts: one line, no traceback
    import os as _os
    import sys as _sys

    if _sys.argv and (_sys.argv[0] == "-m" or _os.path.basename(_sys.argv[0]) in ("crmkit", "crmkit.exe")):
        print("crmkit: interrupted", file=_sys.stderr)
        raise SystemExit(130) from None
    raise

__version__ = "0.1.0"

#: submodules reachable as attributes after ``import crmkit`` (imported when first touched)
SUBMODULES = tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

__all__ = ["CrmkitError", "DataError", "UsageError", "Workspace", "open_workspace", "__version__"]


def __getattr__(name: str):
    if name in SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'crmkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBMODULES))
