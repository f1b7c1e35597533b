"""When the code ran without an error: did it do what the task asked?

Small models often write code that runs and misses the task: the result stored as
``rolling_mean_3_days`` when the task said ``rolling``, a sorted list printed instead of stored,
``df['age'].fillna(..., inplace=True)`` on a copy (pandas warns and changes nothing). Without a
check the loop calls that a success. These checks read only what the task says in the forms users
write -- "named X", "called X", "store it in X", "save as X", `` `X` ``, "in place" -- and what
the execution saw (names created, changed, output shown, warnings). A miss becomes feedback for
the next round.
"""
from __future__ import annotations

import ast
import builtins
import keyword
import re
from typing import Callable, List, Optional, Set

from ..conversions import HOLDS_TEXT, from_error
from ..execution.facts import FAILS_ON, HAS_NO, REMADE, WHOLE_VALUES
from ..execution.literals import assignments
from ..execution.result import Execution
from ..values import UNSPLIT
from .notes import missing_file_note, moved_name_note

NAME = r"`?([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_]|\.\w)`?"  # a whole word, not a file name (out.csv)
_NAMED = re.compile(r"\b(?:named|called)\s+" + NAME, re.I)
_STORED = re.compile(r"\b(?:stor\w*|sav\w*|put|assign\w*|keep\w*|kept|result\w*|return\w*)\b[^.;:\n]{0,60}?"
                     r"\b(?:in|into|as|to)\s+(?:a\s+(?:new\s+)?(?:variable|dataframe|list|dict|series|column)\s+)?" + NAME, re.I)
_COLUMN = re.compile(r"\bcolumns?\b[^.;:\n]{0,20}$", re.I)  # "a column named ma3" names a column, not a variable
_TICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_IN_PLACE = re.compile(r"\bin[ -]place\b", re.I)
# Words that follow "store it in/as ..." and are not names
WORDS = {"a", "an", "the", "it", "its", "them", "this", "that", "place", "order", "memory", "one", "two", "each", "new",
          "variable", "variables", "dataframe", "list", "dict", "series", "column", "columns", "float", "floats", "int",
          "integers", "string", "strings", "number", "numbers", "text", "percent", "percentage", "lowercase",
          "uppercase", "descending", "ascending", "csv", "json", "file", "well", "same", "is", "full", "named",
          "called", "numeric", "rows", "index", "keys", "values", "result", "results"}
COPY_WARNINGS = ("ChainedAssignmentError", "SettingWithCopyWarning")  # pandas: a copy changed, not the data


def targets(task: str, strong_only: bool = False, code: str = "") -> List[str]:
    """Names the task asks to create or change, in the order it names them. ``strong_only``: just
    the unmistakable ones ("named X", "called X", `` `X` ``), not "store ... in X", which may be
    an input ("the highest scorers in scores"). Never a keyword, a builtin, or a parameter of a
    function ``code`` defines ("complete task_func(num_types) so that it returns ... in num_types")."""
    patterns = (_NAMED, _TICKED) if strong_only else (_NAMED, _STORED, _TICKED)
    found = [m.group(1) for pattern in patterns for m in pattern.finditer(task)
             if not _COLUMN.search(task[max(0, m.start(1) - 40):m.start(1)])]
    skip = parameters(code) | parameters(task) if code else parameters(task)
    return [n for n in dict.fromkeys(found) if n.lower() not in WORDS and not keyword.iskeyword(n)
            and not hasattr(builtins, n) and n not in skip]


# how a task introduces a result it asks for: "store the result in staff", "store the Axes as ax",
# "a list called top3"; and how it reads a name: "the rows of orders", "from sales", "scores's",
# "df['x']", "in scores as a list called top3" (the result is top3)
_MAKES = re.compile(r"\b(?:in|into|as|called|named)\s+(?:a\s+variable\s+)?`?$", re.I)
_RESULT_IN = (r"\b(?:stor\w*|sav\w*|put|keep|assign\w*)\s+(?:the\s+)?(?:results?|it|them|answers?|output|this|that)"
              r"\s+(?:in|into|as)\s+(?:a\s+variable\s+)?")
_READS_BEFORE = re.compile(r"\b(?:of|from|on|using|with|to|by)\s+`?$", re.I)
_READS_AFTER = re.compile(r"`?(?:'s\b|\[|\.\w|\s+as\s+an?\b)", re.I)


