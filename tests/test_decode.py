"""Generation with drafts from the context: a draft only saves decodes, it never changes a token.

The loop is driven by a model of its own here, whose next-token scores depend on the context
alone (not on how tokens were batched), so with it the drafted and the plain reply must be the
same token for token, greedy and sampled alike; the real model is checked end to end below."""
import numpy as np
import pytest

from oci_magic.backends.base import GenerationParams, Message, Usage
from oci_magic.backends.decode import Drafter, Ngrams, generate

VOCAB, END = 50, 0


class Model:
    """A fake llama step: scores are a fixed function of the last three tokens; sampling draws
    from them with a seeded stream, one number per draw, as llama.cpp's dist sampler does."""

    def __init__(self, temperature=0.0, seed=1, end_after=None):
        self.cache, self.rows, self.decodes, self.sizes = [], [], 0, []
        self.temperature, self.rng, self.end_after = temperature, np.random.default_rng(seed), end_after
        self.room = 10_000

    def scores(self, context):
        key = hash(tuple(context[-3:])) % (2**32)
        row = np.random.default_rng(key).normal(size=VOCAB) * 3
        row[END] = -50 if self.end_after is None or len(context) < self.end_after else 50
        return row

    @property
    def cached(self):
        return len(self.cache)

    def prompt(self, tokens):
        self.cache = list(tokens)
        self.rows = [self.scores(self.cache)]
        return 0

    def decode(self, batch):
        self.decodes += 1
        self.sizes.append(len(batch))
        start = len(self.cache)
        self.cache += batch
        self.rows = [self.scores(self.cache[: start + i + 1]) for i in range(len(batch))]

    def sample(self, index):
        row = self.rows[index]
        if self.temperature == 0:
            return int(row.argmax())
        p = np.exp((row - row.max()) / self.temperature)
        return int(self.rng.choice(VOCAB, p=p / p.sum()))

    def keep(self, n):
        del self.cache[n:]

    def is_end(self, token):
        return token == END

    def piece(self, token):
        return f"<{token}>".encode()


def reply(model, prompt, drafter, max_tokens=120):
    usage = Usage()
    text = "".join(generate(model, prompt, max_tokens, usage, drafter))
    return text, usage


def copying_prompt():
    """A prompt that holds what the model will write: its own greedy continuation, twice over."""
    model = Model()
    seed = [7, 8, 9]
    text, _ = reply(model, seed, None, max_tokens=60)
    tokens = [int(t) for t in text.strip("<>").split("><")]
    return seed + tokens + [1, 2] + seed  # then the model writes the same continuation again


def test_greedy_replies_are_the_same_token_for_token_and_drafts_save_decodes():
    prompt = copying_prompt()
    plain = reply(Model(), prompt, None)
    drafter = Drafter(32)
    drafter.ratios = {1: 1.0, 2: 1.1, 4: 1.3, 8: 1.6, 16: 2.0, 32: 3.0}  # a machine where batches are cheap
    model = Model()
    drafted, usage = reply(model, prompt, drafter, max_tokens=60)
    assert drafted == reply(Model(), prompt, None, max_tokens=60)[0] and usage.generated_tokens == 60
    assert usage.accepted > 45 and model.decodes < 15  # most tokens came from drafts, in few decodes
    tokens = [int(t) for t in drafted.strip("<>").split("><")]
    assert model.cache == (prompt + tokens)[: model.cached] and model.cached >= len(prompt) + 59  # no rejected draft left
    assert plain[0].startswith(drafted)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sampled_replies_draw_the_same_tokens_from_the_same_stream(seed):
    prompt = copying_prompt()
    plain, _ = reply(Model(temperature=0.5, seed=seed), prompt, None)
    drafter = Drafter(32)
    drafter.ratios = {1: 1.0, 2: 1.1, 4: 1.3, 8: 1.6, 16: 2.0, 32: 3.0}
    drafted, usage = reply(Model(temperature=0.5, seed=seed), prompt, drafter)
    assert drafted == plain and usage.drafted > 0  # each draw decided its token: same draws, same reply


