"""The notebook laid out for the KV cache: an append-only history, then the volatile part.

Prompt evaluation is what a CPU pays for; llama.cpp reuses the longest common token prefix of the
previous call. So the context is split in two:

* **history** -- the earlier cells, one part per cell, rendered with no execution counts or other
  volatile text. Across ``%%oci`` runs in one kernel it only grows at its end, so a later run
  starts with the previous run's tokens. Which old cells it leaves out is decided by a per-kernel
  cut (:class:`Window`) that only moves forward, in chunks: when the history outgrows its budget
  the oldest cells go until it fills ``KEEP`` of the budget, which leaves room for many more cells
  before the prefix is broken again. The cut is placed as if cells came one at a time, whenever
  they were laid out, so it depends on the cells alone: a new kernel on the same notebook (the
  disk cache) cuts where the old one did.
* **volatile** -- what changes each run: the variables, the last error, then what the task picks
  (older cells before the cut that define names the task or the error mention -- focused, none --
  and the summaries of named variables the list left out), so prefill, which knows no task, reads
  all the rest.

Each history part is tokenized on its own (a tokenizing backend honours a message's parts), so its
tokens do not depend on what follows it.
"""
from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Set, Tuple

from ...context.notebook import Cell, Count, NotebookContext
from ..headers import is_inserted
from ..checks import parameters, results
from .names import defined_names, mentioned, older_names, task_names, used_names
from .render import block, error_section, named_variables, render_variables

HEAD = "## Notebook so far\n\n"
HEAD_CUT = "## Notebook so far (older cells are not shown)\n\n"
KEEP = 0.6  # after a cut the history fills this share of its budget: room to grow before the next
VARIABLE_SHARE = 3  # the volatile part (variables, error, older relevant cells) takes up to 1/3 of the budget


@dataclass(frozen=True)
class ContextSpec:
    """How much of the notebook to send: ``cells`` None = all earlier cells, 0 = none."""

    cells: Optional[int] = None
    variables: bool = True
    token_budget: Optional[int] = None  # None: sized from n_ctx, max_tokens and rounds
    samples: int = 0  # first values shown for each table column and array
    focus: bool = False  # after new data since the last %%oci: from it on, plus what the task names (``focused``)

    @property
    def continues(self) -> bool:
        """Whether a run may continue the previous conversation: only one that sends everything
        (asking for fewer cells or no variables means starting from a fresh prompt)."""
        return self.cells is None and self.variables

    @classmethod
    def parse(cls, text: str) -> "ContextSpec":
        """``all`` | ``vars`` | ``none`` | N (the last N cells plus variables)."""
        text = str(text).strip().lower()
        if text == "all":
            return cls()
        if text == "vars":
            return cls(cells=0)
        if text == "none":
            return cls(cells=0, variables=False)
        if text.isdigit():
            return cls(cells=int(text))
        raise ValueError(f"--context must be all, vars, none or a number of cells, not {text!r}")


@dataclass(frozen=True)
class Window:
    """Per kernel: the first cell number the history shows, and the largest budget it was cut
    for. The cut only moves forward (until the history restarts, e.g. after a kernel reset)."""

    cut: int = 0
    budget: int = 0  # the largest budget seen: the cut is placed for that, the usual run
    keep: float = KEEP


@dataclass
class PromptContext:
    """The laid-out context: ``history`` parts (stable, append-only), then the ``volatile`` text
    (variables, last error), then what the task ``picked`` (a part of its own: prefill, which
    knows no task, reads the others token for token)."""

    history: List[str] = field(default_factory=list)
    volatile: str = ""
    picked: str = ""

    @property
    def text(self) -> str:
        return "".join(self.history) + self.volatile + self.picked

    @property
    def parts(self) -> List[str]:
        return list(self.history) + [p for p in (self.volatile, self.picked) if p]


class BlockCounts:
    """Token counts of cell blocks for one tokenizer, kept across runs: a block never changes, and
    a long notebook has hundreds. Another tokenizer (model) counts anew."""

    LIMIT = 20_000

    def __init__(self):
        self._counts: Dict[str, int] = {}
        self._count: Optional[Count] = None

    def of(self, count: Count) -> Count:
        if count != self._count or len(self._counts) > self.LIMIT:
            self._counts, self._count = {}, count

        def counted(text: str) -> int:
            if text not in self._counts:
                self._counts[text] = count(text)
            return self._counts[text]

        return counted


