"""crmkit: an Excel-first CRM automation toolkit.

>>> import crmkit
>>> ws = crmkit.open_workspace("sample_data")
>>> ws["customers"]
>>> crmkit.rfm.rfm_scores(ws["orders"], ws.as_of())

The submodules (``crmkit.rfm``, ``crmkit.analytics``, ``crmkit.rules`` ...)
are imported on first use, so ``import crmkit`` stays fast.
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
