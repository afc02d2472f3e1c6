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
    # The app as window.jupyterapp: the test reads the notebook's model, not its DOM.
    server, url, token = start_jupyter("lab", student, f"--LabApp.user_settings_dir={settings}",
                                       "--LabApp.expose_app_in_browser=True")
    yield url, token, student
    stop(server)


def start_jupyter(command, root, *options):
    """``jupyter <command>`` serving ``root`` (its working folder too) on loopback with a
    fresh token: (process, url, token) once its /api/status answers."""
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), command, "--no-browser", "--allow-root",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", *options],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            return server, url, token
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"jupyter {command} did not start on loopback within 90 s")
            time.sleep(0.5)


def stop(server):
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


# The notebook's state from JupyterLab's own model (window.jupyterapp): its kernel's status
# as the page's connection sees it, and each code cell's execution state and count. The
# DOM's prompts are not read: JupyterLab's windowed rendering leaves "[ ]:" on cells out of
# view, and a loaded machine renders late. An empty cell is never run, so it is left out.
NOTEBOOK_STATE = """path => {
    const app = window.jupyterapp;
    const panel = app && Array.from(app.shell.widgets('main')).find(
        w => w.context && w.context.path === path && w.model);
    if (!panel) return null;
    const session = panel.sessionContext.session, cells = [], list = panel.model.cells;
    for (let i = 0; i < list.length; i++) {
        const cell = list.get(i);
        if (cell.type === 'code' && cell.sharedModel.getSource().trim())
            cells.push({count: cell.executionCount, state: cell.executionState});
    }
    return {kernel: session && session.kernel ? session.kernel.status : null, cells};
}"""


def notebook_state(page, path=NOTEBOOK):
    """{"kernel": "idle" | "busy" | …, "cells": [{"count": n | None, "state": "idle" |
    "running"}]} for each non-empty code cell (queued counts as running); None before
    the notebook's panel exists."""
    return page.evaluate(NOTEBOOK_STATE, path)


def wait_for_state(page, done, timeout, what):
    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state and done(state):
            return state
        time.sleep(0.5)
    outputs = page.locator(".jp-CodeCell .jp-OutputArea-output").all_inner_texts()
    raise AssertionError(f"{what} after {timeout} s: {state}; outputs: {outputs}")


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
            state = notebook_state(page)
            if state and any(c["state"] == "running" or c["count"] for c in state["cells"]):
                return
            time.sleep(0.5)
    raise AssertionError(f"Run All Cells started no cell in {attempts} attempts")


def executed(state):
    """The kernel idle and every code cell run: a count, nothing queued or running."""
    return state["kernel"] == "idle" and state["cells"] and all(
        c["state"] == "idle" and isinstance(c["count"], int) for c in state["cells"])


def wait_until_executed(page, timeout=600):
    """Until the notebook's model says every code cell has run and its kernel is idle
    (a deadline against a hang, not a measure: a loaded machine is only slower)."""
    return wait_for_state(page, executed, timeout, "cells still pending")


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
            wait_for_state(page, lambda state: state["kernel"] == "idle", 120,
                           "the page's kernel is not idle")
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
            passed.wait_for(timeout=120_000)
            test_cell = page.locator(".jp-CodeCell", has_text="check_weighted_sum(weighted_sum)")
            assert test_cell.locator(".jp-OutputArea-output", has_text="failed").count() == 0
            passed.scroll_into_view_if_needed()
        finally:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-student-flow.png"))
            browser.close()


# ---- the instructor's side: formgrader and the feedback page, with no network ----------

WRITTEN_ANSWER = ("The hidden layer bends the plane: $h = \\mathrm{ReLU}(xW_1^\\top + b_1)$, and\n\n"
                  "$$\\frac{\\partial L}{\\partial W_1} = \\delta^\\top x$$")


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A course folder in which kim's untouched 04_backprop, with a written answer in
    LaTeX, is autograded (its answer waiting in Manual Grading) and has its feedback page.
    Graded by stock nbgrader in a kernel (use_stock_settings: seconds, no sandbox); then
    the folder gets back the grading config `firstmlp grade` writes, which formgrader and
    generate_feedback read, and the feedback is written with it."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup-browser installs it)")
    pytest.importorskip("playwright.sync_api")
    from nbgrader.api import Gradebook

    from autograder.course.course_dir import CourseDir
    from autograder.course.nbgrader_course import (autograde, generate_assignments, make_course_dir,
                                                   run_nbgrader, submit, use_stock_settings,
                                                   write_grading_config)
    course = tmp_path_factory.mktemp("formgrader") / "course"
    make_course_dir(course)
    use_stock_settings(course)
    generate_assignments(course, ["04_backprop"])
    notebook = nbformat.read(str(CourseDir(course).release("04_backprop")), 4)
    answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q_xor")
    answer.source = WRITTEN_ANSWER
    submit(course, "kim", "04_backprop", notebook)
    autograde(course, "04_backprop")
    write_grading_config(course)
    run_nbgrader(course, "generate_feedback", "04_backprop", "--student", "kim", "--force")
    with Gradebook(CourseDir(course).gradebook_url) as gradebook:
        submission = gradebook.find_submission_notebook("04_backprop", "04_backprop", "kim").id
    return course, submission


