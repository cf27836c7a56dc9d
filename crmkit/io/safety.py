"""The one write path for users' files (DESIGN §8).

* :func:`replace_file` writes a new file next to the old one, fsyncs it,
  checks it, keeps the previous version as a backup and atomically replaces
  the old file; an interrupted write leaves the old file untouched (a later
  write removes the temporary file it left behind).
* :func:`check_not_open` refuses while Excel or LibreOffice holds the
  workbook open (their lock files ``~$name.xlsx`` / ``.~lock.name.xlsx#``);
  it can wait a while for the lock to go away.
* :func:`workspace_lock` serialises crmkit runs on one workspace (a
  ``filelock`` in ``.crmkit/lock``); it is re-entrant within one thread, and
  while held, office lock files are waited for as long as the workspace lock
  was (``--wait``).
* :func:`neutralise_csv_cell` / :func:`neutralise_csv` defuse text that a
  spreadsheet would run as a formula when a CSV export is opened.

Waiting: every wait defaults to 0 seconds (refuse at once) unless the
command line says ``crmkit --wait SECONDS <command>``, the environment
variable ``CRMKIT_WAIT`` holds a number of seconds, or a caller passes
``wait=``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import errno
import gc
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from ..exceptions import CrmkitError, FileLockedError, OutputPathError, WorkbookError, WriteFailedError
from ..i18n import msg

STATE_DIR = ".crmkit"
BACKUP_DIR = "backups"
DEFAULT_BACKUPS = 10
WAIT_ENV = "CRMKIT_WAIT"
_POLL = 0.2

#: The wait (seconds) for office lock files inside ``workspace_lock(wait=...)``.
_office_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar("crmkit_office_wait", default=None)


def state_dir(workspace: str | os.PathLike) -> Path:
    """The hidden folder of a workspace: backups, lock, rule state."""
    return Path(workspace) / STATE_DIR


_wait_override: float | None = None


def set_default_wait(seconds: float | None) -> None:
    """Set the wait of this process (``crmkit --wait SECONDS``); None goes back to ``$CRMKIT_WAIT``."""
    global _wait_override
    _wait_override = None if seconds is None else max(0.0, float(seconds))


def default_wait() -> float:
    """Seconds to wait for a lock when the caller does not say: ``crmkit --wait``, ``$CRMKIT_WAIT``, or 0."""
    if _wait_override is not None:
        return _wait_override
    try:
        return max(0.0, float(os.environ.get(WAIT_ENV, "") or 0))
    except ValueError:
        return 0.0


def _resolve_wait(wait: float | None) -> float:
    if wait is not None:
        return max(0.0, float(wait))
    inherited = _office_wait.get()
    return inherited if inherited is not None else default_wait()


# --------------------------------------------------------------------------- office lock files

def office_lock_files(path: Path) -> list[Path]:
    """The lock files Excel (``~$name.xlsx``) and LibreOffice (``.~lock.name.xlsx#``) create."""
    path = Path(path)
    return [path.with_name("~$" + path.name), path.with_name(".~lock." + path.name + "#")]


def open_by(path: str | os.PathLike) -> Path | None:
    """The office lock file that says ``path`` is open, or None."""
    for lock in office_lock_files(Path(path)):
        if lock.exists():
            return lock
    return None


def check_not_open(path: str | os.PathLike, *, wait: float | None = None) -> None:
    """Raise :class:`FileLockedError` when the workbook is open in Excel/LibreOffice.

    With ``wait`` (seconds; default: the enclosing ``workspace_lock``'s wait,
    else ``$CRMKIT_WAIT``, else 0) the check polls until the lock file goes.
    """
    p = Path(path)
    deadline = time.monotonic() + _resolve_wait(wait)
    while True:
        lock = open_by(p)
        if lock is None:
            return
        if time.monotonic() >= deadline:
            raise FileLockedError(
                msg("e_open_in_excel", lock=lock.name), file=str(p))
        time.sleep(_POLL)


# --------------------------------------------------------------------------- temporary files

#: Ending of crmkit's temporary files: no spreadsheet program lists them as workbooks, and a
#: killed write never leaves a file that looks like a broken ``.xlsx``.
TEMP_SUFFIX = ".crmkit-tmp"
# .customers.xlsx.<pid>-<random>.crmkit-tmp (today's names)
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")
# .customers.tmp-<pid>.xlsx (names of crmkit before 2026-12: still cleaned up)
_OLD_TMP_RE = re.compile(r"^\.(?P<stem>.+)\.tmp-(?P<pid>\d+)(?P<suffix>\.[^.]*)?$")


def temp_path(path: Path) -> Path:
    """A new, empty temporary file for a write of ``path``, created exclusively next to it.

    Named ``.<name>.<pid>-<random>.crmkit-tmp``: created with ``O_EXCL``
    (:func:`tempfile.mkstemp`), so a file or link planted under a guessed
    name is never followed or overwritten; not ending in ``.xlsx``, so no
    spreadsheet program shows it as a workbook.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return Path(name)


def is_temp_name(name: str) -> bool:
    """Is ``name`` a temporary file of a crmkit write (today's names or the old ``.x.tmp-PID.xlsx``)?"""
    return bool(_TMP_RE.match(name) or _OLD_TMP_RE.match(name))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def clean_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove temporary files of interrupted writes in ``folder`` (their process is gone).

    Returns the files removed.  Files of writes still running (their pid is
    alive) are left alone.  Both today's names and the old
    ``.<stem>.tmp-<pid>.xlsx`` ones are recognised; a link is removed, never
    the file it points to.
    """
    removed = []
    folder = Path(folder)
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(".")]
    except OSError:
        return removed
    for p in candidates:
        m = _TMP_RE.match(p.name) or _OLD_TMP_RE.match(p.name)
        if not m:
            continue
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            continue
        if _pid_alive(int(m.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk; a file system that cannot is passed over."""
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


# --------------------------------------------------------------------------- backups

def backup_folder(path: Path, workspace: str | os.PathLike | None = None) -> Path:
    return state_dir(workspace if workspace is not None else Path(path).parent) / BACKUP_DIR


def backups_of(path: str | os.PathLike, workspace: str | os.PathLike | None = None) -> list[Path]:
    """The kept previous versions of ``path``, oldest first."""
    path = Path(path)
    folder = backup_folder(path, workspace)
    if not folder.is_dir():
        return []
    pat = re.compile(re.escape(path.stem) + r"\.\d{8}-\d{6}-\d{6}(-\d+)?" + re.escape(path.suffix) + "$")
    return sorted(p for p in folder.iterdir() if pat.match(p.name))


def backup(path: Path, workspace: str | os.PathLike | None = None, keep: int = DEFAULT_BACKUPS) -> Path | None:
    """Keep the current version of ``path`` in ``.crmkit/backups`` (bounded to ``keep`` per file).

    ``keep`` <= 0 keeps no backup at all.
    """
    path = Path(path)
    if not path.exists():
        return None
    folder = backup_folder(path, workspace)
    target = None
    if keep > 0:
        folder.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
        try:
            os.link(path, target)          # the old inode survives the replace: a free backup
        except OSError:
            shutil.copy2(path, target)
    olds = backups_of(path, workspace)
    for old in olds[:-keep] if keep > 0 else olds:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


# --------------------------------------------------------------------------- the write path

def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


_WRITE_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted (the file or folder is protected)",
    errno.EFBIG: "the file is too large for this file system",
    errno.EIO: "an input/output error of the disk",
}


def _os_error(exc: BaseException | None) -> OSError | None:
    """The OSError behind ``exc`` (xlsxwriter and openpyxl wrap it), or None."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _quiet(unraisable) -> None:
    """An unraisable-exception hook that says nothing (see :func:`replace_file`)."""


def write_failed(exc: BaseException, path: Path, what: str = "cannot write the file", *,
                 kept: bool = True) -> WriteFailedError:
    """A one-line, located error for a failed write (full disk, read-only file or folder...)."""
    err = _os_error(exc)
    if err is not None:
        reason = _WRITE_REASONS.get(err.errno) or (err.strerror or str(err))
    else:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    tail = "; the old file (if any) was kept unchanged" if kept else "; nothing was changed"
    return WriteFailedError(f"{what}: {reason}{tail}", file=str(path))


def check_writable(path: str | os.PathLike) -> None:
    """Refuse (:class:`WriteFailedError`) a file marked read-only (no write bit), even for root.

    A user who marks a workbook read-only protects it; crmkit honours that as
    Excel does, instead of replacing it through the folder.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222:
        raise WriteFailedError(msg("e_read_only"), file=str(p))


def replace_file(path: str | os.PathLike, produce: Callable[[Path], None], *,
                 workspace: str | os.PathLike | None = None, keep_backups: int = DEFAULT_BACKUPS,
                 verify: bool = True, wait: float | None = None) -> Path:
    """Atomically replace ``path`` with what ``produce(tmp_path)`` writes.

    The temporary file is created exclusively in the same folder (so the
    rename is atomic, and a planted file or link is never followed; see
    :func:`temp_path`), is fsynced and, for .xlsx, checked to be a readable
    zip before it replaces the old file.  The old version is kept as a
    backup.  Refuses (:class:`FileLockedError`) while the file is open in
    Excel/LibreOffice, after waiting up to ``wait`` seconds.  If anything
    fails, or the process is killed, the old file is untouched; a full disk
    or a read-only file or folder gives :class:`WriteFailedError` naming the
    file.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()          # replace the file the link points to, keep the link
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failed(exc, path.parent, "cannot create the folder", kept=False) from None
    if path.is_dir():
        raise WorkbookError(msg("e_folder_not_file"), file=str(path))
    check_writable(path)
    check_not_open(path, wait=wait)
    clean_stale_temps(path.parent)
    try:
        tmp = temp_path(path)
    except OSError as exc:
        raise write_failed(exc, path, "cannot create a file in this folder") from None
    try:
        try:
            produce(tmp)
            st = os.lstat(tmp)
            if not stat.S_ISREG(st.st_mode):
                raise WorkbookError("the temporary file was replaced by something else while it was written; "
                                    "the old file was kept", file=str(path))
            if path.exists():
                with contextlib.suppress(OSError):
                    shutil.copymode(path, tmp)     # the new version keeps the old one's permissions
            else:
                with contextlib.suppress(OSError):
                    os.chmod(tmp, 0o666 & ~_umask())
            with open(tmp, "rb+") as fh:
                fh.flush()
                os.fsync(fh.fileno())
        except CrmkitError:
            raise
        except UnicodeError as exc:          # a broken character (a lone UTF-16 surrogate) in a value
            text = getattr(exc, "object", "")
            start = getattr(exc, "start", 0)
            near = text[max(0, start - 20):start + 20] if isinstance(text, str) else ""
            raise WriteFailedError(
                "cannot write the file: a value holds a broken character (half of a UTF-16 pair, e.g. from "
                f"a damaged file) near {near.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')!r}; "
                "correct that value; the old file (if any) was kept unchanged", file=str(path)) from None
        except Exception as exc:
            if _os_error(exc) is None:
                raise
            failure = write_failed(exc, path)
            hook, sys.unraisablehook = sys.unraisablehook, _quiet
        else:
            failure = None
        if failure is not None:
            # the writer's half-closed zip file complains again when it is collected: not to the user
            try:
                gc.collect()
            finally:
                sys.unraisablehook = hook
            raise failure
        if verify and path.suffix.lower() in (".xlsx", ".xlsm"):
            try:
                with zipfile.ZipFile(tmp) as zf:
                    bad = zf.testzip()
            except zipfile.BadZipFile:
                bad = "not a zip archive"
            if bad is not None:
                raise WorkbookError(msg("e_new_file_damaged", detail=bad), file=str(path))
        check_not_open(path, wait=wait)
        try:
            backup(path, workspace, keep_backups)
        except OSError as exc:
            raise write_failed(exc, path, "cannot keep a backup of the old version") from None
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise write_failed(exc, path, "cannot replace the file") from None
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return path


# --------------------------------------------------------------------------- output files

#: The custom document property every Excel file crmkit writes as *output* (an export, a report,
#: a validation or import report) carries; its value says which kind.  An existing file is
#: overwritten without ``--force`` only when it carries this property and nobody has saved it
#: since (its core "modified" time still equals "created").
OUTPUT_PROPERTY = "crmkit_output"
#: CSV files carry no properties: crmkit records the SHA-256 of each CSV it writes in
#: ``.crmkit/outputs.json`` of the workspace; an unchanged one may be overwritten.
OUTPUTS_MANIFEST = "outputs.json"
_MANIFEST_MAX = 500


def mark_output(workbook, kind: str) -> None:
    """Mark an xlsxwriter workbook as crmkit's output (:data:`OUTPUT_PROPERTY` = ``kind``)."""
    workbook.set_custom_property(OUTPUT_PROPERTY, str(kind))


def _norm(p: Path) -> str:
    """A path with links resolved, compared without regard to case (as Windows and macOS do)."""
    return os.path.normcase(str(Path(p).expanduser().resolve())).casefold()


def _is_workspace_folder(folder: Path) -> bool:
    """Does ``folder`` hold a workspace: two of its workbooks, or one carrying crmkit's workspace mark?"""
    from ..schema import WORKBOOKS, workbook_file

    try:
        present = {p.name.casefold(): p for p in folder.iterdir()}
    except OSError:
        return False
    found = [present[n] for n in (workbook_file(w).casefold() for w in WORKBOOKS) if n in present]
    if len(found) >= 2:
        return True
    from .preserve import check_archive

    for p in found:
        try:
            with zipfile.ZipFile(p) as zf:
                check_archive(p, zf)
                core = zf.read("docProps/core.xml")
        except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, CrmkitError):
            continue
        if b">Written by crmkit<" in core and not is_crmkit_output(p):
            return True
    return False


