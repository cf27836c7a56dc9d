"""The crmkit exception hierarchy.

Every error a user can meet derives from :class:`CrmkitError`.  Two branches
map to the command line's exit codes:

* :class:`DataError` (exit 1): the data has problems (validation errors,
  rejected rows, a bad rule expression).
* :class:`UsageError` (exit 2): bad usage or unreadable input (a missing path,
  a corrupt workbook, a workbook that is open in Excel).

Errors carry the place they concern (file, sheet, row, column, value) so a
message can always say where to look.
"""

from __future__ import annotations


class CrmkitError(Exception):
    """Base class of every error crmkit raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
    ):
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.sheet = sheet
        self.row = row
        self.column = column
        self.value = value

    @property
    def place(self) -> str:
        """``file, sheet 'X', row 5, column 'phone'`` — the parts that are known."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        place = self.place
        text = f"{place}: {self.message}" if place else self.message
        if self.value is not None:
            text += f" (value: {self.value!r})"
        return text


class DataError(CrmkitError):
    """The data has problems: validation errors, rejected rows (exit code 1)."""

    exit_code = 1


class ValidationError(DataError):
    """One or more values break the data contract."""


class ExpressionError(DataError):
    """A rule expression cannot be parsed or is not allowed.

    ``position`` is the 1-based column in the expression text where the
    problem starts, when it is known.
    """

    def __init__(self, message: str, *, expression: str = "", position: int | None = None,
                 rule_id: str | None = None, **kw):
        super().__init__(message, **kw)
        self.expression = expression
        self.position = position
        self.rule_id = rule_id

    def __str__(self) -> str:
        head = f"rule {self.rule_id}: " if self.rule_id else ""
        pos = f" at position {self.position}" if self.position else ""
        text = f"{head}{self.message}{pos}"
        if self.expression:
            text += f" in {self.expression!r}"
        return text


class UsageError(CrmkitError):
    """Bad usage or unreadable input (exit code 2)."""

    exit_code = 2


class WorkspaceNotFound(UsageError):
    """The path is not a crmkit workspace (or does not exist)."""


class WorkbookError(UsageError):
    """A workbook cannot be read: missing, corrupt, encrypted, wrong type, missing sheet/column."""


class WorkspaceExists(UsageError):
    """Refused to create a workspace over an existing one."""


class FileLockedError(UsageError):
    """A workbook is open in Excel (``~$name.xlsx``) or another crmkit run holds the workspace."""


class UnsafeWriteError(UsageError):
    """Rewriting this workbook would drop content crmkit does not own (charts, images, macros...)."""


class WriteFailedError(UsageError):
    """A file could not be written: full disk, read-only file or folder, no permission (the old file is kept)."""


class OutputPathError(UsageError):
    """An output path would overwrite a workspace workbook, the input, or a file crmkit did not write."""
