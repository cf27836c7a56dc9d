"""The dashboard passwords of a team (issue 17, team mode): ``DIR/.crmkit/users.json``.

Only members of the Team sheet get a password, and an inactive member is
refused.  A password is kept as an argon2id hash (:class:`argon2.PasswordHasher`,
its own salt and parameters inside the hash), never in a workbook: the file is
``{"version": 1, "users": {name: {"hash": ..., "set_at": ...}}}``, written
atomically through :func:`crmkit.io.safety.replace_file` under the workspace
lock, mode 0600, with no backup (an old hash is not worth keeping).

>>> set_password("crm", "Li Lei", "correct horse")
>>> check_password("crm", "Li Lei", "correct horse")
True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .exceptions import DataError, UsageError
from .i18n import msg
from .io.journal import workspace_lock
from .io.safety import replace_file, state_dir
from .team import Member, member, members
from .workspace import open_workspace

USERS_FILE = "users.json"
MIN_LENGTH = 8
MAX_LENGTH = 1024          # argon2 hashes any length; a megabyte typed into a form is not a password


def users_path(workspace: str | os.PathLike) -> Path:
    """Where the hashes live: ``DIR/.crmkit/users.json``."""
    return state_dir(workspace) / USERS_FILE


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def read_users(workspace: str | os.PathLike) -> dict[str, dict]:
    """The stored entries by name ({} when no password was set yet)."""
    path = users_path(workspace)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DataError(msg("e_users_file", detail=str(exc)), file=str(path)) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise DataError(msg("e_users_file", detail="no 'users' object"), file=str(path))
    return {str(k): v for k, v in users.items() if isinstance(v, dict) and isinstance(v.get("hash"), str)}


def _write_users(workspace: Path, users: dict[str, dict]) -> None:
    path = users_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):     # the first version is born 0600; replace_file keeps the mode
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
    body = json.dumps({"version": 1, "users": users}, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")

    def produce(tmp: Path) -> None:
        os.chmod(tmp, 0o600)
        tmp.write_bytes(body)

    replace_file(path, produce, workspace=workspace, keep_backups=0, verify=False)
    os.chmod(path, 0o600)


def team_member(workspace: str | os.PathLike, name: str) -> Member:
    """The Team member called ``name`` (:func:`crmkit.team.member`: UsageError naming the members when unknown)."""
    return member(open_workspace(workspace)["team"], name)


def check_new_password(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise UsageError(msg("e_password_short", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        raise UsageError(msg("e_password_long", n=MAX_LENGTH))


def set_password(workspace: str | os.PathLike, name: str, password: str) -> Member:
    """Set (or change) the dashboard password of Team member ``name``; returns the member.

    Raises :class:`UsageError` for a name not in the Team sheet, an inactive member
    or a password shorter than 8 characters.
    """
    path = Path(workspace).resolve()
    person = team_member(path, name)
    if not person.active:
        raise UsageError(msg("e_user_inactive", name=person.name))
    check_new_password(password)
    digest = _hasher().hash(password)
    with workspace_lock(path):
        users = read_users(path)
        users[person.name] = {"hash": digest, "set_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        _write_users(path, users)
    return person


def remove_user(workspace: str | os.PathLike, name: str) -> bool:
    """Remove the password of ``name`` (that member can no longer sign in); False when there was none."""
    path = Path(workspace).resolve()
    open_workspace(path)                   # a folder that is no workspace is refused, not given a .crmkit/
    with workspace_lock(path):
        users = read_users(path)
        if name not in users:
            return False
        del users[name]
        _write_users(path, users)
    return True


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    active: bool
    has_password: bool
    set_at: str

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "active": self.active,
                "has_password": self.has_password, "set_at": self.set_at}


def list_users(workspace: str | os.PathLike) -> list[UserRow]:
    """Every Team member and every stored password (a password of a name no longer in Team shows role '')."""
    team = members(open_workspace(workspace)["team"])
    users = read_users(workspace)
    rows = [UserRow(m.name, m.role, m.active, m.name in users, str(users.get(m.name, {}).get("set_at", "")))
            for m in team.values()]
    rows += [UserRow(n, "", False, True, str(u.get("set_at", ""))) for n, u in users.items() if n not in team]
    return rows


def check_password(workspace: str | os.PathLike, name: str, password: str) -> bool:
    """Whether ``password`` is the stored one of ``name`` (False for an unknown name: same time spent)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    entry = read_users(workspace).get(name)
    hasher = _hasher()
    if entry is None or not password or len(password) > MAX_LENGTH:
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(_dummy_hash(), password or "x")     # an unknown name costs what a known one does
        return False
    try:
        return bool(hasher.verify(entry["hash"], password))
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone")
