"""The boxes that app.py's safety nets show in place of a crash, read from their source.

app.py turns any exception of a page into ``st.error("Sorry, this page hit a problem (...")``, and
``explainer.app.shell.fragment`` turns one inside a fragment into
``st.error("This part of the page hit a problem (...")``.
Neither leaves an exception for a test to see, so a check that looks only for exceptions passes on a
crashed page. The page openers (tests/conftest.py) and the browser check (tests/browser/helpers.py)
look for these boxes too. The messages are read from the ``st.error`` call inside each net's
``except`` block, so a reworded message cannot make the check miss it.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parent.parent
#: (file, function or None for the whole module) of each safety net.
NETS = ((ROOT / "app.py", None), (ROOT / "explainer" / "app" / "shell.py", "fragment"))


def _net_message_start(path: Path, function: str | None) -> str:
    """The fixed start of the message of the ``st.error`` call in an ``except`` block of ``path``
    (inside ``function`` when given), up to its first formatted value."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if function is not None:
        tree = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    for handler in (n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)):
        for call in (n for n in ast.walk(handler) if isinstance(n, ast.Call)):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "error" and isinstance(f.value, ast.Name) \
                    and f.value.id == "st" and call.args:
                msg = call.args[0]
                if isinstance(msg, ast.JoinedStr):
                    msg = msg.values[0]
                if isinstance(msg, ast.Constant) and isinstance(msg.value, str) and msg.value.strip():
                    return msg.value
    raise AssertionError(f"no st.error with a message in an except block of {path.name}"
                         + (f", function {function}" if function else "") + ": has the safety net moved?")


@lru_cache(maxsize=None)
def message_starts() -> tuple[str, ...]:
    """The start of each safety net's message, e.g. ``"Sorry, this page hit a problem ("``."""
    return tuple(_net_message_start(path, function) for path, function in NETS)


def crash_boxes(texts: Iterable[str]) -> list[str]:
    """Those of ``texts`` (the texts of a page's error boxes) that a safety net wrote: a crash."""
    return [t for t in texts if any(m in t for m in message_starts())]
