"""Messages to prompt tokens with a model's own chat template.

The template's text (role markers, ``<|im_start|>``...) is tokenized with special tokens on,
message contents with special tokens off, one part at a time. So a notebook that contains
``<|im_end|>`` reaches the model as plain text, and a transcript that only grows keeps a
token-stable prefix that llama.cpp's KV cache can reuse.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from ..errors import GenerationError
from .base import Message

# A template without the model's own chat format: ChatML, which most small instruct models know.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_SLOT = "\x00oci-slot-{}\x00"


class ChatTokenizer:
    """Turns messages into prompt tokens with the model's chat template, content as plain text."""

    def __init__(self, tokenize, template: Optional[str], bos_text: str, eos_text: str, bos_id: Optional[int]):
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise_template_error
        self._template = env.from_string(template or CHATML)
        self._tokenize = tokenize  # (bytes, special: bool) -> list[int]
        self._bos_text, self._eos_text, self._bos_id = bos_text, eos_text, bos_id

    def __call__(self, messages: Sequence[Message], prefix: bool = False) -> List[int]:
        """The prompt's tokens; ``prefix``: only those before the last message's last part (the
        part that holds the task), which the next prompt will share."""
        slots = [_SLOT.format(i) for i in range(len(messages))]
        rendered = self._template.render(
            messages=[{"role": m.role, "content": slot} for m, slot in zip(messages, slots)],
            add_generation_prompt=True,
            bos_token=self._bos_text,
            eos_token=self._eos_text,
        )
        tokens: List[int] = []
        rest = rendered
        for i, (message, slot) in enumerate(zip(messages, slots)):
            head, sep, rest = rest.partition(slot)
            if not sep:  # the template dropped this message (some drop system prompts)
                rest = head
                continue
            tokens += self._tokenize(head.encode("utf-8"), True)
            parts = message.parts or ("",)
            cut = prefix and i == len(messages) - 1
            # "replace": a lone surrogate (undecodable bytes in a variable's repr) must not crash us
            for part in parts[:-1] if cut else parts:
                tokens += self._tokenize(part.encode("utf-8", "replace"), False)
            if cut:
                return tokens
        tokens += self._tokenize(rest.encode("utf-8"), True)
        if self._bos_id is not None and (not tokens or tokens[0] != self._bos_id):
            tokens.insert(0, self._bos_id)
        return tokens


def _raise_template_error(message):
    raise GenerationError(f"chat template error: {message}")
