"""Generating a reply on a loaded ``llama_cpp.Llama`` -- several tokens per pass over the weights
where the reply copies its context.

On a CPU one generated token costs one read of all the weights. A fix round rewrites the code it
was shown with small changes, and a first round copies the notebook's names and lines: much of a
reply is already in its prompt. Prompt lookup drafting proposes, after the last few tokens, what
followed them the last time they occurred (in the prompt or the reply so far); one batched
decode then computes the logits of every drafted position at once, far cheaper than one decode
each, and the drafts are checked in order.

The check draws each position's token as plain decoding would (the same sampler chain, seed and
stream of random numbers) and keeps a drafted token only when it equals the draw; the first draw
that differs is kept in its place. So greedy output is the same token for token, and sampled
output is drawn from the same distribution. Drafting costs something only when drafts are
rejected; the :class:`Drafter` therefore times its own decodes by batch size, estimates how often
a drafted token is accepted, and drafts the number of tokens with the best expected tokens per
second -- none where drafting does not pay. Nothing here keeps logits for every position of the
context (llama-cpp-python's ``draft_model`` forces that: n_ctx x vocabulary floats).
"""
from __future__ import annotations

import codecs
import statistics
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

SIZES = (4, 3, 2)  # n-gram lengths looked up, longest first
MATCHES = (2, 3, 4, 8, 16, 32)  # how far back the context's end matches where the draft comes from: at least this
PRIOR_ACCEPT = {2: 0.5, 3: 0.6, 4: 0.7, 8: 0.85, 16: 0.9, 32: 0.95}  # per drafted token, before any is checked
LONGEST = 32  # tokens compared back from a match
PRIOR_WEIGHT = 4.0  # the prior counts as this many checked tokens
PRIOR_COST = 0.5  # each extra token of a batch, as a share of a one-token decode, before one is timed
EMA = 0.2
REPEATS = 3  # passes over the batch sizes when timing them


class Ngrams:
    """Where each n-gram of the context last occurred, kept current as tokens are appended."""

    def __init__(self, tokens: Sequence[int]):
        self.tokens: List[int] = list(tokens)
        self._last: Dict[int, Dict[tuple, int]] = {n: {} for n in SIZES}
        self._done = 1  # n-grams ending before this position are registered
        self._register()

    def append(self, tokens: Sequence[int]) -> None:
        self.tokens.extend(tokens)
        self._register()

    def _register(self) -> None:
        t = self.tokens
        for end in range(self._done, len(t)):  # the n-gram t[end-n:end] is followed by t[end]
            for n in SIZES:
                if end >= n:
                    self._last[n][tuple(t[end - n:end])] = end
        self._done = len(t)

    def draft(self, limit: int) -> Tuple[int, List[int]]:
        """(how many tokens back the context's end matches, bucketed by MATCHES; up to ``limit``
        tokens that followed the match), from the latest occurrence of its last 4, 3 or 2
        tokens; (0, []) when none occurred before. A long match is a reply copying its context."""
        t = self.tokens
        for n in SIZES:
            if len(t) > n:
                start = self._last[n].get(tuple(t[-n:]))
                if start is not None:
                    same = n
                    while same < LONGEST and start - same - 1 >= 0 and t[start - same - 1] == t[-same - 1]:
                        same += 1
                    return max(m for m in MATCHES if m <= same), t[start:start + limit]
        return 0, []


