"""Feedback math without a CDN: LaTeX in markdown becomes MathML that a browser
typesets by itself; nothing active gets through; code stays code."""

import nbformat
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
    cell = nbformat.v4.new_markdown_cell("Plain $x^2$ here.")
    feedback.MathAsMathML().preprocess_cell(cell, {}, 0)
    assert cell.source == "Plain $x^2$ here."
