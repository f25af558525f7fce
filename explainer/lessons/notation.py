"""Notation written as plain text: subscripts for equations shown outside LaTeX."""
from __future__ import annotations

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def sub(n) -> str:
    """An integer as Unicode subscript digits (x₂₅₀), for equations written as plain text."""
    return str(n).translate(_SUB)
