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

from ..exceptions import UsageError
from ..i18n import msg
from ..settings import check_lang
from ..workspace import open_workspace
from .charts import warm_up_figures
from .server import workspace_path

#: the signed-in member, as Voila passes the request header ``X-Crmkit-User`` to the kernel
#: (``VoilaConfiguration.http_header_envs``; set by crmkit.dashboard.auth, never by the browser)
USER_ENV = "HTTP_X_CRMKIT_USER"
#: set for every kernel of ``crmkit dashboard --team``
TEAM_ENV = "CRMKIT_TEAM"

# --------------------------------------------------------------------------- context

@dataclass
class Context:
    """What every dashboard holds: the workspace, its settings, the language and 'now'."""

    path: Path
    ws: object
    lang: str
    as_of: pd.Timestamp
    settings: dict = field(default_factory=dict)
    user: str | None = None        # team mode: the signed-in member (None: no login, everything)

    @property
    def show_full_contacts(self) -> bool:
        return bool(self.settings.get("show_full_contacts"))

    @property
    def scope(self):
        """The signed-in member's :class:`crmkit.team.Scope` (None without team mode)."""
        return getattr(self.ws, "scope", None) if self.user else None

    @property
    def role(self) -> str | None:
        return self.scope.role if self.scope is not None else None

    def sees_owner(self, name: object) -> bool:
        """Whether records owned by ``name`` are in this page's scope (always without team mode)."""
        return self.scope is None or self.scope.sees_owner(str(name))

    def may_launch(self) -> bool:
        """Whether this visitor may launch a campaign: without team mode anyone, else admins only (a
        campaign's audience is the whole workspace, wider than a manager's team)."""
        return self.scope is None or self.scope.everything

    def check_may_launch(self) -> None:
        from ..i18n import t

        if not self.may_launch():
            raise UsageError(msg("e_scope_role", user=self.user, role=self.role, action=t("scope_launch", self.lang)))

    def reload(self) -> None:
        """Read the workspace again (after a write)."""
        self.ws = open_scoped(self.path, self.user)
        self.settings = self.ws.settings


def team_mode() -> bool:
    """Whether this kernel belongs to ``crmkit dashboard --team``."""
    return os.environ.get(TEAM_ENV, "") == "1"


def signed_in_user() -> str | None:
    """The member the server signed in for this page (team mode), None without team mode.

    In team mode a page without a signed-in member raises :class:`UsageError`: no data without a
    session.  Call after :func:`wait_for_request` in a preheated kernel.
    """
    if not team_mode():
        return None
    user = os.environ.get(USER_ENV, "").strip()
    if not user:
        raise UsageError(msg("e_dash_not_signed_in"))
    return user


def open_scoped(path, user: str | None):
    """The workspace as ``user`` may see it (:func:`crmkit.workspace.open_workspace` ``as_user``), or whole."""
    return open_workspace(path, as_user=user) if user else open_workspace(path)


def load_context(workspace: str | os.PathLike | None = None, lang: str | None = None,
                 as_of: object = None) -> Context:
    """Open the dashboard's workspace (``workspace`` or ``$CRMKIT_WORKSPACE`` or ``sample_data/``).

    In a preheated Voila kernel (see :mod:`crmkit.dashboard`) this first
    warms up the libraries a render needs and then waits for a visitor
    (:func:`wait_for_request`), so the workspace is read when the page is
    asked for, never before: what it shows is as fresh as without preheating.

    In team mode (``crmkit dashboard --team``) the workspace is opened as the signed-in member
    (:func:`signed_in_user`): every table holds only their scope.
    """
    if preheated():
        warm_up()
        wait_for_request()

    path = workspace_path(workspace)
    user = signed_in_user()
    ws = open_scoped(path, user)
    lang = check_lang(lang) if lang else ws.lang
    return Context(path=path, ws=ws, lang=lang, as_of=ws.as_of(as_of), settings=ws.settings, user=user)


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
