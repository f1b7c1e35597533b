"""Numbers and dates written as text, and how to turn them into values: advice for code that
failed on one.

A small model answers ``could not convert string to float: '$1,200'`` with the same
``astype(float)``, and ``time data "15/01/2024" doesn't match format "%m/%d/%Y"`` with that
format passed explicitly (Qwen2.5-Coder-0.5B, three rounds each). The error names the value; what
it lacks is what is in the way ('$' and ',', a decimal comma, the day written first), which is read
here from the value itself -- nothing about the task or its answer.
"""
from __future__ import annotations

import datetime
import re
from typing import List, Optional

AS_TEXT = "written as text"
HOLDS_TEXT = "holds text:"  # how a column's advice is found among an error's facts

# the formats people write dates in, the unambiguous ones first; one that parses the failing value
# (and is not the format that failed) is the advice
FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y",
           "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%y", "%m/%d/%y", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d %b %Y",
           "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%Y%m%d")
_NUMBER = (re.compile(r"could not convert string to float: '(.*)'$", re.S),
           re.compile(r"invalid literal for int\(\) with base 10: '(.*)'$", re.S),
           re.compile(r"Unable to parse string ['\"](.*?)['\"] at position", re.S))
_DATE = re.compile(r"time data ['\"](.*?)['\"] (?:doesn't|does not) match format ['\"](.*?)['\"]", re.S)
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_PLAIN = set("0123456789.-+")
_ONE_NUMBER = re.compile(r"[^\d]*\d[\d.,]*[^\d]*")


def date_format(text: str, not_this: Optional[str] = None) -> Optional[str]:
    """The first of :data:`FORMATS` that parses ``text`` (other than ``not_this``); None if none does."""
    for fmt in FORMATS:
        if fmt == not_this:
            continue
        try:
            datetime.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        return fmt
    return None


def _chars(chars: List[str]) -> str:
    """A regex character class of ``chars``, escaped where a class needs it."""
    return "[" + "".join("\\" + c if c in "\\]^-[" else c for c in chars) + "]"


def number_advice(text: str) -> str:
    """What stands between ``text`` and a number."""
    core = text.strip()
    if not any(c.isdigit() for c in core):
        return (f"{text!r} is not a number: where it marks a missing value, treat such values as missing (NaN), "
                f"e.g. pd.to_numeric(..., errors='coerce') once the numbers are clean; else the code converts the "
                f"wrong values.")
    if _DECIMAL_COMMA.fullmatch(core) and not _THOUSANDS.fullmatch(core):
        return (f"{text!r} is a number {AS_TEXT} with a decimal comma: replace ',' with '.' before converting "
                f"(read_csv: decimal=',').")
    european = "." in core and "," in core and core.rindex(",") > core.rindex(".")  # 1.234,50
    extra = list(dict.fromkeys(c for c in core if c not in _PLAIN or (european and c == ".")))
    if european:
        extra.remove(",")
    if not extra:
        return f"{text!r} is not one number: check how the values are written before converting."
    listed = ", ".join(repr(c) for c in extra)
    also = " (divide by 100 for a fraction)" if "%" in extra else ""
    if any(c.isalpha() for c in extra):
        also += " (and scale the number if a letter is a unit, like k for thousands)"
    if european:
        also += ", then replace the decimal comma with '.'"
    one = "".join(f".replace({c!r}, '')" for c in extra)
    return (f"{text!r} is a number {AS_TEXT} with {listed} in it, which a number cannot hold: remove "
            f"{'it' if len(extra) == 1 else 'them'}{also} before converting, e.g. text{one} for one value, "
            f".astype(str).str.replace(r'{_chars(extra)}', '', regex=True) for a column, then float(...), .astype(float) or "
            f"pd.to_numeric.")


def date_advice(text: str, failed: Optional[str] = None) -> Optional[str]:
    fmt = date_format(text, failed)
    if fmt is None:
        if any(c.isdigit() for c in text):
            return None
        return (f"{text!r} is not a date: treat such values as missing, "
                f"e.g. pd.to_datetime(..., errors='coerce').")
    first = " (the day comes first)" if fmt.startswith("%d") and failed and failed.startswith("%m") else ""
    return (f"{text!r} is a date {AS_TEXT} as {fmt}{first}: parse it with format={fmt!r} "
            f"(pd.to_datetime(..., format={fmt!r}) on a column).")


def _numberish(text: str) -> bool:
    """Digits with a few other characters around them ('$1,200', '72 kg'), not a word or a name
    that holds a digit ('data2024.csv', 'u1')."""
    core = text.strip()
    extra = {c for c in core if c not in _PLAIN and c != ","}
    digit = next((i for i, c in enumerate(core) if c.isdigit()), None)
    return (digit is not None and len(extra) <= 3 and sum(c.isalpha() for c in core) <= 3
            and not any(c.isalpha() for c in core[:digit])  # units after the number; 'u1', 'T-7' are names
            and _ONE_NUMBER.fullmatch(core) is not None)  # '1h 30m', '3-4': more than one number


def _plain(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def column_advice(texts: List[str]) -> Optional[str]:
    """For text values a computation met where numbers or dates were needed (a column's first
    ones): the advice on the first that is not a plain number, or that all are numbers as text."""
    texts = [t for t in texts if isinstance(t, str)]
    if not texts:
        return None
    if date_format(texts[0]):
        return date_advice(texts[0])
    for text in texts:
        if not _plain(text):
            if _numberish(text):
                return number_advice(text)
            if not any(c.isdigit() for c in text) and any(_plain(t) for t in texts):
                return number_advice(text)  # a marker of a missing value among numbers
            return None
    return (f"{texts[0]!r} and the values after it are numbers {AS_TEXT}: convert them with pd.to_numeric(...) "
            f"or .astype(float) before computing.")


def from_error(ename: Optional[str], evalue: Optional[str]) -> Optional[str]:
    """Advice for an error raised converting one text value; None for other errors."""
    if ename != "ValueError" or not evalue:
        return None
    found = _DATE.search(evalue)
    if found:
        return date_advice(found.group(1), found.group(2))
    for pattern in _NUMBER:
        found = pattern.search(evalue.strip())
        if found:
            text = found.group(1)
            return number_advice(text) if _numberish(text) or not any(c.isdigit() for c in text) else None
    return None
