"""Property tests (hypothesis): hostile input never executes code, never crashes with a Python error.

* The rule expression language, given any text or any jumble of its own
  tokens and of Python escape hatches, either compiles and evaluates to one
  boolean per row, or raises crmkit's own :class:`ExpressionError`; an audit
  hook proves no code is executed and no process, file removal or socket is
  opened meanwhile.
* Every value normaliser and every column converter, given any mix of text,
  numbers and blanks, returns one value (and one 'bad' flag) per input and
  never raises.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import normalize as nz
from crmkit import phones
from crmkit.exceptions import CrmkitError
from crmkit.rules import compiler as expr
from crmkit.schema import ENTITIES

TRIED: Counter = Counter()      # inputs tried per property (printed with -s)

# --------------------------------------------------------------------------- an audit hook

FORBIDDEN = ("exec", "os.system", "subprocess.Popen", "os.posix_spawn", "os.exec", "os.spawn", "os.fork",
             "os.remove", "os.rmdir", "shutil.rmtree", "socket.connect", "ctypes.dlopen", "builtins.input",
             "os.kill", "pty.spawn", "webbrowser.open")
_watch = {"on": False, "seen": []}


def _hook(event: str, args) -> None:
    if not _watch["on"] or not event.startswith(FORBIDDEN):
        return
    if event == "exec":
        code = args[0] if args else None
        filename = getattr(code, "co_filename", "<?>")
        if not filename.startswith("<") or _importing():
            return              # a module being imported (lazy imports, its dataclasses): not user text
    _watch["seen"].append(f"{event} {args!r:.120}")


def _importing() -> bool:
    frame = sys._getframe(2)
    for _ in range(60):
        if frame is None:
            return False
        if "importlib._bootstrap" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


sys.addaudithook(_hook)     # cannot be removed; it only records while a test turns it on


class Watching:
    def __enter__(self):
        _watch["seen"].clear()
        _watch["on"] = True
        return self

    def __exit__(self, *exc):
        _watch["on"] = False
        return False

    @property
    def events(self) -> list[str]:
        return list(_watch["seen"])


# --------------------------------------------------------------------------- a frame to evaluate over

FRAME = pd.DataFrame({
    "customer_id": pd.Series(["C1", "C2", "C3", "C4"], dtype="string"),
    "name": pd.Series(["Acme", "博达", None, "=1+1"], dtype="string"),
    "stage": pd.Series(["lead", "won", None, "negotiation"], dtype="string"),
    "intent_level": pd.Series(["A", "B", None, "A"], dtype="string"),
    "source": pd.Series(["website_form", "referral", "other", None], dtype="string"),
    "tags": pd.Series(["vip;to_reactivate", None, "x", ""], dtype="string"),
    "created_at": pd.to_datetime(["2026-01-01 00:00", "2026-11-19 08:00", None, "2025-02-28 00:00"]),
    "birthday": pd.to_datetime(["1980-11-22", None, "1992-02-29", None]),
    "marketing_consent": pd.Series([True, False, pd.NA, True], dtype="boolean"),
    "days_since_interaction": pd.Series([5, None, 200, 0], dtype="Int64"),
    "amount_30d": pd.Series([100.0, 0.0, np.nan, -5.0]),
}, index=pd.Index([2, 3, 4, 5], name="_row"))
AS_OF = pd.Timestamp("2026-11-20 10:00")

TOKENS = [
    # the language's own
    "stage", "intent_level", "source", "tags", "created_at", "birthday", "name", "customer_id",
    "marketing_consent", "days_since_interaction", "amount_30d", "客户阶段", "意向等级", "`Intent level`",
    "==", "!=", "<", "<=", ">", ">=", "and", "or", "not", "in", "(", ")", "[", "]", ",", "+", "-", "*", "/",
    '"lead"', '"A"', '"商务谈判"', '"2026-01-31"', "3", "0", "-1", "2.5", "1e308", "yes", "是", "True", "None",
    "days_since(", "days_until(", "has_tag(", "is_blank(", "changed_to(", "messages_since(", "clicked(",
    "contains(", "days_until_anniversary(", "opened_since(", "cadence_days(",
    "（", "）", "＝＝", "“", "”",
    # escape hatches that must never work
    "__import__", "__class__", "__subclasses__", "__globals__", "__builtins__", ".", "os", "system", "eval",
    "exec", "open", "lambda", ":", "x", "for", "if", "else", "yield", "await", "import", "globals", "getattr",
    "breakpoint", "{", "}", "**", "@", ";", "\\", "'", '"', "#", "\n", "`", "...", "%", "~", "|", "&", "^",
    "9" * 400,
]

payloads = st.sampled_from([
    '__import__("os").system("touch /tmp/crmkit-pwned")',
    'open("/tmp/crmkit-pwned", "w")',
    '().__class__.__bases__[0].__subclasses__()',
    'exec("import os")',
    'eval("1+1")',
    '[x for x in ().__class__.__base__.__subclasses__()]',
    'lambda: 1',
    'globals()["__builtins__"]',
    'stage == "lead" and __import__("subprocess").Popen(["id"])',
    'has_tag(__import__("os").system("id"))',
    'days_since(created_at).__class__',
    'getattr(stage, "__class__")',
    '(1).__add__(2)',
    'f"{__import__(\'os\')}"',
    'stage == "lead"; import os',
    "not " * 500 + "True",
    "(" * 300 + "1" + ")" * 300,
    "1" + "+1" * 3000,
    "",
    "   ",
    "\x00",
    "stage == '\ud800'" if False else "stage == '\u202e'",
])


def check_expression(text: str) -> None:
    with Watching() as w:
        try:
            compiled = expr.compile_expression(text)
        except CrmkitError:
            assert not w.events, w.events
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mask = compiled.evaluate(FRAME, {"as_of": AS_OF})
        except CrmkitError:
            assert not w.events, w.events
            return
    assert not w.events, w.events
    assert len(mask) == len(FRAME)
    assert list(mask.index) == list(FRAME.index)
    assert mask.dtype == bool or str(mask.dtype) == "boolean"


FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(st.text(max_size=200))
def test_any_text_compiles_or_raises_crmkits_own_error(text):
    TRIED["expression: any text"] += 1
    check_expression(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map(" ".join))
def test_any_jumble_of_tokens_evaluates_or_raises_crmkits_own_error(text):
    TRIED["expression: token jumble"] += 1
    check_expression(text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(payloads, st.sampled_from(["", " and stage == \"lead\"", " or True"]))
def test_python_escape_hatches_are_refused_and_nothing_runs(payload, tail):
    TRIED["expression: escape payloads"] += 1
    check_expression(payload + tail)
    from pathlib import Path

    assert not Path("/tmp/crmkit-pwned").exists()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=10).map(" ".join))
def test_evaluate_filter_returns_a_mask_or_raises_crmkits_own_error(text):
    TRIED["evaluate_filter"] += 1
    with Watching() as w:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mask = expr.evaluate_filter(text, FRAME, as_of=AS_OF)
        except CrmkitError:
            assert not w.events
            return
    assert not w.events
    assert len(mask) == len(FRAME)


# --------------------------------------------------------------------------- normalisers

cell = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", " ", "nan", "NaN", "None", "—", "无", "2024-02-30", "2024年13月1日", "1e400", "-0",
                     "１２３", "¥1,234.5万", "50%", "0x1F", "inf", "-inf", "9" * 40, "+86 138 0013 8000",
                     "a@b", "李@例子.公司", "是", "否", "TRUE", "1/1/1", "31/12/2024", "45000", "-1e5",
                     "=1+1", "\x00\x1f", "\ud7ff", "2024-05-01T25:61"]),
    st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
columns = st.lists(cell, min_size=0, max_size=25)

ENUM_FIELDS = [f for e in ENTITIES.values() for f in e.fields if f.enum is not None]
SOME_ENUM = ENUM_FIELDS[0].enum
BOOL_ENUM = next((f.enum for f in ENUM_FIELDS if f.type == "bool"), SOME_ENUM)


def as_text(values: list) -> pd.Series:
    """What the reader hands over: text or blank (every cell read as text)."""
    return pd.Series([None if v is None else str(v) for v in values], dtype="object")


def as_mixed(values: list) -> pd.Series:
    """What code may hand over: any Python values."""
    return pd.Series(values, dtype="object")


def one_per_input(out, n: int) -> None:
    parts = out if isinstance(out, tuple) else (out,)
    for part in parts:
        assert isinstance(part, pd.Series)
        assert len(part) == n


NORMALISERS = {
    "nfkc": lambda s: nz.nfkc(s),
    "to_number": lambda s: nz.to_number(s),
    "to_datetime": lambda s: nz.to_datetime(s),
    "to_datetime dayfirst": lambda s: nz.to_datetime(s, dayfirst=True),
    "to_enum": lambda s: nz.to_enum(s, SOME_ENUM),
    "to_bool": lambda s: nz.to_bool(s, BOOL_ENUM),
    "to_multi": lambda s: nz.to_multi(s),
    "to_id": lambda s: nz.to_id(s),
    "mask_contact": lambda s: nz.mask_contact(s),
    "split_tags": lambda s: nz.split_tags(s),
    "to_phone": lambda s: phones.to_phone(s, "CN"),
    "to_phone no region": lambda s: phones.to_phone(s, None),
    "to_email": lambda s: nz.to_email(s),
}


@pytest.mark.parametrize("name", sorted(NORMALISERS))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=columns)
def test_a_normaliser_never_crashes_on_reader_text(name, values):
    TRIED[f"normaliser {name}"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = NORMALISERS[name](as_text(values))
    one_per_input(out, len(values))


@pytest.mark.parametrize("name", sorted(NORMALISERS))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=columns)
def test_a_normaliser_never_crashes_on_mixed_python_values(name, values):
    TRIED[f"normaliser {name} (mixed)"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = NORMALISERS[name](as_mixed(values))
    one_per_input(out, len(values))


FIELD_TYPES = {}
for _ent in ENTITIES.values():
    for _f in _ent.fields:
        FIELD_TYPES.setdefault(_f.type, _f)


@pytest.mark.parametrize("ftype", sorted(FIELD_TYPES))
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=columns)
def test_every_column_type_converts_any_text_without_crashing(ftype, values):
    from crmkit.io.typing import convert_column

    TRIED[f"convert {ftype}"] += 1
    s = as_text(values)
    s.index = pd.RangeIndex(2, 2 + len(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, bad = convert_column(s, FIELD_TYPES[ftype])
    assert len(out) == len(s) and len(bad) == len(s)
    assert bad.dtype == bool or str(bad.dtype) == "boolean"
    # a value is either converted, blank, or flagged: nothing silently vanishes
    blank = nz.nfkc(s).isna().to_numpy()
    kept = out.notna().to_numpy() | bad.astype(bool).to_numpy() | blank
    assert kept.all(), [v for v, k in zip(s.tolist(), kept) if not k]
