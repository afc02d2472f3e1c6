"""nbgrader's set-up kept per worker (``warm_nbgrader``): one gradebook engine per URL
(its connections still closed when the gradebook is), one metadata validator per schema
(the same errors), and feedback templates compiled once per process."""

import jsonschema
import nbgrader.api
import nbgrader.nbgraderformat.common as metadata
import pytest
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator

from autograder.grading.warm_nbgrader import warm_nbgrader


@pytest.fixture
def warm(monkeypatch):
    """warm_nbgrader for this test only (nbgrader's own functions put back after)."""
    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader.api.create_engine)
    monkeypatch.setattr(metadata, "jsonschema", metadata.jsonschema)
    warm_nbgrader()
    warm_nbgrader()  # idempotent


def test_one_engine_per_gradebook_whose_connections_close_with_it(tmp_path, monkeypatch, warm):
    import os
    import sys
    from pathlib import Path
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as first:
        first.add_student("kim")
        engine = first.engine
    assert engine.pool.checkedout() == 0  # closed with the gradebook
    with Gradebook(url) as second:
        assert second.engine is engine and second.find_student("kim").id == "kim"
    with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert other.engine is not engine
        assert other.students == []


def cell(**nbgrader):
    import nbformat
    made = nbformat.v4.new_code_cell("x = 1")
    made.metadata["nbgrader"] = dict({"schema_version": 3, "grade": True, "solution": False,
                                      "locked": True, "grade_id": "a", "points": 1}, **nbgrader)
    return made


@pytest.mark.parametrize("broken", [{"points": "one"}, {"grade_id": 3}, {"locked": "yes"}])
def test_the_metadata_validator_raises_what_jsonschema_raises(broken, warm):
    validator = MetadataValidator()
    validator.validate_cell(cell())  # a valid cell passes
    with pytest.raises(jsonschema.ValidationError) as warm_error:
        validator.validate_cell(cell(**broken))
    with pytest.raises(jsonschema.ValidationError) as plain_error:
        jsonschema.validate(cell(**broken).metadata["nbgrader"], validator.schema)
    assert warm_error.value.message == plain_error.value.message
    assert list(warm_error.value.path) == list(plain_error.value.path)


def feedback_page(notebook):
    """A feedback page of ``notebook`` as nbgrader's GenerateFeedback configures it."""
    from traitlets.config import Config

    from autograder.grading.feedback import FeedbackExporter, template_basedirs
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = template_basedirs()
    config.HTMLExporter.extra_template_paths = [  # as nbgrader's GenerateFeedback sets it
        template_basedirs()[1].replace("templates", "static/node_modules/bootstrap/dist/css")]
    resources = {"nbgrader": {"notebook": "n", "score": 0, "max_score": 0, "late_penalty": 0}}
    return FeedbackExporter(config=config).from_notebook_node(notebook, resources=resources)[0]


def test_feedback_templates_are_compiled_once_per_process(monkeypatch):
    import jinja2
    import nbformat
    compiled = []
    plain = jinja2.Environment.compile

    def counted(self, source, *args, **kwargs):
        compiled.append(args[0] if args else kwargs.get("name"))
        return plain(self, source, *args, **kwargs)
    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Hello")])
    pages = []
    for _ in range(2):
        compiled.clear()
        pages.append(feedback_page(notebook))
    assert "Hello" in pages[1] and pages[0] == pages[1]
    assert [name for name in compiled if name and name.endswith(".j2")] == []


def test_a_feedback_page_is_not_parsed_again_and_its_figures_have_alt_text(monkeypatch):
    """nbconvert's HTMLExporter re-parses every page with BeautifulSoup (two thirds of a
    feedback page's time) to add alt text to images; the feedback page is the template's
    own output, and its figures carry their alt text themselves."""
    import nbconvert.exporters.html
    import nbformat

    def parsed(*args, **kwargs):
        raise AssertionError("the page was parsed again")
    monkeypatch.setattr(nbconvert.exporters.html, "BeautifulSoup", parsed)
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                          "text/plain": "<Figure>"})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("plot()", outputs=[figure])])
    page = feedback_page(notebook)
    assert page.count("<img ") == 1
    assert '<img alt="A figure the cell drew (its output)" src="data:image/png;base64,iVBORw0KGgo="' in page


def test_markdown_is_remembered_per_text_up_to_a_size():
    """The course's cells are converted once per worker; a student's huge cell is
    converted as always, never kept."""
    import nbformat

    from autograder.grading.feedback import MathAsMathML, markdown_with_mathml
    from autograder.grading.sanitize import REMEMBERED_CHARS, _clean_markdown_text, clean_markdown_cell

    def as_mathml(text):
        return MathAsMathML().preprocess_cell(nbformat.v4.new_markdown_cell(text), {}, 0)[0].source
    for remembered, convert in ((markdown_with_mathml, as_mathml),
                                (_clean_markdown_text, clean_markdown_cell)):
        remembered.cache_clear()
        short = "The loss is $L = x^2$."
        assert convert(short) == convert(short)
        assert remembered.cache_info().hits == 1
        long = short + " " * REMEMBERED_CHARS
        assert convert(long) == convert(long)
        assert remembered.cache_info().currsize == 1
        remembered.cache_clear()


@pytest.mark.filterwarnings("ignore:No lexer found for language None")  # nbconvert's, for null
def test_a_code_cells_highlighting_is_remembered_and_the_page_unchanged(monkeypatch):
    """A class's notebooks share most code cells: each is highlighted once per worker,
    and the page is the one nbconvert's own ``Highlight2HTML`` gives."""
    import nbconvert.filters.highlight
    import nbformat

    from autograder.grading import feedback
    code = "import numpy as np\nx = np.ones(3)  # a comment <b>\n%timeit x.sum()"
    long = "y = 1\n" * (feedback.HIGHLIGHT_REMEMBERED // 6 + 1)
    cells = [nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(long),
             nbformat.v4.new_code_cell("%%bash\necho hi", metadata={"magics_language": "bash"}),
             nbformat.v4.new_code_cell("x = 1  # null", metadata={"magics_language": None})]
    notebook = nbformat.v4.new_notebook(cells=cells)
    monkeypatch.setattr(feedback, "RememberedHighlight", nbconvert.filters.highlight.Highlight2HTML)
    expected = feedback_page(notebook)
    monkeypatch.undo()
    highlights = []
    real = nbconvert.filters.highlight._pygments_highlight
    monkeypatch.setattr(nbconvert.filters.highlight, "_pygments_highlight",
                        lambda *a, **k: highlights.append(a[0]) or real(*a, **k))
    feedback.highlighted.cache_clear()
    pages = [feedback_page(notebook) for _ in range(3)]
    assert pages == [expected] * 3 and "echo" in expected and "np" in expected
    assert sorted(highlights) == sorted([code, "%%bash\necho hi", "x = 1  # null"] + [long] * 3)
    feedback.highlighted.cache_clear()
