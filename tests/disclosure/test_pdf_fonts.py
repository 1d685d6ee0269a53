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
def test_uncovered_characters_become_geta(text, printed, replaced, monkeypatch):
    # given the fonts of a machine without IPAmj明朝 (the default: Debian does not package it)
    ipaex = [f for f in fonts.embedded_fonts() if f.family != fonts.MJ_MINCHO]
    monkeypatch.setattr(fonts, "_coverage", lambda: (frozenset().union(*(f.cmap for f in ipaex)), frozenset()))

    assert fonts.substitute_uncovered(text) == (printed, replaced)


def test_ivs_sequence_prints_when_ipamj_draws_it(monkeypatch):
    # given IPAmj明朝 whose UVS table has 葛 + U+E0100 (and no other sequence)
    code_points, _ = fonts._coverage()
    monkeypatch.setattr(fonts, "_coverage", lambda: (code_points, frozenset({(0x845B, 0xE0100)})))

    # then that sequence is kept whole, another selector on the same kanji is still 〓
    assert fonts.substitute_uncovered("葛\U000e0100城") == ("葛\U000e0100城", [])
    assert fonts.substitute_uncovered("葛\U000e0101") == ("〓", ["葛\U000e0101"])


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


def test_ivs_runs_are_marked_for_ipamj_when_it_is_installed(monkeypatch):
    # given a machine with IPAmj明朝 drawing 葛 + U+E0100
    from disclosure.pdf import render_html, samples

    code_points, _ = fonts._coverage()
    monkeypatch.setattr(fonts, "_coverage", lambda: (code_points, frozenset({(0x845B, 0xE0100)})))
    monkeypatch.setattr("disclosure.pdf.render.has_ipamj", lambda: True)

    # when
    html, substituted = render_html(samples.confirmation_sheet(name="<葛\U000e0100城>"), letterhead=samples.LETTERHEAD)

    # then the sequence is kept, drawn in IPAmj's span, and the rest is still escaped
    assert substituted == ()
    assert '&lt;<span class="mj">葛\U000e0100</span>城&gt;' in html
