"""%%oci in a real JupyterLab, driven through Chromium with Playwright, asserting what a person
sees. ``tests/browser.py`` finds or installs the Chromium; without one the tests fail, never skip,
saying what to install. A screenshot is saved to tests/artifacts/."""
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

from . import browser as chromium_finder
from .conftest import stop_process

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def in_browser(test):  # a server, a kernel and a browser: ~20 s (the Chromium finder's tests are quick)
    return pytest.mark.slow(pytest.mark.browser(pytest.mark.kernel(test)))


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


def chromium_or_fail() -> str:
    try:
        return chromium_finder.find_chromium()
    except chromium_finder.NoChromium as exc:
        pytest.fail(str(exc), pytrace=False)  # fail, not skip: a green run must have driven a browser


@pytest.fixture(scope="session")  # once: installing a browser can take minutes
def chromium_path():
    return chromium_or_fail()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
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


@in_browser
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
    # round 1 failed: its headline shows the error, folded now that round 2 worked
    headline = round1.locator("summary").first
    assert headline.inner_text().startswith("✗ round 1/3 · ZeroDivisionError: division by zero")
    headline.click()  # unfold it, as a curious person would
    assert round1.locator(".oci-feedback summary").inner_text() == "feedback sent to the model"
    # the traceback shows once, as IPython's own error output of the cell (the panel does not repeat it)
    error = oci_cell.locator("[data-mime-type='application/vnd.jupyter.stderr']")
    assert error.count() == 1 and "total = sum(nums) / zero" in error.inner_text()
    assert error.inner_text().rstrip().splitlines()[-1] == "ZeroDivisionError: division by zero"
    shown = [line.strip() for line in oci_cell.locator(".jp-Cell-outputArea").inner_text().splitlines()]
    assert shown.count("ZeroDivisionError: division by zero") == 1, shown
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


@in_browser
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


@in_browser
def test_the_elapsed_time_ticks_while_the_code_runs(lab, page):
    (lab["root"] / "sleep.json").write_text(json.dumps(["```python\nimport time\ntime.sleep(4)\nslept = True\n```"]))
    _notebook(lab["root"] / "tick.ipynb", "%load_ext oci_magic", "%%oci --replay sleep.json\nwait a little")
    open_notebook(page, lab, "tick.ipynb")
    run_cells(page, 2)

    oci_cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    status = oci_cell.locator(".oci-status")
    page.wait_for_function("document.querySelector('.oci-status')?.innerText.includes(' · running · ')")
    before = status.inner_text()
    page.wait_for_timeout(2000)  # no event comes while the code sleeps: only the ticker moves the line
    after = status.inner_text()
    assert " · running · " in before and " · running · " in after, (before, after)
    seconds = [float(line.rsplit(" · ", 1)[1][:-2]) for line in (before, after)]  # "… · 4.2 s"
    assert seconds[1] - seconds[0] >= 0.5, (before, after)
    assert "tok/s" not in before + after, (before, after)  # a replay's speed means nothing
    oci_cell.locator(".oci-summary").wait_for()
    assert status.inner_text().startswith("%%oci · replay · round 1/3 · done · ")
    assert status.count() == 1  # the ticker's updates from its thread reached the one status output


# -- finding a Chromium (tests/browser.py): the order, without installing anything ---------------
class Machine:
    """A pretend machine: what is installed, which commands work (and what they install)."""

    def __init__(self, installed=None, downloaded=None, root=True, apt=True, works=()):
        self.paths = {"installed": installed, "downloaded": downloaded}
        self.root, self.apt, self.works, self.ran = root, apt, set(works), []

    def probes(self):
        return dict(installed=lambda: self.paths["installed"], downloaded=lambda: self.paths["downloaded"],
                    run=self.run, is_root=lambda: self.root, which={"apt-get": "/usr/bin/apt-get"}.get if self.apt
                    else lambda name: None)

    def find(self):
        return chromium_finder.find_chromium(**self.probes())

    def run(self, command, timeout):
        assert 0 < timeout <= 600  # every attempt is bounded
        name = "playwright install" if "playwright" in command else " ".join(command[:2])
        self.ran.append(name)
        if name == "apt-get install":
            assert command == ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
        where = {"playwright install": "downloaded", "apt-get install": "installed"}.get(name)
        if name in self.works and where:
            self.paths[where] = f"/{where}/chrome"
        return name in self.works


def test_an_installed_chromium_wins():
    machine = Machine(installed="/usr/bin/chromium", downloaded="/cache/chrome", works={"playwright install"})
    assert machine.find() == "/usr/bin/chromium" and machine.ran == []
    on_path = {"chromium-browser": "/snap/bin/chromium-browser"}
    assert chromium_finder.installed_chromium(on_path.get, lambda path: True) == "/usr/bin/chromium"
    assert chromium_finder.installed_chromium(on_path.get, lambda path: False) == "/snap/bin/chromium-browser"
    assert chromium_finder.installed_chromium({}.get, lambda path: False) is None


def test_playwrights_download_is_used_then_tried_before_apt():
    assert Machine(downloaded="/cache/chrome").find() == "/cache/chrome"
    machine = Machine(works={"playwright install", "apt-get update", "apt-get install"})
    assert machine.find() == "/downloaded/chrome" and machine.ran == ["playwright install"]
    machine = Machine(works={"apt-get update", "apt-get install"})  # no download host (offline but for Debian)
    assert machine.find() == "/installed/chrome" and machine.ran == ["playwright install", "apt-get update",
                                                                     "apt-get install"]


@pytest.mark.parametrize("root,apt", [(False, True), (True, False)])
def test_apt_only_as_root_with_apt_get(root, apt):
    machine = Machine(root=root, apt=apt, works={"apt-get update", "apt-get install"})
    with pytest.raises(chromium_finder.NoChromium):
        machine.find()
    assert machine.ran == ["playwright install"]


def test_when_all_fail_the_tests_fail_with_one_line_saying_what_to_install(monkeypatch):
    machine = Machine(works={"apt-get update"})  # apt is there, but the install fails
    find = chromium_finder.find_chromium
    monkeypatch.setattr(chromium_finder, "find_chromium", lambda: find(**machine.probes()))
    with pytest.raises(pytest.fail.Exception) as failure:  # fail, not skip
        chromium_or_fail()
    assert machine.ran == ["playwright install", "apt-get update", "apt-get install"]
    assert str(failure.value) == (
        "no Chromium for the browser tests: install one (Debian/Ubuntu: sudo apt-get install chromium; "
        "elsewhere: python -m playwright install chromium) and run make test again")