def test_no_drafts_where_batches_cost_as_much_as_their_tokens():
    prompt = copying_prompt()
    drafter = Drafter(32)
    drafter.ratios = {b: float(b) for b in Drafter.SIZES}  # k tokens in one decode cost k decodes
    model = Model()
    _, usage = reply(model, prompt, drafter)
    assert usage.drafted == 0 and set(model.sizes) == {1}


def test_the_end_token_and_max_tokens_stop_a_drafted_reply():
    prompt = copying_prompt()
    drafter = Drafter(32)
    drafter.ratios = {1: 1.0, 2: 1.1, 4: 1.3, 8: 1.6, 16: 2.0, 32: 3.0}
    text, usage = reply(Model(), prompt, drafter, max_tokens=7)
    assert usage.generated_tokens == 7 and text.count("<") == 7
    plain, _ = reply(Model(end_after=len(prompt) + 30), prompt, None)
    ended, usage = reply(Model(end_after=len(prompt) + 30), prompt, drafter)
    assert ended == plain and usage.generated_tokens == 30 and "<0>" not in ended


def test_ngrams_find_the_latest_occurrence_and_how_long_it_matches():
    context = Ngrams([1, 2, 3, 4, 5, 9, 9, 2, 3, 4, 6, 7])
    context.append([9, 2, 3, 4])
    length, draft = context.draft(5)
    assert draft == [6, 7, 9, 2, 3] and length == 4  # after the latest "9 2 3 4", matching 4 back
    assert Ngrams([1, 2, 3]).draft(4) == (0, [])


def test_the_drafter_learns_what_is_kept():
    drafter = Drafter(16)
    drafter.ratios = {1: 1.0, 2: 1.5, 4: 2.0, 8: 3.0, 16: 5.0}
    before = drafter.choose(16, 16)
    for _ in range(20):
        drafter.checked(16, 8, 0)  # every draft rejected at once
    assert drafter.choose(16, 16) == 0 < before
    assert drafter.cost(3) == pytest.approx(1.75) and drafter.cost(32) == pytest.approx(10.0)


@pytest.mark.slow
def test_drafting_on_the_embedded_model_copies_a_code_block(model_path):
    from oci_magic.backends.llama import LlamaBackend

    backend = LlamaBackend(model_path, n_ctx=2048)
    code = "\n".join(f"total_{i} = sales['units'][{i}] * sales['price'][{i}]" for i in range(12))
    messages = [Message.of("system", "You repeat code exactly."),
                Message.of("user", f"Repeat this code exactly, in one ```python block:\n```python\n{code}\n```")]
    off = backend.generate(messages, GenerationParams(0.0, 400, 1, draft=0))
    block = off.text().split("```")[1]  # the repeated code (what follows it is the model's chatter)
    on = backend.generate(messages, GenerationParams(0.0, 400, 1, draft=32))
    assert on.text().split("```")[1] == block and "total_11" in block
    assert on.usage.accepted > 100 and on.usage.seconds < off.usage.seconds
    backend.close()


def test_calibration_stopped_between_sizes_goes_on_where_it_was():
    """Idle moments between short cells each time a few batch sizes; none is timed again and
    the costs count once every size is in, from the median of three passes over the sizes: one
    fast one-token decode (it divides every ratio) does not make every batch look dearer."""
    timed = []
    ones = iter([0.004, 0.01, 0.0105])  # the first one-token decode far faster than the others

    def time_batch(size):
        timed.append(size)
        return next(ones) if size == 1 else 0.01 * (1 + 0.5 * (size - 1))

    def stop_after(checks):
        left = iter(range(checks, -1, -1))
        return lambda: next(left, 0) == 0  # False for ``checks`` calls, then True

    drafter = Drafter(32)
    drafter.calibrate(time_batch, 1000, stop_after(2))  # a cell starts after two sizes
    assert timed == [1, 2] and not drafter.calibrated
    drafter.calibrate(time_batch, 1000, stop_after(1))
    assert timed == [1, 2, 4] and not drafter.calibrated
    drafter.calibrate(time_batch, 1000)
    assert timed == list(Drafter.SIZES) * 3
    assert drafter.calibrated and drafter.cost(8) == pytest.approx(4.5)
