"""The 〓 check against the embedded fonts' cmaps (domain.md §4.2, §12)."""

from __future__ import annotations

import pytest

from disclosure.pdf import fonts


def test_covered_text_is_unchanged():
    text = "山口県山口市中央1丁目2番3号　ヤマダ　ハナコ ABC-123\n髙﨑"

    assert fonts.substitute_uncovered(text) == (text, [])


@pytest.mark.parametrize(
    ("text", "printed", "replaced"),
    [
        ("\ue000田", "〓田", ["\ue000"]),  # private-use 外字
        ("葛\U000e0100城", "〓城", ["葛\U000e0100"]),  # IVS: needs IPAmj明朝
        ("辻\ufe00", "〓", ["辻\ufe00"]),  # standardized variation selector
        ("𠮷野", "〓野", ["𠮷"]),  # outside IPAex (U+20BB7)
        ("\U000e0100", "〓", ["\U000e0100"]),  # a selector with no base
    ],
)
def test_uncovered_characters_become_geta(text, printed, replaced):
    if fonts.has_ipamj() and "\U000e0100" in text:
        pytest.fail("IPAmj明朝 is installed here: this case expects the default machine without it")

    assert fonts.substitute_uncovered(text) == (printed, replaced)


def test_names_are_not_normalized():
    # U+FA10 (compatibility ideograph 塚) is in IPAex and must print as given, not as U+585A.
    assert fonts.substitute_uncovered("\ufa10本") == ("\ufa10本", [])


def test_cmaps_are_read_once_per_process():
    first = fonts.embedded_fonts()

    assert fonts.embedded_fonts() is first
    assert {f.family for f in first} >= {"IPAexMincho", "IPAexGothic"}


def test_missing_font_raises_a_clear_error(monkeypatch, tmp_path):
    # given the Mincho font is pointed at a file that does not exist
    monkeypatch.setenv("JUKINET_FONT_MINCHO", str(tmp_path / "missing.ttf"))
    fonts.embedded_fonts.cache_clear()
    fonts._coverage.cache_clear()
    try:
        # when / then
        with pytest.raises(fonts.FontMissingError, match="fonts-ipaexfont"):
            fonts.embedded_fonts()
    finally:
        monkeypatch.delenv("JUKINET_FONT_MINCHO")
        fonts.embedded_fonts.cache_clear()
        fonts._coverage.cache_clear()
