"""The refinement loop: generate, extract, execute, feed the error back, until it works.

Plain Python on purpose: it talks to a backend (``generate``) and an executor (``execute``) and
emits events; it imports neither IPython nor llama_cpp.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Iterable, List, Optional

from . import feedback, prompt
from ..backends.base import Backend, GenerationParams, Message
from ..errors import OciError
from ..execution.gate import SKIP, SKIPPED_BY_USER, STOP, Gate, run_everything
from ..execution.result import Execution, Executor
from .events import CodeReady, ExecutionFinished, ExecutionStarted, Listener, RoundFinished, RoundStarted, RunFinished, RunStarted, TokenGenerated
from .extract import extract_code, closed_block_end
from .feedback import ASK_FOR_CODE
from .records import (ERROR, FAILED, GAVE_UP, GENERATED, INCOMPLETE, INTERRUPTED, NO_CODE, NO_PROGRESS, NOT_RUN, OK,
                      REPEATED, SKIPPED, STOPPED, SUCCESS, TIMEOUT, UNVERIFIED, Round, RunResult)
from .settings import RunSettings


Check = Callable[[str, str, Execution], Optional[str]]  # (task, code, execution) -> what it missed, or None


class _Stop(Exception):
    def __init__(self, outcome: str, message: str = ""):
        self.outcome, self.message = outcome, message


class RefinementLoop:
    def __init__(self, backend: Backend, executor: Optional[Executor], settings: RunSettings,
                 listeners: Iterable[Listener] = (), gate: Gate = run_everything, check: Optional[Check] = None):
        self.backend = backend
        self.gate = gate
        self.executor = executor
        self.settings = settings
        self.listeners: List[Listener] = list(listeners)
        self.check = check if settings.checks else None

    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def run(self, task: str, context: str = "", messages: Optional[List[Message]] = None) -> RunResult:
        """Run ``task``; ``messages``, when given, is the whole first prompt (a continued
        conversation) and ``context`` is not used. Afterwards ``self.transcript`` holds every
        message of the run, the last reply included."""
        result = RunResult(task=task, max_rounds=self.settings.rounds)
        self.emit(RunStarted(task, self.settings.rounds, self.backend.name, self.backend.timed))
        first = list(messages) if messages is not None else prompt.initial_messages(task, context)
        messages = self.transcript = first
        self.task, self.stuck = task, 0
        self.unconfirmed: Optional[Round] = None  # ran, missed a check, its effects still in place
        try:
            for index in range(1, self.settings.rounds + 1):
                round_ = self._round(index, messages, result)
                self.transcript = messages + [{"role": "assistant", "content": round_.reply}]
                result.rounds.append(round_)
                self.emit(RoundFinished(round_))
                if result.outcome:
                    break
                messages = self._next_prompt(first, messages, round_, result)
            else:
                result.outcome = GAVE_UP
            if result.outcome in (GAVE_UP, NO_PROGRESS):
                self._keep_what_ran(result)
        except _Stop as stop:
            result.outcome, result.message = stop.outcome, stop.message
        except KeyboardInterrupt:
            result.outcome, result.message = STOPPED, "by the user"
        self.emit(RunFinished(result))
        return result

    def _next_prompt(self, first: List[Message], messages: List[Message], round_: Round, result: RunResult):
        """``transcript``: the reply and its feedback are appended (the model sees its own code).
        ``restart``: the first prompt again, with what went wrong in each try and no earlier code
        -- small models repeat code they can see. Both keep the first prompt as a cached prefix."""
        if self.settings.refine == "restart":
            return prompt.with_attempts(first, [feedback.attempt_line(r, self.settings.facts) for r in result.rounds])
        return prompt.extend(messages, round_.reply, round_.feedback)

    def _keep_what_ran(self, result: RunResult) -> None:
        """No round passed; code that ran but missed a check is still the best there is."""
        if self.unconfirmed is not None:
            result.outcome, result.final_index = UNVERIFIED, self.unconfirmed.index

    def _params(self) -> GenerationParams:
        """After a repeat or the same error, sample more freely: greedy decoding repeats itself."""
        params = self.settings.generation
        if self.stuck and self.settings.retry_temperature > params.temperature:
            return replace(params, temperature=self.settings.retry_temperature)
        return params

    def _round(self, index: int, messages: List[Message], result: RunResult) -> Round:
        self.emit(RoundStarted(index, self.settings.rounds))
        round_ = Round(index=index)
        try:
            round_.reply = self._generate(index, messages, round_)
        except KeyboardInterrupt:
            self._keep_partial(round_, result, STOPPED, "during generation")
        except (OciError, ValueError, RuntimeError) as exc:
            self._keep_partial(round_, result, FAILED, str(exc))
        round_.code = extract_code(round_.reply)
        previous = result.rounds[-1] if result.rounds else None

        if round_.code is None:
            round_.status, round_.feedback = NO_CODE, ASK_FOR_CODE
            if previous is not None and previous.status == NO_CODE:
                result.outcome = NO_PROGRESS
            return round_
        self.emit(CodeReady(index, round_.code))
        if any(r.code is not None and round_.code.strip() == r.code.strip() for r in result.rounds):
            round_.status, round_.feedback = REPEATED, feedback.REPEATED_CODE
            self._stuck(result)
            return round_
        if not self.settings.execute or self.executor is None:
            round_.status, result.outcome = NOT_RUN, GENERATED
            return round_

        decision = self.gate(index, round_.code)
        if decision.action == STOP:
            round_.status, result.outcome, result.message = SKIPPED, STOPPED, decision.reason or "stopped before running"
            return round_
        if decision.action == SKIP:
            round_.status = SKIPPED
            round_.feedback = decision.reason or SKIPPED_BY_USER
            return round_
        self._undo_unconfirmed()
        self.emit(ExecutionStarted(index, round_.code))
        execution = self.executor.execute(round_.code)
        round_.execution = execution
        self.emit(ExecutionFinished(index, execution))
        if execution.interrupted:
            round_.status, result.outcome, result.message = INTERRUPTED, STOPPED, "during execution"
        elif execution.ok:
            missed = self.check(self.task, round_.code, execution) if self.check else None
            if missed is None:
                round_.status, result.outcome = OK, SUCCESS
            else:
                round_.status, round_.miss = INCOMPLETE, missed
                round_.feedback = feedback.check_feedback(missed, execution)
                self.stuck, self.unconfirmed = 0, round_
        else:
            round_.status = TIMEOUT if execution.timed_out else ERROR
            note = self.check(self.task, round_.code, execution) if self.check else None
            round_.feedback = feedback.error_feedback(execution, self.settings.feedback_chars, self.settings.facts, note)
            same = previous is not None and previous.execution is not None and \
                previous.execution.signature() == execution.signature()
            if same:
                self._stuck(result)
            else:
                self.stuck = 0
        return round_

    def _undo_unconfirmed(self) -> None:
        """The next try starts where the missed one started: its names back as they were (what it
        changed in place stays). Code that missed a check and is not followed by another run
        keeps its effects: it is then the result."""
        undo = getattr(self.executor, "undo", None)
        if self.unconfirmed is not None and undo is not None:
            ex = self.unconfirmed.execution
            ex.restored, ex.removed = undo()
        self.unconfirmed = None

    def _stuck(self, result: RunResult) -> None:
        """Once stuck, the next round gets a sharper request and a higher temperature; stuck again
        right after that, the run stops (the round cap bounds it either way)."""
        self.stuck += 1
        if self.stuck > self.settings.retries:
            result.outcome = NO_PROGRESS

    def _generate(self, index: int, messages: List[Message], round_: Round) -> str:
        parts: List[str] = []
        round_.reply = ""
        start = time.perf_counter()
        completion = self.backend.generate(messages, self._params())
        try:
            for piece in completion:
                parts.append(piece)
                self.emit(TokenGenerated(index, piece))
                if self.settings.stop_after_code and ("`" in piece or "\n" in piece):
                    end = closed_block_end("".join(parts))
                    if end is not None:
                        parts = ["".join(parts)[:end]]
                        break
        finally:
            completion.close()  # stops llama.cpp at once; the usage is complete after it
            round_.reply = "".join(parts)
            round_.generate_seconds = time.perf_counter() - start
            round_.usage = completion.usage
        return round_.reply

    def _keep_partial(self, round_: Round, result: RunResult, outcome: str, message: str) -> None:
        """A round cut short still belongs to the record, then the run stops."""
        round_.status = INTERRUPTED if outcome == STOPPED else ERROR
        result.rounds.append(round_)
        self.emit(RoundFinished(round_))
        raise _Stop(outcome, message)
