"""One kernel's engine: the loaded backends, the history window, the last conversation, the cells
that raised and the code that worked. Every front end (``%%oci``, ``oci bench``) runs a task
through :meth:`Session.run`; none assembles a run of its own.

It knows nothing of IPython: the front end reads the kernel's state into a :class:`NotebookState`
and passes the executor that runs code there.
"""
from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .. import backends
from ..backends.base import Backend, Message
from ..backends.models import ModelChoice, choose_model
from ..backends.replay import RecordingBackend, check_record_path
from ..context.layout import HistoryWindow
from ..context.notebook import NotebookContext, gather
from ..errors import NothingToFix
from ..execution.executor import notebook_frames
from ..execution.gate import Gate, run_everything
from ..execution.result import Executor
from . import checks
from . import prompt
from .conversation import Conversation, first_prompt
from .events import Listener, ModelLoaded, ModelLoading, ReadingContext, RunAborted
from .loop import RefinementLoop
from .prefill import Prefiller
from .records import RunResult
from .runrecord import model_info
from .settings import ModelOptions, PrefillSettings, RunOptions


@dataclass
class NotebookState:
    """The kernel as plain values, read just before a run. ``inputs[n]`` is cell n's source
    (``inputs[0]`` unused); ``cell`` is the running cell's number."""

    inputs: Sequence[str] = ("",)
    outputs: Mapping[int, Any] = field(default_factory=dict)
    namespace: Mapping[str, Any] = field(default_factory=dict)
    hidden: Iterable[str] = ()
    cell: int = 1


