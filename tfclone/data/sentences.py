"""English sentences reachable offline: the Asterisk prompt transcripts (Debian's asterisk-core-sounds-en,
CC-BY-SA-3.0), sentences composed here from templates to cover numbers, money, times, questions and
punctuation, and, for the "broad" pool, single sentences of everyday prose from Debian's fortune cookie files
(fortunes / fortunes-min, BSD): ~5,500 sentences over ~8,000 words, where the prompts and templates have ~20
sentence shapes over a few hundred words. The "wordnet" pool holds only the usage examples of WordNet 3.0's
glosses (Debian's wordnet-base, WordNet licence): ~23,000 short sentences over ~19,000 words, for extending a
corpus with sentences its voices never spoke (tfclone-make-corpus --first_utterance into a new folder,
preprocessed together with the first). Deterministic for a seed."""
from __future__ import annotations

import gzip
import os
import random
import re
from typing import Dict, List, Sequence

ASTERISK_TRANSCRIPTS = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
FORTUNES_DIR = "/usr/share/games/fortunes"
# The fortune files read for the broad pool: prose and sayings; left out are the ones of code, ASCII art,
# jargon and names (computers, linux, perl, startrek, zippy, ...) and those that are mostly jokes about groups
# of people (men-women, ethnic, politics, drugs).
FORTUNE_FILES = ("fortunes", "wisdom", "literature", "people", "humorists", "platitudes", "education", "food",
                 "kids", "love", "pets", "science", "sports", "work", "law", "medicine", "miscellaneous",
                 "cookie", "songs-poems", "magic", "paradoxum", "tao", "art", "news")
WORDNET_DIR = "/usr/share/wordnet"
WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
POOLS = ("prompts", "broad", "wordnet")
_PLAIN_SENTENCE = re.compile(r"[A-Z][A-Za-z',.?! -]*[.?!]")

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


def fortune_sentences(folder: str = FORTUNES_DIR, files: Sequence[str] = FORTUNE_FILES, min_words: int = 5,
                      max_words: int = 18, lexicon=None) -> List[str]:
    """The single sentences of the fortune cookie files (entries between "%" lines, attribution lines
    dropped) that read as plain prose: min_words..max_words words, a capital first, ending in . ? or !, only
    letters, apostrophes, hyphens and , . ? ! (no dialogue, code, verse markup or shouting), and every word in
    CMUdict, so the model hears phonemes rather than spelled-out letters. Sorted, distinct."""
    from tfclone.text.g2p import _cmudict
    from tfclone.text.split import split_sentences

    lexicon = _cmudict() if lexicon is None else lexicon
    _require_files(folder, files, "fortune", "fortunes")
    out = set()
    for name in files:
        with open(os.path.join(folder, name), encoding="latin-1") as f:
            entries = f.read().split("\n%\n")
        for entry in entries:
            body = " ".join(line.strip() for line in entry.splitlines() if not re.match(r"\s*-{1,2}\s*\S", line))
            if re.search(r"[A-Z]{3,}|[:;()\[\]{}<>_=*/\\|@#&~^`\"\t]", body):
                continue
            out.update(s for s in split_sentences(re.sub(r"\s+", " ", body).strip())
                       if _plain(s, lexicon, min_words, max_words))
    return sorted(out)


def _require_files(folder: str, files: Sequence[str], what: str, package: str) -> None:
    missing = [f for f in files if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise FileNotFoundError(f"{folder}: no {what} files {missing}; install Debian's {package}")


def _plain(sentence: str, lexicon, min_words: int, max_words: int) -> bool:
    """min_words..max_words words, a capital first, ending in . ? or !, only letters, apostrophes, hyphens and
    , . ? !, and every word in `lexicon`."""
    words = [w.strip(",.?!-'").lower() for w in sentence.split()]
    return (min_words <= len(words) <= max_words and _PLAIN_SENTENCE.fullmatch(sentence) is not None
            and all(w in lexicon for w in words if w))


def wordnet_sentences(folder: str = WORDNET_DIR, files: Sequence[str] = WORDNET_FILES, min_words: int = 5,
                      max_words: int = 18, lexicon=None) -> List[str]:
    """The usage examples quoted in WordNet's glosses ("the church was empty") as sentences: the first letter
    capitalised and a full stop added where no . ? or ! ends it, then the fortune filter: min_words..max_words
    words, only letters, apostrophes, single hyphens inside words and , . ? !, every word in CMUdict. Sorted,
    distinct."""
    from tfclone.text.g2p import _cmudict

    lexicon = _cmudict() if lexicon is None else lexicon
    _require_files(folder, files, "WordNet", "wordnet-base")
    out = set()
    for name in files:
        with open(os.path.join(folder, name), encoding="latin-1") as f:
            for line in f:
                # the licence header's lines start with two spaces; a synset's gloss follows its "| "
                if line.startswith("  ") or "|" not in line:
                    continue
                for example in re.findall(r'"([^"]+)"', line.split("|", 1)[1]):
                    sentence = re.sub(r"\s+", " ", example).strip()
                    if not sentence or re.search(r"--| -|- ", sentence):
                        continue
                    sentence = sentence[0].upper() + sentence[1:]
                    if sentence[-1] not in ".?!":
                        sentence += "."
                    if _plain(sentence, lexicon, min_words, max_words):
                        out.add(sentence)
    return sorted(out)


def sentence_pool(seed: int = 0, composed: int = 600, min_words: int = 4, pool: str = "prompts") -> List[str]:
    """"prompts": Asterisk prompts of at least `min_words` words (when the package is installed) + composed
    ones (the pool of every corpus before session 24). "broad": those + `fortune_sentences()`. "wordnet":
    `wordnet_sentences()` alone (no prompts: it extends a corpus drawn from another pool)."""
    if pool not in POOLS:
        raise ValueError(f"sentence pool {pool!r}: unknown (known: {', '.join(POOLS)})")
    if pool == "wordnet":
        return wordnet_sentences()
    try:
        prompts = sorted(set(t for t in asterisk_transcripts().values() if len(t.split()) >= min_words))
    except FileNotFoundError:
        prompts = []
    sentences = prompts + composed_sentences(composed, seed)
    return sentences + fortune_sentences() if pool == "broad" else sentences