class Drafter:
    """How many tokens to draft: from what a batch of each size costs against a one-token decode
    (timed once, :meth:`Drafter.calibrate`, then kept current from the decodes themselves) and how often
    drafted tokens were kept, by n-gram length and by whether the last draft was kept whole (the
    reply is copying a stretch of its context) or not, and by how long a stretch of the context's
    end matched where the draft comes from. Kept by the backend across replies: the costs are the
    machine's and the model's.""" 

    SIZES = (1, 2, 4, 8, 16, 32)  # batch sizes timed; others are interpolated

    def __init__(self, limit: int):
        self.limit = limit
        self.ratios: Dict[int, float] = {}  # batch size -> seconds / a one-token decode's
        self.one: Optional[float] = None  # EMA seconds of a one-token decode
        self.accepted: Dict[Tuple[int, bool], List[float]] = {
            (n, copying): [PRIOR_ACCEPT[n] * PRIOR_WEIGHT, PRIOR_WEIGHT] for n in MATCHES for copying in (False, True)}
        self.copying = False  # the last draft was kept whole
        self._timed: Dict[int, List[float]] = {}  # batch size -> seconds of each pass so far

    @property
    def calibrated(self) -> bool:
        return bool(self.ratios)

    def calibrate(self, time_batch, room: int, stop=lambda: False) -> None:
        """Time a decode of each of SIZES that fits in ``room`` tokens with ``time_batch(size)``,
        REPEATS passes over the sizes in turn; each size costs the median of its passes. A
        scheduler's hiccup or one fast one-token decode (its time divides every ratio) moves a
        median, not the costs: with two tries and the faster kept, the 1.5B's one-token decode
        came out at 30 ms one time and 35-40 ms others, every batch looked 20 % dearer, and it
        drafted almost nothing. What ``stop()`` interrupts is kept and the next call goes on from
        there: idle moments between short cells each time a few decodes."""
        for turn in range(REPEATS):
            for size in self.SIZES:
                if len(self._timed.setdefault(size, [])) > turn:
                    continue
                if stop() or size > room:
                    return  # too little room to time them all: another time
                self._timed[size].append(time_batch(size))
        median = {size: statistics.median(times) for size, times in self._timed.items()}
        self.one = median[1]
        self.ratios = {size: seconds / median[1] for size, seconds in median.items()}

    def cost(self, batch: int) -> float:
        """A decode of ``batch`` tokens, in one-token decodes."""
        if batch in self.ratios:
            return self.ratios[batch]
        below = max((b for b in self.ratios if b < batch), default=None)
        above = min((b for b in self.ratios if b > batch), default=None)
        if below is not None and above is not None:  # between two timed sizes: on the line between them
            share = (batch - below) / (above - below)
            return self.ratios[below] + share * (self.ratios[above] - self.ratios[below])
        if below is not None and below > 1:  # past the largest: as steep as its last stretch
            return self.ratios[below] * batch / below
        return 1 + PRIOR_COST * (batch - 1)

    def chance(self, n: int) -> float:
        kept, tried = self.accepted[(n, self.copying)]
        return kept / tried

    def choose(self, n: int, available: int) -> int:
        """The number of drafted tokens (0..available) with the most expected tokens per second."""
        if n == 0 or available == 0 or self.limit <= 0:
            return 0
        p = self.chance(n)
        best, best_rate, expected, chance = 0, 1.0, 1.0, 1.0
        for k in range(1, min(available, self.limit) + 1):
            chance *= p
            expected += chance
            rate = expected / self.cost(1 + k)
            if rate > best_rate:
                best, best_rate = k, rate
        return best

    def timed(self, batch: int, seconds: float) -> None:
        """A decode the reply made: keeps the one-token cost and the measured ratios current (a
        sample three times off the estimate is the scheduler's, not the batch's, and is ignored)."""
        if batch == 1:
            self.one = seconds if self.one is None else self.one + EMA * (seconds - self.one)
            return
        if self.one and batch in self.ratios:
            ratio = seconds / self.one
            if ratio < 3 * self.ratios[batch]:
                self.ratios[batch] += EMA * (ratio - self.ratios[batch])

    def checked(self, n: int, drafted: int, kept: int) -> None:
        if drafted:
            stats = self.accepted[(n, self.copying)]
            stats[0] += kept
            stats[1] += kept + (1 if kept < drafted else 0)  # each kept token, and the one that was not
            self.copying = kept == drafted


