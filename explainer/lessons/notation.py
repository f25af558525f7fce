"""Notation written as plain text: subscripts for equations shown outside LaTeX, and numbers that never read 0."""
from __future__ import annotations

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")
_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sub(n) -> str:
    """An integer as Unicode subscript digits (x₂₅₀), for equations written as plain text."""
    return str(n).translate(_SUB)


def number(v: float, tex: bool = False) -> str:
    """A coefficient to four decimals (four significant digits from 1 up), and below 1e-3 or from 1e4 with its
    power of ten written out (4.900×10⁻⁵; in LaTeX 4.900\\times 10^{-5}), so a small value never prints as 0.0000."""
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}" if abs(v) >= 1 else f"{v:.4f}"
    mantissa, exponent = f"{v:.3e}".split("e")
    if tex:
        return rf"{mantissa}\times 10^{{{int(exponent)}}}"
    return f"{mantissa}×10{str(int(exponent)).translate(_SUP)}"
