"""Children in Need census "factors identified at the end of assessment" (data item N00181).

Suffix A is the child, B a parent or carer, C another member of the household.
"""

from typing import Literal, get_args

CinCode = Literal[
    "1A", "1B", "1C",
    "2A", "2B", "2C",
    "3A", "3B", "3C",
    "4A", "4B", "4C",
    "5A", "5B", "5C",
    "6A", "6B", "6C",
    "7A",
    "8B", "8C", "8D", "8E", "8F",
    "9A", "10A", "11A", "12A", "13A", "14A", "15A", "16A", "17A",
    "18B", "18C", "19B", "19C",
    "20", "21",
    "22A", "23A", "24A",
]  # fmt: skip

CIN_CODES: frozenset[str] = frozenset(get_args(CinCode))

NO_FACTORS_IDENTIFIED = "21"

CIN_FACTOR_NAMES: dict[str, str] = {
    "1": "alcohol misuse",
    "2": "drug misuse",
    "3": "domestic abuse",
    "4": "mental health",
    "5": "learning disability",
    "6": "physical disability or illness",
    "7": "young carer",
    "8": "privately fostered",
    "9": "unaccompanied asylum-seeking child",
    "10": "going or being missing",
    "11": "child sexual exploitation",
    "12": "trafficking",
    "13": "gangs",
    "14": "socially unacceptable behaviour",
    "15": "self-harm",
    "16": "neglect",
    "17": "emotional abuse",
    "18": "physical abuse",
    "19": "sexual abuse",
    "20": "other",
    "21": "no factors identified",
    "22": "female genital mutilation",
    "23": "abuse linked to faith or belief",
    "24": "child criminal exploitation",
}

_SUBJECTS = {"A": "child", "B": "parent or carer", "C": "another household member"}


def describe_cin_code(code: str) -> str:
    number = code.rstrip("ABCDEF")
    name = CIN_FACTOR_NAMES[number]
    suffix = code[len(number) :]
    if number in {"1", "2", "3", "4", "5", "6"} and suffix in _SUBJECTS:
        return f"{name} ({_SUBJECTS[suffix]})"
    return name
