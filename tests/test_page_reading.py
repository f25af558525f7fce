"""The further-reading list (explainer/reading.py) and its page (app_pages/reading.py)."""
import dataclasses
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import assert_no_crash, open_page, warnings_text
from explainer.lessons.reading import APP_PAGES, KINDS, READINGS, Reading, by_kind

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ the data

def test_ten_readings_with_unique_urls_and_titles():
    assert len(READINGS) == 10
    assert all(isinstance(r, Reading) for r in READINGS)
    assert len({r.url for r in READINGS}) == 10
    assert len({(r.title, r.author) for r in READINGS}) == 10


def test_urls_are_https_with_a_host():
    for r in READINGS:
        u = urlparse(r.url)
        assert u.scheme == "https", r.url
        assert u.netloc and " " not in r.url, r.url


def test_fields_are_filled_and_valid():
    for r in READINGS:
        assert r.kind in KINDS
        assert r.app_page in {"forward", "schedules", "learning", "score", "reverse"}
        assert (ROOT / r.page_file).is_file(), r.page_file
        for field in ("title", "author", "summary", "notation"):
            assert getattr(r, field).strip(), (r.title, field)
        assert "\n" not in r.summary


def test_app_pages_match_app_py():
    pages = (ROOT / "app.py").read_text().split("st.Page(")[1:]
    for url_path, page_file in APP_PAGES.items():
        assert any(p.startswith(f'"{page_file}"') and f'url_path="{url_path}"' in p for p in pages), url_path


def test_the_ddpm_paper_is_arxiv_2006_11239():
    papers = [r for r in READINGS if r.kind == "paper"]
    assert len(papers) == 1
    assert papers[0].url == "https://arxiv.org/abs/2006.11239"
    assert papers[0].title == "Denoising Diffusion Probabilistic Models"


def test_the_ten_authors():
    authors = " ".join(r.author for r in READINGS)
    for name in ("Ari Seff", "Ryan O'Connor", "Lilian Weng", "Yang Song", "Ayan Das", "Angus Turner",
                 "Sander Dieleman", "Alexia Jolicoeur-Martineau", "Jakub Tomczak", "Ho"):
        assert name in authors


def test_readings_are_frozen_and_checked():
    with pytest.raises(dataclasses.FrozenInstanceError):
        READINGS[0].url = "https://example.com"
    with pytest.raises(ValueError):
        dataclasses.replace(READINGS[0], kind="podcast")
    with pytest.raises(ValueError):
        dataclasses.replace(READINGS[0], app_page="nowhere")


def test_by_kind():
    assert by_kind(()) == READINGS
    assert [r.kind for r in by_kind(["video"])] == ["video"]
    assert len(by_kind(["blog post", "paper"])) == 9


# ------------------------------------------------------------------ the page

def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.fixture(scope="module")
def page():
    return open_page("app_pages/reading.py")


def test_page_shows_all_ten(page):
    assert_no_crash(page)
    assert page.title[0].value == "Further reading"
    text = _markdown(page)
    for r in READINGS:
        assert f"[{r.title}]({r.url})" in text
    assert len(page.caption) >= 10


def test_filter_by_kind(page):
    page.segmented_control(key="reading_kind").set_value("paper").run()
    assert_no_crash(page)
    text = _markdown(page)
    assert "[Denoising Diffusion Probabilistic Models](https://arxiv.org/abs/2006.11239)" in text
    assert "lilianweng.github.io" not in text and "youtube.com" not in text
    assert page.query_params.get("reading_kind") in ("paper", ["paper"])

    page.segmented_control(key="reading_kind").set_value("All").run()
    text = _markdown(page)
    assert all(r.url in text for r in READINGS)


def test_bad_kind_in_the_url_falls_back_to_all():
    at = open_page("app_pages/reading.py", {"reading_kind": "podcast"})
    assert "reading_kind=podcast" in warnings_text(at)
    assert all(r.url in _markdown(at) for r in READINGS)
