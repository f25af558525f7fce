"""A crafted link is harmless: the URL parsers and url_state against hostile values (issue 12, section 2).

Every value below is invalid for every parser, so each must be refused with the parser's own words
(never the value quoted back), and url_state must show it only inside a code span, where Markdown
makes no link, picture, HTML, LaTeX or formatting. The browser test
tests/browser/test_crafted_links.py checks what a real browser then draws.
"""
import re
import string

import pytest
from streamlit.testing.v1 import AppTest

from explainer.app.safe_text import clean_text, code_text, escape_markdown
from explainer.app.url_state import bool_param, choice_param, float_param, int_param

EVIL = "evil.example"
HOSTILE = {
    "link in backticks": "` [Log in again](https://evil.example) `",
    "markdown link": "[Log in again](https://evil.example)",
    "reference link": "[Log in][1]\n\n[1]: https://evil.example",
    "bare URL": "https://evil.example/login",
    "www": "www.evil.example",
    "e-mail": "admin@evil.example",
    "autolink": "<https://evil.example>",
    "image": "![logo](https://evil.example/x.png)",
    "HTML": "<a href='https://evil.example'>Log in</a><img src=x onerror=alert(1)>",
    "script": "<script>alert(1)</script>",
    "entity": "&lt;b&gt;&#x3C;",
    "LaTeX href": r"$\href{https://evil.example}{Log in}$",
    "display LaTeX": "$$\n\\href{https://evil.example}{x}\n$$",
    "directives": ":red[Alert] :material/lock: :smile: :streamlit:",
    "emphasis and heading": "**bold** _it_ # head",
    "new lines": "1\n\n# Log in again\n[x](https://evil.example)",
    "backtick runs": "``` ` `` [x](https://evil.example) ``",
    "5,000 characters": "x" * 5000,
    "5,000 digits": "9" * 5000,
    "NaN": "NaN",
    "inf": "inf",
    "-inf": "-inf",
    "1e999": "1e999",
    "-1e999": "-1e999",
    "right-to-left override": "\u202egpj.exe",
    "bidi isolates": "\u2066evil\u2069\u200f\u200e",
    "NUL": "\x00",
    "empty": "",
}
PARSERS = {
    "int_param": int_param(0, 10),
    "float_param": float_param(-1.0, 1.0),
    "choice_param": choice_param([10, 50, "linear"]),
    "bool_param": bool_param,
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", HOSTILE)
def test_parsers_refuse_hostile_values_in_their_own_words(parser, name):
    raw = HOSTILE[name]
    with pytest.raises(ValueError) as info:
        PARSERS[parser](raw)
    message = str(info.value)
    assert EVIL not in message and "x" * 50 not in message and "9" * 50 not in message
    if len(raw) > 3:
        assert raw not in message


@pytest.mark.parametrize("parser, raw, expected", [
    ("int_param", "5", 5), ("int_param", " 7 ", 7), ("int_param", "1e3", 10), ("int_param", "-4", 0),
    ("int_param", "2.7", 2), ("float_param", "0.25", 0.25), ("float_param", "-7", -1.0),
    ("float_param", "1e300", 1.0), ("choice_param", "50", 50), ("choice_param", "linear", "linear"),
    ("bool_param", "yes", True), ("bool_param", "OFF", False),
])
def test_parsers_accept_and_clamp_good_values(parser, raw, expected):
    assert PARSERS[parser](raw) == expected


@pytest.mark.parametrize("name", HOSTILE)
def test_clean_text_is_one_short_visible_line(name):
    out = clean_text(HOSTILE[name], 40)
    assert len(out) <= 41
    assert not re.search("[\u200e\u200f\u202a-\u202e\u2066-\u2069\x00-\x1f]", out)
    assert out.endswith("…") == (len(HOSTILE[name]) > 40)


def _split_code_span(text: str) -> tuple[str, str, str]:
    """(before, content, after) of the first code span in `text`, following CommonMark 6.1."""
    start = re.search(r"`+", text)
    assert start, f"no code span in {text!r}"
    fence = start.group()
    # The span closes at the next backtick run of exactly the same length.
    close = re.compile(rf"(?<!`){fence}(?!`)")
    end = close.search(text, start.end())
    assert end, f"the code span never closes in {text!r}"
    return text[:start.start()], text[start.end():end.start()], text[end.end():]


@pytest.mark.parametrize("name", HOSTILE)
def test_code_text_cannot_be_closed_by_the_value(name):
    raw = HOSTILE[name]
    out = code_text(raw)
    if not clean_text(raw):
        assert out == "(empty)"
        return
    before, content, after = _split_code_span(out)
    assert before == "" and after == ""  # the whole value is inside the one code span
    assert content.strip(" ") == clean_text(raw).strip(" ")


@pytest.mark.parametrize("name", HOSTILE)
def test_escape_markdown_escapes_every_punctuation_character(name):
    out = escape_markdown(HOSTILE[name])
    i = 0
    while i < len(out):
        if out[i] == "\\":
            assert out[i + 1] in string.punctuation
            i += 2
            continue
        assert out[i] not in string.punctuation, (out, i)
        i += 1


# ------------------------------------------------------------------ url_state in a running script

def _url_state_script(parser: str):
    import streamlit as st

    from explainer.app.url_state import bool_param, choice_param, float_param, int_param, url_state

    parsers = {"int_param": int_param(0, 10), "float_param": float_param(-1.0, 1.0),
               "choice_param": choice_param([10, 50, "linear"]), "bool_param": bool_param}
    defaults = {"int_param": 3, "float_param": 0.5, "choice_param": 50, "bool_param": False}
    value = url_state("v", defaults[parser], parsers[parser])
    st.text(f"value={value!r}")


DEFAULTS = {"int_param": 3, "float_param": 0.5, "choice_param": 50, "bool_param": False}
# Every hostile value through the int parser (the fw_seed case); the others a few each.
CASES = [("int_param", n) for n in HOSTILE] + [
    (p, n) for p in ("float_param", "choice_param", "bool_param")
    for n in ("link in backticks", "LaTeX href", "HTML", "5,000 characters", "NaN", "1e999", "right-to-left override")]


@pytest.mark.parametrize("parser, name", CASES)
def test_url_state_shows_a_hostile_value_only_as_literal_text(parser, name):
    raw = HOSTILE[name]
    at = AppTest.from_function(_url_state_script, args=(parser,), default_timeout=30)
    at.query_params["v"] = raw
    at.run()
    assert not at.exception
    assert [t.value for t in at.text] == [f"value={DEFAULTS[parser]!r}"]  # the default, not the link's
    assert len(at.warning) == 1
    body = at.warning[0].value
    # "The link's value `v=<value>` was not understood (...)": the value only inside the code span.
    before, content, after = _split_code_span(body)
    assert before == "The link's value "
    assert content.strip(" ") == f"v={clean_text(raw)}".strip(" ")
    prose = before + after
    assert EVIL not in prose
    for markup in ("](", "<", ">", "$", "![", "**", ":red[", ":material/", "\n"):
        assert markup not in prose, (markup, body)
    assert len(body) < 300


def test_url_state_keeps_good_values_quietly():
    at = AppTest.from_function(_url_state_script, args=("int_param",), default_timeout=30)
    at.query_params["v"] = "7"
    at.run()
    assert not at.exception and not at.warning
    assert at.text[0].value == "value=7"
