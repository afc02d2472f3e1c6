"""Student outputs reach grader-written notebooks and feedback pages only made inert
(autograder.grading.sanitize): each attack is cleaned, ordinary rich output survives, and the
feedback page nbgrader would write runs no script but its own."""

import base64
import io
import json
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from autograder.course.build import load_manifest
from autograder.grading.sanitize import (
    SanitizeOutputs,
    clean_attachments,
    clean_markdown_cell,
    clean_output,
    clean_outputs,
    render_markdown,
    strip_terminal_controls,
)

ROOT = Path(__file__).resolve().parents[2]
BANNED = ("<script", "onerror", "onload", "javascript:", "<iframe", "http://evil", "<style",
          "<object", "<embed", "<svg", "\x1b]")
PNG_1X1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
           "hKmMIQAAAABJRU5ErkJggg==")
TABLE = ('<div><table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">'
         '<th></th><th>loss</th></tr>\n  </thead>\n  <tbody>\n    <tr><th>0</th><td>0.125</td></tr>\n'
         '  </tbody>\n</table>\n</div>')


def display(data, metadata=None):
    return new_output("display_data", data=data, metadata=metadata or {})


ATTACKS = {
    "script in html": display({"text/html": "<script>alert(1)</script><b>hi</b>"}),
    "img onerror": display({"text/html": "<img src=x onerror=alert(1)>"}),
    "javascript link": display({"text/html": '<a href="javascript:alert(1)">click</a>'}),
    "javascript link, odd case": display({"text/html": '<a href=" JaVaScRiPt:alert(1)">x</a>'}),
    "iframe": display({"text/html": '<iframe src="http://evil/frame"></iframe>'}),
    "svg onload in html": display({"text/html": "<svg onload=alert(1)><circle r=1 /></svg>"}),
    "svg output with script": display({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg">'
                                                        '<script>alert(1)</script></svg>'}),
    "application/javascript": display({"application/javascript": "alert(1)", "text/plain": "<JS>"}),
    "javascript only": display({"application/javascript": "alert(1)"}),
    "markdown with script": display({"text/markdown": "**hi** <script>alert(1)</script>"}),
    "markdown with img onerror": display({"text/markdown": "x <img src=x onerror=alert(1)>"}),
    "markdown javascript link": display({"text/markdown": "[x](javascript:alert(1))"}),
    "style, object, embed": display({"text/html": "<style>*{display:none}</style><object data=x>"
                                                  "</object><embed src=x>ok"}),
    "beacon image": display({"text/html": '<img src="http://evil/beacon">'}),
    "isolated html": display({"text/html": "<p>x</p>"}, {"text/html": {"isolated": True}}),
    "execute result": new_output("execute_result", data={"text/html": "<img src=x onload=alert(1)>"},
                                 execution_count=3),
    "osc in stream": new_output("stream", name="stdout",
                                text="\x1b]8;;http://evil/x\x1b\\link\x1b]8;;\x1b\\ \x1b]0;title\x07done\n"),
    "osc in error": new_output("error", ename="E\x1b]0;t\x07", evalue="\x1b[2Jv",
                               traceback=["\x1b[31mE\x1b[0m\x1b]8;;http://evil\x07"]),
}


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_is_made_inert(name):
    cleaned = json.dumps(clean_output(ATTACKS[name]), ensure_ascii=False).lower()
    assert not [banned for banned in BANNED if banned in cleaned]


def test_html_keeps_tables_inline_images_and_outgoing_links():
    html = clean_output(display({"text/html": TABLE + f'<img src="data:image/png;base64,{PNG_1X1}">'
                                 '<a href="https://pytorch.org">docs</a><a href="mailto:t@x.org">m</a>'}))
    html = html["data"]["text/html"]
    assert '<table border="1" class="dataframe">' in html and "<td>0.125</td>" in html
    assert "style=" not in html
    assert f'src="data:image/png;base64,{PNG_1X1}"' in html
    assert '<a href="https://pytorch.org" rel="noopener noreferrer">docs</a>' in html
    assert 'href="mailto:t@x.org"' in html


def test_markdown_output_becomes_readable_safe_html():
    cleaned = clean_output(display({"text/markdown": "**bold** and x < y"}))
    assert cleaned["data"] == {"text/html": "<p><strong>bold</strong> and x &lt; y</p>\n"}


