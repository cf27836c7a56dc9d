"""What every ``crmkit`` command shares: JSON issue lists, the workspace language, progress."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from ..i18n import lang_is_set, set_lang
from ..schema import ENTITIES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: at most this many issues are listed in ``validate --json`` (the counts cover them all)
JSON_ISSUES_LIMIT = 1000
ISSUE_KEYS = ("file", "sheet", "row", "column", "value", "reason", "severity")


def issues_payload(issues, limit: int = JSON_ISSUES_LIMIT) -> dict:
    """The issues of a check as JSON: the first ``limit`` (file, sheet, row, column, value, reason,
    severity), their total, and how many were left out."""
    import pandas as pd

    total = 0 if issues is None else len(issues)
    rows = []
    if total:
        head = issues.head(limit)
        for rec in head.to_dict("records"):
            item = {}
            for k in ISSUE_KEYS:
                v = rec.get(k)
                if v is not None and not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v):
                    v = None
                elif k == "row" and v is not None:
                    try:
                        v = int(v)
                    except (TypeError, ValueError):
                        v = str(v)
                elif v is not None and not isinstance(v, (str, int, float, bool)):
                    v = str(v)
                item[k] = v
            rows.append(item)
    return {"issues": rows, "issues_total": total, "issues_truncated": max(0, total - len(rows))}


def workspace_lang(path: object) -> str | None:
    """The Settings language of the workspace at ``path`` (a folder, or a file inside one), if it can be read.

    Reads the Settings sheet of rules.xlsx alone (no lock, no cache): the command reads the workspace itself.
    """
    from ..io.reading import find_sheet, open_reader, read_raw
    from ..io.typing import map_columns
    from ..settings import check_lang

    if path is None:
        return None
    p = Path(path)
    if not p.is_dir():
        p = p.parent
    rules = p / "rules.xlsx"
    if not rules.is_file():
        return None
    try:
        reader = open_reader(rules)
        ent = ENTITIES["settings"]
        name = find_sheet(reader.sheet_names, ent)
        if name is None:
            return None
        raw = read_raw(rules, name, reader)
        cols = {key: src for src, key in map_columns(raw.columns, ent).items()}
        keys = raw[cols["key"]].astype("string").str.strip().str.lower()
        value = raw.loc[(keys == "language").fillna(False).to_numpy(), cols["value"]]
        return check_lang(value.iloc[0]) if len(value) else "en"
    except Exception:  # noqa: BLE001 - a workspace whose Settings cannot be read: the default
        return None


def _set_lang_option(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from ..settings import check_lang

        set_lang(check_lang(value))


LANG_HELP = "Language of messages and prints (default: the workspace's Settings language)."


def speaks_workspace(param: str):
    """Show this command's messages in the language of the workspace named by argument ``param``,
    unless ``--lang`` (before or after the command) chose one."""
    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if not lang_is_set():
                found = workspace_lang(kwargs.get(param))
                if found is not None:
                    set_lang(found)
            return fn(*args, **kwargs)

        return click.option("--lang", type=click.Choice(["en", "zh"]), default=None, expose_value=False,
                            is_eager=True, callback=_set_lang_option, help=LANG_HELP)(inner)

    return wrap


def progress_enabled() -> bool:
    """Progress bars only on a terminal (stderr)."""
    return sys.stderr.isatty() and not os.environ.get("CI")

