"""The refinement loop: generate, extract, execute, feed the error back, until it works.

Plain Python on purpose: it talks to a backend (``generate``) and an executor (``execute``) and
emits events; it imports neither IPython nor llama_cpp. :meth:`RefinementLoop.run` returns one
:class:`~.records.RunResult`: the first prompt, each round (made once, when it ends), the
transcript and the outcome. Nothing else of a run is left on the loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ..backends.base import Backend, GenerationParams, Message, Usage
from ..execution.gate import SKIP, SKIPPED_BY_USER, STOP, Gate, run_everything
from ..execution.result import Execution, Executor
from .events import (CodeReady, ExecutionFinished, ExecutionStarted, Listener, ReplyRepeated, RoundFinished, RoundStarted,
                     RunFinished, RunStarted, TokenGenerated)
from . import candidates
from .extract import extract_code, closed_block_end
from .imports import add_imports
from .rereads import leave_out_rereads
from .prompting import feedback, plain
from .records import (GenerationEnd, ERROR, GAVE_UP, GENERATED, INCOMPLETE, INTERRUPTED, NO_CODE, NO_PROGRESS, NOT_RUN, OK,
                      REPEATED, SKIPPED, STOPPED, SUCCESS, TIMEOUT, UNVERIFIED, Round, RunResult, Undone)
from .settings import RunSettings


# (task, code, execution, namespace it ran in: None for the user's) -> what it missed, or None
Check = Callable[[str, str, Execution, Optional[dict]], Optional[str]]


@dataclass
class _Run:
    """One run's state while it goes; the loop turns it into the RunResult at the end."""

    task: str
    prompt: Tuple[Message, ...]
    transcript: Tuple[Message, ...]
    rounds: List[Round] = field(default_factory=list)
    outcome: str = ""
    message: str = ""
    final_index: Optional[int] = None
    stuck: int = 0  # rounds in a row that repeated code or an error
    restarted: bool = False  # refine=auto: the run got stuck once, later rounds restart
    single: str = ""  # why this run's candidates cannot be tried (data too big to copy): one reply per round
    unconfirmed: Optional[Round] = None  # ran, missed a check, its effects still in place
    undone: Optional[Round] = None  # ran, missed a check, its effects undone before a later try
    asked_again: bool = False  # a reply repeated earlier code and was asked for again in its round


class _Stop(Exception):
    def __init__(self, outcome: str, message: str = ""):
        self.outcome, self.message = outcome, message


@dataclass(frozen=True)
class _Reply:
    text: str
    seconds: float
    usage: Optional[Usage]
    stop: Optional[Tuple[str, str]] = None  # (outcome, message) when generation broke off


