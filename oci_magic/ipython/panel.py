"""The round-by-round panel of a run in a notebook frontend.

Each round is one HTML block updated in place (``display_id``): the reply streaming in, then its
code with syntax highlighting, its status (a failed round's headline names its error) and the
feedback the model was sent. The traceback itself is not repeated here: the code runs through
``shell.run_cell``, so IPython's own traceback is already an error output of the cell, right below
the round (and ``oci run`` relies on those outputs). When a later round succeeds, the failed
rounds fold up (``<details>`` closed). The run ends with one summary line.

Why HTML and not ipywidgets: the generated code's own outputs (prints, plots, DataFrames, IPython's
traceback) are left to flow into the cell as real outputs, right below their round's block, so
they render natively in every frontend, are saved in the .ipynb and survive a reload or nbconvert;
widget state does not. Inline styles only, so no CSS needs installing (VS Code, Notebook 7, Lab).
"""
from __future__ import annotations

import html
from typing import Dict, Optional

from ..engine.events import CodeReady, ExecutionStarted, ReplyRepeated, RoundFinished, RoundStarted, RunFinished, TokenGenerated
from ..engine.candidates import summary
from ..engine.records import NOT_RUN, OK, Round
from .status import UPDATES_PER_SECOND, Output, Throttle
from .text import usage_line

_BOX = "border:1px solid #d0d7de;border-radius:6px;margin:4px 0;padding:2px 8px;background:#ffffff;color:#1f2328"
_PRE = ("margin:4px 0;padding:6px 8px;border-radius:4px;background:#f6f8fa;color:#1f2328;"
        "font-size:12px;line-height:1.35;overflow-x:auto;white-space:pre")
_MUTED = "color:#59636e;font-size:12px"


def highlight(code: str) -> str:
    """Python as HTML with inline colours (pygments ships with IPython); plain escaped text if
    pygments is missing."""
    try:
        from pygments import highlight as pyg
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - pygments is an IPython dependency
        return html.escape(code)
    return pyg(code, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True, style="default")).rstrip("\n")


class _RoundView:
    def __init__(self, index: int, max_rounds: int, show_fn):
        self.index, self.max_rounds = index, max_rounds
        self.output = Output(show_fn)
        self.reply = ""
        self.code: Optional[str] = None
        self.phase = "generating" if index == 1 else "fixing"
        self.record: Optional[Round] = None
        self.open = True

    def headline(self) -> str:
        line = self._headline()
        r = self.record
        return f"{line} · {summary(r.candidates)}" if r is not None and r.candidates else line

    def _headline(self) -> str:
        r = self.record
        if r is None:
            return f"round {self.index}/{self.max_rounds} · {self.phase}…"
        if r.status == OK:
            seconds = r.execution.seconds if r.execution else 0.0
            return f"✓ round {self.index}/{self.max_rounds} · ran in {seconds:.2f} s"
        if r.error_line:
            return f"✗ round {self.index}/{self.max_rounds} · {r.error_line}"
        return f"round {self.index}/{self.max_rounds} · {r.status or 'done'}"

    def usage(self) -> str:
        u = self.record.usage if self.record else None
        if u is None:
            return ""
        return usage_line(u, sep=" · ")

    def bundle(self) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}

    def text(self) -> str:
        lines = [f"── {self.headline()}"]
        lines.append(self.code if self.code is not None else self.reply)
        return "\n".join(lines)

    def html(self) -> str:
        r = self.record
        failed = r is not None and r.status not in (OK, NOT_RUN, "")  # --no-exec's round is the result
        colour = "#1a7f37" if r is not None and r.status == OK else "#cf222e" if failed else "#1f2328"
        usage = self.usage()
        head = (f'<summary style="cursor:pointer;padding:3px 0"><b style="color:{colour}">'
                f'{html.escape(self.headline())}</b>'
                + (f' <span style="{_MUTED}">· {html.escape(usage)}</span>' if usage else "") + "</summary>")
        if self.code is not None:
            body = f'<pre class="oci-code" style="{_PRE}">{highlight(self.code)}</pre>'
        else:  # still streaming, or a reply without code: show the words as they come
            body = f'<pre class="oci-stream" style="{_PRE};white-space:pre-wrap">{html.escape(self.reply)}</pre>'
        if r is not None and r.feedback:
            body += (f'<details class="oci-feedback"><summary style="{_MUTED};cursor:pointer">feedback sent to the '
                     f'model</summary><pre style="{_PRE};white-space:pre-wrap">{html.escape(r.feedback)}</pre></details>')
        return (f'<details class="oci-round" data-round="{self.index}" style="{_BOX}"{" open" if self.open else ""}>'
                f"{head}{body}</details>")

    def show(self) -> None:
        self.output.show(self.bundle())


class RoundPanel:
    """Listener: one block per round, then (unless ``summary`` is off because the run record's
    output shows it) a summary line."""

    def __init__(self, show_fn=None, clock=None, interval: float = 1 / UPDATES_PER_SECOND, summary: bool = True):
        self.show_fn = show_fn
        self.summary = summary
        self.throttle = Throttle(interval, clock) if clock else Throttle(interval)
        self.rounds: Dict[int, _RoundView] = {}
        self.current: Optional[_RoundView] = None

    def __call__(self, event) -> None:
        view = self.current
        if isinstance(event, RoundStarted):
            self.current = _RoundView(event.index, event.max_rounds, self.show_fn)
            self.rounds[event.index] = self.current
            self.current.show()
        elif view is None:
            if isinstance(event, RunFinished):
                self._summary(event)
            return
        elif isinstance(event, TokenGenerated):
            view.reply += event.text
            if self.throttle.ready():
                view.show()
        elif isinstance(event, ReplyRepeated):  # the tokens that follow are a new reply
            view.reply, view.phase = "", "the reply repeated code that already ran · asking again"
            view.show()
        elif isinstance(event, CodeReady):
            view.code, view.phase = event.code, "code ready"
            view.show()
        elif isinstance(event, ExecutionStarted):
            view.phase = "running"
            view.show()
        elif isinstance(event, RoundFinished):
            view = self.rounds.get(event.round.index, view)
            view.record = event.round
            if view.code is None:
                view.reply = event.round.reply or view.reply
            view.show()
        elif isinstance(event, RunFinished):
            if event.result.ok:
                self._fold_failed()
            self._summary(event)

    def _fold_failed(self) -> None:
        """A later round worked: the failed ones are history, folded to their headline."""
        for view in self.rounds.values():
            if view.record is not None and view.record.status not in (OK, NOT_RUN) and view.open:
                view.open = False
                view.show()

    def _summary(self, event: RunFinished) -> None:
        if not self.summary:
            return
        result = event.result
        line = result.summary_line()
        Output(self.show_fn).show({"text/plain": line, "text/html": summary_html(line, result.ok)})


def summary_html(line: str, ok: bool) -> str:
    colour = "#1a7f37" if ok else "#cf222e"
    return f'<div class="oci-summary" style="font-weight:bold;color:{colour};margin:4px 0">{html.escape(line)}</div>'