def select(window: Window, cells: List[Cell], budget: int, count: Count) -> Tuple[List[Cell], Window]:
    """The cells from the cut on, and the window after them: the cut moves forward first when
    they exceed ``budget``."""
    cut = 0 if cells and window.cut > cells[-1].number + 1 else window.cut  # 0: history numbering restarted
    shown = [c for c in cells if c.number >= cut]
    after = replace(window, cut=cut, budget=max(window.budget, budget))
    if not shown:
        return shown, after
    costs = [count(block(c)) for c in shown]
    if sum(costs) + count(HEAD_CUT) <= budget:
        return shown, after
    if budget < after.budget:  # one run with less room (more rounds, longer replies) must not
        return fit_newest(shown, budget, count), after  # cut everyone's history
    # placed as if the cells had come one at a time: the cut is then a function of the cells, and a
    # restarted kernel (whose disk cache holds the old kernel's prompt) places it where the old one did
    target, head, total, first = budget * window.keep, count(HEAD_CUT), 0, 0
    for i, cost in enumerate(costs):
        total += cost
        if total + head > budget:
            while first <= i and total > target:
                total -= costs[first]
                first += 1
    cut = shown[first].number if first < len(shown) else shown[-1].number + 1
    return shown[first:], replace(after, cut=cut)


