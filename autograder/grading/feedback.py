"""The feedback page a student reads: what a test checked and how far off it was, never
its source, and the points a person has still to give said as such.

nbgrader's feedback HTML shows test cells verbatim, hidden tests included (#917,
#1363). ``HideTestSources``, in ``GenerateFeedback.preprocessors``, replaces each
hidden-test region with a one-line note, shortens tracebacks to their message, masks
seeds, names the check each test runs (for the page's table of contents), and writes an
error raised by importing earlier work (``autograder/student/earlier.py``) as its one
line, without the grader's frames and paths. ``GetGradesForFeedback`` (nbgrader's
``GetGrades``) marks the written answers nobody has graded yet, which the page says are
"to be graded by hand" rather than 0. The page's template is ``templates/feedback/``.
"""

import os
import re
from functools import lru_cache
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbformat import NotebookNode
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor

from autograder.course.markers import HIDDEN_REGION
from autograder.student import earlier
from autograder.student.errors import first_line

SEED = re.compile(r"seed[ =]\d+")
CHECK = re.compile(r"\b(check_\w+)\s*\(")
EARLIER_MODULE = os.path.join("autograder", "student", "earlier.py")  # wherever it is installed


def from_earlier_work(output: NotebookNode) -> bool:
    """An error output raised by importing a student's earlier notebook: an
    ``EarlierWorkError``, or any error whose traceback passes through earlier.py (a name
    the earlier notebook does not define)."""
    return output.get("ename") == earlier.EarlierWorkError.__name__ or any(
        EARLIER_MODULE in str(line) for line in output.get("traceback", []))


