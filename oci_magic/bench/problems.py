"""A HumanEval problem as a program to run: the prompt's definitions with the model's code, then
its tests -- the docstring's examples (``self``: what a user could know, read as the magic reads
a task's examples) or the hidden ``check`` (``oracle``)."""
from __future__ import annotations

import doctest
import re
from typing import Dict, List, Tuple

from ..engine.exercise import examples as task_examples


def program(problem: Dict[str, str], code: str) -> str:
    """The prompt's definitions (imports, helpers, the stub), then the model's code.

    A reply that defines the function replaces the stub; a reply that is only a body completes it."""
    prompt = problem["prompt"]
    if re.search(rf"^def\s+{re.escape(problem['entry_point'])}\s*\(", code, re.M):
        return prompt + "\n    pass\n\n" + code + "\n"
    body = code if code.startswith((" ", "\t")) else "\n".join("    " + line for line in code.splitlines())
    return prompt + body + "\n"


def examples(problem: Dict[str, str]) -> List[Tuple[str, str]]:
    """The docstring's ``>>> call`` / expected-output pairs; without any, the examples the magic
    itself reads in a task (``f(x) == y``, ``f(x) => y``, ``f(x) should return y``: 46 of the 94
    problems that have no ``>>>`` line), so self feedback is what a notebook user's function gets."""
    try:
        found = doctest.DocTestParser().get_examples(problem["prompt"])
    except ValueError:
        found = []
    pairs = []
    for example in found:
        # the docstring's closing quotes often sit right under the last expected line
        want = "\n".join(l for l in example.want.strip().splitlines() if l.strip() not in ('"""', "'''")).strip()
        if want:
            pairs.append((example.source.strip(), want))
    if not pairs:
        pairs = [(text, repr(want)) for text, _, _, want in task_examples(problem["prompt"], problem["entry_point"])]
    return pairs


_SELF_CHECK = """
_oci_wrong = []
def _oci_check(source, call, want_text):
    got = call()
    try:
        same = got == eval(want_text)
    except Exception:
        same = repr(got) == want_text
    if not same:
        _oci_wrong.append(f"{source} returned {got!r}, expected {want_text}")
def _oci_report(total):
    if len(_oci_wrong) == 1 and total == 1:
        raise AssertionError(_oci_wrong[0])
    if _oci_wrong:  # every example it gets wrong (of how many): where the bug is
        raise AssertionError(f"{len(_oci_wrong)} of {total} docstring examples give the wrong result:\\n"
                             + "\\n".join(_oci_wrong))
"""


def self_tests(problem: Dict[str, str]) -> str:
    pairs = examples(problem)
    # the call on a line of its own: a docstring's "# f(x) = 1 + 2x" after it would comment the rest out
    checks = [f"_oci_check({source!r}, lambda: ({source}\n), {want!r})" for source, want in pairs]
    return _SELF_CHECK + "\n".join(checks) + f"\n_oci_report({len(pairs)})\n"


def oracle_tests(problem: Dict[str, str]) -> str:
    return "\n" + problem["test"] + f"\ncheck({problem['entry_point']})\n"
