"""English sentences reachable offline: the Asterisk prompt transcripts (Debian's asterisk-core-sounds-en,
CC-BY-SA-3.0) and sentences composed here from templates to cover numbers, money, times, questions and
punctuation. Deterministic for a seed."""
from __future__ import annotations

import gzip
import os
import random
import re
from typing import Dict, List

ASTERISK_TRANSCRIPTS = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"

_NAMES = ["Alice", "Bob", "Carmen", "David", "Elena", "Frank", "Grace", "Hiro", "Ingrid", "James", "Kofi",
          "Laura", "Miguel", "Nina", "Oscar", "Priya", "Quentin", "Rosa", "Samuel", "Tara", "Victor", "Wendy"]
_PLACES = ["library", "station", "market", "harbor", "museum", "bakery", "garden", "hospital", "airport",
           "school", "bridge", "office", "theater", "village", "kitchen", "river"]
_THINGS = ["apples", "books", "tickets", "chairs", "letters", "candles", "bottles", "shirts", "maps",
           "lamps", "boxes", "stamps", "pencils", "blankets", "records", "tools"]
_NOUNS = ["weather", "coffee", "painting", "engine", "answer", "window", "garden", "concert", "message",
          "problem", "journey", "kitten", "machine", "story", "picture", "dinner"]
_ADJECTIVES = ["quiet", "bright", "strange", "heavy", "gentle", "famous", "broken", "ancient", "careful",
               "curious", "cold", "golden", "narrow", "simple", "wonderful", "crowded"]
_VERBS = ["found", "painted", "repaired", "carried", "opened", "ordered", "visited", "described",
          "measured", "borrowed", "cleaned", "noticed"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_STREETS = ["Main St.", "Oak Avenue", "Elm St.", "Park Road", "Hill Street", "Lake Drive"]

_TEMPLATES = [
    "{name} bought {small} {things} for {money} on {day}.",
    "Did {name} really walk {small} miles to the {place}?",
    "The meeting starts at {time}, so please don't be late!",
    "In {year}, the {adj} {noun} was sold for {money}.",
    "Call me at {time}; I'll be waiting near the {place}.",
    "Why is the {noun} so {adj} today?",
    "{name}'s office is on the {ordinal} floor of the old {place}.",
    "About {percent} of the {things} were {adj}, or so {name} said.",
    "Turn left at {street}, then walk {small} blocks to the {place}.",
    "How many {things} can you carry before {time}?",
    "Wow, that {adj} {noun} costs {money}!",
    "{name} {verb} the {noun} in {year}, and nobody noticed.",
    "On {day} morning, {name} {verb} {big} {things} at the {place}.",
    "Is it true that the {place} closes at {time} on {day}?",
    "\"Not again,\" said {name}, looking at the {adj} {noun}.",
    "The {ordinal} train leaves the {place} at {time} sharp.",
    "We counted {big} {things} - more than last year - in the {place}.",
    "{name} and {name2} {verb} a {adj} {noun} near the {place}.",
    "Please remember: the {noun} must be {adj} by {day}.",
    "Dr. {name} measured the temperature at {decimal} degrees.",
]


def _fill(template: str, rng: random.Random) -> str:
    name, name2 = rng.sample(_NAMES, 2)
    hour, minute = rng.randint(1, 12), rng.choice([0, 5, 15, 30, 45, 50])
    values = {
        "name": name, "name2": name2, "place": rng.choice(_PLACES), "things": rng.choice(_THINGS),
        "noun": rng.choice(_NOUNS), "adj": rng.choice(_ADJECTIVES), "verb": rng.choice(_VERBS),
        "day": rng.choice(_DAYS), "street": rng.choice(_STREETS), "small": str(rng.randint(2, 12)),
        "big": f"{rng.randint(13, 9999):,}", "year": str(rng.randint(1890, 2030)),
        "money": rng.choice(["$", "£", "€"]) + rng.choice([str(rng.randint(1, 500)),
                                                           f"{rng.randint(1, 99)}.{rng.randint(10, 99)}"]),
        "time": rng.choice([f"{hour}:{minute:02d}", f"{hour}{rng.choice(['am', 'pm'])}"]),
        "ordinal": rng.choice(["1st", "2nd", "3rd", "4th", "5th", "11th", "21st", "32nd"]),
        "percent": f"{rng.randint(2, 99)}%", "decimal": f"{rng.randint(30, 41)}.{rng.randint(1, 9)}",
    }
    return template.format(**values)


def composed_sentences(count: int, seed: int = 0) -> List[str]:
    """`count` distinct sentences from the templates above."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < count:
        sentence = _fill(rng.choice(_TEMPLATES), rng)
        if sentence not in seen:
            seen.add(sentence)
            out.append(sentence)
    return out


def asterisk_transcripts(path: str = ASTERISK_TRANSCRIPTS) -> Dict[str, str]:
    """Prompt name (e.g. "digits/7", "vm-deleted") -> transcript, tones and bracketed or parenthesised notes
    dropped (so the silence/N prompts, which say nothing, are left out).

    The keypad symbols the prompts read aloud become words ("press * " -> "press star")."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: not found; install Debian's asterisk-core-sounds-en")
    opener = gzip.open if path.endswith(".gz") else open
    prompts = {}
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(";") or ": " not in line:
                continue
            name, text = line.split(": ", 1)
            # Bracketed and parenthesised notes are not spoken ("(10 seconds of silence)", "(note: ...)").
            text = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", text).strip()
            text = text.replace("*", " star ").replace("#", " pound ")
            text = re.sub(r"\s+", " ", text).strip()
            if re.search(r"[A-Za-z0-9]", text):
                prompts[name.strip()] = text
    return prompts


def sentence_pool(seed: int = 0, composed: int = 600, min_words: int = 4) -> List[str]:
    """Asterisk prompts of at least `min_words` words (when the package is installed) + composed ones."""
    try:
        prompts = sorted(set(t for t in asterisk_transcripts().values() if len(t.split()) >= min_words))
    except FileNotFoundError:
        prompts = []
    return prompts + composed_sentences(composed, seed)
