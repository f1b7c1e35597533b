"""Functions the code defines: called here on what the task says about them -- its examples
(``f('x') -> 'y'``, ``>>> f(x)`` then the result, "f(x) returns y"). A function the code never
calls runs only when the user's next cell calls it, so an error in it would pass every check;
without examples it is called on the notebook's data the task names, one element at a time for a
function of one parameter. A function the code calls itself may still be wrong on the example the
user gave (``print(slugify('A b'))`` runs; ``slugify('Hello, World!')`` gives ``'Hello-World'``
where the task says ``'hello-world'``): its examples are checked too. An exception, or a result
other than the example's, is what the round missed."""
from __future__ import annotations

import ast
import math
import re
from typing import Any, List, Mapping, Optional, Tuple

from .. import conversions
from ..execution.calls import call

_ARROW = r"\s*(?:->|→|=>|==|returns?|should return|gives|is)\s*"
MAX_EXAMPLES = 8
MAX_ITEMS = 5  # elements of a named list or Series tried on a function of one parameter


def defined(code: str) -> List[Tuple[str, List[str], bool]]:
    """(name, parameters, whether the code calls it) of the top-level functions ``code`` defines.
    A function the code hands to another (``df['a'].apply(parse)``, ``sorted(xs, key=f)``) is
    called by it: in one session the 1.5B's ``orders['amount'].apply(parse_amount)`` was taken for
    a function nobody calls, and called again on an earlier task's list."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    called = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return [(n.name, [a.arg for a in n.args.posonlyargs + n.args.args], n.name in called)
            for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def examples(task: str, name: str) -> List[Tuple[str, tuple, dict, Any]]:
    """(call as written, args, kwargs, expected) for each example of ``name`` in the task whose
    arguments and result are literals."""
    found = []
    # the expected value is looked ahead at, so the next example on the same line is found too
    patterns = (rf">>>\s*({re.escape(name)}\(.*?\))\s*\n\s*(?=(.+))",
                rf"\b({re.escape(name)}\((?:[^()]|\([^()]*\))*\)){_ARROW}(?=(.+))")
    for pattern in patterns:
        for match in re.finditer(pattern, task):
            parsed = _call(match.group(1))
            want = _literal_prefix(match.group(2))
            if parsed is not None and want is not _NONE:
                found.append((match.group(1), parsed[0], parsed[1], want))
    return list({text: (text, a, k, w) for text, a, k, w in found}.values())[:MAX_EXAMPLES]


_NONE = object()
_GOES_ON = re.compile(r"\s*[-+*/%<>=&|^@]|[\w'\"]")


def _call(text: str) -> Optional[Tuple[tuple, dict]]:
    try:
        node = ast.parse(text, mode="eval").body
        if not isinstance(node, ast.Call):
            return None
        return tuple(ast.literal_eval(a) for a in node.args), {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except (SyntaxError, ValueError, TypeError):
        return None


def _literal_prefix(text: str) -> Any:
    """The longest start of ``text`` that is a Python literal ("'hello-world'." -> 'hello-world')."""
    text = text.strip()
    for end in range(min(len(text), 300), 0, -1):
        if text[:end].rstrip().endswith(","):  # "f(1) -> 2, f(2) -> 4": the 2, not the tuple (2,)
            continue
        try:
            value = ast.literal_eval(text[:end].strip())
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            continue
        # "-> 19 - 5 - 6 = 8", '== ""abc""': the literal starts an expression, it is not the result
        return _NONE if _GOES_ON.match(text, len(text[:end].rstrip())) else value
    return _NONE


def same(got: Any, want: Any) -> bool:
    """Equal, floats within a relative 1e-6, True not 1; a result that cannot be compared is not
    the same."""
    try:
        if isinstance(want, bool) or isinstance(got, bool):
            return type(got) is type(want) and got == want
        if isinstance(want, float) or isinstance(got, float):
            return isinstance(got, (int, float)) and math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-9)
        if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
            return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
        return bool(got == want)
    except Exception:
        return False


def exercise(task: str, code: str, namespace: Mapping[str, Any], seconds: float = 5.0) -> Optional[str]:
    """What calling the code's functions on the task's examples (and its uncalled ones, without
    examples, on the data) showed wrong, as feedback; None when nothing (or nothing to call)."""
    for name, params, called in defined(code):
        function = namespace.get(name)
        if not callable(function):
            continue
        tried = examples(task, name)
        wrong = []
        for text, args, kwargs, want in tried:
            done = call(function, args, kwargs, seconds)
            if not done.ok:
                return _raised(name, text, done, called)
            if not same(done.value, want):
                wrong.append(f"{text} returned {_short(done.value)}, but the task says it should give {want!r}")
        if wrong:  # every example it gets wrong (of how many): where the bug is
            head = (f"{name} was called on the task's example" if called else
                    f"The code defines {name} but does not call it, so it was called on the task's example")
            head += ": " if len(tried) == 1 else f"s; {len(wrong)} of {len(tried)} give the wrong result:\n- "
            return head + "\n- ".join(wrong) + f".\nFix {name} so that it gives what the task says."
        if tried or called:  # the code's own calls ran it on what it meant to
            continue
        for text, args in _on_data(task, name, params, namespace):
            done = call(function, args, {}, seconds)
            if not done.ok:
                return _raised(name, text, done, called)
    return None


_COLUMN = re.compile(r"\b([A-Za-z_]\w*)\[(['\"])([^'\"\]]+)\2\]")  # orders['amount']


def _on_data(task: str, name: str, params: List[str], namespace: Mapping[str, Any]):
    """Calls of a one-parameter function on the elements of a list or Series the task names: a
    column it writes out (``orders['amount']``) first, else the first list or Series it names."""
    if len(params) != 1:
        return
    for match in _COLUMN.finditer(task):
        table, column = namespace.get(match.group(1)), match.group(3)
        try:
            items = _items(table[column]) if type(table).__name__ == "DataFrame" and column in table else []
        except Exception:  # a column label that is no key of this table
            items = []
        for i, item in enumerate(items):
            yield f"{name}({match.group(0)}[{i}]) (that is {name}({item!r}))", (item,)
        if items:
            return
    for word in dict.fromkeys(re.findall(r"[A-Za-z_]\w*", task)):
        value = namespace.get(word)
        if word == name or word.startswith("_") or value is None or isinstance(value, (str, bytes, dict)):
            continue
        items = _items(value)
        if items:
            for i, item in enumerate(items):
                yield f"{name}({word}[{i}]) (that is {name}({item!r}))", (item,)
            return


def _items(value: Any) -> list:
    cls = type(value)
    if isinstance(value, (list, tuple)):
        return list(value[:MAX_ITEMS])
    if cls.__module__.split(".")[0] == "pandas" and cls.__name__ == "Series":
        return list(value.head(MAX_ITEMS))
    return []


def _raised(name: str, text: str, done, called: bool = False) -> str:
    trace = ("\nTraceback (most recent call last):\n" + "\n".join(done.frames)) if done.frames else ""
    head = (f"{name} was called as the task describes" if called else
            f"The code defines {name} but does not call it, so it was called as the task describes")
    ename, _, evalue = str(done.error).partition(": ")
    advice = conversions.from_error(ename, evalue)  # a number or a date written as text
    return f"{head}: {text} raised {done.error}.{trace}\n" + (advice + " " if advice else "") + \
        f"Fix {name} so that it works for such input."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"

