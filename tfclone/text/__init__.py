"""Text front end: normalize (spoken-form English) -> g2p (CMUdict ARPAbet + fallback) -> symbol ids."""
from __future__ import annotations

from typing import List, Optional

from tfclone.text.g2p import G2P
from tfclone.text.normalize import normalize
from tfclone.text.symbols import (EOS, PAD, PHONEME_PREFIX, PUNCTUATION, SPACE, SymbolTable, TextError)


def text_to_symbols(text: str, g2p: Optional[G2P] = None) -> List[str]:
    """Raw text -> symbols. Raises TextError, quoting the text, if nothing in it can be spoken."""
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}")
    symbols = (g2p or G2P())(normalize(text, lowercase=False))
    if not any(s not in PUNCTUATION and s != SPACE for s in symbols):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise TextError(f"text {shown!r}: nothing speakable in it (no words after normalization)")
    return symbols


def text_to_ids(text: str, table: Optional[SymbolTable] = None, g2p: Optional[G2P] = None) -> List[int]:
    """Raw text -> symbol ids ending with end-of-sequence."""
    return (table or SymbolTable()).to_ids(text_to_symbols(text, g2p))


def ids_to_text(ids, table: Optional[SymbolTable] = None) -> str:
    """Ids -> a readable string: phonemes in braces ("{HH AH0 L OW1} {W ER1 L D}!"), letters as they are."""
    out, phones = [], []
    for s in (table or SymbolTable()).to_symbols(ids):
        if s.startswith(PHONEME_PREFIX):
            phones.append(s[len(PHONEME_PREFIX):])
            continue
        if phones:
            out.append("{" + " ".join(phones) + "}")
            phones = []
        out.append(s)
    if phones:
        out.append("{" + " ".join(phones) + "}")
    return "".join(out)
