"""Validation: the data contract checked value by value, with a place for every problem.

* :mod:`crmkit.validate.checks` — :func:`validate_frame`: one entity's frame checked field by field
  (required, types, enumerations, phones, e-mails, unique IDs, references, team), completeness;
* :mod:`crmkit.validate.workspace` — :func:`validate_workspace` / :func:`validate_path` /
  :func:`validate_source`: every sheet of a workspace, a workbook or a file to import, checked
  within and across tables, as a :class:`ValidationReport`;
* :mod:`crmkit.validate.report` — :func:`write_report`: the issue-report workbook, bad cells highlighted.

>>> report = validate_workspace("sample_data")
>>> report.errors, report.warnings
>>> write_report("issues.xlsx", report.issues, completeness=report.completeness)
"""

from __future__ import annotations

from .checks import (
    ERROR,
    WARNING,
    completeness_scores,
    completeness_summary,
    empty_issues,
    incomplete_records,
    validate_frame,
)
from .report import write_report
from .workspace import ValidationReport, format_issue, validate_path, validate_source, validate_workspace

__all__ = ["ERROR", "WARNING", "ValidationReport", "completeness_scores", "completeness_summary", "empty_issues",
           "format_issue", "incomplete_records", "validate_frame", "validate_path", "validate_source",
           "validate_workspace", "write_report"]
