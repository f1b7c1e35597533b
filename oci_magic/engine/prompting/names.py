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
from typing import FrozenSet, Iterable, List, Set

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
    text = _words(task)
    return {w for w in mentioned(text) if len(w) > 1 or _as_code(w).search(text)}


def _words(task: str) -> str:
    """The task without its file names, abbreviations and quoted phrases (a quoted word stays)."""
    text = _ABBREVIATION.sub(" ", _FILE.sub(" ", task))
    return QUOTED.sub(lambda m: m.group(0) if _WORD.fullmatch(m.group(2)) else " ", text)


def _as_code(letter: str) -> "re.Pattern[str]":
    """`a`, a[0], a(, a = , a.b, (a, + a, (b, a): the letter used as a name, not as a word or in
    quotes (", a dict", "- a list" are English, and so are "(a list)", "(stock 0)", "(k: thousands)")."""
    return re.compile(rf"`{letter}`|(?<!')\b{letter}(?:[\[(]|\s*[=+*/]|\.\w)|(?:[\[(=+*/]\s*|-){letter}\b(?!'|\s+\w|:)"
                      rf"|,\s*{letter}\b(?=\s*[,)\]])")


# A plain word after these is English ("some people", "each line", "as numbers"): not one thing
# the notebook holds, as "the total" may be ...
_ENGLISH_AFTER = re.compile(r"\b(?:a|an|some|each|every|any|all|no|many|few|several|as)\s+$", re.I)
# ... and after these it may join another table to the one the task is about ("merge contacts
# with people", "plot prices against scores")
_JOINED_AFTER = re.compile(r"\b(?:with|and|against|versus|vs\.?|from)\s+$", re.I)


def older_names(task: str, names: Iterable[str], plain: str) -> Set[str]:
    """Of ``names`` (the task's words that name variables), those it means as variables the
    prompt does not show, when a focused prompt shows only the cells since the last run. In one
    session every word that named an earlier task's variable -- "Some *people* are in contacts
    twice", "out of *stock* (*stock* 0)", "phone *numbers* like the ones in samples", "raw is the
    JSON *body*" -- summarized that variable under the task, and the 0.5B used it (docs/benchmarks.md,
    2026-12-07): a fresh kernel shows none of them.

    A name written as code always counts (``by_team``, `df`, ``df[...]``, ``sales.x``, ``orders'``).
    A plain word counts as ``plain`` says: "word" where the task is about none of the variables in
    view -- then it likely is what the task works on ("plot sales by month", "print the total") --
    unless English put it after "a", "some", "each" ... or "as"; "joined" where the task is about a
    variable in view: only as a second table joined to it ("merge contacts with people"); "never"
    where nothing is in view (a function task that stands alone: "the *number* of seconds")."""
    text = _words(task)
    kept: Set[str] = set()
    for name in names:
        if _written_as_code(name, text):
            kept.add(name)
            continue
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", text) if plain != "never" else ():
            before = text[: match.start()]
            if _JOINED_AFTER.search(before) if plain == "joined" else not _ENGLISH_AFTER.search(before):
                kept.add(name)
                break
    return kept


def _written_as_code(name: str, text: str) -> bool:
    """A name that cannot be an English word (``by_team``, ``q3``, ``rawData``, a letter that passed
    :func:`task_names`), or one the text writes as code (as :func:`_as_code` reads a letter:
    `sales`, sales[0], len(sales), total / n) or possessive (``orders' date``, ``people's ages``)."""
    if len(name) == 1 or "_" in name or any(c.isdigit() for c in name) or name[1:] != name[1:].lower():
        return True
    return bool(_as_code(re.escape(name)).search(text) or re.search(rf"\b{re.escape(name)}'(?:s\b|(?=\s))", text))


@functools.lru_cache(maxsize=4096)
def used_names(source: str) -> FrozenSet[str]:
    """The kernel names a cell reads or binds: not the words in its strings, a function's
    parameters and variables or a comprehension's. A cell that does not parse (a magic, a shell
    line) is read without those lines, else word by word -- but for a cell magic's body (a
    ``%%oci`` task, ``%%bash``), which names nothing."""
    tree = _parse(source) or _parse("\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))))
    if tree is None and source.lstrip().startswith("%%"):
        # a cell magic's body in another language: a %%oci cell that kept no code is its task,
        # whose words ("a list of the values in each name") are no names of the kernel
        return frozenset()
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
        names.update(_declared(node))
        for target in _targets(node):
            names.update(n.id for n in (_bound(target) if bound else ast.walk(target)) if isinstance(n, ast.Name))
    return frozenset(names)


def declared_names(source: str) -> FrozenSet[str]:
    """Top-level names a cell binds to code, not data: functions, classes, imports."""
    tree = _parse(source)
    return frozenset(n for node in (tree.body if tree else []) for n in _declared(node))


def _declared(node: ast.AST) -> List[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


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