def _workspace_files(workspace: Path) -> set[str]:
    from ..schema import WORKBOOKS, workbook_file

    return {_norm(workspace / workbook_file(w)) for w in WORKBOOKS}


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(workspace: Path) -> Path:
    return state_dir(workspace) / OUTPUTS_MANIFEST


def _read_manifest(workspace: Path) -> dict[str, str]:
    import json

    try:
        data = json.loads(_manifest(workspace).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_output(path: str | os.PathLike, workspace: str | os.PathLike | None) -> None:
    """Remember the fingerprint of an output file crmkit just wrote (for CSV files, which carry no mark)."""
    import json

    if workspace is None:
        return
    ws = Path(workspace)
    if not ws.is_dir():
        return
    with contextlib.suppress(OSError):
        data = _read_manifest(ws)
        data.pop(_norm(Path(path)), None)
        data[_norm(Path(path))] = sha256_of(Path(path))
        while len(data) > _MANIFEST_MAX:
            data.pop(next(iter(data)))
        target = _manifest(ws)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{OUTPUTS_MANIFEST}.{os.getpid()}-", suffix=TEMP_SUFFIX,
                                   dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def is_crmkit_output(path: str | os.PathLike, workspace: str | os.PathLike | None = None) -> bool:
    """Is the existing file ``path`` an output crmkit wrote, unchanged since?

    An Excel file: it carries the custom property :data:`OUTPUT_PROPERTY` and
    its "modified" time is still its "created" time (Excel and LibreOffice
    change it when they save).  Any file written for a workspace: its
    SHA-256 is the one crmkit recorded in the workspace's
    ``.crmkit/outputs.json`` when it wrote it (this decides when recorded).
    """
    p = Path(path)
    if workspace is not None:
        recorded = _read_manifest(Path(workspace)).get(_norm(p))
        if recorded:                   # crmkit wrote it here: it is ours exactly while it is unchanged
            try:
                return sha256_of(p) == recorded
            except OSError:
                return False
    from .preserve import _element_text, check_archive

    try:
        with zipfile.ZipFile(p) as zf:
            check_archive(p, zf)
            names = set(zf.namelist())
            if "docProps/custom.xml" not in names or "docProps/core.xml" not in names:
                return False
            custom = zf.read("docProps/custom.xml")
            core = zf.read("docProps/core.xml")
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, CrmkitError):
        return False
    if f'name="{OUTPUT_PROPERTY}"'.encode() not in custom:
        return False
    created = _element_text(core, b"dcterms:created")
    modified = _element_text(core, b"dcterms:modified")
    return bool(created and modified and created.strip() == modified.strip())


