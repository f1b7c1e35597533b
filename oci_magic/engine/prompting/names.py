"""Which variables a task or a cell means: the names that pick what a prompt summarizes.

A name a prompt shows for no reason costs a small model answers: in one long session an earlier
task's variable, pulled in by a word that only looked like it (the key ``'name'`` of a dict, the
file ``config.json``, a value ``'n/a'``), was copied into the next answer (docs/benchmarks.md,
2026-12-06). So a cell means the names its code uses, not the words of its strings, and a task
means its words outside file names and quoted phrases.
"""
from __future__ import annotations

import ast
import functools
import re
from typing import FrozenSet, Iterable, Set

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a file the task names is not a variable: "save cfg to config.json" does not mean ``config``
_FILE = re.compile(r"[\w./-]*\w\.(?:csv|tsv|json|jsonl|txt|xlsx?|parquet|feather|pkl|pickle|npy|npz|h5|"
                   r"hdf5|png|jpe?g|svg|pdf|html?|xml|ya?ml|md|py|ipynb|zip|gz|log|dat|db|sqlite|ini|"
                   r"toml|cfg)\b", re.IGNORECASE)
# a quoted phrase is a value ('Height (cm)', 'db.host'); a quoted single word may be a name ('sales')
QUOTED = re.compile(r"""(?<![\w'"])(['"])([^'"\n]*)\1(?![\w'"])""")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|cf|vs)\.", re.IGNORECASE)  # "(e.g. 'x')" is no ``e``


def mentioned(*texts: str) -> Set[str]:
    return {w for text in texts for w in _WORD.findall(text)}


def task_names(task: str) -> Set[str]:
    """The names a task's words may mean. Not a file's name, not the words of a quoted phrase; a
    one-letter word only written as code (`a`, a[0], a.sum(), a = ...): "add a column" does not
    mean the array ``a``."""
    text = _ABBREVIATION.sub(" ", _FILE.sub(" ", task))
    text = QUOTED.sub(lambda m: m.group(0) if _WORD.fullmatch(m.group(2)) else " ", text)
    return {w for w in mentioned(text) if len(w) > 1 or _as_code(w).search(text)}


def _as_code(letter: str) -> "re.Pattern[str]":
    """`a`, a[0], a(, a = , a.b, (a, + a, (b, a): the letter used as a name, not as a word or in
    quotes (", a dict", "- a list" are English)."""
    return re.compile(rf"`{letter}`|(?<!')\b{letter}(?:\s*[\[(=]|\.\w)|(?:[\[(=+*/]\s*|-){letter}\b(?!')|,\s*{letter}\b(?=\s*[,)\]])")


@functools.lru_cache(maxsize=4096)
def used_names(source: str) -> FrozenSet[str]:
    """The kernel names a cell reads or binds: not the words in its strings, a function's
    parameters and variables or a comprehension's. A cell that does not parse (a magic, a shell
    line) is read without those lines, else word by word."""
    tree = _parse(source) or _parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    if tree is None:
        return frozenset(mentioned(source))
    local: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.comprehension):
            local.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):  # its own variables
            local.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return frozenset((names - local) | defined_names(source, bound=True))


def _parse(source: str):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def defined_names(source: str, bound: bool = False) -> FrozenSet[str]:
    """Top-level names a cell binds (assignments, defs, classes, imports) or, unless ``bound``,
    changes (``df['x'] = …``: a cell that adds a column is not where ``df`` comes from); empty if
    it does not parse."""
    tree = _parse(source)
    if tree is None:
        return frozenset()
    names: Set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for target in _targets(node):
                names.update(n.id for n in (_bound(target) if bound else ast.walk(target)) if isinstance(n, ast.Name))
    return frozenset(names)


def _targets(node: ast.AST) -> Iterable[ast.AST]:
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return [i.optional_vars for i in node.items if i.optional_vars is not None]
    return []


def _bound(target: ast.AST) -> Iterable[ast.AST]:
    """The names a target binds: itself, or those it unpacks to (not a subscript's or attribute's)."""
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for element in target.elts for n in _bound(element)]
    if isinstance(target, ast.Starred):
        return _bound(target.value)
    return [target]