def test_svg_output_becomes_an_inert_image():
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = clean_output(display({"image/svg+xml": svg}))["data"]["text/html"]
    assert html.startswith('<img src="data:image/svg+xml;base64,')
    assert base64.b64decode(html.split("base64,")[1].split('"')[0]).decode() == svg


def test_svg_data_url_is_refused_in_student_html():
    html = clean_output(display({"text/html": '<img src="data:image/svg+xml;base64,AAAA">'}))
    assert "svg" not in json.dumps(html)


def test_active_types_are_dropped_and_an_empty_display_says_why():
    cleaned = clean_output(display({"application/javascript": "alert(1)",
                                    "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
                                    "application/json": {"a": 1}}))
    assert list(cleaned["data"]) == ["text/plain"]
    note = cleaned["data"]["text/plain"]
    assert note.startswith("[output removed by the grader: application/javascript")
    assert "widget-view+json" in note and note.endswith("cannot be shown safely]")
    kept = clean_output(display({"application/javascript": "alert(1)", "text/plain": "fig"}))
    assert kept["data"] == {"text/plain": "fig"}


def test_png_passes_untouched_when_base64_and_is_dropped_otherwise():
    metadata = {"image/png": {"width": 640, "height": 480, "unconfined": True}, "isolated": True}
    cleaned = clean_output(display({"image/png": PNG_1X1 + "\n", "text/plain": "<Figure>"}, metadata))
    assert cleaned["data"]["image/png"] == PNG_1X1 + "\n"
    assert cleaned["metadata"] == {"image/png": {"width": 640, "height": 480}}
    bad = clean_output(display({"image/png": '" onerror="alert(1)'}))
    assert "image/png" not in bad["data"] and "onerror" not in json.dumps(bad)


def test_latex_and_plain_text_are_kept():
    cleaned = clean_output(new_output("execute_result", data={"text/latex": r"$x < y$", "text/plain": "x<y"},
                                      execution_count=1))
    assert cleaned["data"] == {"text/latex": r"$x < y$", "text/plain": "x<y"}
    assert cleaned["execution_count"] == 1


def test_terminal_controls_are_stripped_but_colours_kept():
    text = "\x1b[1;31mred\x1b[0m \x1b[2J\x1b[H\x1b]0;title\x07\x1bc\x07\x00tab\tend\r\n"
    assert strip_terminal_controls(text) == "\x1b[1;31mred\x1b[0m tab\tend\r\n"
    stream = clean_output(new_output("stream", name="stdout", text=["a\n", "\x1b[Ab\n"]))
    assert stream == {"output_type": "stream", "name": "stdout", "text": "a\nb\n"}


def test_unknown_output_types_are_replaced_by_a_note():
    cleaned = clean_output({"output_type": "<script>", "data": {"text/html": "<script>x</script>"}})
    assert cleaned["output_type"] == "display_data" and "<script>x" not in json.dumps(cleaned)


def test_attachments_keep_only_base64_images():
    attachments = {"fig.png": {"image/png": PNG_1X1}, "page.html": {"text/html": "<script>x</script>"},
                   "pic.svg": {"image/svg+xml": "<svg onload=alert(1)/>", "image/gif": "R0lGODlh"}}
    assert clean_attachments(attachments) == {"fig.png": {"image/png": PNG_1X1},
                                              "pic.svg": {"image/gif": "R0lGODlh"}}


