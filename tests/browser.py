"""A Chromium for the browser tests, found or obtained, so ``make test`` passes on a fresh machine.

Tried in this order, cheapest and least intrusive first: an installed Chromium; Playwright's own
download if it is already there; ``python -m playwright install chromium`` (a user's machine with
internet; where the download host cannot be reached it fails at once); Debian's package, only as
root with apt-get (CI, containers: no sudo prompt in the middle of a test run). Each step is bounded
in time. When all fail, the caller fails the tests with :data:`HOW`: the browser tests never skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Callable, Optional, Sequence

DEBIAN_PATH = "/usr/bin/chromium"
NAMES = ("chromium", "chromium-browser", "google-chrome")
HOW = ("no Chromium for the browser tests: install one (Debian/Ubuntu: sudo apt-get install chromium; "
       "elsewhere: python -m playwright install chromium) and run make test again")
PLAYWRIGHT_SECONDS = 300  # a ~170 MB download
APT_UPDATE_SECONDS = 180
APT_INSTALL_SECONDS = 600  # chromium and its libraries, unpacked on 2 cores


class NoChromium(RuntimeError):
    pass


def installed_chromium(which: Callable[[str], Optional[str]] = shutil.which,
              exists: Callable[[str], bool] = os.path.exists) -> Optional[str]:
    """An executable Chromium already on this machine: Debian's, else the first on PATH."""
    if exists(DEBIAN_PATH):
        return DEBIAN_PATH
    for name in NAMES:
        path = which(name)
        if path:
            return path
    return None


def downloaded_chromium() -> Optional[str]:
    """Playwright's own Chromium, if ``playwright install`` already put it in its cache."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:  # playwright missing or its driver broken: this way is closed, try the next
        return None
    return path if path and os.path.exists(path) else None


def run_command(command: Sequence[str], timeout: float) -> bool:
    """Runs an install step; True if it worked. Its output goes to the test log (stderr), so a
    failure can be read there; a step that hangs is ended at ``timeout``."""
    print(f"browser tests: {' '.join(command)}", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        return subprocess.run(list(command), stdin=subprocess.DEVNULL, env=env, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"browser tests: {exc}", file=sys.stderr, flush=True)
        return False


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def find_chromium(installed: Callable[[], Optional[str]] = installed_chromium,
                  downloaded: Callable[[], Optional[str]] = downloaded_chromium,
                  run: Callable[[Sequence[str], float], bool] = run_command,
                  is_root: Callable[[], bool] = _is_root,
                  which: Callable[[str], Optional[str]] = shutil.which) -> str:
    """The path of a Chromium for Playwright's ``executable_path``; raises NoChromium(HOW).
    The probes and the command runner are parameters so the order can be tested without
    installing anything."""
    path = installed() or downloaded()
    if path:
        return path
    if run([sys.executable, "-m", "playwright", "install", "chromium"], PLAYWRIGHT_SECONDS):
        path = downloaded()
        if path:
            return path
    if is_root() and which("apt-get"):
        # an old or missing package list makes the install fail: refresh it first, but try the
        # install even if the refresh failed (a list already there may do)
        run(["apt-get", "update"], APT_UPDATE_SECONDS)
        if run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], APT_INSTALL_SECONDS):
            path = installed()
            if path:
                return path
    raise NoChromium(HOW)
