"""What a run leaves in the cell's outputs: the views that listen to it, its record (whose visible
face is the summary line), and, for ``oci run``, markers that tell which outputs belong to which
round."""
from __future__ import annotations

import sys
from typing import Callable, Dict, List

from ..engine.events import ExecutionFinished, ExecutionStarted, RoundFinished
from ..engine.records import RunResult
from ..engine.runrecord import ROUND_MIME, RUN_MIME
from .panel import summary_html


def record_bundle(record: Dict[str, object], result: RunResult) -> Dict[str, object]:
    """Display data: the record, and the run's summary line as what every frontend shows of it
    (text, or coloured HTML); the live views leave that line to this output, so it appears once."""
    line = result.summary_line()
    return {RUN_MIME: record, "text/plain": line, "text/html": summary_html(line, result.ok)}


class RoundMarkers:
    """Listener that displays a small marker before and after each round's execution, and one when a
    round ends, so a headless runner can tell which outputs of the ``%%oci`` cell belong to which
    round. ``display`` shows one MIME bundle (IPython's ``display(..., raw=True)``).

    Must come before other listeners that write text: a display flushes pending stdout first, so
    text written before the marker lands before it."""

    def __init__(self, display: Callable[[dict], None]):
        self.display = display

    def _mark(self, **fields) -> None:
        self.display({ROUND_MIME: fields, "text/plain": ""})

    def __call__(self, event) -> None:
        if isinstance(event, ExecutionStarted):
            self._mark(round=event.index, event="start")
        elif isinstance(event, ExecutionFinished):
            self._mark(round=event.index, event="end")
        elif isinstance(event, RoundFinished):
            r = event.round
            self._mark(round=r.index, event="finished", status=r.status, error=r.error_line)


def listeners(shell, view: str, headless: bool, round_markers: bool, confirming: bool,
              display: Callable[[dict], None]) -> List[Callable]:
    """The views of one run: the live status line and round panel in a Jupyter frontend, plain
    text in a terminal and headless (``view``: auto, panel or text)."""
    from .text import TextRenderer, print_model_lines

    # Markers first: a display flushes pending stdout, so text written before lands before it.
    markers = [RoundMarkers(display)] if round_markers else []
    zmqshell = sys.modules.get("ipykernel.zmqshell")  # loaded in a kernel; never imported here
    in_kernel = zmqshell is not None and isinstance(shell, zmqshell.ZMQInteractiveShell)
    if view == "panel" or (view == "auto" and in_kernel and not headless):
        from .panel import RoundPanel
        from .status import StatusLine

        return markers + [print_model_lines, StatusLine(confirm=confirming), RoundPanel(summary=False)]
    return markers + [TextRenderer(summary=False)]  # the record's output carries the summary line
