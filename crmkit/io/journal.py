"""Saving several files as one unit: all of a command's changes, or none.

A ``run`` changes customers.xlsx, tasks.xlsx, campaigns.xlsx, log.xlsx
(RuleLog: what already ran) and the rule state together; ``import``,
``dedupe --apply`` and a form do the same on fewer files.  If only some of
them were written (a refused workbook, a full disk, Ctrl-C, a kill), the next
run would not see in RuleLog what it had already queued, and do it again.

:func:`save_files` writes every file of the change as one transaction:

1. **Check** every target first (:func:`precheck`): not open in Excel or
   LibreOffice, not read-only, its folder writable.
2. **Stage**: each new file is written whole into a private folder
   ``.crmkit/txn-<id>/`` (through :func:`crmkit.io.safety.replace_file`, so it
   is fsynced and checked); a workbook holding content crmkit would have to
   refuse (charts...: :mod:`crmkit.io.preserve`) is refused here.  A failure or
   interrupt here removes the folder: nothing was changed.
3. **Journal**: the list of (staged file, target, SHA-256, size, backup) is
   written to ``.crmkit/journal.json``, fsynced and renamed into place.  From
   this moment the change is decided.
4. **Rename** each staged file onto its target (atomic, same file system),
   with Ctrl-C held back until the last one; then the journal is removed.

:func:`recover` runs whenever the workspace lock is taken (every command that
writes) and when a workspace is opened: with a journal present it finishes
the renames (every staged file present and whole, or already in place), or,
if a staged file is missing or damaged, puts the previous versions back from
the backups; staging folders without a journal are removed.  So the set of
files is always either all of a change or none of it.

:func:`workspace_lock` serialises crmkit runs on one workspace (a
``filelock`` in ``.crmkit/lock``); it is re-entrant within one thread, and
while held, office lock files are waited for as long as the workspace lock
was (``--wait``).  It lives here because taking it is what finishes or
undoes an interrupted save.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import CrmkitError, FileLockedError, WorkbookError
from ..i18n import msg
from .safety import (
    backup,
    check_not_open,
    default_wait,
    fsync_dir,
    office_wait,
    sha256_of,
    state_dir,
    waiting_for_office,
    write_failed,
)

JOURNAL = "journal.json"
STAGE_PREFIX = "txn-"
VERSION = 1


@dataclass
class Item:
    """One file of a transaction: ``write(stage_path)`` produces it, or ``data`` holds its bytes."""

    target: Path
    write: Callable[[Path], object] | None = None
    data: bytes | None = None
    workbook: bool = True          # a user's workbook: prechecked, and its previous version kept as a backup


def journal_path(workspace: str | os.PathLike) -> Path:
    return state_dir(Path(workspace)) / JOURNAL


def pending(workspace: str | os.PathLike) -> bool:
    """True when an interrupted save of ``workspace`` waits to be finished or undone."""
    try:
        return journal_path(workspace).exists()
    except OSError:
        return False


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())


def _target(path: Path) -> Path:
    """The file actually replaced: a symbolic link's target (the link is kept)."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# --------------------------------------------------------------------------- 1. the precheck

def precheck(target: Path, *, workbook: bool = True, wait: float | None = None) -> None:
    """Refuse now, before anything is written, what would make writing ``target`` fail later."""
    target = _target(target)
    if target.is_dir():
        raise WorkbookError("is a folder, not a file", file=str(target))
    if workbook:
        check_not_open(target, wait=wait)
    if target.exists():
        try:
            mode = target.stat().st_mode
        except OSError as exc:
            raise WorkbookError(f"cannot read the file's permissions: {_reason(exc)}", file=str(target)) from None
        if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise WorkbookError("the file is read-only, so nothing was changed; make it writable "
                                "(file properties) and run the command again", file=str(target))
    _probe_folder(target.parent, target)
    # content crmkit would refuse to rewrite (charts, pivot tables...) is refused while staging, which
    # also comes before any target is replaced (inspecting a big workbook twice would cost seconds)


def _probe_folder(folder: Path, target: Path) -> None:
    """Raise unless a file can be created (and so renamed) in ``folder``."""
    probe = folder / f".crmkit-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileNotFoundError:
        raise WorkbookError("its folder does not exist", file=str(target)) from None
    except OSError as exc:
        raise WorkbookError(f"cannot write in its folder ({_reason(exc)}), so nothing was changed; "
                            "make the folder writable and run the command again", file=str(target)) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