class RefinementLoop:
    def __init__(self, backend: Backend, executor: Optional[Executor], settings: RunSettings,
                 listeners: Iterable[Listener] = (), gate: Gate = run_everything, check: Optional[Check] = None,
                 model: Optional[Dict[str, object]] = None, trial_gate: Optional[Gate] = None):
        self.backend = backend
        self.gate = gate
        self.executor = executor
        self.settings = settings
        self.listeners: List[Listener] = list(listeners)
        self.check = check if settings.checks else None
        self.model = model if model is not None else {"name": backend.name, "backend": backend.kind}
        self.trial_gate = trial_gate or gate  # for candidates' trials: a gate that never asks

    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def run(self, task: str, prompt: Optional[Sequence[Message]] = None) -> RunResult:
        """Run ``task`` from ``prompt`` (default: the task alone, with the system prompt)."""
        first = tuple(prompt) if prompt is not None else plain(task)
        run = _Run(task, first, first)
        redone = None
        self.emit(RunStarted(task, self.settings.rounds, self.backend.name, self.backend.capabilities.timed))
        messages = first
        try:
            for index in range(1, self.settings.rounds + 1):
                round_, messages = self._round(index, messages, run)
                run.transcript = messages + (Message.of("assistant", round_.reply),)
                run.rounds.append(round_)
                self.emit(RoundFinished(round_))
                if run.outcome:
                    break
                messages = self._next_prompt(first, messages, round_, run)
            else:
                run.outcome = GAVE_UP
            redone = self._keep_missed(run)
        except _Stop as stop:
            run.outcome, run.message = stop.outcome, stop.message
        except KeyboardInterrupt:
            run.outcome, run.message = STOPPED, "by the user"
        result = RunResult(task, self.settings.rounds, tuple(run.rounds), run.outcome, run.message, self.model,
                           run.final_index, run.prompt, run.transcript, redone)
        self.emit(RunFinished(result))
        return result

    def _next_prompt(self, first, messages, round_: Round, run: _Run):
        """``transcript``: the reply and its feedback are appended (the model sees its own code).
        ``restart``: the first prompt again, with what went wrong in each try and no earlier code
        -- small models repeat code they can see. ``auto``: the transcript until the run gets stuck
        (the same code or the same error again), then restart: a model shown the code it just
        repeated writes it once more. All keep the first prompt as a cached prefix."""
        if self.settings.refine == "restart" or run.restarted:
            return feedback.with_attempts(first, [feedback.attempt_line(r, self.settings.facts) for r in run.rounds])
        return feedback.extend(messages, round_.reply, round_.feedback)

    def _params(self, run: _Run) -> GenerationParams:
        """After a repeat or the same error, sample more freely: greedy decoding repeats itself."""
        params = self.settings.generation
        if run.stuck and self.settings.retry_temperature > params.temperature:
            return replace(params, temperature=self.settings.retry_temperature)
        return params

    def _round(self, index: int, messages, run: _Run) -> Tuple[Round, tuple]:
        """One round, and the prompt its kept reply answered (the transcript goes on from it)."""
        self.emit(RoundStarted(index, self.settings.rounds))
        made: Dict[str, object] = {}
        reply = self._reply(index, messages, run, made)
        code, imports = self.code_of(reply.text, run, made)
        if reply.stop is None and code is not None and self._repeats(reply.text, code, run) and self.settings.ask_again \
                and not run.asked_again:
            # A reply that repeats code already run is not a try: small models answer a traceback
            # with the same code (Qwen2.5-Coder-0.5B in a third of the suite's tasks). Asked again
            # at once, the way a stuck run's next round is asked (once per run).
            self._stuck(run)
            if not run.outcome:
                run.asked_again, made["repeated"] = True, reply.text
                self.emit(ReplyRepeated(index))
                messages = self._next_prompt(run.prompt, messages, Round(index, reply.text, feedback=feedback.REPEATED_CODE), run)
                spent = reply.seconds
                reply = self._reply(index, messages, run, made)
                made["generate_seconds"] = spent + reply.seconds
                code, imports = self.code_of(reply.text, run, made)
        return self._finish(index, reply, code, imports, made, run), messages

    def _reply(self, index: int, messages, run: _Run, made: Dict[str, object]) -> _Reply:
        if self.settings.candidates > 1 and self.settings.execute and self.executor is not None:
            picked = candidates.pick(self, index, messages, run, self.settings.candidates, self._params(run))
            reply, made["candidates"] = _Reply(picked.reply, picked.seconds, picked.usage, picked.stop), picked.candidates
        else:
            reply = self._generate(index, messages, self._params(run))
        made.update(index=index, reply=reply.text, usage=reply.usage, generate_seconds=reply.seconds)
        return reply

    @staticmethod
    def _repeats(reply: str, code: str, run: _Run) -> bool:
        """The reply's code is an earlier round's: as the model wrote both (an import added to one
        and not to the other, where the earlier round left the name bound, makes no difference), or
        as they run (the model wrote the import that was added before)."""
        written = (extract_code(reply) or "").strip()
        return any(r.code is not None and (code.strip() == r.code.strip() or written == (extract_code(r.reply) or "").strip())
                   for r in run.rounds)

    def _finish(self, index: int, reply: _Reply, code: Optional[str], imports, made, run: _Run) -> Round:
        if reply.stop is not None:  # a round cut short still belongs to the record, then the run stops
            outcome, message = reply.stop
            partial = Round(status=INTERRUPTED if outcome == STOPPED else ERROR, **made)
            run.rounds.append(partial)
            self.emit(RoundFinished(partial))
            raise _Stop(outcome, message)
        made.update(code=code, imports=imports)
        previous = run.rounds[-1] if run.rounds else None

        if code is None:
            if previous is not None and previous.status == NO_CODE:
                run.outcome = NO_PROGRESS
            return Round(status=NO_CODE, feedback=feedback.ASK_FOR_CODE, **made)
        self.emit(CodeReady(index, code))
        if self._repeats(reply.text, code, run):
            self._stuck(run)
            return Round(status=REPEATED, feedback=feedback.REPEATED_CODE, **made)
        if not self.settings.execute or self.executor is None:
            run.outcome = GENERATED
            return Round(status=NOT_RUN, **made)

        decision = self.gate(index, code)
        if decision.action == STOP:
            run.outcome, run.message = STOPPED, decision.reason or "stopped before running"
            return Round(status=SKIPPED, **made)
        if decision.action == SKIP:
            return Round(status=SKIPPED, feedback=decision.reason or SKIPPED_BY_USER, **made)
        made["undone"] = self._undo_unconfirmed(run)
        self.emit(ExecutionStarted(index, code))
        execution = made["execution"] = self.executor.execute(code)
        self.emit(ExecutionFinished(index, execution))
        if execution.interrupted:
            run.outcome, run.message = STOPPED, "during execution"
            return Round(status=INTERRUPTED, **made)
        if execution.ok:
            missed = self.check(run.task, code, execution, None) if self.check else None
            if missed is None:
                run.outcome = SUCCESS
                return Round(status=OK, **made)
            round_ = Round(status=INCOMPLETE, miss=missed, feedback=feedback.check_feedback(missed, execution), **made)
            run.stuck, run.unconfirmed = 0, round_
            return round_
        note = self.check(run.task, code, execution, None) if self.check else None
        round_ = Round(status=TIMEOUT if execution.timed_out else ERROR, **made, note=note,
                       feedback=feedback.error_feedback(execution, self.settings.feedback_chars, self.settings.facts, note))
        if previous is not None and previous.execution is not None and \
                previous.execution.signature() == execution.signature():
            self._stuck(run)
        else:
            run.stuck = 0
        return round_

    def code_of(self, reply: str, run: _Run, made: Optional[Dict[str, object]] = None) -> Tuple[Optional[str], Tuple[str, ...]]:
        """The reply's code, with the imports it forgot of well-known names the notebook does not
        bind (settings.imports; see engine.imports), and those import lines; lines that read a name
        the notebook holds from a file that is not there (settings.rereads), or type in again the
        data of one the task reads (settings.copies), are left out (see engine.rereads), noted in
        ``made``. Names a round that missed a check created do not count:
        they are removed before the next code runs."""
        code = extract_code(reply)
        if made is not None:
            made["left_out"] = ()  # a reply asked for again does not inherit the first one's
        settings = self.settings
        if code is None or not (settings.imports or settings.rereads or settings.copies) or self.executor is None:
            return code, ()
        names = self.executor.names()
        missed = run.unconfirmed.execution if run.unconfirmed is not None else None
        if names is not None and missed is not None and missed.created:
            names = set(names) - set(missed.created)
        if settings.rereads or settings.copies:
            code, left_out = leave_out_rereads(code, names, run.task if settings.copies else None, settings.rereads)
            if made is not None:
                made["left_out"] = left_out
        return add_imports(code, names) if settings.imports else (code, ())

    def _keep_missed(self, run: _Run) -> Optional[Undone]:
        """No round passed: code that ran but missed a check is still the best there is (checks
        doubt right answers too). Still in place, it is kept; undone before later tries that all
        failed, its names are put back first (settings.redo) -- else the user would be left with
        neither a result nor a cell."""
        if run.outcome not in (GAVE_UP, NO_PROGRESS):
            return None
        if run.unconfirmed is not None:
            run.outcome, run.final_index = UNVERIFIED, run.unconfirmed.index
            return None
        if run.undone is None or not self.settings.redo:
            return None
        restored, removed = self.executor.redo()
        run.outcome, run.final_index = UNVERIFIED, run.undone.index
        # an executor that keeps no snapshot undid nothing: then nothing was put back either
        return Undone(run.undone.index, tuple(restored), tuple(removed)) if restored or removed else None

    def _undo_unconfirmed(self, run: _Run) -> Optional[Undone]:
        """The next try starts where the missed one started: its names back as they were (what it
        changed in place stays). Code that missed a check and is not followed by another run
        keeps its effects: it is then the result."""
        missed, run.unconfirmed = run.unconfirmed, None
        if missed is None:
            return None
        run.undone = missed
        restored, removed = self.executor.undo()
        return Undone(missed.index, tuple(restored), tuple(removed))

    def _stuck(self, run: _Run) -> None:
        """Once stuck, the next round gets a sharper request and a higher temperature; stuck again
        right after that, the run stops (the round cap bounds it either way). With refine=auto every
        later round restarts from the first prompt."""
        run.stuck += 1
        run.restarted = run.restarted or self.settings.refine == "auto"
        if run.stuck > self.settings.retries:
            run.outcome = NO_PROGRESS

    def _generate(self, index: int, messages, params: GenerationParams) -> _Reply:
        parts: List[str] = []
        start = time.perf_counter()
        completion = None
        with GenerationEnd() as ended:
            try:
                completion = self.backend.generate(messages, params)
                for piece in completion:
                    parts.append(piece)
                    self.emit(TokenGenerated(index, piece))
                    if self.settings.stop_after_code and ("`" in piece or "\n" in piece):
                        end = closed_block_end("".join(parts))
                        if end is not None:
                            parts = ["".join(parts)[:end]]
                            break
            finally:
                if completion is not None:
                    completion.close()  # stops llama.cpp at once; the usage is complete after it
        return _Reply("".join(parts), time.perf_counter() - start, completion.usage if completion else None, ended.value)
