"""crmkit: an Excel-first CRM automation toolkit.

>>> import crmkit
>>> ws = crmkit.open_workspace("sample_data")
>>> ws["customers"]
"""

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

__all__ = ["CrmkitError", "DataError", "UsageError", "Workspace", "open_workspace", "__version__"]