def check_output_path(path: str | os.PathLike, *, workspace: str | os.PathLike | None = None,
                      inputs: Iterable[str | os.PathLike] = (), force: bool = False,
                      option: str = "--out") -> Path:
    """Refuse an output path that would destroy the user's data; return the path.

    Every command that writes an output file (``export --out``, ``report
    --out``, ``validate --report``, ``import --report``) checks its path here
    before it starts.  Refused (:class:`OutputPathError`, exit 2):

    * a workbook of a workspace (``customers.xlsx``, ``tasks.xlsx``,
      ``campaigns.xlsx``, ``rules.xlsx``, ``log.xlsx`` of ``workspace``, or
      of any folder that is a workspace), or a file in its ``.crmkit``
      folder, links resolved and letter case ignored, even with ``force``;
    * a file the command reads (``inputs``), even with ``force``;
    * any other existing file that crmkit did not write as output
      (:func:`is_crmkit_output`), unless ``force``.
    """
    p = Path(path)
    try:
        target = _norm(p)
        resolved = Path(p).expanduser().resolve()
    except (OSError, RuntimeError) as exc:        # a link loop
        raise OutputPathError(msg("e_out_resolve", option=option, detail=str(exc)), file=str(p)) from None
    if resolved.is_dir():
        raise OutputPathError(msg("e_out_is_folder", option=option), file=str(p))
    workspaces = [Path(workspace)] if workspace is not None and Path(workspace).is_dir() else []
    if _is_workspace_folder(resolved.parent):
        workspaces.append(resolved.parent)
    for ws in workspaces:
        if target in _workspace_files(ws):
            raise OutputPathError(msg("e_out_workspace", option=option, workspace=str(ws)), file=str(p))
        state = _norm(state_dir(ws))
        if target.startswith(state + os.sep.casefold()) or target == state:
            raise OutputPathError(msg("e_out_state", option=option, folder=STATE_DIR), file=str(p))
    for src in inputs:
        if src is None:
            continue
        s = Path(src)
        same = _norm(s) == target
        if not same and s.exists() and resolved.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(s, resolved)
        if same:
            raise OutputPathError(msg("e_out_input", option=option), file=str(p))
    if resolved.exists() and not force and not any(is_crmkit_output(resolved, ws) for ws in workspaces or [None]):
        raise OutputPathError(msg("e_out_foreign", option=option), file=str(p))
    return p


