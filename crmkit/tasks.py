"""Writes to the Tasks sheet that are not rules: a person marking a task done (the My day dashboard)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .exceptions import ValidationError
from .io.safety import workspace_lock
from .workspace import open_workspace


def mark_task_done(workspace: str | os.PathLike, task_id: str, *, by: str = "", at: object = None,
                   wait: float = 10) -> bool:
    """Mark the task ``task_id`` done in tasks.xlsx and record it in History (log.xlsx).

    Goes through the workspace lock and the safe writer (backup, atomic
    replace, refuses while the workbook is open in Excel).  Returns False when
    the task was already done or cancelled; raises ValidationError for an
    unknown task id.
    """
    path = Path(workspace)
    when = pd.Timestamp.now().floor("s") if at is None else pd.Timestamp(at)
    with workspace_lock(path, wait=wait):
        ws = open_workspace(path)
        tasks = ws["tasks"].copy()
        hit = tasks["task_id"].astype("string") == str(task_id)
        if not hit.any():
            raise ValidationError(f"no task with id {task_id!r}", file=str(ws.file("tasks")), column="task_id",
                                  value=str(task_id))
        old = tasks.loc[hit, "status"].iloc[0]
        if not pd.isna(old) and str(old) in ("done", "cancelled"):
            return False
        tasks.loc[hit, "status"] = "done"
        tasks.loc[hit, "done_at"] = when
        ws.replace("tasks", tasks)
        ws.append("history", pd.DataFrame([{
            "at": when, "entity": "tasks", "record_id": str(task_id), "field": "status",
            "old": None if pd.isna(old) else str(old), "new": "done",
            "by": f"{by} (dashboard)" if by else "dashboard",
        }]))
        ws.save()
    return True
