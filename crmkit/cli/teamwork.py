"""The team commands (issue 17): ``split`` a workspace per rep, ``merge`` a rep's workspace back."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import emit
from ..i18n import current_lang
from .common import speaks_workspace


@click.command("split")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, metavar="FOLDER",
              help="Folder receiving one workspace per member (FOLDER/<name>/).")
@click.option("--owner", "owners", multiple=True, metavar="NAME",
              help="Split for this member (repeatable; default: every active rep and manager who owns a record "
                   "or leads someone).")
@click.option("--force", is_flag=True,
              help="Replace a member's earlier split in FOLDER even though its edits may not be merged yet "
                   "(its workbooks are kept in .crmkit/backups).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: members (counts, folder), totals.")
@speaks_workspace("directory")
def split_cmd(directory: Path, out: Path, owners: tuple[str, ...], force: bool, as_json: bool) -> int:
    """Write one workspace per team member into FOLDER, holding only that member's customers and their
    interactions, orders, deals, tasks, tickets and messages (a manager: the team's); the rules, Team,
    Settings and Fields go along as read-only reference sheets, and a manifest keeps the base for crmkit merge."""
    from ..teamwork.split import split_workspace

    res = split_workspace(directory, out, owners or None, force=force)
    emit(res.as_dict(), as_json, res.text(current_lang()))
    return 0




# --------------------------------------------------------------------------- crmkit merge

@click.command("merge")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("rep_folder", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Work out the whole merge and show the counts and lists; write nothing.")
@click.option("--prefer", type=click.Choice(["main", "rep"]), default=None,
              help="Settle conflicts (a cell both sides changed differently): keep the main value, or take the "
                   "rep's. Default: list them in the conflict workbook and apply neither.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the counts and the lists.")
@speaks_workspace("directory")
def merge_cmd(directory: Path, rep_folder: Path, dry_run: bool, prefer: str | None, as_json: bool) -> int:
    """Merge the rep workspace REP_FOLDER (written by crmkit split) back into the workspace DIRECTORY, cell by
    cell against the rows as they were split: the rep's edits are applied, the main side's kept, conflicts and
    rows the rep deleted listed in <REP_FOLDER>-conflicts.xlsx, new rows imported with new IDs.  Exit 1 when
    conflicts, deleted or rejected rows are left for a person."""
    from ..teamwork.merge import merge_rep

    res = merge_rep(directory, rep_folder, dry_run=dry_run, prefer=prefer)
    emit(res.summary(), as_json, res.text())
    return res.exit_code


COMMANDS = (split_cmd, merge_cmd)
