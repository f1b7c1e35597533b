"""A round of several candidates: generated together, each tried off the live state, one chosen
by what they did (:mod:`.select`). The chosen reply then goes through the round as a single reply
would -- gate, live run, checks -- so everything after the choice is the same as with one."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

from ..backends.base import GenerationParams, Usage
from ..execution.gate import RUN
from . import probes, select
from .checks import targets
from .events import CandidatesTried, TokenGenerated
from .extract import closed_block_end
from .records import FAILED, Candidate, GenerationEnd


@dataclass(frozen=True)
class Picked:
    reply: str  # the chosen candidate's
    usage: Optional[Usage]
    seconds: float
    candidates: Tuple[Candidate, ...] = ()
    stop: Optional[Tuple[str, str]] = None  # generation broke off: (outcome, message)


def params(base: GenerationParams, count: int, temperature: float) -> List[GenerationParams]:
    """The first at the run's own temperature and seed; the others hotter, each its own seed."""
    made = [base]
    for i in range(1, count):
        made.append(replace(base, temperature=max(base.temperature, temperature), draft=0,
                            seed=None if base.seed is None else (base.seed + i) % 2**32))
    return made


def generate(loop, index: int, messages, count: int, base: GenerationParams) -> Tuple[List[str], List[Usage], float, Optional[tuple]]:
    """``count`` replies, reply 0 streamed to the views; each ends at its first closed block."""
    done = (lambda i, text: closed_block_end(text) is not None) if loop.settings.stop_after_code else (lambda i, t: False)
    start, replies = time.perf_counter(), None
    with GenerationEnd() as ended:
        try:
            replies = loop.backend.generate_many(messages, params(base, count, loop.settings.candidate_temperature), done)
            for i, piece in replies:
                if i == 0:
                    loop.emit(TokenGenerated(index, piece))
        finally:
            if replies is not None:
                replies.close()
    stop = ended.value
    texts = [] if replies is None else list(replies.texts)
    texts = [t[: closed_block_end(t)] if loop.settings.stop_after_code and closed_block_end(t) else t for t in texts]
    return texts, [] if replies is None else list(replies.usages), time.perf_counter() - start, stop


def pick(loop, index: int, messages, run, count: int, base: GenerationParams) -> Picked:
    """Generate ``count`` candidates, try them, choose one (see the module's docstring). Where
    they cannot be tried -- this executor cannot, the working folder or (in an earlier round of
    the run) the data is too big to copy -- one reply is generated: the others would be waste."""
    from ..execution.trials import TooBig

    trials = loop.executor.trials() if loop.executor is not None else None
    if trials is not None and not run.single:
        try:
            trials.ready()
        except TooBig as exc:  # this run's rounds generate one reply
            run.single = str(exc)
    untried = trials is None or bool(run.single)
    texts, usages, seconds, stop = generate(loop, index, messages, 1 if untried else count, base)
    if stop is not None or not texts:
        return Picked(texts[0] if texts else "", usages[0] if usages else None, seconds, stop=stop or (FAILED, "the backend gave no reply"))
    if untried:
        return _first(loop, index, run, texts, usages, seconds)
    codes = [loop.code_of(t, run)[0] for t in texts]
    found, passed, missed, errors = {}, {}, {}, {}
    vote = loop.settings.selection != "first"  # only a vote compares what candidates' functions return
    calls = probes.inputs(run.task, [c for c in codes if c]) if vote else {}
    try:
        with trials as tried:
            seen = {}
            for i, code in enumerate(codes):
                if code is None:
                    found[i] = ("no code", None)
                elif code.strip() in seen:
                    found[i] = ("same code", None)
                    j = seen[code.strip()]
                    for table in (passed, missed, errors):
                        if j in table:
                            table[i] = table[j]
                elif loop.trial_gate(index, code).action != RUN:
                    found[i] = ("refused", "the safety policy refused it")
                else:
                    seen[code.strip()] = i
                    trial = tried.run(code, calls)
                    ran = trial.execution
                    if not ran.ok:
                        found[i], errors[i] = ("error", ran.error_line), ran.error_line
                        continue
                    miss = loop.check(run.task, code, ran, trial.namespace) if loop.check else None
                    if miss is None:
                        found[i], passed[i] = ("ok", None), trial
                    else:
                        found[i], missed[i] = ("missed", miss.split(". ")[0]), trial
    except TooBig as exc:  # a variable too big to copy: this run's later rounds generate one reply
        run.single = str(exc)
        return _first(loop, index, run, texts, usages, seconds)
    compared = passed or missed
    names = select.results(list(compared.values()), targets(run.task))
    kept = probes.answered([t.behaviour for t in compared.values()])
    signatures = {i: select.signature(t, names, kept) for i, t in compared.items()}
    grouped = select.groups(signatures)
    if not vote:  # greedy-with-trials: the earliest that ran (and passed, if any did)
        chosen = min(compared) if compared else None
    else:
        chosen, _ = select.winner(grouped)
    if chosen is None:
        chosen = select.common_error(errors)
    chosen = 0 if chosen is None else chosen
    made = tuple(Candidate(i, texts[i], codes[i], found[i][0], found[i][1], grouped.get(i), i == chosen,
                           usages[i] if i < len(usages) else None, i in passed or i in missed)
                 for i in range(len(texts)))
    loop.emit(CandidatesTried(index, *counts(made)))
    return Picked(texts[chosen], usages[chosen] if chosen < len(usages) else None, seconds, made)


def _first(loop, index: int, run, texts, usages, seconds) -> Picked:
    """The first reply, untried (saying why where trials were meant to run but cannot)."""
    if run.single:
        loop.emit(CandidatesTried(index, 1, 0, 0, f"one candidate: {run.single}"))
    return Picked(texts[0], usages[0], seconds)


def counts(candidates: Sequence[Candidate]) -> Tuple[int, int, int]:
    """(candidates, how many ran without an error, how many did what the chosen one did)."""
    chosen = next((c for c in candidates if c.chosen), None)
    agree = sum(1 for c in candidates if chosen is not None and chosen.group is not None and c.group == chosen.group)
    return len(candidates), sum(1 for c in candidates if c.ran), agree


def summary(candidates: Sequence[Candidate]) -> str:
    """``4 candidates · 3 ran · 2 agree``."""
    total, ran, agree = counts(candidates)
    return f"{total} candidates · {ran} ran · {agree} agree"
