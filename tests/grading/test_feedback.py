"""The feedback page: LaTeX in markdown becomes MathML that a browser typesets by itself
(no CDN), nothing active gets through, code stays code; a written answer nobody has
graded says so, each test is named, long lines wrap, an error importing earlier work is
one line without the grader's frames. And the course folder's exchange, without which
formgrader warns on every page. All fast: a small notebook and gradebook, no grading."""

from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from autograder.grading.feedback import math_as_mathml, tex_as_mathml


def test_inline_and_display_math_become_mathml():
    html = markdown2html_mistune(math_as_mathml("Here $\\sigma(x) = \\frac{1}{1+e^{-x}}$ and\n\n"
                                                "$$\\tfrac12 x^2$$"))
    assert html.count("<math") == 2 and 'display="block"' in html and "<mfrac>" in html
    assert "$" not in html


def test_a_formula_in_a_markdown_table_keeps_the_table():
    html = markdown2html_mistune(math_as_mathml("| f | value |\n|---|---|\n| abs | $|x|$ |\n"))
    assert html.count("<td>") == 2 and "<math" in html


def test_code_and_prices_are_left_alone():
    source = "Run `x = $y$` and\n\n```\n$$ not math $$\n```\n\nit costs $5 and $6."
    assert math_as_mathml(source) == source


def test_nothing_active_survives():
    for tex in ("\\href{javascript:alert(1)}{x}", "\\text{<script>alert(1)</script>}",
                "\\style{background:url(http://x)}{y}"):
        mathml = tex_as_mathml(tex) or ""
        assert "javascript" not in mathml and "<script" not in mathml and "href" not in mathml
        assert "url(" not in mathml and "style" not in mathml


def test_feedback_page_of_a_notebook_loads_no_script(tmp_path):
    """nbgrader's feedback template, with our template folder first, writes a page with
    MathML and no <script> at all: no MathJax from a CDN, nothing to run."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    from autograder.grading.feedback import template_basedirs
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = template_basedirs()
    config.HTMLExporter.extra_template_paths = [  # as nbgrader's GenerateFeedback sets it
        template_basedirs()[1].replace("templates", "static/node_modules/bootstrap/dist/css")]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        math_as_mathml("The loss is $L = \\tfrac1N \\sum_i (\\hat y_i - y_i)^2$."))])
    html, _ = HTMLExporter(config=config).from_notebook_node(
        notebook, resources={"nbgrader": {"notebook": "n", "score": 0, "max_score": 0, "late_penalty": 0}})
    assert "<mfrac>" in html and "<script" not in html and "cdnjs" not in html and "$" not in html


def test_a_conversion_that_would_not_be_inert_is_not_made(monkeypatch):
    """Defence in depth: were the converter ever to emit markup outside MathML's inert
    subset, the cell keeps its LaTeX text (the page is checked after conversion)."""
    import nbformat

    import autograder.grading.feedback as feedback
    cell = nbformat.v4.new_markdown_cell("Plain $x^2$ here.")
    feedback.MathAsMathML().preprocess_cell(cell, {}, 0)
    assert "<math" in cell.source
    monkeypatch.setattr(feedback, "tex_as_mathml", lambda tex, display=False:
                        '<img src="x" onerror="alert(1)">')
    feedback.markdown_with_mathml.cache_clear()  # a converter that changed: not remembered
    cell = nbformat.v4.new_markdown_cell("Plain $x^2$ here.")
    feedback.MathAsMathML().preprocess_cell(cell, {}, 0)
    feedback.markdown_with_mathml.cache_clear()  # nor kept for the tests after this one
    assert cell.source == "Plain $x^2$ here."


# ---- the page a student reads: scores, names, long lines, earlier work ------------------

WRITTEN = "A hidden layer of ReLUs folds the plane: $h = \\max(0, xW^\\top + b)$."
TEST_SOURCE = ("check_linear(Linear).assert_passed()\n### BEGIN HIDDEN TESTS\n"
               "check_secret_case(Linear, seed=7)\n### END HIDDEN TESTS\n")
LONG_LINE = "GradingCheckFailed: Linear: " + "the output differs from torch's at [3, 7]; " * 12


def nbgrader_cell(cell, grade_id, points=0, grade=True, solution=False):
    cell.metadata["nbgrader"] = {"grade": grade, "solution": solution, "locked": not solution,
                                 "grade_id": grade_id, "points": points, "schema_version": 3}
    return cell


def small_graded_notebook():
    """A notebook as nbgrader autograded it: an answer, its test (visible call, hidden
    region, a failure with one very long line), a written answer, and a given cell
    that imports earlier work."""
    error = nbformat.v4.new_output("error", ename="GradingCheckFailed", evalue=LONG_LINE,
                                   traceback=[LONG_LINE])
    return nbformat.v4.new_notebook(cells=[
        nbgrader_cell(nbformat.v4.new_code_cell("class Linear:\n    pass"), "linear",
                      grade=False, solution=True),
        nbgrader_cell(nbformat.v4.new_code_cell(TEST_SOURCE, outputs=[error]), "test_linear", 3),
        nbgrader_cell(nbformat.v4.new_markdown_cell(WRITTEN), "q_xor", 1, solution=True),
    ])


@pytest.fixture(scope="module")
def made_gradebook(tmp_path_factory):
    """nbgrader's gradebook for that notebook, autograded: test_linear 0/3, the written
    answer left for a person (made once: nbgrader runs alembic to make one)."""
    import os
    import warnings
    from unittest import mock

    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from autograder.course.nbgrader_course import venv_bin
    url = f"sqlite:///{tmp_path_factory.mktemp('gradebook') / 'gradebook.db'}"
    path = f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs alembic
    with mock.patch.dict(os.environ, PATH=path), warnings.catch_warnings(), Gradebook(url) as gradebook:
        # nbgrader 0.9.6's add_submission under SQLAlchemy 2 warns (autoflush); autograde does too
        warnings.simplefilter("ignore", SAWarning)
        gradebook.add_assignment("a")
        gradebook.add_notebook("n", "a")
        gradebook.add_grade_cell("test_linear", "n", "a", max_score=3, cell_type="code")
        gradebook.add_grade_cell("q_xor", "n", "a", max_score=1, cell_type="markdown")
        for name in ("linear", "q_xor"):
            gradebook.add_solution_cell(name, "n", "a")
        gradebook.add_student("kim")
        gradebook.add_submission("a", "kim")
        test = gradebook.find_grade("test_linear", "n", "a", "kim")
        test.auto_score, test.needs_manual_grade = 0.0, False
        gradebook.db.commit()
    return url


@pytest.fixture
def gradebook(made_gradebook):
    """The gradebook with the written answer waiting for a person; ``grade_by_hand(points)``
    records a person's score for it, as formgrader does."""
    from nbgrader.api import Gradebook

    def record(manual_score=None):
        with Gradebook(made_gradebook) as book:
            written = book.find_grade("q_xor", "n", "a", "kim")
            written.manual_score = manual_score
            written.needs_manual_grade = manual_score is None
            book.db.commit()
    record()
    return SimpleNamespace(url=made_gradebook, grade_by_hand=record)