@pytest.fixture(scope="module")
def formgrader(graded_course):
    """`jupyter server` in the course folder: nbgrader's formgrader extension, and
    jupyter_server_mathjax serving MathJax at /static/jupyter_server_mathjax/."""
    course, submission = graded_course
    server, url, token = start_jupyter("server", course)
    yield url, token, submission
    stop(server)


def offline_page(browser, allowed):
    """A page whose requests reach only URLs ``allowed`` accepts; the others are aborted
    and listed (a CDN cannot be what makes a test pass)."""
    from urllib.parse import urlparse
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.requested, page.blocked = [], []

    def route(request_route):
        url = request_route.request.url
        if allowed(urlparse(url)):
            page.requested.append(url)
            request_route.continue_()
        else:
            page.blocked.append(url)
            request_route.abort()
    context.route("**/*", route)
    return page


def loopback(url):
    return url.hostname == "127.0.0.1"


def path_of(url):
    from urllib.parse import urlparse
    return urlparse(url).path


def test_formgrader_typesets_a_written_answers_math_with_no_network(formgrader):
    """Manual Grading of the written answer: its $…$ and $$…$$ are typeset by MathJax
    served from this Jupyter server, with every request off 127.0.0.1 aborted."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, token, submission = formgrader
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = offline_page(browser, loopback)
        answer = page.locator(".nbgrader_cell", has=page.locator("input#q_xor"))
        try:
            page.goto(f"{url}/formgrader/submissions/{submission}/?token={token}")
            answer.wait_for(timeout=60_000)
            try:
                page.wait_for_function("() => window.MathJax !== undefined && MathJax.isReady",
                                       timeout=90_000)
            except PlaywrightTimeout:
                raise AssertionError(f"MathJax never started; requests aborted: {page.blocked}") from None
            page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
            assert answer.locator(".MathJax").count() == 2  # the inline formula and the display one
            assert answer.locator(".MathJax_Display").count() == 1
            shown = answer.locator(".text_cell_render").inner_text()
            assert "$" not in shown and "\\frac" not in shown and "\\mathrm" not in shown, shown
            assert page.blocked == []
            assert any(path_of(u) == "/static/jupyter_server_mathjax/MathJax.js"
                       for u in page.requested)
        finally:  # the answer with the question above it (headless Chromium shoots the top
            box = answer.bounding_box() if answer.count() else None  # of a scrolled page)
            page.screenshot(path=str(ARTIFACTS / "formgrader-manual-grading.png"), full_page=bool(box),
                            clip=box and {"x": 0, "y": max(0, box["y"] - 200), "width": 1200,
                                          "height": box["height"] + 300})
            browser.close()


def test_formgrader_shows_no_exchange_warning(formgrader):
    """The course folder's exchange (nbgrader_config.py) exists: formgrader's Manage
    Assignments lists the course's assignments without its missing-exchange warning."""
    from playwright.sync_api import sync_playwright

    url, token, _ = formgrader
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = offline_page(browser, loopback)
        try:
            page.goto(f"{url}/formgrader?token={token}")
            page.locator("td", has_text="04_backprop").first.wait_for(timeout=60_000)
            assert page.locator("#warning-exchange").count() == 0
            assert page.locator(".alert-warning").all_inner_texts() == []
        finally:
            browser.close()


def test_feedback_page_wraps_long_lines_and_fetches_nothing(graded_course):
    """kim's feedback page, opened from disk with every request but the file aborted: the
    written answer says "to be graded by hand", and no line runs past the page's edge."""
    from playwright.sync_api import sync_playwright

    course, _ = graded_course
    feedback = course / "feedback" / "kim" / "04_backprop" / "04_backprop.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = offline_page(browser, lambda url: url.scheme == "file")
        try:
            page.set_viewport_size({"width": 900, "height": 1000})
            page.goto(feedback.as_uri())
            page.locator("#toc").wait_for()
            overflowing = page.evaluate("""() => [...document.querySelectorAll(
                '.output_area pre, .input_area pre')].filter(e => e.scrollWidth > e.clientWidth + 1)
                .map(e => e.textContent.slice(0, 80))""")
            assert overflowing == []
            assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
            assert "to be graded by hand" in page.locator("#toc").inner_text()
            assert page.blocked == []
        finally:
            page.screenshot(path=str(ARTIFACTS / "feedback-page.png"))
            browser.close()
