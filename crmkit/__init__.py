"""crmkit: an Excel-first CRM automation toolkit.

>>> import crmkit
>>> ws = crmkit.open_workspace("sample_data")
>>> ws["customers"]
"""

from .exceptions import CrmkitError, DataError, UsageError
from .workspace import Workspace, open_workspace

__version__ = "0.1.0"

__all__ = ["CrmkitError", "DataError", "UsageError", "Workspace", "open_workspace", "__version__"]
