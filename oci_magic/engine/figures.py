"""The text a plot task asks for, on the plot: "with the title 'Monthly sales'", "label the axes
'Height (cm)' and 'Weight (kg)'" (a :mod:`.sanity` rule, ``labels``).

Code that draws runs without error whether or not it sets them, and it may set them on another
Axes than the one it keeps: in one session the 0.5B stored what ``plt.scatter`` returned as
``ax``, was told to keep the Axes, then labelled the current Axes of a second figure and kept a
blank one -- the run ended "ok". Only the figures are read: nothing is drawn or made current.
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional

from ..execution.plots import axes_text, is_axes, open_plots
from ..execution.result import Execution
from .prompting.names import QUOTED

# a quoted phrase is asked for as text on the plot where a word for such text comes before it in its
# sentence: "the title 'Monthly sales'", "label the axes 'Height (cm)' and 'Weight (kg)'"; not a
# value the task quotes ("bars for status 'open'", "(e.g. 'Monday')")
_TEXT_WORD = re.compile(r"\b(?:titled?|titles|(?:x|y)?-?labels?|labell?ed|legend|caption|heading|suptitle)\b", re.I)
_SENTENCE = re.compile(r"[.;!?](?:\s|$)")
_NEAR = 80  # characters back from the quote a text word may stand


def asked(task: str) -> List[str]:
    """The phrases the task asks to show as a title, an axis label or a legend entry."""
    found = []
    for m in QUOTED.finditer(task):  # a quoted phrase as the prompt builder reads one
        before = _SENTENCE.split(task[:m.start()])[-1][-_NEAR:]
        if re.search("[A-Za-z]", m.group(2)) and _TEXT_WORD.search(before):
            found.append(m.group(2))
    return found


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def missing_labels(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A title, axis label or legend entry the task quotes that the plot does not show: on the Axes
    the code kept (created or changed), else on any Axes of the figures open as the code ended."""
    wanted = asked(task)
    if not wanted:
        return None
    kept = [(n, axes_text(namespace[n])) for n in execution.created + execution.changed if is_axes(namespace.get(n))]
    # else the figures open as the code ended, read before Jupyter's inline backend closed them
    # (the executor's ``plots``), or still open now (a terminal IPython, an executor that did not read)
    looked = kept or [(None, plot) for plot in (execution.plots if execution.plots is not None else open_plots())]
    if not looked:
        return None  # nothing drawn that can be read: not judged
    texts = [text for _, plot in looked for text in plot.texts]
    for phrase in wanted:
        if not any(_norm(phrase) in _norm(text) for text in texts):
            name, plot = looked[0]
            return (f"the task asks for the text {phrase!r} (a title, axis label or legend), but "
                    f"{f'`{name}`' if name else 'the plot'} does not show it: {plot.described()}. Set it on the Axes "
                    f"the result is drawn on (`ax.set_title(...)`, `ax.set_xlabel(...)`, `ax.set_ylabel(...)`).")
    return None
