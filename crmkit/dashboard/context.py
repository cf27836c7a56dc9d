"""A dashboard page's context (workspace, settings, language, 'now') and the preheating of its kernel.

:func:`load_context` is the first call of every dashboard notebook.  In a
kernel that Voila started ahead of a visit (see :mod:`crmkit.dashboard.server`)
it first warms up what a render needs (:func:`warm_up`) and waits for the
visitor, so the workspace is read when the page is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..settings import check_lang
from ..workspace import open_workspace
from .charts import warm_up_figures
from .server import workspace_path

# --------------------------------------------------------------------------- context

@dataclass
class Context:
    """What every dashboard holds: the workspace, its settings, the language and 'now'."""

    path: Path
    ws: object
    lang: str
    as_of: pd.Timestamp
    settings: dict = field(default_factory=dict)

    @property
    def show_full_contacts(self) -> bool:
        return bool(self.settings.get("show_full_contacts"))

    def reload(self) -> None:
        """Read the workspace again (after a write)."""
        self.ws = open_workspace(self.path)
        self.settings = self.ws.settings


def load_context(workspace: str | os.PathLike | None = None, lang: str | None = None,
                 as_of: object = None) -> Context:
    """Open the dashboard's workspace (``workspace`` or ``$CRMKIT_WORKSPACE`` or ``sample_data/``).

    In a preheated Voila kernel (see :mod:`crmkit.dashboard`) this first
    warms up the libraries a render needs and then waits for a visitor
    (:func:`wait_for_request`), so the workspace is read when the page is
    asked for, never before: what it shows is as fresh as without preheating.
    """
    if preheated():
        warm_up()
        wait_for_request()

    path = workspace_path(workspace)
    ws = open_workspace(path)
    lang = check_lang(lang) if lang else ws.lang
    return Context(path=path, ws=ws, lang=lang, as_of=ws.as_of(as_of), settings=ws.settings)


def preheated() -> bool:
    """Whether this kernel was started ahead of a visit by Voila's kernel pool."""
    return os.environ.get("VOILA_PREHEAT", "False") != "False"


def wait_for_request() -> None:
    """In a preheated Voila kernel, block until a visitor's request reaches it (a no-op elsewhere).

    The request's details (``QUERY_STRING`` ...) are in ``os.environ`` afterwards.
    """
    if not preheated():
        return
    from voila.utils import wait_for_request as _wait

    _wait()


def warm_up() -> None:
    """Import and exercise what a first render needs, so a preheated kernel has done it before the visit:
    plotly's figure widgets (:func:`crmkit.dashboard.charts.warm_up_figures`), the domain modules the
    pages call, and the phone number metadata."""
    warm_up_figures()
    from .. import analytics, dedupe, rfm  # noqa: F401 - imported now, not by the visitor
    from ..phones import to_phone

    to_phone(pd.Series(["+8613800138000", "+12015550123"], dtype="string"))  # phone metadata
