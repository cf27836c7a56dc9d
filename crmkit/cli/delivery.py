"""The delivery commands: ``campaign``, ``send``, ``results`` and the daily ``cycle`` (issue: close the loop)."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import emit
from ..i18n import current_lang
from .common import progress_enabled, speaks_workspace


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--into", "into", type=click.Path(path_type=Path), required=True, help="The workspace folder.")
@click.option("--sheet", default=None, help="Sheet to read (default: the one whose header fits best).")
@click.option("--as-of", "as_of", default=None, help="Time of the History rows (default: Settings as_of, else now).")
@click.option("--dry-run", is_flag=True, help="Match every row and show the counts; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("into")
def results(source: Path, into: Path, sheet: str | None, as_of: str | None, dry_run: bool, as_json: bool) -> int:
    """Import an e-mail or SMS service's event export (SOURCE: .csv or .xlsx, English or Chinese headers):
    opens, clicks, conversions and revenue, bounces, unsubscribes and complaints go back to Messages."""
    from ..delivery.results import import_results

    res = import_results(source, into, dry_run=dry_run, as_of=as_of, sheet=sheet)
    emit(res.summary(), as_json, res.text())
    return res.exit_code


@click.command("campaign")
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("campaign_id")
@click.option("--dry-run", is_flag=True, help="Show the preview and what would be queued; write nothing.")
@click.option("--as-of", "as_of", default=None, metavar="DATETIME",
              help="Launch as of this time (default: Settings as_of, else now).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: campaign_id, audience, suppressed, already, queued, samples, dry_run.")
@speaks_workspace("directory")
def campaign_cmd(directory: Path, campaign_id: str, dry_run: bool, as_of: str | None, as_json: bool) -> int:
    """Queue the messages of campaign CAMPAIGN_ID for its audience (the guards and sending hours apply);
    prints the audience size, the suppressions by reason and three sample messages, then what was queued."""
    from ..delivery.campaign import launch_campaign

    plan = launch_campaign(directory, campaign_id, as_of=as_of, dry_run=dry_run)
    emit(plan.to_dict(), as_json, plan.text(current_lang()))
    return 0


@click.command("send")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Prepare every due message and check the guards; contact no server, "
                                              "write nothing.")
@click.option("--as-of", "as_of", default=None, help="Send what is due by this date/time (default: Settings as_of, "
                                                     "else now).")
@click.option("--limit", type=click.IntRange(1, None), default=None, metavar="N", help="Send at most N messages.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@speaks_workspace("directory")
def send_cmd(directory: Path, dry_run: bool, as_of: str | None, limit: int | None, as_json: bool) -> int:
    """Send the queued messages that are due (e-mail by SMTP, SMS and WeCom by webhook), each at most once;
    exit 1 when some failed or may or may not have been sent."""
    from ..delivery.send import send_messages

    res = send_messages(directory, as_of=as_of, dry_run=dry_run, limit=limit,
                        progress=progress_enabled() and not as_json)
    emit(res.as_dict(), as_json, res.text(current_lang()))
    return res.exit_code


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", default=None, metavar="DATETIME",
              help="Run as of this date/time (default: Settings as_of, else now).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: as_of, stopped, validation, run, send, rfm, reports.")
@click.option("--wait", type=click.FloatRange(0, 3600), default=None,
              help="Seconds to wait for another run on the same workspace to finish (default: refuse at once).")
@speaks_workspace("directory")
def cycle(directory: Path, as_of: str | None, as_json: bool, wait: float | None) -> int:
    """The daily job, in one locked run: validate (stop on errors), run the rules, send what is due,
    score RFM, and write the weekly or monthly report when one is due.  Schedule it with cron, a
    systemd timer or Windows Task Scheduler (README)."""
    from ..cycle import run_cycle

    result = run_cycle(directory, as_of=as_of, wait=wait, progress=progress_enabled() and not as_json)
    emit(result.as_dict(), as_json, result.text(current_lang()))
    return result.exit_code


COMMANDS = (campaign_cmd, send_cmd, results, cycle)
