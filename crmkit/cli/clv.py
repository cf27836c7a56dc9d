"""``crmkit clv``: customer lifetime value (BG/NBD + Gamma-Gamma) written into Customers."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import emit
from ..i18n import current_lang, msg
from .common import speaks_workspace


def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """``10%`` or ``0.1`` -> 0.1 (an annual rate between 0 and 1)."""
    if value is None:
        return None
    text = value.strip()
    try:
        rate = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise click.BadParameter(msg("e_clv_rate_text")) from None
    if not 0 <= rate <= 1:
        raise click.BadParameter(msg("e_clv_rate_range"))
    return rate


@click.command("clv")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--horizon-days", "horizon_days", type=click.IntRange(0, 36_500), default=None, metavar="N",
              help="Days ahead that CLV and expected purchases cover (default: Settings clv_horizon_days, 365).")
@click.option("--discount-rate", "discount_rate", default=None, callback=_rate, metavar="RATE",
              help="Annual discount rate of future revenue, e.g. 10% or 0.1 (default: Settings clv_discount_rate).")
@click.option("--as-of", "as_of", default=None, metavar="DATE",
              help="Value the customers as of this date (default: Settings' as_of, else now).")
@click.option("--top", "top", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many top customers and calls to list.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: as_of, horizon_days, discount_rate, model, totals, top, call.")
@speaks_workspace("directory")
def clv_cmd(directory: Path, horizon_days: int | None, discount_rate: float | None, as_of: str | None, top: int,
            as_json: bool) -> int:
    """Fit BG/NBD (purchases) and Gamma-Gamma (spend) to the orders and write P(alive), expected purchases,
    expected order value and CLV into Customers; print the parameters, totals, top customers and who to call
    this week.  Exit 1 when the orders cannot be fitted (no purchases, too few repeat buyers, every amount
    the same)."""
    from ..clv import apply_clv, clv_payload, clv_text
    from ..workspace import open_workspace

    ws = open_workspace(directory)
    result = apply_clv(ws, ws.as_of(as_of), horizon_days=horizon_days, discount_rate=discount_rate)
    names = ws["customers"].set_index("customer_id")["name"]
    emit(clv_payload(result, top), as_json, clv_text(result, current_lang(), names=names, top=top))
    return 0


COMMANDS = (clv_cmd,)
