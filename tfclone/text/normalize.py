"""English text normalization: numbers, money, times, years, abbreviations and unicode punctuation -> words.

The order matters: money, percentages and times contain digits that the plain number rules would
otherwise read first. Number words come from `num2words` (a maintained library) with hyphens spaced out.
"""
from __future__ import annotations

import re
import unicodedata

from num2words import num2words

_UNICODE_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": " - ", "\u2014": " - ", "\u2015": " - ", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}

# (pattern, replacement); matched case-sensitively so that "St." before a name is not "st." in a word.
_ABBREVIATIONS = [
    (r"\bMrs\.", "misses"), (r"\bMr\.", "mister"), (r"\bMs\.", "miz"), (r"\bDr\.", "doctor"),
    (r"\bProf\.", "professor"), (r"\bSt\.(?=\s+[A-Z])", "saint"), (r"\bSt\.", "street"),
    (r"\bJr\.", "junior"), (r"\bSr\.", "senior"), (r"\bCapt\.", "captain"), (r"\bGen\.", "general"),
    (r"\bLt\.", "lieutenant"), (r"\bCol\.", "colonel"), (r"\bSgt\.", "sergeant"), (r"\bMt\.", "mount"),
    (r"\bFt\.", "fort"), (r"\bAve\.", "avenue"), (r"\bRd\.", "road"), (r"\bCo\.", "company"),
    (r"\bInc\.", "incorporated"), (r"\bLtd\.", "limited"), (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bvs\.", "versus"), (r"\betc\.", "et cetera"), (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"), (r"\bapprox\.", "approximately"), (r"\bDept\.", "department"),
]

_CURRENCIES = {  # symbol: (unit singular, unit plural, sub-unit singular, sub-unit plural)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", "sen", "sen"),
}
_SCALES = r"(?:hundred|thousand|million|billion|trillion)"

_MONEY_RE = re.compile(r"([$£€¥])\s?(\d[\d,]*(?:\.\d+)?)(?:\s?(" + _SCALES + r"))?\b", re.IGNORECASE)
_PERCENT_RE = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\s?%")
# "a.m." swallows its own final dot; "am"/"pm" leave a following full stop alone.
_TIME_RE = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?:\s?([ap])(\.)?\s?m\b(?(4)\.?))?", re.IGNORECASE)
_HOUR_RE = re.compile(r"\b(1[0-2]|0?[1-9])\s?([ap])(\.)?\s?m\b(?(3)\.?)", re.IGNORECASE)
_ORDINAL_RE = re.compile(r"\b(\d[\d,]*)(st|nd|rd|th)\b", re.IGNORECASE)
_YEAR_RE = re.compile(r"(?<![\d.,])\b(1[1-9]\d\d|20\d\d)s?\b(?![.,]\d)")
_SEPARATED_RE = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
_DECIMAL_RE = re.compile(r"(?<![\d.])(-)?(\d+)\.(\d+)\b")
_NUMBER_RE = re.compile(r"(?<![\w.])(-)?(\d+)\b")
_WHITESPACE_RE = re.compile(r"\s+")


def _words(text: str) -> str:
    return text.replace("-", " ").replace(",", "")


def _cardinal(number: int) -> str:
    return _words(num2words(number))


def _money(match: re.Match) -> str:
    symbol, amount, scale = match.group(1), match.group(2).replace(",", ""), match.group(3)
    unit, units, sub, subs = _CURRENCIES[symbol]
    if scale:  # "$5 million" -> "five million dollars"
        return f"{_number_words(amount)} {scale.lower()} {units}"
    whole, _, fraction = amount.partition(".")
    whole_value = int(whole)
    cents = int(round(float("0." + fraction) * 100)) if fraction else 0
    parts = []
    if whole_value or not cents:
        parts.append(f"{_cardinal(whole_value)} {unit if whole_value == 1 else units}")
    if cents:
        parts.append(f"{_cardinal(cents)} {sub if cents == 1 else subs}")
    return " and ".join(parts)


def _number_words(text: str) -> str:
    text = text.replace(",", "")
    if "." in text:
        whole, fraction = text.split(".", 1)
        return f"{_cardinal(int(whole or 0))} point {' '.join(_cardinal(int(d)) for d in fraction)}"
    return _cardinal(int(text))


def _percent(match: re.Match) -> str:
    value = match.group(1)
    sign = "minus " if value.startswith("-") else ""
    return f"{sign}{_number_words(value.lstrip('-'))} percent"


def _time(match: re.Match) -> str:
    hour, minute, half = int(match.group(1)), int(match.group(2)), match.group(3)
    if minute == 0:
        spoken = f"{_cardinal(hour)}" + ("" if half else " o'clock")
    elif minute < 10:
        spoken = f"{_cardinal(hour)} oh {_cardinal(minute)}"
    else:
        spoken = f"{_cardinal(hour)} {_cardinal(minute)}"
    return spoken + (f" {half.lower()} m" if half else "")


def _hour(match: re.Match) -> str:
    return f"{_cardinal(int(match.group(1)))} {match.group(2).lower()} m"


def _ordinal(match: re.Match) -> str:
    return _words(num2words(int(match.group(1).replace(",", "")), to="ordinal"))


def _year(match: re.Match) -> str:
    text = match.group(0)
    plural = text.endswith("s")
    words = _words(num2words(int(text.rstrip("s")), to="year"))
    if plural:  # "1990s" -> "nineteen nineties"
        words = re.sub(r"y$", "ies", words) if words.endswith("y") else words + "s"
    return words


def _decimal(match: re.Match) -> str:
    sign = "minus " if match.group(1) else ""
    return sign + _number_words(f"{match.group(2)}.{match.group(3)}")


def _number(match: re.Match) -> str:
    return ("minus " if match.group(1) else "") + _cardinal(int(match.group(2)))


def normalize_unicode(text: str) -> str:
    """Curly quotes, dashes and ellipses to ASCII; accents dropped (café -> cafe); other symbols kept."""
    text = "".join(_UNICODE_PUNCTUATION.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str, lowercase: bool = True) -> str:
    """Spoken-form English: "Dr. Smith paid $5.50 on the 21st at 3pm" ->
    "doctor smith paid five dollars and fifty cents on the twenty first at three p m"."""
    text = normalize_unicode(text)
    for pattern, replacement in _ABBREVIATIONS:
        text = re.sub(pattern, replacement, text)
    text = _MONEY_RE.sub(_money, text)
    text = _PERCENT_RE.sub(_percent, text)
    text = _TIME_RE.sub(_time, text)
    text = _HOUR_RE.sub(_hour, text)
    text = _ORDINAL_RE.sub(_ordinal, text)
    text = _YEAR_RE.sub(_year, text)
    text = _SEPARATED_RE.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _DECIMAL_RE.sub(_decimal, text)
    text = _NUMBER_RE.sub(_number, text)
    text = text.replace("&", " and ").replace("+", " plus ").replace("@", " at ").replace("%", " percent")
    text = _WHITESPACE_RE.sub(" ", text).strip()
    return text.lower() if lowercase else text