def results(task: str) -> Set[str]:
    """The names a task asks to make and does not read. In one long session such a name often
    holds an earlier task's value (its `ax`, its `staff`): shown, the small model built on it (drew
    on the old Axes, kept the old table's columns), which a fresh kernel never shows; and the code
    must set it, or the old value passes for the result. A name counts only where the task's first
    mention of it introduces the result and none reads it: "drop the duplicates of orders and store
    the result in orders" reads ``orders``."""
    from .kinds import kinds  # imported here: kinds imports this module

    # "store the names in scores" may read scores; "store the result in staff" makes staff
    stored = {m.group(1) for m in re.finditer(_RESULT_IN + NAME, task, re.I)}
    found = set()
    for name in set(targets(task, strong_only=True)) | set(kinds(task)) | stored:
        mentions = list(re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)", task))
        if mentions and _MAKES.search(task[:mentions[0].start()]) and not any(
                _READS_BEFORE.search(task[:m.start()]) or _READS_AFTER.match(task, m.end()) for m in mentions):
            found.add(name)
    return {n for n in found if n.lower() not in WORDS and not keyword.iskeyword(n) and not hasattr(builtins, n)}


_SIGNATURE = re.compile(r"\b([A-Za-z_]\w*)\(([A-Za-z_][\w ,=*]*)\)")


def parameters(text: str) -> Set[str]:
    """Parameter names: of the functions ``text`` defines when it parses as code, else of the
    signatures it writes out ("a function clean_phone(s, strict)")."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {p.strip(" *").split("=")[0].strip() for m in _SIGNATURE.finditer(text) for p in m.group(2).split(",")}
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            found |= {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs + [v for v in (a.vararg, a.kwarg) if v]}
    return found


def defines_function(code: str) -> bool:
    try:
        return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.parse(code).body)
    except (SyntaxError, ValueError):
        return False


def recreated(code: str, existing: Callable[[str], bool]) -> List[str]:
    """The user's names the code binds to literal data (``prices = pd.DataFrame({...})``): small
    models copy the setup cells' source, or invent data, instead of using the variable."""
    return list(dict.fromkeys(name for name, _ in assignments(code, existing)))


def recreation_note(code: str, exists: Callable[[str], bool]) -> Optional[str]:
    """A note for the feedback of a round that failed anyway: re-creating the user's data from the
    cells' source is wrong whenever it came from a file or changed since. Not a miss on its own:
    where the copy equals the data, the code still does the task."""
    names = recreated(code, exists)
    if not names:
        return None
    shown = ", ".join(f"`{n}`" for n in names)
    return (f"Also: the code re-creates {shown} from literal data, but {'it exists' if len(names) == 1 else 'they exist'} "
            f"in the kernel already (and may hold other data than the notebook's cells show). Use the variables as "
            f"they are; do not assign them anew.")


def words(text: str) -> List[str]:
    return list(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)))


