"""%%oci in a real JupyterLab, driven through Debian's Chromium with Playwright, asserting what a
person sees. Needs /usr/bin/chromium (``.ci/run`` installs it); it fails, never skips, without it.
A screenshot is saved to tests/artifacts/."""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from .conftest import stop_process

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.kernel]  # a server, a kernel and a browser: ~20 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(path: Path, *cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbformat.v4.new_code_cell(c)
                for c in cells]
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A hermetic JupyterLab on 127.0.0.1 with a token; its kernels import this worktree's oci_magic."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    env = dict(os.environ)
    env.pop("OCI_HEADLESS", None)
    env.update({
        "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"), "IPYTHONDIR": str(base / "ipython"),
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
        "JUPYTER_PLATFORM_DIRS": "1",
    })
    # no "get notified about Jupyter news?" toast over the notebook (and no attempt to fetch news)
    (base / "config" / "labconfig").mkdir(parents=True)
    (base / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    log = open(base / "server.log", "w")
    # the python3 kernelspec says "python", which jupyter_client runs as this interpreter
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", "--allow-root", "--LabApp.extension_manager=readonly",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}:\n{(base / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer in 90 s:\n{(base / 'server.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"url": url, "token": token, "root": root}
    finally:
        stop_process(server)
        log.close()


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def open_notebook(page, lab, name):
    # ?reset: a fresh workspace, not the one the previous test left with its notebook open
    page.goto(f"{lab['url']}/lab/tree/{name}?reset&token={lab['token']}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    # keys pressed before the kernel is connected run nothing: wait for the status bar's "Idle"
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)


def run_cells(page, count):
    """Click into the first cell and Shift+Enter through ``count`` cells, as a person would."""
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
    for _ in range(count):
        page.keyboard.press("Shift+Enter")


def cell_sources(page):
    return [c.inner_text() for c in page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").all()]


def test_fail_then_fix_in_jupyterlab(lab, page):
    replies = [
        "I will add up the numbers.\n```python\ntotal = sum(nums) / zero\nprint('total', total)\n```",
        "Dividing by zero fails; here is the fix:\n```python\nimport pandas as pd\ntotal = sum(nums)\n"
        "print('total', total)\npd.DataFrame({'n': nums, 'square': [n * n for n in nums]})\n```",
    ]
    (lab["root"] / "replies.json").write_text(json.dumps(replies))
    _notebook(lab["root"] / "fix.ipynb", "%load_ext oci_magic\nnums = [1, 2, 3]\nzero = 0",
              "%%oci --replay replies.json\nadd up nums and show them in a table", "md:The end.")
    open_notebook(page, lab, "fix.ipynb")
    run_cells(page, 2)

    oci_cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    summary = oci_cell.locator(".oci-summary")
    summary.wait_for()
    assert summary.inner_text() == "✓ %%oci succeeded in round 2 of 3"
    status = oci_cell.locator(".oci-status").inner_text()
    assert status.startswith("%%oci · replay · round 2/3 · done · ")
    # the streamed code of both rounds, highlighted
    round1, round2 = oci_cell.locator(".oci-round[data-round='1']"), oci_cell.locator(".oci-round[data-round='2']")
    assert "total = sum(nums)\nprint('total', total)" in round2.locator(".oci-code").inner_text()
    assert round2.locator(".oci-code span").count() > 5
    # round 1 failed: its headline shows, folded now that round 2 worked; IPython's own traceback too
    assert round1.locator("summary").first.inner_text().startswith("✗ round 1/3 · ZeroDivisionError: division by zero")
    assert not round1.locator(".oci-traceback").is_visible()
    assert "ZeroDivisionError" in oci_cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").inner_text()
    round1.locator("summary").first.click()  # unfold it, as a curious person would
    traceback = round1.locator(".oci-traceback")
    assert traceback.is_visible()
    assert traceback.inner_text() == ('  File "<generated code>", line 1, in <module>\n    total = sum(nums) / zero\n'
                                      "ZeroDivisionError: division by zero")
    assert round1.locator(".oci-feedback summary").inner_text() == "feedback sent to the model"
    # round 2's outputs render as usual: the print and the DataFrame as an HTML table
    assert "total 6" in [t.strip() for t in oci_cell.locator(".jp-OutputArea-output").all_inner_texts()]
    table = oci_cell.locator(".jp-OutputArea-output table.dataframe")
    assert table.locator("tbody tr").count() == 3 and "square" in table.inner_text()
    # the working code was inserted as a new cell right below
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length === 4")
    sources = cell_sources(page)
    assert sources[2].startswith("# generated by %%oci (worked in round 2/3, model: replay)\nimport pandas as pd\n"
                                 "total = sum(nums)")
    assert sources[3] == "The end." or "The end." in page.locator(".jp-Notebook .jp-Cell").nth(3).inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-panel.png"), full_page=True)


def test_confirm_asks_in_the_browser(lab, page):
    (lab["root"] / "plot.json").write_text(json.dumps([
        "```python\nimport matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()\nplotted = True\n```"]))
    _notebook(lab["root"] / "confirm.ipynb", "%load_ext oci_magic",
              "%%oci --confirm --replay plot.json\nplot the squares", "md:The end.")
    open_notebook(page, lab, "confirm.ipynb")
    run_cells(page, 2)

    oci_cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    answer = oci_cell.locator("input.jp-Stdin-input")
    answer.wait_for()
    # the code is on screen before anything runs, and the run waits for the person
    assert "plt.plot([1, 4, 9])" in oci_cell.locator(".oci-round .oci-code").inner_text()
    assert oci_cell.locator(".jp-Stdin-prompt").inner_text().startswith("Run the code of round 1? [run/skip/stop]")
    assert "waiting for your answer" in oci_cell.locator(".oci-status").inner_text()
    assert oci_cell.locator(".jp-OutputArea-output img").count() == 0
    answer.fill("run")
    answer.press("Enter")
    oci_cell.locator(".oci-summary").wait_for()
    assert oci_cell.locator(".oci-summary").inner_text() == "✓ %%oci succeeded in round 1 of 3"
    assert oci_cell.locator(".jp-OutputArea-output img").count() == 1  # the plot renders as usual
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length === 4")
    assert "plotted = True" in cell_sources(page)[2]