class Session:
    def __init__(self):
        self.loaded: Dict[str, Tuple[backends.BackendSpec, Backend, int]] = {}  # kind -> (spec, backend, load number)
        self.model_override: Optional[str] = None  # %oci model PATH
        self.window = HistoryWindow()  # the history cut: only moves forward (KV-cache reuse)
        self.conversation: Optional[Conversation] = None  # the last successful run, to continue
        self.errors: Dict[int, str] = {}  # execution count -> "Ename: message" of cells that raised
        self.generated: Dict[int, str] = {}  # a %%oci cell's number -> its task and the code that ran
        self.tracebacks: Dict[int, List[str]] = {}  # execution count -> notebook frames, for %oci fix
        self.last_result: Optional[RunResult] = None
        self.last_prompt: List[Message] = []  # the last run's first prompt, as the backend got it
        self.prefiller = Prefiller()
        self.last_options: Optional[RunOptions] = None  # the next run likely looks like the last
        self._running = False  # prefill never runs inside a run (code it runs ends "cells" too)
        self._loads = 0
        self._loading = threading.RLock()  # a background preload and a run's load are one at a time

    # -- backends ---------------------------------------------------------------------------
    def model_choice(self, where: ModelOptions) -> ModelChoice:
        return choose_model(where.model, self.model_override, where.model_path)

    def backend(self, where: ModelOptions, listeners: Sequence[Listener] = ()) -> Tuple[Backend, object]:
        """The backend for ``where`` and the key of its KV cache. One is kept per kind: loading
        another model frees the previous one, since a laptop rarely holds two at once. A run's own
        ``--replay`` file starts from its first reply every time, so it is never kept."""
        kind, model, source = where.backend, where.remote_model, ""
        if kind == "replay":
            model = where.replay or where.replay_path
        elif kind == "llama":
            choice = self.model_choice(where)
            model, source = choice.path, choice.source
        elif where.model:
            model = where.model
        local = kind == "llama"
        spec = backends.BackendSpec(kind, model, where.url, where.n_ctx, where.n_threads, where.n_gpu_layers,
                                    where.kv_folder if local else "", where.kv_bytes if local else 0,
                                    where.share_cores and local)
        if kind == "replay" and where.replay:
            return backends.create(spec), None
        with self._loading:
            return self._load(kind, spec, model, source, listeners)

    def _load(self, kind, spec, model, source, listeners) -> Tuple[Backend, object]:
        current = self.loaded.get(kind)
        if current is None or current[0] != spec:
            self.unload(kind)
            if kind == "llama":
                _emit(listeners, ModelLoading(os.path.basename(model), source))
            backend = backends.create(spec)
            self._loads += 1
            current = self.loaded[kind] = (spec, backend, self._loads)
            if kind == "llama":
                _emit(listeners, ModelLoaded(backend.name, backend.load_seconds, backend.n_ctx, backend.n_threads))
        return current[1], (kind, current[2])

    def loaded_backend(self, kind: str = "llama") -> Optional[Backend]:
        current = self.loaded.get(kind)
        return current[1] if current else None

    def unload(self, kind: Optional[str] = None) -> None:
        for name in [kind] if kind else list(self.loaded):
            current = self.loaded.pop(name, None)
            if current is not None:
                self.prefiller.cancel()  # no batch may run on a model being freed
                if hasattr(current[1], "save_state"):
                    try:
                        current[1].save_state(1)  # all it read, for the next kernel or a switch back
                    except Exception:  # a full disk must not keep the model from going
                        pass
                current[1].close()

    def preload(self, where: ModelOptions) -> threading.Thread:
        """Load the model in a background thread (c.OciMagics.preload); the first run waits for it.
        A failure is left for that run to report."""
        def load():
            try:
                self.backend(where)
            except Exception:
                pass

        thread = threading.Thread(target=load, name="oci-preload", daemon=True)
        thread.start()
        return thread

    # -- prefill ----------------------------------------------------------------------------
    def prefill(self, state: NotebookState, options: RunOptions, settings: PrefillSettings) -> bool:
        """Hand the prefix the next run will share to the background prefill, when a llama model is
        loaded (with prefill off, just a save of the cache to disk). Lays the prompt out the way :meth:`run`
        will, on a copy of the history window: all of it but the task. Returns whether a job was scheduled."""
        current = self.loaded.get("llama")
        if self._running or current is None or not hasattr(current[1], "prefill"):
            return False
        _, backend, number = current
        messages = None  # prefill off: the job only saves the cache's state to disk
        if settings.enabled:
            gathered = self._gather(state, options)
            messages = first_prompt(backend, options.settings, "", gathered, copy.copy(self.window),
                                    self.conversation, ("llama", number))
        self.prefiller.schedule(backend, messages, settings)
        return True

    # -- a run ------------------------------------------------------------------------------
    def run(self, task: str, state: Optional[NotebookState], options: RunOptions, *, executor: Optional[Executor] = None,
            gate: Gate = run_everything, listeners: Sequence[Listener] = ()) -> RunResult:
        """Run ``task`` against the notebook ``state``. Raises OciError (one line) for what stops
        a run before the loop: a model that cannot load, a task that cannot fit the window."""
        state = state or NotebookState()
        self.prefiller.pause()  # a run never shares the model with a background batch
        self._running, self.last_options = True, options
        try:
            return self._run(task, state, options, executor, gate, listeners)
        finally:
            self._running = False

    def _run(self, task, state, options, executor, gate, listeners) -> RunResult:
        settings = options.settings
        if options.record:
            check_record_path(options.record)
        _emit(listeners, ReadingContext(task))
        try:
            backend, key = self.backend(options.model, listeners)
            if options.record:
                backend = RecordingBackend(backend)
            gathered = self._gather(state, options)
            messages = first_prompt(backend, settings, task, gathered, self.window, self.conversation, key)
            backend.check_fits(messages)
            self.last_prompt = messages
        except BaseException as exc:  # OciError, ■: live views must not stay on "reading context"
            _emit(listeners, RunAborted(type(exc).__name__))
            raise
        namespace = state.namespace
        check = (lambda task, code, ran: checks.check(task, code, ran, namespace.__contains__)) if executor else None
        loop = RefinementLoop(backend, executor, settings, listeners, gate, check)
        try:
            result = loop.run(task, messages=messages)
        finally:
            if options.record:
                backend.save(options.record)
        result.model = model_info(backend)
        self.last_result = result
        if settings.context.continues and key is not None and result.rounds:
            # a failed run is continued too: a fresh prompt would read the variables and task again
            why = None if result.succeeded else result.summary()
            self.conversation = Conversation.after(loop.transcript, state.cell, gathered, key, why)
        final = result.final_round
        if final is not None and final.code:
            self.generated[state.cell] = f"# %%oci task: {' '.join(task.split())[:200]}\n{final.code}"
        return result

    def _gather(self, state: NotebookState, options: RunOptions) -> NotebookContext:
        spec = options.settings.context
        if spec.cells == 0 and not spec.variables:
            return NotebookContext()
        return gather(inputs=state.inputs, outputs=state.outputs, errors=self.errors, generated=self.generated,
                      current=state.cell, namespace=state.namespace, hidden=state.hidden, samples=spec.samples)

    def note_error(self, cell: int, error: BaseException) -> None:
        """A cell of the user's raised: its error becomes the context's last error (and what
        ``%oci fix`` fixes, with the traceback's notebook frames)."""
        self.errors[cell] = f"{type(error).__name__}: {error}"
        self.tracebacks[cell] = notebook_frames(error)

    def fix_task(self, inputs: Sequence[str]) -> str:
        """The task of ``%oci fix``: the last cell that raised, its source and traceback."""
        if not self.errors:
            raise NothingToFix("no cell has raised an error in this kernel yet: nothing to fix")
        cell = max(self.errors)
        source = inputs[cell] if cell < len(inputs) else ""
        return prompt.fix_task(source, self.tracebacks.get(cell, []), self.errors[cell])

    def close(self) -> None:
        self.prefiller.close()
        self.unload()


def _emit(listeners: Sequence[Listener], event) -> None:
    for listener in listeners:
        listener(event)

