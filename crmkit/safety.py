"""The one write path for users' files (DESIGN §8).

* :func:`replace_file` writes a new file next to the old one, fsyncs it,
  checks it, keeps the previous version as a backup and atomically replaces
  the old file; an interrupted write leaves the old file untouched.
* :func:`check_not_open` refuses while Excel or LibreOffice holds the
  workbook open (their lock files ``~$name.xlsx`` / ``.~lock.name.xlsx#``).
* :func:`workspace_lock` serialises crmkit runs on one workspace.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .exceptions import FileLockedError, WorkbookError

STATE_DIR = ".crmkit"
BACKUP_DIR = "backups"
DEFAULT_BACKUPS = 10


def state_dir(workspace: str | os.PathLike) -> Path:
    """The hidden folder of a workspace: backups, lock, rule state."""
    return Path(workspace) / STATE_DIR


def office_lock_files(path: Path) -> list[Path]:
    return [path.with_name("~$" + path.name), path.with_name(".~lock." + path.name + "#")]


def check_not_open(path: str | os.PathLike) -> None:
    """Raise :class:`FileLockedError` when the workbook is open in Excel/LibreOffice."""
    p = Path(path)
    for lock in office_lock_files(p):
        if lock.exists():
            raise FileLockedError(
                f"the workbook is open in Excel or another program ({lock.name} exists); "
                "close it and try again", file=str(p))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def backup(path: Path, workspace: str | os.PathLike | None = None, keep: int = DEFAULT_BACKUPS) -> Path | None:
    """Keep the current version of ``path`` in ``.crmkit/backups`` (bounded to ``keep`` per file)."""
    if not path.exists():
        return None
    folder = state_dir(workspace if workspace is not None else path.parent) / BACKUP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{path.stem}.{stamp}{path.suffix}"
    try:
        os.link(path, target)          # the old inode survives the replace: a free backup
    except OSError:
        shutil.copy2(path, target)
    olds = sorted(folder.glob(f"{path.stem}.*{path.suffix}"))
    for old in olds[:-keep] if keep > 0 else olds:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


def replace_file(path: str | os.PathLike, produce: Callable[[Path], None], *,
                 workspace: str | os.PathLike | None = None, keep_backups: int = DEFAULT_BACKUPS,
                 verify: bool = True) -> Path:
    """Atomically replace ``path`` with what ``produce(tmp_path)`` writes.

    The temporary file lives in the same folder (so the rename is atomic),
    is fsynced and, for .xlsx, checked to be a readable zip before it
    replaces the old file.  The old version is kept as a backup.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    check_not_open(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        produce(tmp)
        with open(tmp, "rb+") as fh:
            fh.flush()
            os.fsync(fh.fileno())
        if verify and path.suffix.lower() in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(tmp) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise WorkbookError(f"the new file is damaged ({bad}); the old file was kept", file=str(path))
        check_not_open(path)
        backup(path, workspace, keep_backups)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


@contextlib.contextmanager
def workspace_lock(workspace: str | os.PathLike, *, wait: float = 0) -> Iterator[None]:
    """Hold the workspace lock; wait up to ``wait`` seconds for another run, then refuse."""
    from filelock import FileLock, Timeout

    folder = state_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / "lock"))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise FileLockedError(
            "another crmkit run is working on this workspace; try again when it has finished "
            "(or pass --wait SECONDS)", file=str(workspace)) from None
    try:
        yield
    finally:
        lock.release()
