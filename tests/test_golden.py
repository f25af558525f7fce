"""Golden test: every page case and every CLI case of tests/golden_make.py gives exactly its stored record.

A refactoring (issue 17: the library in four layers) must not change a picture, a number or a sentence.
When a change of behaviour is intended, rewrite the records with `python tests/golden_make.py [CASE ...]`
and say so in the commit message.
"""
import json

import pytest

import golden_make as gm

PAGES = json.loads((gm.GOLDEN / "pages.json").read_text())
CLI = json.loads((gm.GOLDEN / "cli.json").read_text())


def _first_difference(got: list, want: list) -> str:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"element {i}: got {g!r}, stored {w!r}"
    return f"{len(got)} elements, stored {len(want)}"


def test_every_case_has_a_record():
    assert set(PAGES) == set(gm.PAGE_CASES) and set(CLI) == set(gm.CLI_CASES)


@pytest.mark.parametrize("name", sorted(gm.PAGE_CASES))
def test_page(name):
    got = json.loads(json.dumps(gm.page_record(name), ensure_ascii=False))  # tuples -> lists, as stored
    assert got == PAGES[name], _first_difference(got, PAGES[name])


@pytest.mark.parametrize("name", sorted(gm.CLI_CASES))
def test_cli(name):
    got = json.loads(json.dumps(gm.CLI_CASES[name]()))
    assert got == CLI[name]
