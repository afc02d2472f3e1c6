"""The student flow in a real browser: JupyterLab on loopback, Debian's Chromium driven
by Playwright. Open a released notebook, run all cells, see the visible tests fail on
the stub with the oracle's messages, fill in one solution from the reference, re-run,
see its test pass. The screenshot lands in build/artifacts/ (or $FIRSTMLP_ARTIFACTS)."""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import ROOT, load_manifest, reference_definition
from autograder.course.release import RELEASES

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
ARTIFACTS = Path(os.environ.get("FIRSTMLP_ARTIFACTS", ROOT / "build" / "artifacts"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = "01_perceptron.ipynb"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup-browser installs it)")
    pytest.importorskip("playwright.sync_api")
    student = tmp_path_factory.mktemp("student")
    shutil.copytree(RELEASES / load_manifest()["version"], student, dirs_exist_ok=True)
    settings = tmp_path_factory.mktemp("lab-settings")
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    # Every cell in the DOM; start the notebook's kernel without asking.
    tracker.write_text(json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={student}", f"--LabApp.user_settings_dir={settings}"],
        cwd=student, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start on loopback within 90 s")
            time.sleep(0.5)
    yield url, token, student
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def prompts(page):
    """Each code cell's prompt: "[ ]:" never run, "[*]:" running or queued, "[n]:" run."""
    return [p.strip() for p in page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def wait_for_kernel(url, token, timeout=120):
    """The notebook's kernel is started, idle, and the page holds a websocket to it.

    The page's own status reads "idle" before any kernel exists, and a Run All issued
    then is silently dropped, so the server is asked instead."""
    deadline, kernels = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:  # a kernel half-way through starting can make the listing answer 500
            with urllib.request.urlopen(f"{url}/api/kernels?token={token}", timeout=5) as reply:
                kernels = json.load(reply)
        except OSError as error:
            kernels = error
        if isinstance(kernels, list) and any(
                k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
            return
        time.sleep(0.5)
    raise AssertionError(f"no idle, connected kernel after {timeout} s: {kernels}")


def run_all_cells(page, attempts=3, started_within=30):
    """Run > Run All Cells, as a student would; again if no cell starts (a Run All that
    races JupyterLab's kernel reconnection is dropped without a word)."""
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator("li[data-command='runmenu:run-all']").click()
        deadline = time.monotonic() + started_within
        while time.monotonic() < deadline:
            if any(re.fullmatch(r"\[(\d+|\*)\]:", p) for p in prompts(page)):
                return
            time.sleep(0.5)
    raise AssertionError(f"Run All Cells started no cell in {attempts} attempts")


def wait_until_executed(page, timeout=180):
    """Every code cell's prompt shows an execution count: nothing pending or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = prompts(page)
        if shown and all(re.fullmatch(r"\[\d+\]:", p) for p in shown):
            return
        time.sleep(0.5)
    outputs = page.locator(".jp-CodeCell .jp-OutputArea-output").all_inner_texts()
    raise AssertionError(f"cells still pending after {timeout} s: {shown}; outputs: {outputs}")


def test_student_runs_the_stub_then_solves_one_question(jupyterlab):
    from playwright.sync_api import sync_playwright

    url, token, student = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    graded = [c.source for c in nbformat.read(str(student / NOTEBOOK), 4).cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=90_000)
            wait_for_kernel(url, token)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=90_000)
            run_all_cells(page)
            wait_until_executed(page)

            unstarted = page.locator(".jp-OutputArea-output", has_text="not attempted yet")
            assert unstarted.count() >= len(graded) - 1
            assert page.locator(".jp-OutputArea-output",
                                has_text="your weighted_sum (line").count() == 1
            assert page.locator(".jp-OutputArea-output", has_text="oracle.py").count() == 0

            cell = page.locator(".jp-CodeCell", has_text="def weighted_sum(X, w, b):")
            cell.locator(".cm-content").click()
            page.keyboard.press("Control+a")
            page.keyboard.insert_text(
                reference_definition("solutions.perceptron", "weighted_sum", as_solution=False))
            page.keyboard.press("Shift+Enter")  # run the solution, move to its test cell
            page.keyboard.press("Shift+Enter")  # run the test cell
            passed = page.locator(".jp-OutputArea-output",
                                  has_text="weighted_sum: all 6 comparisons with torch passed")
            passed.wait_for(timeout=60_000)
            test_cell = page.locator(".jp-CodeCell", has_text="check_weighted_sum(weighted_sum)")
            assert test_cell.locator(".jp-OutputArea-output", has_text="failed").count() == 0
            passed.scroll_into_view_if_needed()
        finally:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-student-flow.png"))
            browser.close()
