"""What a ``crmkit send`` run did (or, dry, would do): counts for ``--json`` and text in the workspace language."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from ..i18n import t
from ..schema import CHANNEL, MESSAGE_STATUS
from .guards import reason_label

#: how many messages a dry run shows, and how many failures and ids the text lists
PREVIEW = 5
LISTED = 10


@dataclass
class SendSummary:
    """Counts of one send run; :meth:`as_dict` is the ``--json`` payload, :meth:`text` the printed summary."""

    as_of: pd.Timestamp
    dry_run: bool
    lang: str = "en"
    due: int = 0
    sent: int = 0
    failed: int = 0
    would_send: int = 0
    suppressed: Counter = field(default_factory=Counter)     # reason code -> messages
    deferred: Counter = field(default_factory=Counter)       # reason code -> messages (still queued)
    left_sending: list[str] = field(default_factory=list)    # may or may not have gone: a person decides
    recovered: int = 0                                       # outcomes applied from the outcome log
    recovered_by: Counter = field(default_factory=Counter)   # sent / failed / queued
    restored: Counter = field(default_factory=Counter)       # queued rows set back from the sent ledger: sent / sending
    duplicate_ids: list[str] = field(default_factory=list)   # due messages not sent: their ID is on several rows
    by_channel: dict[str, Counter] = field(default_factory=dict)
    next_window: pd.Timestamp | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)   # (message id, reason)
    channel_errors: dict[str, str] = field(default_factory=dict)    # channel -> why nothing can go (Settings)
    preview: list[dict] = field(default_factory=list)

    def channel(self, code: str) -> Counter:
        return self.by_channel.setdefault(code, Counter())

    @property
    def exit_code(self) -> int:
        """1 when a message failed or may or may not have been sent; else 0."""
        return 1 if self.failed or self.left_sending else 0

    def as_dict(self) -> dict:
        keys = ("sent", "failed", "suppressed", "deferred", "would_send")
        out = {
            "as_of": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "due": self.due,
            "sent": self.sent,
            "failed": self.failed,
            "suppressed": dict(self.suppressed),
            "deferred": dict(self.deferred),
            "left_sending": list(self.left_sending),
            "recovered": self.recovered,
            "recovered_by": dict(self.recovered_by),
            "restored_from_ledger": dict(self.restored),
            "duplicate_ids": list(self.duplicate_ids),
            "by_channel": {ch: {k: int(c.get(k, 0)) for k in keys if k != "would_send" or self.dry_run}
                           for ch, c in sorted(self.by_channel.items())},
            "next_window": None if self.next_window is None else pd.Timestamp(self.next_window).isoformat(),
            "failures": [{"message_id": i, "reason": r} for i, r in self.failures],
            "channel_errors": dict(self.channel_errors),
        }
        if self.dry_run:
            out["would_send"] = self.would_send
            out["preview"] = [dict(p) for p in self.preview]
        return out

    def text(self, lang: str | None = None) -> str:
        lang = lang or self.lang
        colon = "：" if lang == "zh" else ": "
        lines = [t("send_title", lang).format(as_of=f"{self.as_of:%Y-%m-%d %H:%M}")
                 + (t("send_dry", lang) if self.dry_run else "")]
        if self.recovered:
            lines.append(t("send_recovered_dry" if self.dry_run else "send_recovered", lang).format(n=self.recovered, what=self._pairs(
                {MESSAGE_STATUS.label(k, lang): n for k, n in self.recovered_by.items()}, lang)))
        if self.restored:
            lines.append(t("send_restored_dry" if self.dry_run else "send_restored", lang).format(
                n=sum(self.restored.values()), what=self._pairs(
                    {MESSAGE_STATUS.label(k, lang): n for k, n in self.restored.items()}, lang)))
        if not self.due:
            lines.append(t("send_nothing_due", lang))
        else:
            lines.append(t("send_counts", lang).format(
                due=self.due, sent=self.sent, failed=self.failed, suppressed=sum(self.suppressed.values()),
                deferred=sum(self.deferred.values())))
        if self.dry_run and self.due:
            lines.append(t("send_would", lang).format(n=self.would_send))
        if self.suppressed:
            lines.append(t("send_suppressed", lang) + colon + self._pairs(
                {reason_label(k, lang): n for k, n in self.suppressed.items()}, lang))
        if self.deferred:
            lines.append(t("send_deferred", lang) + colon + self._pairs(
                {t('send_deferred_' + k, lang): n for k, n in self.deferred.items()}, lang))
        if self.by_channel and self.due:
            parts = []
            for ch, c in sorted(self.by_channel.items()):
                counts = {(t("send_would_word", lang) if k == "would_send" else MESSAGE_STATUS.label(k, lang)
                           if k != "deferred" else t("send_deferred_word", lang)): n
                          for k, n in c.items() if n and (k != "would_send" or self.dry_run)}
                if counts:
                    parts.append(f"{CHANNEL.label(ch, lang)} " + self._pairs(counts, lang))
            if parts:
                lines.append(t("send_by_channel", lang) + colon + ("；" if lang == "zh" else "; ").join(parts))
        for mid, reason in self.failures[:LISTED]:
            lines.append(f"  {t('send_failed_one', lang)} {mid}{colon}{reason}")
        if len(self.failures) > LISTED:
            lines.append(f"  ... (+{len(self.failures) - LISTED})")
        for p in self.preview:
            head = " · ".join(str(x) for x in (p["message_id"], CHANNEL.label(p["channel"], lang), p["address"] or "-",
                                                 p["subject"] or "-") if x is not None)
            body = " ".join(str(p["content"]).split())
            lines.append(f"  {head}: {body[:80]}{'…' if len(body) > 80 else ''}")
            if p.get("unsubscribe"):
                lines.append(f"      List-Unsubscribe: {p['unsubscribe']}")
        if self.duplicate_ids:
            shown = ", ".join(self.duplicate_ids[:LISTED]) + (" ..." if len(self.duplicate_ids) > LISTED else "")
            lines.append(t("send_duplicate_ids", lang).format(n=len(self.duplicate_ids), ids=shown))
        for ch, reason in sorted(self.channel_errors.items()):
            lines.append(t("send_channel_error", lang).format(channel=CHANNEL.label(ch, lang), reason=reason))
        if self.left_sending:
            shown = ", ".join(self.left_sending[:LISTED]) + (" ..." if len(self.left_sending) > LISTED else "")
            lines.append(t("send_left_sending", lang).format(n=len(self.left_sending), ids=shown))
        if self.next_window is not None:
            lines.append(t("send_next_window", lang).format(at=f"{pd.Timestamp(self.next_window):%Y-%m-%d %H:%M}"))
        return "\n".join(lines)

    @staticmethod
    def _pairs(counts: dict, lang: str) -> str:
        sep = "，" if lang == "zh" else ", "
        return sep.join(f"{k} {n}" for k, n in counts.items())

    def __repr__(self) -> str:
        return (f"<SendSummary as_of={self.as_of} dry_run={self.dry_run} due={self.due} sent={self.sent} "
                f"failed={self.failed} left_sending={len(self.left_sending)}>")
