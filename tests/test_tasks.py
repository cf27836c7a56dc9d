"""Marking a task done (crmkit.tasks): the one write a dashboard (My day) makes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_dashboard import small_workspace

from crmkit.exceptions import FileLockedError, ValidationError
from crmkit.tasks import mark_task_done
from crmkit.workspace import open_workspace


@pytest.fixture
def small(tmp_path) -> Path:
    return small_workspace(tmp_path / "crm")


def test_marking_a_task_done_writes_tasks_xlsx_and_a_history_row(small):
    assert mark_task_done(small, "T01", by="Alex Chen", at="2026-11-20 10:30") is True
    ws = open_workspace(small)
    t01 = ws["tasks"].set_index("task_id").loc["T01"]
    assert t01["status"] == "done" and t01["done_at"] == pd.Timestamp("2026-11-20 10:30")
    assert (ws["tasks"]["status"] == "open").sum() == 5
    hist = ws["history"]
    assert hist[["entity", "record_id", "field", "old", "new"]].iloc[-1].tolist() == ["tasks", "T01", "status",
                                                                                      "open", "done"]
    assert hist["by"].iloc[-1] == "Alex Chen (dashboard)"
    assert list((small / ".crmkit" / "backups").glob("tasks.*.xlsx"))
    assert mark_task_done(small, "T01") is False


def test_marking_a_task_done_refuses_while_tasks_xlsx_is_open_in_excel(small):
    (small / "~$tasks.xlsx").write_text("lock")
    with pytest.raises(FileLockedError):
        mark_task_done(small, "T02")
    (small / "~$tasks.xlsx").unlink()
    assert open_workspace(small)["tasks"].set_index("task_id").loc["T02", "status"] == "open"


def test_marking_an_unknown_task_is_a_clear_error(small):
    with pytest.raises(ValidationError, match="no task with id 'T99'"):
        mark_task_done(small, "T99")