# --------------------------------------------------------------------------- the workspace lock

_held = threading.local()


def _held_counts() -> dict[str, int]:
    if not hasattr(_held, "counts"):
        _held.counts = {}
    return _held.counts


def holds_workspace_lock(workspace: str | os.PathLike) -> bool:
    """True when this thread holds the lock of ``workspace``."""
    return _held_counts().get(str(Path(workspace).resolve()), 0) > 0


@contextlib.contextmanager
def workspace_lock(workspace: str | os.PathLike, *, wait: float | None = None) -> Iterator[None]:
    """Hold the workspace lock; wait up to ``wait`` seconds for another run, then refuse.

    Re-entrant: a thread that already holds the lock gets it again at once.
    While held, writes wait up to the same time for a workbook that is open
    in Excel.  ``wait=None`` (the default) means ``$CRMKIT_WAIT``, else 0:
    refuse at once with a clear message.
    """
    from filelock import FileLock, Timeout

    key = str(Path(workspace).resolve())
    counts = _held_counts()
    seconds = default_wait() if wait is None else max(0.0, float(wait))
    if counts.get(key, 0) > 0:
        counts[key] += 1
        token = _office_wait.set(max(seconds, _office_wait.get() or 0.0))
        try:
            yield
        finally:
            _office_wait.reset(token)
            counts[key] -= 1
        return
    folder = state_dir(workspace)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failed(exc, folder, "cannot create the workspace lock folder", kept=False) from None
    lock = FileLock(str(folder / "lock"))
    try:
        lock.acquire(timeout=seconds, poll_interval=0.05)
    except Timeout:
        raise FileLockedError(
            msg("e_workspace_busy"), file=str(workspace)) from None
    except OSError as exc:
        raise write_failed(exc, folder / "lock", "cannot create the workspace lock", kept=False) from None
    counts[key] = 1
    token = _office_wait.set(seconds)
    try:
        _recover(workspace)
        yield
    finally:
        _office_wait.reset(token)
        counts.pop(key, None)
        lock.release()