# --------------------------------------------------------------------------- 2-4. the transaction

def _stage_folder(workspace: Path, target: Path, txid: str) -> Path:
    """Where ``target``'s new version is staged: ``.crmkit/txn-<id>/`` when on the same file system."""
    home = state_dir(workspace) / f"{STAGE_PREFIX}{txid}"
    try:
        if os.stat(state_dir(workspace)).st_dev == os.stat(target.parent).st_dev:
            return home
    except OSError:
        return home
    return target.parent / f".crmkit-{STAGE_PREFIX}{txid}"     # a linked workbook on another disk


def save_files(workspace: str | os.PathLike, items: Iterable[Item], *, keep_backups: int = 10,
               wait: float | None = None) -> list[Path]:
    """Write every item, all of them or none (see the module text).  Returns the targets written.

    The caller need not hold the workspace lock: it is taken here (re-entrant).
    """
    workspace = Path(workspace)
    items = [Item(_target(i.target), i.write, i.data, i.workbook) for i in items]
    if not items:
        return []
    with workspace_lock(workspace, wait=wait):
        for it in items:
            precheck(it.target, workbook=it.workbook, wait=wait)
        txid = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        folders: set[Path] = set()
        entries = []
        try:
            for n, it in enumerate(items):
                folder = _stage_folder(workspace, it.target, txid)
                folder.mkdir(parents=True, exist_ok=True)
                folders.add(folder)
                stage = folder / f"{n:02d}-{it.target.name}"
                _stage(it, stage, wait)
                entries.append({"target": str(it.target), "stage": str(stage), "sha256": sha256_of(stage),
                                "size": stage.stat().st_size, "existed": it.target.exists(),
                                "workbook": it.workbook, "backup": None})
            for it in items:
                if it.workbook:
                    check_not_open(it.target, wait=wait)
            for it, e in zip(items, entries):
                if it.workbook and it.target.exists():
                    kept = backup(it.target, workspace, keep_backups)
                    e["backup"] = None if kept is None else str(kept)
            _write_journal(workspace, {"version": VERSION, "id": txid, "pid": os.getpid(),
                                       "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "files": entries})
        except BaseException:
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        with _holding_interrupts():
            _finish(workspace, entries)
            _clear(workspace, entries)
    return [it.target for it in items]


def _stage(it: Item, stage: Path, wait: float | None) -> None:
    try:
        if it.data is not None:
            with open(stage, "xb") as fh:
                fh.write(it.data)
                fh.flush()
                os.fsync(fh.fileno())
            return
        if it.target.is_file():
            # the writer sees the current version (it may update it in place); a copy, not a link, so
            # that a writer writing into the file itself can never touch the user's workbook
            shutil.copy2(it.target, stage)
        it.write(stage)
    except OSError as exc:
        raise WorkbookError(f"cannot write the new version ({_reason(exc)}); nothing was changed",
                            file=str(it.target)) from None
    except CrmkitError as exc:
        if exc.file and Path(exc.file).parent == stage.parent:
            exc.file = str(it.target)          # name the user's workbook, not the staged copy
        raise
    if not stage.is_file():
        raise WorkbookError("the new version was not written; nothing was changed", file=str(it.target))


def _write_journal(workspace: Path, payload: dict) -> None:
    path = journal_path(workspace)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _finish(workspace: Path, entries: list[dict]) -> None:
    """Rename every staged file still waiting onto its target."""
    dirs = set()
    for e in entries:
        stage, target = Path(e["stage"]), Path(e["target"])
        if stage.exists():
            if target.exists():
                with contextlib.suppress(OSError):
                    shutil.copymode(target, stage)   # the new version keeps the old one's permissions
            os.replace(stage, target)
            dirs.add(target.parent)
    for d in dirs:
        fsync_dir(d)


def _clear(workspace: Path, entries: list[dict]) -> None:
    """Remove the journal (the change is complete or undone), then the staging folders."""
    path = journal_path(workspace)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fsync_dir(path.parent)
    for folder in {Path(e["stage"]).parent for e in entries}:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _holding_interrupts():
    """Hold Ctrl-C (SIGINT) back while the renames run; raise it once they are done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum, frame):     # noqa: ARG001
        got.append(signum)

    try:
        old = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if got:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- recovery

def recover(workspace: str | os.PathLike) -> str | None:
    """Finish or undo an interrupted save of ``workspace``; call it holding the workspace lock.

    Returns a one-line note of what was done (None when there was nothing to do).
    """
    workspace = Path(workspace)
    note = None
    path = journal_path(workspace)
    if path.exists():
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            entries = list(payload["files"])
        except (OSError, ValueError, KeyError, TypeError):
            payload, entries = None, []
        if payload is None:
            note = "an unreadable save journal was removed (.crmkit/journal.json)"
            with contextlib.suppress(OSError):
                path.unlink()
        else:
            note = _recover_entries(workspace, entries)
    _remove_orphans(workspace)
    return note


def _recover_entries(workspace: Path, entries: list[dict]) -> str:
    names = ", ".join(Path(e["target"]).name for e in entries)
    state = []
    for e in entries:
        stage, target = Path(e["stage"]), Path(e["target"])
        if stage.exists() and stage.stat().st_size == e["size"] and sha256_of(stage) == e["sha256"]:
            state.append("staged")
        elif not stage.exists() and target.exists() and sha256_of(target) == e["sha256"]:
            state.append("done")
        else:
            state.append("broken")
    if "broken" not in state:
        _finish(workspace, entries)
        _clear(workspace, entries)
        return f"finished saving an interrupted change ({names})"
    # a staged file is lost or damaged: put back the previous versions of what was already replaced
    unrestored = []
    for e, s in zip(entries, state):
        target = Path(e["target"])
        if s != "done":
            continue
        if e.get("backup") and Path(e["backup"]).exists():
            tmp = target.with_name(f".{target.name}.crmkit-restore-{os.getpid()}")
            shutil.copy2(e["backup"], tmp)
            _fsync_file(tmp)
            os.replace(tmp, target)
        elif not e.get("existed"):
            with contextlib.suppress(OSError):
                target.unlink()
        else:
            unrestored.append(target.name)
        fsync_dir(target.parent)
    _clear(workspace, entries)
    if unrestored:
        return (f"an interrupted change ({names}) could not be finished nor fully undone; check "
                f"{', '.join(unrestored)} against .crmkit/backups")
    return f"undid an interrupted change ({names}): the previous versions are back"


def _remove_orphans(workspace: Path) -> None:
    """Staging folders of a save that was interrupted before its journal was written."""
    if pending(workspace):
        return
    sd = state_dir(workspace)
    with contextlib.suppress(OSError):
        for p in sd.glob(STAGE_PREFIX + "*"):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)


def recover_or_warn(workspace: str | os.PathLike) -> None:
    """For a command that opens ``workspace``: finish or undo an interrupted save, else warn on stderr."""
    if not pending(workspace):
        return
    try:
        with workspace_lock(workspace, wait=0):
            pass              # taking the lock runs recover()
    except FileLockedError:
        warn("another crmkit command is saving this workspace right now; what is read may be "
             "from before or after its change")
    except (OSError, WorkbookError) as exc:
        warn(f"an interrupted save of this workspace could not be finished ({exc}); run a crmkit "
             "command that writes (e.g. 'crmkit run') where the folder is writable")


def warn(message: str) -> None:
    with contextlib.suppress(Exception):
        print(f"crmkit: note: {message}", file=sys.stderr)


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
    from filelock import FileLock, Timeout  # third-party, needed only by commands that write

    key = str(Path(workspace).resolve())
    counts = _held_counts()
    seconds = default_wait() if wait is None else max(0.0, float(wait))
    if counts.get(key, 0) > 0:
        counts[key] += 1
        try:
            with waiting_for_office(max(seconds, office_wait() or 0.0)):
                yield
        finally:
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
    try:
        with waiting_for_office(seconds):
            _recover(workspace)
            yield
    finally:
        counts.pop(key, None)
        lock.release()


def _recover(workspace: str | os.PathLike) -> None:
    """Finish or undo a save that was interrupted (:mod:`crmkit.io.journal`); say so on stderr."""
    note = recover(workspace)
    if note:
        warn(note)