class HideTestSources(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            if output.output_type == "error" and from_earlier_work(output):
                output.evalue = first_line(output.get("evalue", ""))
                output.traceback = [f"{output.ename}: {output.evalue}"]
        nbgrader = cell.metadata.get("nbgrader", {})
        if not nbgrader.get("grade") or nbgrader.get("solution"):
            return cell, resources
        cell.source = HIDDEN_REGION.sub("# (hidden tests: run when graded, not shown)\n", cell.source)
        check = CHECK.search(cell.source)  # from what the student sees, hidden tests removed
        if check:
            cell.metadata.setdefault("firstmlp", {})["check"] = check[1]
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue = SEED.sub("seed …", output.evalue)
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class GetGradesForFeedback(GetGrades):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """nbgrader's ``GetGrades``, which also marks each cell nbgrader left for a person
    (a written answer the student changed) that nobody has graded yet:
    ``to_grade_by_hand`` in its nbgrader metadata, and their points in
    ``resources["nbgrader"]["by_hand"]``, as the table's "(+N by hand)" counts them."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        resources["nbgrader"]["by_hand"] = 0.0
        done: tuple[NotebookNode, dict[str, Any]] = super().preprocess(nb, resources)
        return done

    def _get_score(self, cell: NotebookNode, resources: dict[str, Any]) -> None:
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        waiting = bool(grade.needs_manual_grade and grade.manual_score is None)
        cell.metadata.nbgrader["to_grade_by_hand"] = waiting
        if waiting:
            resources["nbgrader"]["by_hand"] += grade.max_score


# ---- math without a CDN ----------------------------------------------------------------

MATH = re.compile(r"(?<!\\)\$\$(.+?)\$\$|(?<![\\$])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?!\d)", re.S)
CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
MATHML_TAGS = {"math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup",
               "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
               "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose"}
MATHML_ATTRIBUTES = {"display", "stretchy", "fence", "separator", "form", "largeop",
                     "movablelimits", "accent", "accentunder", "lspace", "rspace",
                     "mathvariant", "displaystyle", "scriptlevel", "width", "height", "depth",
                     "linethickness", "columnalign", "rowspacing", "columnspacing", "notation"}
MARKDOWN_ACTIVE = {"|": "&#124;", "*": "&#42;", "_": "&#95;", "`": "&#96;", "\\": "&#92;",
                   "[": "&#91;", "]": "&#93;", "~": "&#126;", "\n": " "}


def tex_as_mathml(tex: str, display: bool = False) -> str | None:
    """LaTeX as MathML (latex2mathml), kept to MathML's presentation tags and inert
    attributes (nh3), with the characters markdown would act on written as entities;
    None when the LaTeX cannot be converted."""
    import nh3
    from latex2mathml.converter import convert
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:
        return None
    mathml = nh3.clean(mathml, tags=MATHML_TAGS, attributes={"*": MATHML_ATTRIBUTES},
                       url_schemes=set(), strip_comments=True)
    return "".join(MARKDOWN_ACTIVE.get(c, c) for c in mathml)


def math_as_mathml(markdown: str) -> str:
    """Markdown whose ``$…$`` and ``$$…$$`` outside code are MathML: a browser typesets
    it without MathJax, so a feedback page shows its formulas offline. LaTeX that cannot
    be converted stays as written."""
    def replace(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        mathml = tex_as_mathml(match.group(1) if display else match.group(2), display)
        return match.group(0) if mathml is None else mathml
    parts = CODE.split(markdown)
    return "".join(part if i % 2 else MATH.sub(replace, part) for i, part in enumerate(parts))


class _TemplatesCompiled(BytecodeCache):
    """Jinja's compiled templates, kept in this process's memory: a template whose text
    changed has another checksum and is compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _TemplatesCompiled()


class FeedbackExporter(HTMLExporter):
    """nbconvert's ``HTMLExporter`` (``GenerateFeedback.exporter_class``) whose templates
    are compiled once per process, not once per feedback page (nbgrader makes a new
    exporter, so a new Jinja environment, for each), and whose page is the template's
    output as rendered: ``HTMLExporter`` parses every page again with BeautifulSoup's
    html.parser (two thirds of a page's time) to give each ``<img>`` without one an alt
    text and (lab template only) cells a tabindex; the feedback template is the classic
    one, whose figures carry their alt text themselves (``feedback/index.html.j2``)."""

    def _create_environment(self) -> Any:
        environment = super()._create_environment()  # type: ignore[no-untyped-call]  # nbconvert's, unannotated
        environment.bytecode_cache = _COMPILED
        return environment

    def from_notebook_node(self, nb: NotebookNode, resources: dict[str, Any] | None = None,  # type: ignore[override]  # as HTMLExporter's
                           **kw: Any) -> tuple[str, dict[str, Any]]:
        """``HTMLExporter.from_notebook_node`` (nbconvert 7) up to its BeautifulSoup pass:
        the same filters registered, then the template rendered."""
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        self.register_filter("highlight_code", self.filters.get(  # type: ignore[no-untyped-call]
            "highlight_code", RememberedHighlight(  # type: ignore[no-untyped-call]
                pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)  # type: ignore[no-untyped-call]
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(  # type: ignore[no-untyped-call]
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        return TemplateExporter.from_notebook_node(self, nb, resources, **kw)


class RememberedHighlight(Highlight2HTML):
    """nbconvert's ``Highlight2HTML`` (a code cell's source as pygments' HTML), its page for
    a source remembered by this process (``highlighted``): a class's notebooks share most
    code cells, and pygments took a third of a feedback page's time. A function of the
    source, the language and the cell's ``magics_language`` (the only metadata it reads,
    present or not); a source over ``HIGHLIGHT_REMEMBERED`` characters (the course's
    longest code cell is 2 000; HTML is 5–25× its source), a ``magics_language`` that is
    not text, or extra formatter options: highlighted as always, never kept."""

    def __call__(self, source: str, language: str | None = None,
                 metadata: dict[str, Any] | None = None) -> str:
        cell = metadata or {}
        present, magics = "magics_language" in cell, cell.get("magics_language")
        if (self.extra_formatter_options or not isinstance(source, str)
                or len(source) > HIGHLIGHT_REMEMBERED or not isinstance(magics, (str, type(None)))):
            return str(super().__call__(source, language, metadata))  # type: ignore[no-untyped-call]
        return highlighted(source, language or self.pygments_lexer, present, magics)


HIGHLIGHT_REMEMBERED = 4_000  # characters: at most 1 024 pages of ~100 KB kept per worker


@lru_cache(maxsize=1024)
def highlighted(source: str, language: str, present: bool, magics: str | None) -> str:
    """``Highlight2HTML`` of ``source`` with no extra formatter options, the cell's
    ``magics_language`` given where ``present`` (nbconvert tests the key, not its value)."""
    return str(Highlight2HTML(pygments_lexer=language)(
        source, language, {"magics_language": magics} if present else None))


def template_basedirs() -> list[str]:
    """Template folders for nbgrader's pages: ours first (``feedback/``: the page a
    student reads, loading no script; ``formgrade/``: formgrader's Manual Grading with
    MathJax from this Jupyter server, not a CDN), then nbgrader's own."""
    import nbgrader
    return [os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
            os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                         "templates")]


class MathAsMathML(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """Last in ``GenerateFeedback.preprocessors`` (after ``SanitizeOutputs``): markdown
    cells' math becomes MathML, for the feedback template that loads no MathJax. A cell
    is converted only when its rendered page still passes the sanitiser's allowlist
    (plus MathML's presentation tags): a student's answer cell cannot use the
    conversion to smuggle markup."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        from autograder.grading.sanitize import REMEMBERED_CHARS
        if cell.cell_type == "markdown" and isinstance(cell.source, str):
            cell.source = (markdown_with_mathml if len(cell.source) <= REMEMBERED_CHARS
                           else markdown_with_mathml.__wrapped__)(cell.source)
        return cell, resources


@lru_cache(maxsize=4096)
def markdown_with_mathml(source: str) -> str:
    """``source`` with its math as MathML when the page it renders to still passes the
    sanitiser's allowlist (plus MathML's presentation tags), else as written (the page
    shows the LaTeX). A function of the text alone, remembered by this process (up to
    ``sanitize.REMEMBERED_CHARS`` characters): a class's notebooks share most markdown
    cells."""
    from autograder.grading.sanitize import is_inert_markdown
    converted = math_as_mathml(source)
    if converted != source and is_inert_markdown(
            converted, {tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}):
        return converted
    return source
