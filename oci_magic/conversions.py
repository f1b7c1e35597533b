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
from typing import List, Optional, Sequence

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


def _comma(number: str) -> str:
    """What the commas of a number's digits are: 'decimal' (12,5), 'european' (1.234,50: dots
    between thousands) or 'thousands' (1,200 and 1,200.50)."""
    if "." in number and "," in number and number.rindex(",") > number.rindex("."):
        return "european"
    return "decimal" if _DECIMAL_COMMA.fullmatch(number) and not _THOUSANDS.fullmatch(number) else "thousands"


def number_advice(text: str, more: Sequence[str] = ()) -> str:
    """What stands between ``text`` -- and the values like it in ``more``, the rest of its column
    -- and numbers: every character that is in the way in any of them, so that code which cleaned
    one of them is not told to clean the other alone."""
    core = text.strip()
    if not any(c.isdigit() for c in core):
        return (f"{text!r} is not a number: where it marks a missing value, treat such values as missing (NaN), "
                f"e.g. pd.to_numeric(..., errors='coerce') once the numbers are clean; else the code converts the "
                f"wrong values.")
    values = list(dict.fromkeys([core] + [m.strip() for m in more if isinstance(m, str) and _numberish(m)]))
    roles = {_comma(re.search(r"[\d.,]+", v.lstrip(".,")).group()) for v in values}
    decimal = bool(roles & {"decimal", "european"})
    extra = [c for c in dict.fromkeys(c for v in values for c in v if c not in "0123456789+-")
             if (c != "." or "european" in roles) and (c != "," or not decimal)]  # in the order they appear
    shown = [v for v in values if not _plain(v)][:3]
    if not extra:
        if decimal:
            return (f"{', '.join(map(repr, shown))} {'are numbers' if len(shown) > 1 else 'is a number'} {AS_TEXT} "
                    f"with a decimal comma: replace ',' with '.' before converting (read_csv: decimal=',').")
        return f"{text!r} is not one number: check how the values are written before converting."
    listed = ", ".join(repr(c) for c in extra)
    also = " (divide by 100 for a fraction)" if "%" in extra else ""
    if any(c.isalpha() for c in extra):
        also += " (and scale the number if a letter is a unit, like k for thousands)"
    if decimal:
        also += ", then replace the decimal comma with '.'"
    one = "".join(f".replace({c!r}, '')" for c in extra)
    many = len(shown) > 1
    return (f"{', '.join(map(repr, shown))} {'are numbers' if many else 'is a number'} {AS_TEXT} with {listed} in "
            f"{'them' if many else 'it'}, which a number cannot hold: remove {'it' if len(extra) == 1 else 'them'}"
            f"{also} before converting, e.g. text{one} for one value, .astype(str).str.replace(r'{_chars(extra)}', '', "
            f"regex=True) for a column, then float(...), .astype(float) or pd.to_numeric.")


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
    ones): what is in the way in all of them (and which mark missing values), or that all are
    plain numbers as text; None for words, names and durations."""
    texts = [t for t in texts if isinstance(t, str)]
    if not texts:
        return None
    if date_format(texts[0]):
        return date_advice(texts[0])
    markers = [t for t in texts if not any(c.isdigit() for c in t)]  # 'n/a', '--', '' -- or words
    odd = [t for t in texts if not _plain(t) and t not in markers]
    if not odd:
        if markers and len(markers) < len(texts):  # among plain numbers: a missing value
            return number_advice(markers[0])
        if markers:  # words, not numbers
            return None
        return (f"{texts[0]!r} and the values after it are numbers {AS_TEXT}: convert them with "
                f"pd.to_numeric(...) or .astype(float) before computing.")
    if not _numberish(odd[0]):  # a name or a duration ('u1', '1h 30m'): removing characters won't do
        return None
    missing = (f" {markers[0]!r} is not a number: treat such values as missing (NaN), e.g. "
               f"pd.to_numeric(..., errors='coerce') once the rest are clean.") if markers else ""
    return number_advice(odd[0], texts) + missing


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
