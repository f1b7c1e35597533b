"""What one kernel's engine keeps from run to run, as one value.

:class:`Memory` is immutable: a run or a cell that raised makes a new one (``after_run``,
``with_error``) and the session keeps it. A benchmark that wants to try two things from the same
point keeps a memory and puts it back (``session.memory = kept``); nothing reaches inside.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Tuple

from ..context.notebook import NotebookContext, gather
from ..errors import NothingToFix
from .headers import task_cell
from .prompting import ContextSpec, Conversation, Window, fix_task
from .records import RunResult

if TYPE_CHECKING:
    from .settings import RunOptions


@dataclass(frozen=True)
class NotebookState:
    """The kernel as plain values, read just before a run. ``inputs[n]`` is cell n's source
    (``inputs[0]`` unused); ``cell`` is the running cell's number."""

    inputs: Sequence[str] = ("",)
    outputs: Mapping[int, Any] = field(default_factory=dict)
    namespace: Mapping[str, Any] = field(default_factory=dict)
    hidden: Iterable[str] = ()
    cell: int = 1


def _frozen(mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Memory:
    window: Window = Window()  # the history cut: only moves forward (KV-cache reuse)
    conversation: Optional[Conversation] = None  # the last run, to continue from
    errors: Mapping[int, str] = field(default_factory=lambda: _frozen({}))  # cell -> "Ename: message" of cells that raised
    tracebacks: Mapping[int, Tuple[str, ...]] = field(default_factory=lambda: _frozen({}))  # cell -> notebook frames
    generated: Mapping[int, str] = field(default_factory=lambda: _frozen({}))  # %%oci cell -> its task and the code that ran
    options: Optional["RunOptions"] = None  # the last run's: the next run likely looks like it (prefill lays it out so)

    def notebook(self, state: NotebookState, spec: ContextSpec) -> NotebookContext:
        """The notebook as the next prompt shows it: ``%%oci`` cells as their task and code."""
        if spec.cells == 0 and not spec.variables:
            return NotebookContext()
        return gather(inputs=state.inputs, outputs=state.outputs, errors=self.errors, generated=self.generated,
                      current=state.cell, namespace=state.namespace, hidden=state.hidden, samples=spec.samples)

    def with_error(self, cell: int, error: str, frames: Sequence[str]) -> "Memory":
        """A cell of the user's raised: its error becomes the context's last error (and what
        ``%oci fix`` fixes, with the traceback's notebook frames)."""
        return replace(self, errors=_frozen({**self.errors, cell: error}),
                       tracebacks=_frozen({**self.tracebacks, cell: tuple(frames)}))

    def after_run(self, result: RunResult, state: NotebookState, notebook: NotebookContext, window: Window,
                  options: "RunOptions", model) -> "Memory":
        """The memory once ``result`` ran in cell ``state.cell``: its window, its conversation to
        continue (a failed run is continued too: a fresh prompt would read the variables and the
        task again), and the code it kept."""
        conversation = self.conversation
        if options.settings.context.continues and model is not None and result.rounds:
            why = None if result.succeeded else result.summary()
            conversation = Conversation.after(result.transcript, state.cell, notebook, model, why)
        generated = self.generated
        final = result.final_round
        if final is not None and final.code:
            generated = _frozen({**generated, state.cell: task_cell(result.task, final.code)})
        return replace(self, window=window, conversation=conversation, generated=generated, options=options)

    def without_conversation(self) -> "Memory":
        """The next run starts from a fresh prompt (what a run after a kernel reset does)."""
        return replace(self, conversation=None)

    def fix_task(self, inputs: Sequence[str]) -> str:
        """The task of ``%oci fix``: the last cell that raised, its source and traceback."""
        if not self.errors:
            raise NothingToFix("no cell has raised an error in this kernel yet: nothing to fix")
        cell = max(self.errors)
        source = inputs[cell] if cell < len(inputs) else ""
        return fix_task(source, self.tracebacks.get(cell, ()), self.errors[cell])