def _recover(workspace: str | os.PathLike) -> None:
    """Finish or undo a save that was interrupted (:mod:`crmkit.io.journal`); say so on stderr."""
    from .journal import recover, warn

    note = recover(workspace)
    if note:
        warn(note)


# --------------------------------------------------------------------------- formula injection

#: Characters that make a spreadsheet treat a typed cell as a formula
#: (=, +, -, @; tab and carriage return start a formula in some programs too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
#: a phone number as crmkit writes it, masked or not: +8613700137000, +86 137 0013 7000, +120****0123,
#: +15108637227 ext. 152.  Only digits, spaces and stars after the +: no name, call or reference can start.
_PHONE_CELL = re.compile(r"^\+[0-9][0-9 *]*(?: ext\. [0-9]{1,6})?$")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would run as a formula.

    ``= + - @`` (or a tab / carriage return) first, except a plain number
    (``-5``, ``+8613800000000``, ``1e3``) or a phone number as crmkit
    writes it (``+86 137 0013 7000``, ``+120****0123``, ``+15108637227 ext. 152``).
    ``=1+1``, ``+cmd|' /C calc'!A0``, ``-2+3``, ``@SUM(A1)`` and ``\t=1`` are formulas.
    """
    if not isinstance(value, str) or not value:
        return False
    if not value.startswith(FORMULA_START):
        return False
    return not (_PLAIN_NUMBER.match(value.strip()) or _PHONE_CELL.match(value))


def neutralise_text(value: object) -> object:
    """``value`` with a ``'`` in front when it :func:`looks_like_formula` (anything else as it is)."""
    return "'" + value if looks_like_formula(value) else value


