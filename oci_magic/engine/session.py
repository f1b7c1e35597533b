"""One kernel's engine. Every front end (``%%oci``, ``oci bench``) runs a task through
:meth:`Session.run`; none assembles a run of its own.

A session holds three things: the backends it made (:class:`~.loader.Loader`), what it remembers
from run to run (:class:`~.memory.Memory`, one immutable value) and the background reader
(:class:`~.prefill.Prefiller`). It knows nothing of IPython: the front end reads the kernel's
state into a :class:`~.memory.NotebookState` and passes the executor that runs code there.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from typing import Optional, Sequence, Tuple

from ..backends import ModelOptions
from ..backends.base import Backend
from ..backends.replay import RecordingBackend, check_record_path
from ..errors import NestedRun
from ..execution.executor import notebook_frames
from ..execution.gate import Gate, run_everything
from ..execution.result import Executor
from . import checks
from .events import Listener, ReadingContext, RunAborted
from .loader import Key, Loader
from .loop import RefinementLoop
from .memory import Memory, NotebookState
from .prefill import Prefiller
from .prompting import BlockCounts, Tokens, first_prompt
from .records import RunResult
from .runrecord import model_info
from .settings import PrefillSettings, RunOptions

__all__ = ["NotebookState", "Session"]


class Session:
    def __init__(self):
        self.prefiller = Prefiller()
        self.models = Loader(before_unload=self.prefiller.cancel)
        self.memory = Memory()
        self.last_result: Optional[RunResult] = None
        self._blocks = BlockCounts()
        self._running = False  # prefill never runs inside a run (code it runs ends "cells" too)

    # -- backends ---------------------------------------------------------------------------
    def backend(self, where: ModelOptions, listeners: Sequence[Listener] = ()) -> Tuple[Backend, Optional[Key]]:
        return self.models.get(where, listeners)

    def loaded_backend(self, kind: str = "llama") -> Optional[Backend]:
        return self.models.loaded(kind)

    def use_model(self, model: Optional[str]) -> None:
        """``%oci model NAME|PATH`` (None: back to the default) for every later run."""
        self.models.override = model

    def preload(self, where: ModelOptions) -> threading.Thread:
        """Load the model in a background thread (c.OciMagics.preload); the first run waits for it.
        A failure is left for that run to report."""
        def load():
            try:
                self.models.get(where)
            except Exception:
                pass

        thread = threading.Thread(target=load, name="oci-preload", daemon=True)
        thread.start()
        return thread

    def _tokens(self, backend: Backend, key: Optional[Key]) -> Tokens:
        return Tokens(backend.count_tokens, backend.n_ctx, key, self._blocks.of(backend.count_tokens))

    # -- prefill ----------------------------------------------------------------------------
    def prefill(self, state: NotebookState, options: RunOptions, settings: PrefillSettings) -> bool:
        """Hand the prefix the next run will share to the background prefill, when a backend that
        can prefill is loaded (with prefill off, just a save of its cache to disk): the prompt a
        run with an empty task would send, laid out by the same function. Never raises: an error
        is kept for ``%oci`` to show. Returns whether a job was scheduled."""
        found = self.models.prefillable()
        if self._running or found is None:
            return False
        backend, key = found
        try:
            messages = None  # prefill off: the job only saves the cache's state to disk
            if settings.enabled:
                spec = options.settings.context
                messages, _ = first_prompt("", self.memory.notebook(state, spec), self.memory.window,
                                           self.memory.conversation, options.settings, self._tokens(backend, key))
        except Exception as exc:
            self.prefiller.failed(exc)
            return False
        self.prefiller.schedule(backend, messages, settings)
        return True

    # -- a run ------------------------------------------------------------------------------
    def run(self, task: str, state: Optional[NotebookState], options: RunOptions, *, executor: Optional[Executor] = None,
            gate: Gate = run_everything, listeners: Sequence[Listener] = (), trial_gate: Optional[Gate] = None) -> RunResult:
        """Run ``task`` against the notebook ``state``. Raises OciError (one line) for what stops
        a run before the loop: a model that cannot load, a task that cannot fit the window."""
        if self._running:  # generated code that hid a %%oci from the policy
            raise NestedRun("a %%oci run cannot start from the code of another run; write the code for the task itself")
        state = state or NotebookState()
        self.prefiller.pause()  # a run never shares the model with a background batch
        self._running = True
        try:
            return self._run(task, state, options, executor, gate, listeners, trial_gate)
        finally:
            self._running = False

    def _run(self, task, state, options, executor, gate, listeners, trial_gate) -> RunResult:
        if options.record:
            check_record_path(options.record)
        _emit(listeners, ReadingContext(task))
        try:
            options = self._candidates(options)
            settings, memory = options.settings, self.memory
            backend, key = self.models.get(options.model, listeners)
            if options.record:
                backend = RecordingBackend(backend)
            notebook = memory.notebook(state, settings.context)
            prompt, window = first_prompt(task, notebook, memory.window, memory.conversation, settings,
                                          self._tokens(backend, key))
            backend.check_fits(prompt)
        except BaseException as exc:  # OciError, ■: live views must not stay on "reading context"
            _emit(listeners, RunAborted(type(exc).__name__))
            raise
        namespace = state.namespace
        check = (lambda task, code, ran, ns=None: checks.review(task, code, ran, namespace if ns is None else ns, settings)
                 ) if executor else None
        loop = RefinementLoop(backend, executor, settings, listeners, gate, check, model_info(backend), trial_gate)
        try:
            result = loop.run(task, prompt)
        finally:
            if options.record:
                backend.save(options.record)
        self.memory = memory.after_run(result, state, notebook, window, options, key)
        self.last_result = result
        return result

    def _candidates(self, options: RunOptions) -> RunOptions:
        """``candidates = 0`` left to the model (its catalog entry): known before it loads, since
        the room for them in the cache is made then."""
        if options.settings.candidates:
            return options
        count = self.models.choose(options.model).candidates
        return replace(options, settings=replace(options.settings, candidates=count),
                       model=replace(options.model, sequences=count))

    def note_error(self, cell: int, error: BaseException) -> None:
        """A cell of the user's raised (the post_run_cell hook)."""
        self.memory = self.memory.with_error(cell, f"{type(error).__name__}: {error}", notebook_frames(error))

    def fix_task(self, inputs: Sequence[str]) -> str:
        return self.memory.fix_task(inputs)

    @property
    def running(self) -> bool:
        """A run is in progress (its code is running, or its model is generating)."""
        return self._running

    def close(self) -> None:
        self.prefiller.close()
        self.models.unload()


def _emit(listeners: Sequence[Listener], event) -> None:
    for listener in listeners:
        listener(event)
