"""Text from outside (a link's value, a file name, an error message) made safe to show.

No Streamlit here: plain functions that every widget which echoes text uses.
"""
from __future__ import annotations

import string
import unicodedata


# Characters dropped from text we echo: controls, format characters (the bidi overrides U+202A-202E
# and U+2066-2069, zero-width joiners), line and paragraph separators, private-use and unassigned.
_UNSHOWN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_text(text, max_chars: int = 40) -> str:
    """Text from outside (a link, a file name) as one short line of visible characters.

    Whitespace becomes a space, invisible and bidi-control characters are dropped (they can make
    'gpj.exe' read as 'exe.jpg'), and anything past `max_chars` is cut and marked with '…'.
    """
    out = []
    for ch in str(text):
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) not in _UNSHOWN:
            out.append(ch)
    line = "".join(out)
    return line if len(line) <= max_chars else line[:max_chars] + "…"


def code_text(text, max_chars: int = 40) -> str:
    """User text (a link's value, a file name) as a Markdown code span: shown literally, never as markup.

    Inside a code span Markdown makes no links (not even bare URLs, which GFM links anywhere else,
    backslash escapes or not), images, HTML, LaTeX or Streamlit directives. The fence is one backtick
    longer than any run of backticks in the text, so the text cannot close it (CommonMark 6.1).
    """
    line = clean_text(text, max_chars)
    fence = "`"
    while fence in line:
        fence += "`"
    pad = " " if line.startswith(("`", " ")) or line.endswith(("`", " ")) else ""
    return f"{fence}{pad}{line}{pad}{fence}" if line else "(empty)"


def escape_markdown(text, max_chars: int = 300) -> str:
    """A message the app or a library wrote (an error text), shown as plain words inside Markdown.

    Every ASCII punctuation character is backslash-escaped (CommonMark 2.4), so no emphasis, link,
    HTML, LaTeX or directive syntax takes effect. Bare URLs would still be linked by GFM: text that
    came from a user goes through `code_text` instead.
    """
    return "".join("\\" + ch if ch in string.punctuation else ch for ch in clean_text(text, max_chars))
