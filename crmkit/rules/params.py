"""Action parameters: ``key=value`` pairs separated by ``;`` in one Excel cell.

>>> parse_params('title="First follow-up; today"; due=30m; to=owner')
{'title': 'First follow-up; today', 'due': '30m', 'to': 'owner'}

Values may be quoted with ``"``, ``'`` or Chinese quotes “…”; a quoted value
may hold ``;`` and ``=``.  Full-width ``；`` and ``＝`` are accepted as
separators, as typed by a Chinese input method.  Durations (``30m``, ``4h``,
``3d``, ``1w``) are read by :func:`duration`.
"""

from __future__ import annotations

import pandas as pd

from ..exceptions import ExpressionError, ValidationError
from ..i18n import Msg, msg, word
from ..settings import parse_duration

_OPEN_CLOSE = {'"': '"', "'": "'", "“": "”", "‘": "’"}
_SEPARATORS = (";", "；", "\n")
_EQUALS = ("=", "＝")


def parse_params(text: object, *, rule_id: str | None = None) -> dict[str, str]:
    """Parse ``key=value; key="quoted; value"`` into a dict (keys lower-cased).

    Raises :class:`ExpressionError` with the 1-based position of the problem.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return {}
    s = str(text)
    out: dict[str, str] = {}
    i, n = 0, len(s)
    while i < n:
        # skip separators and blanks
        while i < n and (s[i].isspace() or s[i] in _SEPARATORS):
            i += 1
        if i >= n:
            break
        start = i
        while i < n and s[i] not in _EQUALS and s[i] not in _SEPARATORS:
            i += 1
        key = s[start:i].strip().lower()
        if i >= n or s[i] in _SEPARATORS:
            raise _error(msg("e_p_expected_kv", found=repr(s[start:i].strip())), s, start, rule_id)
        if not key:
            raise _error("a parameter has no name before '='", s, start, rule_id)
        i += 1  # past '='
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] in _OPEN_CLOSE:
            close = _OPEN_CLOSE[s[i]]
            qstart = i
            i += 1
            buf = []
            while i < n and s[i] != close:
                buf.append(s[i])
                i += 1
            if i >= n:
                raise _error("quoted value is never closed", s, qstart, rule_id)
            i += 1
            value = "".join(buf)
            while i < n and s[i] in " \t":
                i += 1
            if i < n and s[i] not in _SEPARATORS:
                raise _error("expected ';' after a quoted value", s, i, rule_id)
        else:
            vstart = i
            while i < n and s[i] not in _SEPARATORS:
                i += 1
            value = s[vstart:i].strip()
        out[key] = value
    return out


def _error(detail: str, text: str, index: int, rule_id: str | None) -> ExpressionError:
    return ExpressionError(msg("e_params", detail=detail if isinstance(detail, Msg) else word(detail)),
                           expression=text, position=index + 1, rule_id=rule_id)


def duration(value: object, *, name: str = "due", rule_id: str | None = None) -> pd.Timedelta:
    """A duration parameter (``30m``, ``4h``, ``3d``, ``1w``) as a Timedelta."""
    try:
        return parse_duration(value)
    except ValidationError as exc:
        raise ExpressionError(msg("e_p_named", name=name, detail=exc.message), rule_id=rule_id) from None


def flag(value: object, default: bool = False) -> bool:
    """A yes/no parameter."""
    if value is None:
        return default
    s = str(value).strip().lower()
    if s in ("yes", "y", "true", "1", "是", "on"):
        return True
    if s in ("no", "n", "false", "0", "否", "off"):
        return False
    return default
