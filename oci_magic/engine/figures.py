"""The text a plot task asks for, on the plot: "with the title 'Monthly sales'", "label the axes
'Height (cm)' and 'Weight (kg)'" (a :mod:`.sanity` rule, ``labels``).

Code that draws runs without error whether or not it sets them, and it may set them on another
Axes than the one it keeps: in one session the 0.5B stored what ``plt.scatter`` returned as
``ax``, was told to keep the Axes, then labelled the current Axes of a second figure and kept a
blank one -- the run ended "ok". Only the figures are read: nothing is drawn or made current.
"""
from __future__ import annotations

import re
import sys
from typing import Any, List, Mapping, Optional

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


def is_axes(value: Any) -> bool:
    return any(c.__name__ == "Axes" and c.__module__.startswith("matplotlib") for c in type(value).__mro__)


def _shown(ax) -> List[str]:
    """Every text of ``ax`` a reader sees as a title, an axis label or a legend entry."""
    texts = _titles(ax) + [ax.get_xlabel(), ax.get_ylabel()] + _legend(ax)
    figure = ax.get_figure()
    if figure is not None:
        suptitle = getattr(figure, "_suptitle", None)
        texts += ([suptitle.get_text()] if suptitle is not None else []) + [t.get_text() for t in figure.texts]
    return texts


def _open_axes() -> List[Any]:
    """The Axes of the figures pyplot holds open, without importing matplotlib or touching pyplot's
    current figure."""
    if "matplotlib.pyplot" not in sys.modules:
        return []
    from matplotlib._pylab_helpers import Gcf

    return [ax for manager in Gcf.get_all_fig_managers() for ax in manager.canvas.figure.axes]


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def missing_labels(task: str, code: str, execution: Execution, namespace: Mapping[str, Any]) -> Optional[str]:
    """A title, axis label or legend entry the task quotes that the plot does not show: on the Axes
    the code kept (created or changed), else on any Axes pyplot still holds open (a terminal IPython;
    Jupyter's inline backend shows and closes the figures as the code's run ends, so there only a
    kept Axes is read)."""
    wanted = asked(task)
    if not wanted:
        return None
    kept = [(n, namespace[n]) for n in execution.created + execution.changed if is_axes(namespace.get(n))]
    looked = kept or [(None, ax) for ax in _open_axes()]
    if not looked:
        return None  # nothing drawn that can be read: not judged
    texts = [text for _, ax in looked for text in _shown(ax)]
    for phrase in wanted:
        if not any(_norm(phrase) in _norm(text) for text in texts):
            name, ax = looked[0]
            return (f"the task asks for the text {phrase!r} (a title, axis label or legend), but "
                    f"{f'`{name}`' if name else 'the plot'} does not show it: {_described(ax)}. Set it on the Axes "
                    f"the result is drawn on (`ax.set_title(...)`, `ax.set_xlabel(...)`, `ax.set_ylabel(...)`).")
    return None


def _titles(ax) -> List[str]:
    return [ax.get_title(loc) for loc in ("center", "left", "right")]


def _legend(ax) -> List[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _described(ax) -> str:
    title = next((t for t in _titles(ax) if t), "")
    said = f"its title is {title!r}, x label {ax.get_xlabel()!r}, y label {ax.get_ylabel()!r}"
    return said + (f", legend {_legend(ax)}" if ax.get_legend() is not None else "")
