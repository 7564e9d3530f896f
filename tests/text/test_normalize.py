import pytest

from tfclone.text.normalize import normalize

GOLDEN = [
    ("It costs $5.50.", "it costs five dollars and fifty cents."),
    ("£3 each", "three pounds each"),
    ("€1,000 in total", "one thousand euros in total"),
    ("$1 and 1 cent: $0.01", "one dollar and one cent: one cent"),
    ("a $2 million deal", "a two million dollars deal"),
    ("Pi is 3.14", "pi is three point one four"),
    ("It was -5 degrees", "it was minus five degrees"),
    ("the 21st and 2nd and 103rd", "the twenty first and second and one hundred and third"),
    ("In 1999 and 2024", "in nineteen ninety nine and twenty twenty four"),
    ("the 1990s", "the nineteen nineties"),
    ("1,000,000 people", "one million people"),
    ("50% of 12.5%", "fifty percent of twelve point five percent"),
    ("at 10:30, 10:05 and 7:00", "at ten thirty, ten oh five and seven o'clock"),
    ("at 3pm.", "at three p m."),
    ("by 9:15 a.m. sharp", "by nine fifteen a m sharp"),
    ("Dr. Who met Mr. and Mrs. Smith", "doctor who met mister and misses smith"),
    ("St. Paul lives on Elm St. now", "saint paul lives on elm street now"),
    ("apples, pears, etc.", "apples, pears, et cetera"),
    ("Room No. 7", "room number seven"),
    ("\u201cQuoted\u201d \u2014 it\u2019s fine\u2026", '"quoted" - it\'s fine...'),
    ("caf\u00e9 na\u00efve", "cafe naive"),
    ("R&D   team", "r and d team"),
]


@pytest.mark.parametrize("raw,spoken", GOLDEN)
def test_golden(raw, spoken):
    assert normalize(raw) == spoken


def test_case_kept_on_request():
    assert normalize("NASA at 3pm", lowercase=False) == "NASA at three p m"
