"""Several replies to one prompt, decoded together on a loaded ``llama_cpp.Llama``.

Generation on a CPU is bound by reading the weights once per step; one step for K sequences
costs far less than K steps (here a batch of 4 tokens costs about 2-3 one-token steps). The
prompt is read once into sequence 0 and its cache cells are shared with the others
(``llama_memory_seq_cp`` in a unified cache copies no data); each step decodes the next token of
every reply still going. The context must have room for K sequences (``n_seq_max``) and a
unified KV cache: :class:`~oci_magic.backends.llama.LlamaBackend` creates it so when asked for
more than one candidate.
"""
from __future__ import annotations

import codecs
import time
from typing import Iterator, List, Sequence, Tuple

from .decode import LlamaStep


def generate_many(llm, tokens: List[int], params: Sequence, max_tokens: int, usages: List, done) -> Iterator[Tuple[int, str]]:
    """Several replies to one prompt in one batch per step: the prompt is read once (its cache
    cells shared by every sequence), then each step decodes one token of every reply still
    going, sampled with its own sampler and seed. Yields ``(reply index, piece)``; the cache
    keeps reply 0 afterwards, as if it had been the only one."""
    import llama_cpp

    count, ctx = len(params), llm._ctx.ctx
    is_end, vocab = llama_cpp.llama_vocab_is_eog, llm._model.vocab
    start = time.perf_counter()
    first = LlamaStep(llm, params[0].temperature, params[0].seed)
    reused = first.prompt(tokens)
    samplers = [first.sampler]
    for p in params[1:]:
        llm.set_seed(p.seed if p.seed is not None else llama_cpp.LLAMA_DEFAULT_SEED)
        samplers.append(llm._init_sampler(temp=p.temperature))
    memory = llama_cpp.llama_get_memory(ctx)
    for s in range(1, count):
        llama_cpp.llama_memory_seq_cp(memory, 0, s, -1, -1)  # the prompt's cells, shared: no copy
    for u in usages:
        u.prompt_tokens, u.reused_tokens = len(tokens), reused
    # every reply's cells come from one window: each gets an equal share of what the prompt leaves
    limit = min(max_tokens, (llm._n_ctx - len(tokens) - 1) // count)
    texts = [codecs.getincrementaldecoder("utf-8")(errors="replace") for _ in range(count)]
    made, so_far = [0] * count, [""] * count
    pending = {s: samplers[s].sample(llm._ctx, -1) for s in range(count)}  # the next token of each reply
    reply0: List[int] = []
    batch = llama_cpp.llama_batch_init(count, 0, 1)
    try:
        while pending:
            for s in list(pending):
                token = pending[s]
                if is_end(vocab, token) or made[s] >= limit:
                    del pending[s]
                    continue
                made[s] += 1
                usages[s].generated_tokens = made[s]
                piece = texts[s].decode(llm._model.detokenize([token]))
                if piece:
                    if not usages[s].first_token_seconds:
                        usages[s].first_token_seconds = time.perf_counter() - start
                    so_far[s] += piece
                    yield s, piece
                if done(s, so_far[s]) or made[s] >= limit:
                    del pending[s]
            if not pending:
                break
            order = sorted(pending)
            batch.n_tokens = len(order)
            for i, s in enumerate(order):
                batch.token[i], batch.pos[i], batch.n_seq_id[i] = pending[s], len(tokens) + made[s] - 1, 1
                batch.seq_id[i][0], batch.logits[i] = s, True
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed on a batch of replies")
            if 0 in pending:
                reply0.append(pending[0])
            for i, s in enumerate(order):
                pending[s] = samplers[s].sample(llm._ctx, i)
    finally:
        llama_cpp.llama_batch_free(batch)
        for s in range(1, count):
            llama_cpp.llama_memory_seq_rm(memory, s, -1, -1)
        llm.input_ids[len(tokens): len(tokens) + len(reply0)] = reply0
        llm.n_tokens = len(tokens) + len(reply0)  # what the cache holds now: the prompt and reply 0
        end = time.perf_counter() - start
        for u in usages:
            u.seconds = end