def course_markdown_cells():
    version = load_manifest()["version"]  # the current release: what students are given
    for path in sorted((ROOT / "releases" / version).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                yield path.name, cell


def test_every_course_markdown_cell_is_left_as_written():
    cells = list(course_markdown_cells())
    assert len(cells) > 20
    changed = [name for name, cell in cells
               if clean_markdown_cell(cell.source, cell.get("attachments")) != cell.source]
    assert not changed


def test_benign_markdown_keeps_latex_quotes_and_code():
    source = "> note & `a<b`: $x < y$ and $$\\sigma(x) > 0$$<br>**bold** [doc](https://numpy.org)\n\n# Head"
    assert clean_markdown_cell(source) == source


@pytest.mark.parametrize("source", ["Answer <script>alert(1)</script>", "x <img src=x onerror=alert(1)>",
                                    "[x](javascript:alert(1))", "```mermaid\n<script>alert(1)</script>\n```",
                                    "![](http://evil/beacon.png)", "<svg onload=alert(1)>",
                                    "![](attachment:gone)"])
def test_a_hostile_markdown_cell_is_shown_as_text(source):
    cleaned = clean_markdown_cell(source)
    assert source in cleaned and cleaned.startswith("*[The grader shows this markdown cell as text")
    tags = {tag.name for tag in BeautifulSoup(render_markdown(cleaned), "html.parser").find_all(True)}
    assert tags == {"p", "em", "pre", "code"}


def matplotlib_png():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [1, 0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def feedback_html(nb):
    """The notebook exported as nbgrader 0.9.6's GenerateFeedback exports it: HTMLExporter
    with nbgrader's ``feedback`` template (which extends nbconvert's classic one)."""
    import nbgrader
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(formgrader / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    resources = {"nbgrader": {"notebook": "t", "score": 1, "max_score": 2, "late_penalty": 0}}
    return HTMLExporter(config=config).from_notebook_node(nb, resources=resources)[0]


def count_tags(page, name):
    return len(BeautifulSoup(page, "html.parser").find_all(name))


def handlers_or_script_urls(page):
    """Event-handler attributes and javascript: URLs anywhere in the page."""
    return [(tag.name, attribute) for tag in BeautifulSoup(page, "html.parser").find_all(True)
            for attribute, value in tag.attrs.items()
            if attribute.lower().startswith("on") or "javascript:" in str(value).lower().replace(" ", "")]


COURSE_MARKDOWN = "## Sigmoid\n\nFor $x < -709$ use $e^{x}/(1+e^{x})$.<br>\n\n> $\\sigma(x) > 0$"


def test_feedback_page_runs_no_student_script_and_keeps_rich_output():
    png = matplotlib_png()
    outputs = [*ATTACKS.values(),
               display({"image/png": png, "text/plain": "<Figure size 200x150>"},
                       {"image/png": {"width": 200, "height": 150}}),
               display({"text/html": TABLE, "text/plain": "   loss\n0  0.125"}),
               new_output("stream", name="stdout", text="hello from print\n")]
    code = new_code_cell("train()", outputs=outputs, execution_count=1)
    student_md = new_markdown_cell("My answer <img src=x onerror=alert(1)><script>alert(2)</script>")
    raw = new_raw_cell("<script>alert(3)</script>")
    nb = new_notebook(cells=[code, new_markdown_cell(COURSE_MARKDOWN), student_md, raw])
    nb, _ = SanitizeOutputs().preprocess(nb, {})
    page = feedback_html(nb)
    baseline = feedback_html(new_notebook(cells=[new_code_cell("train()"),
                                                 new_markdown_cell(COURSE_MARKDOWN)]))
    for tag in ("script", "iframe", "embed", "object", "svg", "style"):
        assert count_tags(page, tag) == count_tags(baseline, tag), tag
        assert page.lower().count(f"<{tag}") == baseline.lower().count(f"<{tag}"), tag
    assert not handlers_or_script_urls(page)
    assert "http://evil" not in page and "\x1b]" not in page
    assert f'src="data:image/png;base64,{png}"' in page
    assert "<td>0.125</td>" in page and "hello from print" in page
    assert "$x &lt; -709$" in page and "$e^{x}/(1+e^{x})$" in page  # MathJax still sees the LaTeX
    assert "My answer &lt;img src=x onerror=alert(1)&gt;" in page  # the hostile cell, as text
    assert "[output removed by the grader: application/javascript" in page


def test_preprocessor_cleans_code_cell_outputs_and_attachments():
    code = new_code_cell("x", outputs=[display({"text/html": "<script>x</script><b>b</b>"})])
    md = new_markdown_cell("![f](attachment:f.png)", attachments={
        "f.png": {"image/png": PNG_1X1}, "x.js": {"application/javascript": "alert(1)"}})
    nb, _ = SanitizeOutputs().preprocess(new_notebook(cells=[code, md]), {})
    assert nb.cells[0].outputs[0]["data"] == {"text/html": "<b>b</b>"}
    assert nb.cells[1].attachments == {"f.png": {"image/png": PNG_1X1}}
    assert nb.cells[1].source == "![f](attachment:f.png)"  # an inline png attachment is kept


def test_clean_outputs_gives_valid_nbformat_outputs_for_anything():
    assert clean_outputs([]) == [] and clean_outputs(None) == []
    odd = [*ATTACKS.values(), "not a dict", None, {"output_type": "stream", "text": 5}, {}]
    cleaned = clean_outputs(odd)
    assert len(cleaned) == len(odd)
    for output in cleaned:
        nbformat.validate(new_notebook(cells=[new_code_cell("x", outputs=[new_output(**output)])]))