def layout(context: NotebookContext, spec: ContextSpec, budget: int, count: Count, blocks: Count,
           window: Window, task: str = "") -> Tuple[PromptContext, Window]:
    """``context`` within ``budget`` tokens, and the window after it. ``blocks`` counts cell
    blocks (memoized), ``count`` everything else."""
    reserve = budget // VARIABLE_SHARE  # the volatile part's share
    cells = context.cells
    start = focused(context, spec, task)
    if spec.cells is not None:  # "the last N cells": the user asked for a sliding window
        cells = cells[len(cells) - spec.cells:] if spec.cells else []
        shown = fit_newest(cells, budget - reserve, blocks)
    else:  # focused: the cut moves up to where the focus starts (only forward: prefill lays out the same)
        cut = max(window.cut, start.number if start else 0)
        shown, window = select(replace(window, cut=cut), cells, budget - reserve, blocks)
    history: List[str] = []
    if shown:  # focused, the start is chosen, not a cut for room: headed as a fresh kernel's notebook
        history = [HEAD_CUT if shown[0] is not cells[0] and spec.cells is None and start is None else HEAD]
        history += [block(c) for c in shown]

    # What does not depend on the task comes first, so prefill (it lays the notebook out before the
    # task is known) reads it too: the variables, on a share fixed before the task is looked at, and
    # the last error. Then what the task picks: older cells (before the cut) that define names it
    # uses, and the summaries of the variables it names that the list had no room for.
    # Focused, what came before the start is only the summaries of the variables the task names:
    # an older cell's code, in a session often an earlier answer that made up its own data, and
    # picked by a plain word of the task ("monthly sales", "a list"), cost the small model answers
    # (docs/benchmarks.md, 2026-12-06); a summary says what a name holds.
    error = error_section(context.last_error) if context.last_error else ""
    used = count(error)
    older = [c for c in cells if c.number < (shown[0].number if shown else 1 << 60)] if start is None else []
    # focused, a result the task asks for holds what an earlier task left there, if anything: not
    # shown; nor, ever, a kernel name that is a parameter of the function the task asks for
    # ("Write a function parse_duration(text)": an earlier task's `text` is no input of it)
    names = task_names(task) - (results(task) if start is not None else set()) - asked_parameters(task)
    # focused, only the variables the shown cells use are listed (what the task names follows)
    wanted = set().union(*(used_names(c.source) for c in shown)) if start is not None else None
    if wanted is not None:  # of the others, only those the task means as variables, not as words
        about = names & wanted & {name for name, _ in context.variables}
        plain = "joined" if about else "word" if shown else "never"
        names = (names & wanted) | older_names(task, names - wanted, plain)
    names |= mentioned(context.last_error or "")
    variables, left_out = "", []
    if spec.variables:
        share = max(0, reserve - used)
        variables, left_out = render_variables(context, share - share // 3 if older else share, count, wanted)
        used += count(variables)
    volatile = [text for text in (variables, error) if text]
    picks: List[str] = []
    relevant = _relevant(older, names)
    if relevant:
        picked = fit_newest(relevant, reserve - used, blocks)
        if picked:
            text = "## Earlier cells that define names used here\n\n" + "".join(block(c) for c in picked).rstrip()
            picks.append(text)
            used += count(text)
    named = named_variables(context, names.intersection(left_out), reserve - used, count)
    if named:
        picks.append(named)
    joined = lambda texts: "\n\n".join(texts) + "\n\n" if texts else ""  # noqa: E731
    return PromptContext(history, joined(volatile), joined(picks)), window


def focused(context: NotebookContext, spec: ContextSpec, task: str = "") -> Optional[Cell]:
    """The cell a focused layout starts at, or None (not focused, or no earlier run). A long
    notebook worked through with many ``%%oci`` cells holds many unrelated tasks: cells run since
    the last ``%%oci`` that make new data start the current one, so the layout starts after that
    run; with none (a follow-up: "now as a bar chart"; the run's inserted code run again) it starts
    at the run itself -- unless its task stands alone (:func:`stands_alone`): then after every
    cell. What came before appears only as summaries of the variables the task or the last error
    names: about what a fresh kernel shows."""
    if not spec.focus or spec.cells is not None:
        return None
    runs = [i for i, c in enumerate(context.cells) if c.generated]
    if not runs:
        return None
    since = context.cells[runs[-1] + 1:]
    if any(defined_names(c.source, bound=True) and not is_inserted(c.source) for c in since):
        return since[0]
    if stands_alone(task, context.cells[runs[-1]]):
        return Cell("", number=context.cells[-1].number + 1)  # past every cell: nothing of them shown
    return context.cells[runs[-1]]


# "Write a function slugify(title) that ...": a new task in the task's own words, whatever ran before
_NEW_FUNCTION = re.compile(r"^\W*(?:please\s+)?(?:write|define|create|implement|code)\s+(?:me\s+)?an?\s+"
                           r"(?:[\w-]+\s+){0,3}?function\b", re.I)
_BUILTINS = frozenset(dir(builtins))
_REFERS_BACK = re.compile(r"\b(?:above|previous|earlier|same|again|instead|last|before)\b", re.I)


def stands_alone(task: str, run: Cell) -> bool:
    """Whether a task with no new data since the last run is a new task, not a follow-up: it asks
    for a new function ("Write a function slugify(title) that ...") and names nothing the last
    run's code used nor refers back ("the same", "above"). Continued, such a task carried the
    earlier conversation along -- in one session of the suite round-1 prompts of 630-1,020 tokens
    where a fresh kernel sends 150 -- and the small model wrote in its style (docs/benchmarks.md)."""
    if not task or not _NEW_FUNCTION.search(task) or _REFERS_BACK.search(task):
        return False
    # what the last run's code used, but not a builtin ("sorted", "list") or the asked function's
    # parameters ("is_valid_date(s)" after a loop over s): words any task may say
    return not (task_names(task) - asked_parameters(task) - _BUILTINS) & used_names(run.source)


_ASKED = re.compile(r"\bfunctions?\s+(?:called\s+|named\s+)?`?[A-Za-z_]\w*\([^()]*\)")


def asked_parameters(task: str) -> Set[str]:
    """The parameters of the functions the task asks for ("a function moving_max(values, k)"),
    not of every call it writes ("plot mean(sales)")."""
    return parameters(" ".join(m.group(0) for m in _ASKED.finditer(task)))


def new_data(context: NotebookContext, spec: ContextSpec, task: str = "") -> bool:
    """Whether a focused run starts after the last ``%%oci`` (cells since made new data, or its
    task stands alone), so it is laid out afresh; otherwise it is a follow-up, which continues the
    last run's conversation."""
    start = focused(context, spec, task)
    return start is not None and not start.generated


def fit_newest(cells: List[Cell], budget: int, count: Count) -> List[Cell]:
    chosen: List[Cell] = []
    used = 0
    for cell in reversed(cells):
        used += count(block(cell))
        if used > budget:
            break
        chosen.append(cell)
    return chosen[::-1]


def _relevant(cells: List[Cell], names: Set[str]) -> List[Cell]:
    """The cells that define a name in ``names``."""
    return [c for c in cells if names & defined_names(c.source)] if names else []
