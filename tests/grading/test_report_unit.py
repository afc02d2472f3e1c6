"""autograder/grading/report.py's own text rule (the table and report.md against a
gradebook are tests/grading/test_one_denominator.py's): a flag or a student's name that
quotes a notebook shows in report.md as written, never as markup, a link or emphasis."""

import html

import mistune
import pytest

from autograder.grading.report import as_markdown_text


@pytest.mark.parametrize("text", [
    "<img src=x onerror=alert(1)>", "[click](http://evil.example)", "*bold* _it_ `code`",
    "# heading | table | ![i](x.png)", "a\\*b &amp; c"])
def test_text_renders_as_written(text):
    rendered = mistune.html(as_markdown_text(text)).strip()
    assert rendered.startswith("<p>") and rendered.endswith("</p>")
    assert html.unescape(rendered[3:-4]) == text