def assigned_back(code: str) -> Optional[str]:
    """The code's own ``df['c'].fillna(v, inplace=True)`` as ``df['c'] = df['c'].fillna(v)``: on a
    column, inplace=True changes a copy (pandas' copy-on-write), and a model told so in general
    words wrote the same call again or dropped the fill (Qwen2.5-Coder-1.5B, three rounds)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Subscript) \
                and any(k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords):
            call = ast.Call(func=node.func, args=node.args, keywords=[k for k in node.keywords if k.arg != "inplace"])
            return f"{ast.unparse(node.func.value)} = {ast.unparse(call)}"
    return None


def check(task: str, code: str, execution: Execution, exists: Callable[[str], bool]) -> Optional[str]:
    """What the code that ran missed, as feedback for the model; None when nothing is seen amiss.
    For code that failed, only the note on re-created variables (the error says the rest).
    ``exists(name)``: whether the user's namespace holds ``name`` now."""
    note = recreation_note(code, lambda n: exists(n) and n not in execution.created)
    if not execution.ok:
        unsplit = [f for f in execution.facts if UNSPLIT in f]  # a table read with the wrong separator
        # a number or date written as text: what the columns on the failing line hold (all of it:
        # code that cleaned one character of '$1,200' is not told to clean the other alone), else
        # what the error says of the one value
        text = [f for f in execution.facts if HOLDS_TEXT in f][:2] or [from_error(execution.ename, execution.evalue)]
        applied = [f for f in execution.facts if FAILS_ON in f][:1]  # every value a function applied fails on
        # `s.str.replace('$', '').replace(',', '')`: the second replace is pandas', of whole values
        replaced = [f for f in execution.facts if WHOLE_VALUES in f][:1]
        # a column or key that is not there: the table's columns (a model that guessed `cust_id`
        # guesses again when told only "KeyError: 'cust_id'")
        missing = [f.rstrip(".") + "." for f in execution.facts if f" {HAS_NO} " in f][:1] \
            if execution.ename == "KeyError" and not unsplit else []  # unsplit: the separator explains it
        # ... unless the code made that table anew: the kernel's own has the key
        missing = [f for f in execution.facts if REMADE in f][:1] or missing
        notes = [n for n in (missing_file_note(execution, exists), moved_name_note(execution), *unsplit[:1], *applied, *replaced, *missing, *text, note) if n]
        return " ".join(notes) or None
    in_code = set(words(code))

    def unchanged(name: str) -> bool:  # known the same, or never named by the code
        return name not in execution.changed and (name in execution.unchanged or name not in in_code)

    problems: List[str] = []
    copies = [w for w in execution.warnings if w.split(":")[0] in COPY_WARNINGS]
    if copies:
        back = assigned_back(code)
        problems.append("pandas warned that it changed a copy, not the data, so nothing was changed: " + copies[0].rstrip(".")
                        + (f". Assign the result back instead of inplace=True on a column: `{back}`." if back else
                           ". Assign the result back (df['col'] = df['col'].fillna(...)) instead of inplace=True on a column."))
    # the user's data written out again from the cells' source, and not what the kernel held: it
    # changed after the cell that made it, or came from a file (the 1.5B in one session rebuilt
    # `scores` from its first cell, without the update a later cell made, and ranked that)
    stale = [n for n in execution.rewritten if n not in execution.created]
    if stale:
        problems.append(f"The code re-creates `{stale[0]}` from literal data, and that is not what `{stale[0]}` held in "
                        f"the kernel: it changed after the cell that made it (or came from a file). Use `{stale[0]}` "
                        f"as it is; do not assign it anew.")
    # a result the task asks to make must be set by the code: in a session the name may hold what
    # an earlier task left there (its `ax`), which is no answer to this one
    strong = set(targets(task, strong_only=True, code=code)) | (results(task) - parameters(code))
    for name in dict.fromkeys(targets(task, code=code) + sorted(n for n in strong if exists(n))):
        if not exists(name):
            made = ", ".join(f"`{n}`" for n in execution.created)
            from .prompting.names import declared_names  # here: prompting's history imports this module

            data = [n for n in execution.created if n not in declared_names(code)]
            problems.append(f"The task asks for `{name}`, but the code did not create it"
                            + (f" (it created {made})" if made else "") + f". Store the result in `{name}`"
                            + (f" (if `{data[0]}` is it: `{name} = {data[0]}`)." if len(data) == 1 else "."))
        elif name in strong and name not in execution.created and unchanged(name):
            problems.append(f"`{name}` is unchanged, but the task asks to store the result in it. "
                            f"Assign the new value to `{name}`.")
    named = [n for n in words(task) if exists(n) and n not in execution.created]
    if _IN_PLACE.search(task) and named and all(unchanged(n) for n in named):
        problems.append(f"The task asks to change `{named[0]}` in place, but it is unchanged. "
                        f"Assign the new values back into `{named[0]}`.")
    if not problems and not (execution.shown or execution.created or execution.changed or execution.wrote
                             or defines_function(code)):  # a function is a result: the next cell calls it
        problems.append("The code ran but did nothing visible: it printed nothing, displayed nothing and stored "
                        "nothing. Print the result the task asks for, or store it under the name the task gives.")
    return " ".join(problems + ([note] if note else [])) if problems else None


def review(task: str, code: str, execution: Execution, namespace, settings, seconds: float = 5.0) -> Optional[str]:
    """Every check of a round, in order: the task's names and its words (:func:`check`), then for
    code that ran, its functions called on the task's examples (``settings.exercise``)
    and the values it left (``settings.sanity``). The first miss, or None."""
    from .exercise import exercise
    from .sanity import sanity

    missed = check(task, code, execution, namespace.__contains__)
    if missed is not None or not execution.ok:
        return missed
    if settings.exercise:
        missed = exercise(task, code, namespace, seconds)
    if missed is None and settings.sanity:
        missed = sanity(task, code, execution, namespace, settings.sanity)
    return missed
