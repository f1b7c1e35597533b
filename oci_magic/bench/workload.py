"""What every ``oci bench loop`` part runs on: a realistic pandas notebook of a chosen size, the
variables its cells define, scripted executors (each round's outcome is fixed, so every model gets
the same rounds: the bench measures the prompt path, not the model's code) and one ``%%oci`` run
through :meth:`Session.run`, the way the magic runs it."""
from __future__ import annotations

from typing import Dict, List, Optional

from ..context.notebook import Count
from ..engine.prompting.names import defined_names
from ..engine.records import RunResult
from ..engine.session import NotebookState, Session
from ..execution.result import Execution, Executor

_ANALYSIS = [
    ("import pandas as pd\nimport numpy as np", None),
    ("sales = pd.read_csv('sales_2024.csv', parse_dates=['date'])\nsales.head()",
     "        date region  product  units  price\n0 2024-01-02  north  widget     12   9.99\n"
     "1 2024-01-02  south  gadget      3  24.50\n2 2024-01-03   east  widget      7   9.99"),
    ("sales.shape", "(48210, 5)"),
    ("sales['revenue'] = sales['units'] * sales['price']\nsales['revenue'].describe()",
     "count    48210.000000\nmean       96.412331\nstd        81.207745\nmin         2.490000\nmax       612.500000"),
    ("by_region = sales.groupby('region')['revenue'].sum().sort_values(ascending=False)\nby_region",
     "region\nnorth    1402331.12\nwest     1188410.55\neast     1101255.90\nsouth     956177.31"),
    ("monthly = sales.set_index('date').resample('MS')['revenue'].sum()\nmonthly.tail(3)",
     "date\n2024-10-01    401233.10\n2024-11-01    452119.87\n2024-12-01    530004.42"),
    ("def growth(series):\n    \"\"\"Month-over-month growth in percent.\"\"\"\n    return series.pct_change().mul(100).round(1)\n\ngrowth(monthly).tail(3)",
     "date\n2024-10-01     3.2\n2024-11-01    12.7\n2024-12-01    17.2"),
    ("top_products = (sales.groupby('product')['units'].sum()\n                .nlargest(5))\ntop_products",
     "product\nwidget     81230\ngadget     40122\ngizmo      22310\ndoohickey  10021\nthingy      4410"),
    ("returns = pd.read_csv('returns_2024.csv')\nreturns = returns.merge(sales[['order_id', 'region']], on='order_id', how='left')",
     None),
]


def notebook(target_tokens: int, count: Count, cells: int = 0):
    """A realistic analysis notebook of about ``target_tokens`` tokens (or of ``cells`` cells):
    the cells above, then more of the same kind of work (per-region views) until the size is reached."""
    inputs, outputs, n = [""], {}, 1
    for source, output in _ANALYSIS:
        inputs.append(source)
        if output:
            outputs[n] = output
        n += 1
    regions = ["north", "south", "east", "west", "central", "online", "export", "retail"]
    i = 0
    while (len(inputs) - 1 < cells if cells else
           sum(count(s) + count(str(o)) for s, o in zip(inputs, [outputs.get(k, "") for k in range(len(inputs))])) < target_tokens):
        region = regions[i % len(regions)] + ("" if i < len(regions) else f"_{i // len(regions)}")
        inputs.append(f"{region} = sales[sales['region'] == '{region.split('_')[0]}']\n"
                      f"{region}_monthly = {region}.set_index('date').resample('MS')['revenue'].sum()\n"
                      f"growth({region}_monthly).describe()")
        outputs[len(inputs) - 1] = (f"count    11.000000\nmean      {2 + i % 5}.{i % 10}18182\nstd       6.{i % 7}41233\n"
                                    f"min      -8.{i % 9}00000\nmax      17.{i % 3}00000")
        i += 1
    return inputs, outputs


class FailOnce(Executor):
    """The bench's executor: round 1 fails like a typical pandas slip, round 2 succeeds. The bench
    measures the prompt path (what is evaluated, what is reused), not the model's code, so the
    outcome of each round is fixed for every model."""

    def __init__(self):
        self.calls = 0

    def execute(self, code: str) -> Execution:
        self.calls += 1
        if self.calls == 1:
            return Execution(ok=False, ename="KeyError", evalue="'amount'",
                             traceback=['  File "<generated code>", line 2, in <module>\n    sales["amount"].sum()'])
        return Execution(ok=True, shown=True)  # a chart, a table: what a working round shows


class Works(Executor):
    def execute(self, code: str) -> Execution:
        return Execution(ok=True, shown=True)


class Fails(Executor):
    def execute(self, code: str) -> Execution:
        return Execution(ok=False, ename="KeyError", evalue="'amount'",
                         traceback=['  File "<generated code>", line 2, in <module>\n    sales["amount"].sum()'])


def some_variables() -> Dict[str, object]:
    """A few variables of the kinds an analysis holds."""
    return {"by_region": [1402331.12, 1188410.55, 1101255.90, 956177.31], "growth": lambda series: series,
            "top_products": {"widget": 81230, "gadget": 40122}, "n_orders": 48210, "year": 2024}


def cell_variables(inputs: List[str]) -> Dict[str, object]:
    """The variables the cells so far define (a dozen numbers each), as the kernel would hold them."""
    found: Dict[str, object] = {}
    for n, source in enumerate(inputs[1:], 1):
        if source.lstrip().startswith(("import", "%")):
            continue
        for name in sorted(defined_names(source)):
            found[name] = [round(n * 1.5 + i * 0.25, 2) for i in range(12)]
    return found


def small_notebook(cells: int):
    """``cells`` small cells (a list and its sum each), their outputs, and ``names(n)``: the
    variables the first n-1 cells define, as the kernel holds them when cell n runs."""
    inputs, outputs, values = [""], {}, {}
    for i in range(cells):
        row = [round(j * (i + 1) * 0.37, 2) for j in range(8)]
        inputs.append(f"values_{i} = [round(j * {i + 1} * 0.37, 2) for j in range(8)]\nsum(values_{i})")
        outputs[i + 1], values[f"values_{i}"] = repr(sum(row)), row

    def names(n: int) -> Dict[str, object]:
        return {f"values_{i}": values[f"values_{i}"] for i in range(min(n - 1, cells))}

    return inputs, outputs, names


def state(inputs: List[str], outputs, namespace: Dict[str, object], cell: Optional[int] = None) -> NotebookState:
    return NotebookState(inputs, outputs, namespace, (), len(inputs) if cell is None else cell)


def run(session: Session, options, inputs: List[str], outputs, task: str, executor: Executor,
        namespace: Optional[Dict[str, object]] = None) -> RunResult:
    """One %%oci the way the magic runs it: through the session, which keeps the history window
    and the conversation for the next run."""
    variables = some_variables() if namespace is None else namespace
    return session.run(task, NotebookState(inputs + [task], outputs, variables, (), len(inputs)), options,
                       executor=executor)


def usage(u) -> Dict[str, float]:
    return {"prompt_tokens": u.prompt_tokens, "reused_tokens": u.reused_tokens,
            "evaluated_tokens": u.evaluated_tokens, "first_token_seconds": u.first_token_seconds,
            "generated_tokens": u.generated_tokens, "tokens_per_second": u.tokens_per_second}


def verdict(value, target, lower_is_better: bool = True) -> str:
    if value is None:
        return "n/a"
    return "PASS" if (value <= target if lower_is_better else value >= target) else "MISS"
