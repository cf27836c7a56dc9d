"""``crmkit user DIR set-password|list|remove``: the dashboard passwords of team mode (issue 17)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..console import emit, say
from ..i18n import current_lang, msg, t
from .common import speaks_workspace


@click.group("user")
@click.argument("directory", type=click.Path(path_type=Path))
@speaks_workspace("directory")
@click.pass_context
def user(ctx: click.Context, directory: Path) -> None:
    """Dashboard sign-in passwords of the Team members of DIRECTORY (for `crmkit dashboard DIR --team`).

    Hashes (argon2) are kept in DIRECTORY/.crmkit/users.json (mode 0600), never in a workbook."""
    ctx.obj = directory


@user.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input "
                                                     "(for scripts) instead of asking twice on the terminal.")
@click.pass_obj
def set_password_cmd(directory: Path, name: str, password_stdin: bool) -> None:
    """Set or change the password of Team member NAME (inactive members are refused)."""
    from ..exceptions import UsageError
    from ..users import check_new_password, set_password, team_member

    person = team_member(directory, name)           # an unknown name is refused before asking
    if not person.active:
        raise UsageError(msg("e_user_inactive", name=person.name))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        lang = current_lang()
        password = getpass.getpass(t("user_password_prompt", lang).format(name=person.name) + " ")
        check_new_password(password)
        again = getpass.getpass(t("user_password_again", lang) + " ")
        if again != password:
            raise UsageError(msg("e_password_mismatch"))
    set_password(directory, person.name, password)
    say(msg("user_password_set", name=person.name, role=person.role).render())


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def list_cmd(directory: Path, as_json: bool) -> None:
    """List the Team members, their roles and whether each has a password."""
    from ..users import list_users

    rows = list_users(directory)
    lang = current_lang()
    yes, no = t("user_yes", lang), t("user_no", lang)
    text = "\n".join(f"{r.name}\t{r.role or '-'}\t{t('user_active', lang)}: {yes if r.active else no}\t"
                     f"{t('user_has_password', lang)}: {yes if r.has_password else no}"
                     + (f" ({r.set_at})" if r.set_at else "") for r in rows) or t("user_none", lang)
    emit({"users": [r.to_dict() for r in rows]}, as_json, text)


@user.command("remove")
@click.argument("name")
@click.pass_obj
def remove_cmd(directory: Path, name: str) -> int:
    """Remove the password of NAME: they can no longer sign in (their records stay)."""
    from ..users import remove_user

    if remove_user(directory, name):
        say(msg("user_removed", name=name).render())
        return 0
    say(msg("user_not_stored", name=name).render())
    return 1


COMMANDS = (user,)
