"""Long text -> sentences for batched synthesis: split after . ! ? ; (and line breaks), never inside
abbreviations like "Dr." or numbers like "3.5"; sentences longer than `max_chars` are cut at commas, then
at spaces, so the decoder never runs past its step limit."""
from __future__ import annotations

import re
from typing import List

_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "no", "mt", "ft", "inc", "e.g",
                  "i.e", "a.m", "p.m", "u.s"}
_BOUNDARY = re.compile(r"(?<=[.!?;])[\"')\]]*\s+|\n\s*\n|\n")


def split_sentences(text: str, max_chars: int = 200) -> List[str]:
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(text):
        head = text[start:match.start()].rstrip()
        last_word = re.findall(r"([A-Za-z.]+)\.$", head)
        if last_word and last_word[0].lower() in _ABBREVIATIONS and "\n" not in match.group(0):
            continue  # "Dr. Smith": not a boundary
        pieces.append(text[start:match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    out = []
    for piece in (p for p in pieces if p):
        out.extend(_cut(piece, max_chars))
    return out


def _cut(sentence: str, max_chars: int) -> List[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    for separator in (", ", " "):
        parts, current = [], ""
        for chunk in sentence.split(separator):
            candidate = f"{current}{separator}{chunk}" if current else chunk
            if len(candidate) > max_chars and current:
                parts.append(current + ("," if separator == ", " else ""))
                current = chunk
            else:
                current = candidate
        parts.append(current)
        if all(len(p) <= max_chars for p in parts):
            return parts
    return [sentence[i:i + max_chars] for i in range(0, len(sentence), max_chars)]
