"""Message templates: ``{field}`` placeholders filled by Jinja's sandbox.

A campaign's or a rule's content is user text.  It is never run through
``str.format`` (which reaches attributes: ``{x.__class__}``) nor ``eval``:

* :class:`MessageTemplate` reads the text once.  Each ``{...}`` is a field,
  by its key, English header or Chinese header (``{name}``, ``{Contact}``,
  ``{联系人}``), optionally followed by Jinja filters
  (``{contact_name|default("customer")}``).  ``{{`` and ``}}`` stand for
  literal braces.  A name that is no field raises :class:`TemplateError` at
  once, so a preview finds it and no half-rendered message is ever queued.
* The literal text between placeholders is handed to the template as data,
  not as template source, so nothing a user types can become template code.
* Rendering uses :class:`jinja2.sandbox.SandboxedEnvironment` with
  ``StrictUndefined``: filters cannot reach Python internals, and a value that
  is missing is an error, not an empty string.

Example::

    >>> tpl = MessageTemplate("Hello {name}, {{gift}} inside", {"name": "name"}.get)
    >>> tpl.render({"name": "Acme"})
    'Hello Acme, {gift} inside'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

import pandas as pd

from ..exceptions import TemplateError
from ..i18n import msg

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


@lru_cache(maxsize=1)
def _env():
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                                finalize=lambda v: "" if v is None else v)


class MessageTemplate:
    """A content template read once and rendered for many records.

    ``resolve`` maps a typed placeholder name to a column key (None: unknown);
    ``known`` lists names to suggest when one is unknown.
    """

    def __init__(self, text: object, resolve: Callable[[str], str | None], *, known: Iterable[str] = ()):
        self.text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
        self.fields: list[str] = []          # the column keys used, in order of first use
        literals: dict[str, str] = {}
        source: list[str] = []
        buf: list[str] = []

        def flush():
            if buf:
                name = f"_l{len(literals)}"
                literals[name] = "".join(buf)
                source.append("{{ " + name + " }}")
                buf.clear()

        pos = 0
        for m in _TOKEN.finditer(self.text):
            buf.append(self.text[pos:m.start()])
            pos = m.end()
            tok = m.group(0)
            if tok in ("{{", "}}"):
                buf.append(tok[0])
                continue
            inner = m.group(1)
            name, bar, filters = inner.partition("|")
            name = name.strip()
            if not name:
                raise TemplateError(msg("e_tpl_empty", pos=m.start() + 1), value=self.text)
            key = resolve(name)
            if key is None:
                raise TemplateError(msg("e_tpl_field", name=name, known=", ".join(list(known)[:12]) or "-"),
                                    value=self.text)
            if key not in self.fields:
                self.fields.append(key)
            flush()
            source.append("{{ f" + str(self.fields.index(key)) + (" | " + filters.strip() if bar else "") + " }}")
        buf.append(self.text[pos:])
        flush()
        self._literals = literals
        self._plain = all("|" not in s for s in source)
        from jinja2 import TemplateSyntaxError

        try:
            self._template = _env().from_string("".join(source))
        except TemplateSyntaxError as exc:
            raise TemplateError(msg("e_tpl_syntax", detail=exc.message or str(exc)), value=self.text) from None

    def render(self, values: Mapping[str, object], *, record: str = "") -> str:
        """The text for one record; ``values`` maps each key in :attr:`fields` to its display text."""
        ctx = dict(self._literals)
        for i, key in enumerate(self.fields):
            v = values.get(key)
            ctx[f"f{i}"] = "" if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)) \
                else v
        try:
            return self._template.render(ctx)
        except Exception as exc:  # noqa: BLE001 - a filter's error (sandbox refusal, bad argument) for this record
            raise TemplateError(msg("e_tpl_render", record=record or "-", detail=str(exc)), value=self.text) \
                from None

    def render_frame(self, values: pd.DataFrame, *, ids: pd.Series | None = None) -> pd.Series:
        """One text per row of ``values`` (columns: the keys in :attr:`fields`, as display text)."""
        cols = [values[k].tolist() if k in values.columns else [None] * len(values) for k in self.fields]
        labels = ids.astype("string").fillna("").tolist() if ids is not None else [""] * len(values)
        out = [self.render(dict(zip(self.fields, row, strict=True)), record=labels[i])
               for i, row in enumerate(zip(*cols, strict=True))] if cols else [self.render({})] * len(values)
        return pd.Series(out, index=values.index, dtype="object")


def render_value(template: str, values: Mapping[str, object]) -> str:
    """Fill ``{key}`` placeholders of a short settings template (a webhook body string) from ``values``."""
    return MessageTemplate(template, lambda n: n if n in values else None, known=values).render(values)
