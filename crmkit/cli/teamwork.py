"""The team-mode commands: ``split`` (one workspace per member) and, later, ``merge`` (issue 17)."""

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


COMMANDS = [split_cmd]