def feedback_page(notebook, db_url):
    """The page GenerateFeedback writes with the course folder's config
    (nbgrader_course.GRADING_CONFIG): its preprocessors in order, then our template."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    from autograder.grading.feedback import (
        GetGradesForFeedback,
        HideTestSources,
        MathAsMathML,
        template_basedirs,
    )
    from autograder.grading.sanitize import SanitizeOutputs
    resources = {"nbgrader": {"notebook": "n", "assignment": "a", "student": "kim",
                              "db_url": db_url}}
    from jupyter_core.paths import jupyter_config_dir
    resources["config_dir"] = jupyter_config_dir()  # CSSHTMLHeaderPreprocessor reads it
    for step in (GetGradesForFeedback, CSSHTMLHeaderPreprocessor, HideTestSources,
                 SanitizeOutputs, MathAsMathML):
        notebook, resources = step().preprocess(notebook, resources)
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = template_basedirs()
    config.HTMLExporter.extra_template_paths = [
        template_basedirs()[1].replace("templates", "static/node_modules/bootstrap/dist/css")]
    return HTMLExporter(config=config).from_notebook_node(notebook, resources=resources)[0]


def toc_and_answer(page):
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(page, "html.parser")
    heading = soup.select_one(".panel-heading h4").get_text(" ", strip=True)
    toc = [li.get_text(" ", strip=True) for li in soup.select("#toc li")]
    answer = next(panel for panel in soup.select(".nbgrader_cell")
                  if "folds the plane" in panel.get_text())
    return heading, toc, answer.select_one(".panel-heading").get_text(" ", strip=True)


def test_a_written_answer_nobody_graded_says_to_be_graded_by_hand(gradebook):
    heading, toc, answer = toc_and_answer(feedback_page(small_graded_notebook(), gradebook.url))
    written = next(line for line in toc if "q_xor" in line)
    assert "to be graded by hand" in written and "0.0" not in written
    assert "to be graded by hand" in answer and "0.0 / 1.0" not in answer
    assert "0.0 / 4.0" in heading and "+1.0 to be graded by hand" in heading


def test_a_written_answer_a_person_graded_shows_its_score(gradebook):
    gradebook.grade_by_hand(0.5)
    heading, toc, answer = toc_and_answer(feedback_page(small_graded_notebook(), gradebook.url))
    assert "Score: 0.5 / 1.0" in answer and "by hand" not in answer + heading + " ".join(toc)
    assert "0.5 / 4.0" in heading


def test_the_contents_name_each_test_by_its_id_and_its_visible_check(gradebook):
    page = feedback_page(small_graded_notebook(), gradebook.url)
    _, toc, _ = toc_and_answer(page)
    test = next(line for line in toc if line.startswith("Test"))
    assert "test_linear" in test and "check_linear" in test and "Score: 0.0 / 3.0" in test
    assert "Test cell" not in page and "check_secret_case" not in page  # hidden stays hidden


def test_long_output_lines_wrap_on_the_page(gradebook):
    """The page's own style makes output (and code) wrap: pre-wrap, and a word longer
    than the line broken anywhere. (The browser test measures it in Chromium.)"""
    import re
    page = feedback_page(small_graded_notebook(), gradebook.url)
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", " ".join(re.findall(r"<style[^>]*>(.*?)</style>",
                                                                    page, re.S)))
    wrapping = [selector for selector, body in rules
                if "white-space: pre-wrap" in body and "overflow-wrap: anywhere" in body]
    assert any("div.output_area pre" in selector for selector in wrapping)
    assert LONG_LINE.strip() in page  # the line itself is all there, wrapped, not cut


def earlier_work_error(handed_in):
    """The error output a later notebook's import cell records when notebook 02 is
    missing or broken, with a real traceback through earlier.py (the grader's paths)."""
    import traceback

    from autograder.student import earlier
    earlier.provide(["01_perceptron", "02_activations", "04_backprop"], "04_backprop", handed_in)
    try:
        _ = earlier.notebook("02_activations").ReLU
    except Exception as error:  # noqa: BLE001 - whatever it raises is the subject
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        return nbformat.v4.new_output("error", ename=type(error).__name__, evalue=str(error),
                                      traceback="".join(lines).splitlines())
    raise AssertionError("importing notebook 02 raised nothing")


@pytest.mark.parametrize("handed_in, message", [
    ({}, "notebook 02_activations was not handed in"),
    ({"02_activations": {"cells": [["answer", "cell relu", "def relu(x):\n    return x"]]}},
     "notebook 02_activations defines no 'ReLU'"),
    ({"02_activations": {"cells": [["answer", "cell relu", "class ReLU:\n    raise ValueError("
                                    "'first\\nsecond')"]]}}, "raised ValueError: first"),
])
def test_an_earlier_work_error_is_one_line_without_the_graders_frames(gradebook, monkeypatch,
                                                                      handed_in, message):
    from autograder.course.build import ROOT
    from autograder.student import earlier
    monkeypatch.setattr(earlier, "_provided", None)
    monkeypatch.setattr(earlier, "_loaded", {})
    output = earlier_work_error(handed_in)
    assert any(str(ROOT) in line for line in output.traceback)  # what nbgrader recorded
    notebook = small_graded_notebook()
    notebook.cells.insert(2, nbformat.v4.new_code_cell(
        'from autograder.student.earlier import notebook\nReLU = notebook("02_activations").ReLU',
        outputs=[output]))
    page = feedback_page(notebook, gradebook.url)
    from bs4 import BeautifulSoup
    shown = [area.get_text() for area in BeautifulSoup(page, "html.parser").select(".output_area")
             if message in area.get_text()]
    assert len(shown) == 1 and len(shown[0].strip().splitlines()) == 1, shown
    assert str(ROOT) not in page and "Traceback (most recent call last)" not in page
    assert "earlier.py\", line" not in page and "in _provided_cells" not in page  # no frames
    assert "second" not in shown[0]


def test_the_course_folder_has_an_exchange_so_formgrader_shows_no_warning(tmp_path, monkeypatch):
    """formgrader warns on its pages while nbgrader's exchange is missing; the folder's
    nbgrader_config.py puts one in the folder and makes it (config only: no notebooks)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    import autograder.course.nbgrader_course as nbgrader_course
    monkeypatch.setattr(nbgrader_course, "build_course", lambda course_dir, version=None: [])
    course = tmp_path / "course"
    nbgrader_course.make_course_dir(course)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert Path(api.exchange_root) == course / "exchange" and api.exchange_missing is False
