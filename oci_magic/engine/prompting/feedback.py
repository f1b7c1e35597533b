"""What the model is told after a round that did not work -- short, plain, about its own code,
with the facts a small model cannot guess -- and the next round's prompt that carries it."""
from __future__ import annotations

from typing import List, Optional, Sequence

from ...backends.base import Message, Prompt
from ...execution.result import Execution
from ...text import clip, strip_ansi, tail_lines
from ..records import Round

ASK_FOR_CODE = (
    "Your reply contained no Python code. Reply with the complete code for the task "
    "in one ```python block."
)
ASK_FIX = "Fix the code. Reply with the complete corrected code in one ```python block."
REPEATED_CODE = ("You wrote exactly the same code as before, and it does not work. Do not repeat it: "
                 "take a different approach. Reply with the complete code in one ```python block.")


def _facts(execution: Execution, note: Optional[str] = None) -> str:
    """The facts a check's note does not already say (the advice on a separator or on text)."""
    return "\n".join(f"- {f}" for f in execution.facts if not (note and f in note))


def error_feedback(execution: Execution, limit: int, facts: bool, note: Optional[str] = None) -> str:
    parts = ["The code raised an exception."]
    if execution.timed_out:  # the traceback shows where it was stuck
        parts = [f"The code was stopped: it {execution.evalue}. Make it finish quickly: no endless loops, "
                 "no sleeping or waiting for input, less work."]
    if execution.traceback:
        frames = "\n".join(strip_ansi(f) for f in execution.traceback)
        parts.append("Traceback (most recent call last):\n" + clip(frames, limit))
    parts.append(strip_ansi(execution.error_line)[:limit])
    shown = _facts(execution, note) if facts else ""
    if shown:
        parts.append("What the failing line was working on:\n" + shown)
    if execution.stdout_tail:
        parts.append("Output before the error (last lines):\n" + tail_lines(execution.stdout_tail))
    if note:
        parts.append(note)
    # bounded as a whole: the context budget reserves RunSettings.feedback_tokens per round for it
    return clip("\n".join(parts), limit) + "\n" + ASK_FIX


def check_feedback(missed: str, execution: Execution) -> str:
    """For code that ran but missed the task (:mod:`..checks`)."""
    parts = ["The code ran without errors, but it does not do what the task asks. " + missed]
    other = [w for w in execution.warnings if w not in missed]
    if other:
        parts.append("Warnings it raised:\n" + "\n".join(f"- {w}" for w in other[:5]))
    return clip("\n".join(parts), 1500) + "\n" + ASK_FIX


def attempt_line(round_: Round, facts: bool = False) -> str:
    """One failed try, for a prompt that restarts without the earlier code: what went wrong, a
    check's note on it, and (with ``facts``) what the failing line worked on, as a mistake to
    avoid. Not even the failing line: a small model shown its code writes it again."""
    ex = round_.execution
    head = f"Attempt {round_.index}"
    if ex is not None and not ex.ok:
        text = f"{head} failed with {strip_ansi(ex.error_line)[:300]}."
        text += " " + round_.note if round_.note else ""  # what is there instead of a missing file: still true
        shown = _facts(ex, round_.note) if facts else ""
        return text + ("\n" + shown if shown else "")
    if round_.feedback:
        return f"{head}: " + round_.feedback.replace(ASK_FIX, "").replace(REPEATED_CODE, "it repeated an earlier "
                                                                           "attempt's code.").strip()
    return f"{head} did not work."


ATTEMPTS_HEAD = "## Earlier attempts at this task failed"
ATTEMPTS_TAIL = ("Write new code for the task that avoids these mistakes. Use the variables that already "
                 "exist; do not recreate them. Reply with the complete code in one ```python block.")


def with_attempts(first: Sequence[Message], attempts: List[str]) -> Prompt:
    """``refine=restart``: the first prompt with the failed attempts appended to its last message,
    as one more part: everything before it stays a cached prefix."""
    note = "\n\n" + ATTEMPTS_HEAD + "\n" + "\n".join(attempts) + "\n\n" + ATTEMPTS_TAIL
    return tuple(first[:-1]) + (first[-1].plus(note),)


def extend(messages: Sequence[Message], reply: str, feedback: str) -> Prompt:
    """``refine=transcript``: everything so far, the raw reply (as generated), the feedback."""
    return tuple(messages) + (Message.of("assistant", reply), Message.of("user", feedback))
