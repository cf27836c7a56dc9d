"""Console output: the one way crmkit prints text to a terminal, and JSON for machines.

Customer names and file contents reach the terminal; :func:`clean_text` takes
escape sequences, control characters and bidi controls out of them first.
Used by the command line (:mod:`crmkit.cli`), the demo and the dashboard server.
"""

from __future__ import annotations

import json
import re

import click

# escape sequences (CSI, OSC/DCS/APC/PM strings, two-character ESC codes; 7-bit and 8-bit forms) and, after
# them, every other control character but tab and newline (C0, DEL, C1) and the bidi controls (overrides,
# embeddings, isolates, marks) that make text display as something else
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
                      r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
                      r"|\x1b[ -/]*[0-~]?")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def clean_text(text: object) -> str:
    """``text`` safe for a terminal: escape sequences and control characters removed (tab, newline kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def say(text: object = "", *, err: bool = False, nl: bool = True) -> None:
    """The one way the command line prints text: through :func:`clean_text`, so a customer name such
    as ``\\x1b]0;...`` or one with a right-to-left override never reaches the terminal as control codes."""
    click.echo(clean_text(text), err=err, nl=nl)


def json_text(payload: dict) -> str:
    """One JSON object; control and bidi characters JSON leaves raw are written as \\u escapes."""
    text = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def emit(payload: dict, as_json: bool, text: str | None = None) -> None:
    """Print the result: one JSON object, or the human text."""
    if as_json:
        click.echo(json_text(payload))
    elif text is not None:
        say(text)
