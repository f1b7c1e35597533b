"""What the model is told after a failed round: short, plain, and about its own code."""
from __future__ import annotations

from ..execution.result import Execution
from ..text import clip, strip_ansi, tail_lines

ASK_FOR_CODE = (
    "Your reply contained no Python code. Reply with the complete code for the task "
    "in one ```python block."
)
ASK_FIX = "Fix the code. Reply with the complete corrected code in one ```python block."


def error_feedback(execution: Execution, limit: int = 2000) -> str:
    parts = ["The code raised an exception."]
    if execution.timed_out:  # the traceback shows where it was stuck
        parts = [f"The code was stopped: it {execution.evalue}. Make it finish quickly: no endless loops, "
                 "no sleeping or waiting for input, less work."]
    if execution.traceback:
        frames = "\n".join(strip_ansi(f) for f in execution.traceback)
        parts.append("Traceback (most recent call last):\n" + clip(frames, limit))
    parts.append(strip_ansi(execution.error_line)[:limit])
    if execution.stdout_tail:
        parts.append("Output before the error (last lines):\n" + tail_lines(execution.stdout_tail))
    # bounded as a whole: the context budget reserves RunSettings.feedback_tokens per round for it
    return clip("\n".join(parts), limit) + "\n" + ASK_FIX