class LlamaStep:
    """One reply's access to a loaded ``llama_cpp.Llama``: decode a batch of tokens, draw the
    token after one of them (create_completion's sampler chain and defaults), keep the cache's
    bookkeeping (``n_tokens``, ``input_ids``) as llama-cpp-python expects it."""

    def __init__(self, llm, temperature: float, seed: Optional[int]):
        import llama_cpp

        self.llm, self._end, self._vocab = llm, llama_cpp.llama_vocab_is_eog, llm._model.vocab
        llm.set_seed(seed if seed is not None else llama_cpp.LLAMA_DEFAULT_SEED)
        self.sampler = llm._init_sampler(temp=temperature)
        self.room = llm._n_ctx

    @property
    def cached(self) -> int:
        return self.llm.n_tokens

    def prompt(self, tokens: List[int]) -> int:
        """Evaluate the prompt (the longest cached prefix is reused; the last token is evaluated
        again for its logits); the tokens reused."""
        llm = self.llm
        have = llm.longest_token_prefix(llm._input_ids[: llm.n_tokens].tolist(), tokens)
        reused = max(0, min(have, len(tokens) - 1))
        llm._ctx.kv_cache_seq_rm(-1, reused, -1)
        llm.n_tokens = reused
        llm.eval(tokens[reused:])
        return reused

    def decode(self, batch: List[int]) -> None:
        """Evaluate ``batch`` after the cache, with the logits of every position."""
        llm, past = self.llm, self.llm.n_tokens
        llm._batch.set_batch(batch=batch, n_past=past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[past: past + len(batch)] = batch
        llm.n_tokens = past + len(batch)

    def sample(self, index: int) -> int:
        """Draw the token after position ``index`` of the last decode (-1: the prompt's last)."""
        return self.sampler.sample(self.llm._ctx, index)

    def time_batch(self, size: int) -> float:
        """Seconds a decode of ``size`` tokens takes here (then undone): for the drafter's costs."""
        llm, past = self.llm, self.llm.n_tokens
        filler = list(llm.input_ids[max(0, past - size): past]) or [0]
        batch = (filler * size)[:size]
        start = time.perf_counter()
        self.decode(batch)
        seconds = time.perf_counter() - start
        self.keep(past)
        return seconds

    def keep(self, n: int) -> None:
        """Keep the first ``n`` cached tokens; drop the rest (rejected drafts)."""
        if n < self.llm.n_tokens:
            self.llm.n_tokens = n
            self.llm._ctx.kv_cache_seq_rm(-1, n, -1)

    def is_end(self, token: int) -> bool:
        return bool(self._end(self._vocab, token))

    def piece(self, token: int) -> bytes:
        return self.llm._model.detokenize([token])


def generate(step, tokens: List[int], max_tokens: int, usage, drafter: Optional[Drafter],
             stats: Optional[dict] = None) -> Iterator[str]:
    """Yield the reply to the prompt ``tokens`` piece by piece, filling ``usage``. ``step`` is a
    :class:`LlamaStep` (tests pass a model of their own). ``drafter`` None: one token per decode.
    ``stats`` (optional) counts decodes, drafted and kept tokens."""
    start = time.perf_counter()
    usage.prompt_tokens, usage.reused_tokens = len(tokens), step.prompt(tokens)
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    context = Ngrams(tokens) if drafter is not None else None
    stats = {} if stats is None else stats
    for key in ("decodes", "drafted", "kept"):
        stats.setdefault(key, 0)
    token = step.sample(-1)  # not in the cache yet: the next decode evaluates it
    if drafter is not None and not drafter.calibrated:  # once per model; prefill usually did it while idle
        drafter.calibrate(step.time_batch, step.room - step.cached - 2)
    made = 0

    def emit(t: int) -> str:
        nonlocal made
        made += 1
        usage.generated_tokens = made
        piece = text.decode(step.piece(t))
        if piece and not usage.first_token_seconds:
            usage.first_token_seconds = time.perf_counter() - start
        return piece

    try:
        while not step.is_end(token):
            piece = emit(token)
            if piece:
                yield piece
            if made >= max_tokens or step.cached + 2 >= step.room:
                return
            n, draft = 0, []
            if context is not None:
                context.append([token])
                n, found = context.draft(min(max_tokens - made, step.room - step.cached - 2))
                draft = found[: drafter.choose(n, len(found))]
            past = step.cached
            began = time.perf_counter()
            step.decode([token] + draft)
            seconds = time.perf_counter() - began
            kept, token = 0, step.sample(0)
            while kept < len(draft) and token == draft[kept] and not step.is_end(token) and made < max_tokens:
                kept += 1
                piece = emit(token)
                if piece:
                    yield piece
                token = step.sample(kept)  # what follows the kept one
            step.keep(past + 1 + kept)
            if drafter is not None:
                drafter.timed(1 + len(draft), seconds)
                drafter.checked(n, len(draft), kept)
                context.append(draft[:kept])
            stats["decodes"] += 1
            stats["drafted"] += len(draft)
            stats["kept"] += kept
            usage.drafted += len(draft)
            usage.accepted += kept
            if made >= max_tokens:
                return
    finally:
        tail = text.decode(b"", final=True)
        if tail:
            yield tail
        usage.seconds = time.perf_counter() - start

