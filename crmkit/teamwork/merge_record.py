"""The record of the merges of one rep workspace, kept in the main workspace's ``.crmkit/merge-<split_id>.json``.

It holds, per table, the rows a merge has settled, keyed by the rep's row key
(its ID, or ``#`` + a content hash for a row typed without one): the main ID
the row is (a new row's new ID) and the row's new base (the text of each
field as merged).  The next merge of the same rep workspace starts from that
base instead of the split's, so a row is never added twice, an applied edit
is not applied again, and a conflict resolved with ``--prefer`` stays
resolved.  It is written in the same all-or-nothing unit as the workbooks
(``ws.save(extra=...)``): after a crash the main workspace and its record
agree.  ``merges`` lists each merge that changed something (time, owner,
counts).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..io.safety import state_dir
from .manifest import file_key

VERSION = 1


def path(main: str | os.PathLike, split_id: str) -> Path:
    """The record file of the split ``split_id`` in the main workspace ``main``."""
    return state_dir(main) / f"merge-{file_key(split_id)}.json"


def read(main: str | os.PathLike, split_id: str) -> dict:
    """The record of ``split_id`` (an empty one when the rep workspace was never merged)."""
    p = path(main, split_id)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError):
        from ..exceptions import UsageError

        raise UsageError("the merge record is unreadable; restore it from a backup, or move it away to merge "
                         "this rep workspace as if for the first time (rows it added before would be added "
                         "again)", file=str(p)) from None
    if not isinstance(data, dict) or data.get("split_id") not in (None, str(split_id)):
        data = None
    return data or {"version": VERSION, "split_id": str(split_id), "entities": {}, "merges": []}


def updated(old: dict, man, rows: dict[str, dict[str, dict]], res, at: pd.Timestamp) -> tuple[dict, bool]:
    """The record after this merge (``rows``: table -> rep key -> {"id", "base"}) and whether it changed."""
    entities = {k: dict(v) for k, v in old.get("entities", {}).items()}
    for entity, items in rows.items():
        entities.setdefault(entity, {}).update(items)
    changed = entities != old.get("entities", {})
    merges = list(old.get("merges", []))
    merges.append({"at": at.isoformat(), "owner": str(man.owner), "rep": str(res.rep),
                   "cells_applied": res.total("cells_applied"), "new_added": res.total("new_added"),
                   "new_matched": res.total("new_matched"), "conflicts": res.total("conflicts"),
                   "prefer": res.prefer})
    return {"version": VERSION, "split_id": str(man.split_id), "workspace_id": str(man.workspace_id),
            "owner": str(man.owner), "entities": entities, "merges": merges[-200:]}, changed


def dumps(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
