"""What a new workspace still needs before ``crmkit run`` can do anything useful.

A blank workspace (``crmkit init DIR``) has no team, no routing and its
example rules disabled.  :func:`setup_checklist` lists, in the workspace's
language, what to fill in first; ``crmkit run`` prints it and does nothing
when no rule is enabled, and prints the remaining items as notes otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .i18n import t
from .schema import ENTITIES

__all__ = ["SetupItem", "setup_checklist", "enabled_rules", "checklist_text"]


@dataclass(frozen=True)
class SetupItem:
    """One thing to fill in: ``key`` (stable code) and ``text`` (in the workspace language)."""

    key: str
    text: str

    def to_dict(self) -> dict:
        return {"key": self.key, "text": self.text}


def enabled_rules(rules: pd.DataFrame) -> pd.DataFrame:
    """The rows of a Rules frame that are enabled (a blank cell is not)."""
    if rules is None or rules.empty or "enabled" not in rules.columns:
        return rules.iloc[0:0] if rules is not None else pd.DataFrame()
    return rules[rules["enabled"].fillna(False).astype(bool).to_numpy()]


def _blank(df: pd.DataFrame | None, key: str) -> bool:
    if df is None or df.empty or key not in df.columns:
        return True
    s = df[key].astype("string").str.strip()
    return not bool((s.notna() & (s != "")).any())


def setup_checklist(ws) -> list[SetupItem]:
    """What to fill in before the rules can run usefully, in order (empty when nothing is missing)."""
    lang = ws.lang
    rules_sheet = ENTITIES["rules"].sheet_name(lang)
    enabled_header = ENTITIES["rules"].field("enabled").header(lang)
    fmt = {"rules": rules_sheet, "enabled": enabled_header, "team": ENTITIES["team"].sheet_name(lang),
           "routing": ENTITIES["routing"].sheet_name(lang), "settings": ENTITIES["settings"].sheet_name(lang)}
    items: list[SetupItem] = []
    on = enabled_rules(ws["rules"])
    if _blank(ws["team"], "name"):
        items.append(SetupItem("team", t("setup_team", lang).format(**fmt)))
    if len(on) == 0:
        items.append(SetupItem("rules", t("setup_rules", lang).format(**fmt)))
    routed = on[(on["action"].astype("string") == "assign_owner").fillna(False).to_numpy()] if len(on) else on
    if len(routed) and _blank(ws["routing"], "owner"):
        items.append(SetupItem("routing", t("setup_routing", lang).format(**fmt)))
    if len(ws["customers"]) == 0:
        items.append(SetupItem("customers", t("setup_customers", lang).format(**fmt)))
    if len(on) == 0:
        items.append(SetupItem("settings", t("setup_settings", lang).format(**fmt)))
    return items


def checklist_text(items: list[SetupItem], lang: str, *, nothing_enabled: bool) -> str:
    """The checklist as printed by ``crmkit run``."""
    head = t("setup_nothing_to_run" if nothing_enabled else "setup_before_running", lang)
    return "\n".join([head, *(f"  {i}. {item.text}" for i, item in enumerate(items, start=1))])
