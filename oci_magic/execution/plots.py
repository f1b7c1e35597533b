"""The text of the plots a round's code draws -- titles, axis labels, legend entries -- read
before Jupyter closes them.

Jupyter's inline backend shows and closes the figures at ``plt.show()`` and, for those still
open, in its ``post_execute`` hook, inside ``run_cell``: by the time the loop judges the round,
code in the pyplot style (``plt.plot``, ``plt.title``, ``plt.show()``) has left nothing to read.
:func:`reading_plots` reads each figure as it is shown (every display goes through the shell's
display formatter) and those still open as the code ends (a hook of its own, ahead of the
backend's). Nothing is drawn, made current or closed; matplotlib is never imported here.
"""
from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class PlotText:
    """What a reader sees written on one Axes and its figure."""

    titles: Tuple[str, ...] = ()  # the centre, left and right titles that are set
    xlabel: str = ""
    ylabel: str = ""
    legend: Tuple[str, ...] = ()
    figure: Tuple[str, ...] = ()  # the figure's suptitle and its other texts

    @property
    def title(self) -> str:
        return self.titles[0] if self.titles else ""

    @property
    def texts(self) -> Tuple[str, ...]:
        return self.titles + (self.xlabel, self.ylabel) + self.legend + self.figure

    def described(self) -> str:
        said = f"its title is {self.title!r}, x label {self.xlabel!r}, y label {self.ylabel!r}"
        return said + (f", legend {list(self.legend)}" if self.legend else "")


def _is(value: Any, kind: str) -> bool:
    """An instance of matplotlib's class ``kind``, told without importing matplotlib."""
    return any(c.__name__ == kind and c.__module__.startswith("matplotlib") for c in type(value).__mro__)


def is_axes(value: Any) -> bool:
    return _is(value, "Axes")


def axes_text(ax) -> PlotText:
    titles = [ax.get_title(loc) for loc in ("center", "left", "right")]
    legend = ax.get_legend()
    figure, shown = ax.get_figure(), []
    if figure is not None:
        suptitle = getattr(figure, "_suptitle", None)
        shown = ([suptitle.get_text()] if suptitle is not None else []) + [t.get_text() for t in figure.texts]
    return PlotText(tuple(t for t in titles if t), ax.get_xlabel(), ax.get_ylabel(),
                    tuple(t.get_text() for t in legend.get_texts()) if legend is not None else (), tuple(shown))


def open_plots() -> List[PlotText]:
    """The text of every Axes of the figures pyplot holds open; none if pyplot was never imported."""
    reading = Reading()
    for figure in _open_figures():
        reading.figure(figure)
    reading.done = True
    return reading.plots


class Reading:
    """What :func:`reading_plots` read: the text of each figure shown or left open."""

    def __init__(self):
        self.done = False  # the code's execution ended and the open figures were read
        self._figures: Dict[int, Tuple[Any, List[PlotText]]] = {}  # the figure held: its id stays its own

    def figure(self, figure) -> None:
        """Read ``figure`` (again: its latest text counts)."""
        try:
            self._figures[id(figure)] = (figure, [axes_text(ax) for ax in figure.axes])
        except Exception:  # a figure half torn down by the code: nothing to read
            pass

    @property
    def plots(self) -> Optional[List[PlotText]]:
        """None where the shell had no hook to read the open figures by."""
        return [p for _, texts in self._figures.values() for p in texts] if self.done else None


def is_figure(value: Any) -> bool:
    return _is(value, "Figure")


def _open_figures() -> List[Any]:
    if _pyplot() is None:
        return []
    from matplotlib._pylab_helpers import Gcf

    return [manager.canvas.figure for manager in Gcf.get_all_fig_managers()]


@contextlib.contextmanager
def shown_figures(shell, seen: Callable[[Any], None]):
    """Call ``seen(figure)`` for each matplotlib figure ``shell`` displays meanwhile (``plt.show()``
    on the inline backend, ``display(fig)``, a figure left as a cell's value): every display goes
    through the shell's display formatter."""
    formatter = getattr(shell, "display_formatter", None)
    if formatter is None:
        yield
        return

    def format(obj, *args, **kwargs):
        if is_figure(obj):
            seen(obj)
        return formats(obj, *args, **kwargs)

    own, formats = vars(formatter).get("format"), formatter.format
    formatter.format = format
    try:
        yield
    finally:
        if own is None:
            del formatter.format
        else:
            formatter.format = own


@contextlib.contextmanager
def reading_plots(shell):
    """While ``shell`` runs a cell: a :class:`Reading` of every figure it shows and, as its
    execution ends, of every figure still open -- before the other ``post_execute`` hooks (the
    inline backend's shows and closes them)."""
    reading = Reading()
    callbacks = getattr(getattr(shell, "events", None), "callbacks", {}).get("post_execute")
    if callbacks is None:
        yield reading
        return

    def read():
        for figure in _open_figures():
            reading.figure(figure)
        reading.done = True

    callbacks.insert(0, read)
    try:
        with shown_figures(shell, reading.figure):
            yield reading
    finally:
        with contextlib.suppress(ValueError):
            callbacks.remove(read)


class DrawnFigures:
    """For a trial: reads the data and text of the figures drawn inside (lines, bars, points;
    titles, labels) and closes them, so a trial's plots never show -- those it shows too
    (``plt.show()`` on the inline backend closes them as it goes)."""

    def __init__(self, shell):
        self.shell = shell  # None outside IPython
        self.data: List[Any] = []
        self.plots: List[PlotText] = []  # their titles, labels and legends
        self._before: set = set()
        self._shown: List[Any] = []
        self._watch = None

    def __enter__(self):
        plt = _pyplot()
        self._before = set(plt.get_fignums()) if plt else set()
        self._watch = shown_figures(self.shell, self._seen)
        self._watch.__enter__()
        return self

    def _seen(self, figure) -> None:
        if all(figure is not f for f in self._shown):
            self._shown.append(figure)

    def __exit__(self, *exc):
        self._watch.__exit__(None, None, None)
        plt = _pyplot()
        if plt is None:
            return False
        for number in sorted(set(plt.get_fignums()) - self._before):
            self._seen(plt.figure(number))
        for figure in self._shown:
            try:
                self.data.append(_figure_data(figure))
                self.plots += [axes_text(ax) for ax in figure.axes]
            except Exception:
                self.data.append("figure")
            plt.close(figure)
        return False


def _pyplot():
    return sys.modules.get("matplotlib.pyplot")  # only if the code (or the user) imported it


def _figure_data(figure) -> list:
    found = []
    for ax in figure.axes:
        lines = [(tuple(map(float, line.get_xdata())), tuple(map(float, line.get_ydata()))) for line in ax.get_lines()]
        bars = [round(float(p.get_height()), 6) for p in ax.patches if hasattr(p, "get_height")]
        points = [tuple(map(tuple, c.get_offsets().tolist())) for c in ax.collections if hasattr(c, "get_offsets")]
        found.append((lines, bars, points, ax.get_title(), ax.get_xlabel(), ax.get_ylabel()))
    return found