def neutralise_csv_cell(series: pd.Series) -> pd.Series:
    """Defuse formula injection in one column of a CSV export.

    Text that :func:`looks_like_formula` gets a single quote ``'`` in front,
    so Excel, LibreOffice and Google Sheets show it as text instead of
    running it (``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``).  Plain
    numbers (``-5``, ``+8613800000000``) and phone numbers (``+86 138 0013
    8000``, masked ``+120****0123``) are left as they are, so no visible
    ``'`` appears where no formula could start; non-text values are
    untouched.  Use it only for CSV: in .xlsx crmkit writes such values as
    text cells, which is safe.  Returns a new Series (object dtype kept as
    is; string dtype stays string).
    """
    if series.empty:
        return series.copy()
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series.copy()
    text = series.astype("string")
    starts = text.str.slice(0, 1).isin(list(FORMULA_START)).fillna(False).astype(bool)
    isstr = series.map(lambda v: isinstance(v, str)).astype(bool) if series.dtype == object else starts
    mask = starts & isstr
    if mask.any():
        safe = (text[mask].str.strip().str.fullmatch(_PLAIN_NUMBER.pattern[1:-1]).fillna(False).astype(bool)
                | text[mask].str.fullmatch(_PHONE_CELL.pattern[1:-1]).fillna(False).astype(bool))
        mask.loc[safe[safe].index] = False
    if not mask.any():
        return series.copy()
    out = series.copy()
    out.loc[mask] = "'" + text[mask]
    return out


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_csv_cell` applied to every text column of ``df``, and to the header cells (a copy)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out[c] = neutralise_csv_cell(col)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out
