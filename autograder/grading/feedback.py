"""Feedback that names a failed test and the size of its error, never its source.

nbgrader's feedback HTML shows test cells verbatim, hidden tests included (#917,
#1363). This preprocessor, added to ``GenerateFeedback.preprocessors``, replaces each
hidden-test region with a one-line note, shortens tracebacks to their message, and
masks seeds, so the feedback gives away neither hidden inputs nor test code.
"""

import re

from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.course.markers import HIDDEN_REGION

SEED = re.compile(r"seed[ =]\d+")


class HideTestSources(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not nbgrader.get("grade") or nbgrader.get("solution"):
            return cell, resources
        cell.source = HIDDEN_REGION.sub("# (hidden tests: run when graded, not shown)\n", cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue = SEED.sub("seed …", output.evalue)
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


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


def tex_as_mathml(tex, display=False):
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


def math_as_mathml(markdown):
    """Markdown whose ``$…$`` and ``$$…$$`` outside code are MathML: a browser typesets
    it without MathJax, so a feedback page shows its formulas offline. LaTeX that cannot
    be converted stays as written."""
    def replace(match):
        display = match.group(1) is not None
        mathml = tex_as_mathml(match.group(1) if display else match.group(2), display)
        return match.group(0) if mathml is None else mathml
    parts = CODE.split(markdown)
    return "".join(part if i % 2 else MATH.sub(replace, part) for i, part in enumerate(parts))


def template_basedirs():
    """Template folders for nbgrader's ``feedback`` page: ours first (its
    ``mathjax.html.j2`` loads nothing), then nbgrader's own."""
    import os

    import nbgrader
    return [os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
            os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                         "templates")]


class MathAsMathML(NbGraderPreprocessor):
    """Last in ``GenerateFeedback.preprocessors`` (after ``SanitizeOutputs``): markdown
    cells' math becomes MathML, for the feedback template that loads no MathJax. A cell
    is converted only when its rendered page still passes the sanitiser's allowlist
    (plus MathML's presentation tags): a student's answer cell cannot use the
    conversion to smuggle markup."""

    def preprocess_cell(self, cell, resources, index):
        from autograder.grading.sanitize import is_inert_markdown
        if cell.cell_type == "markdown":
            converted = math_as_mathml(cell.source)
            if converted != cell.source and is_inert_markdown(
                    converted, {tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}):
                cell.source = converted  # else as written: the page shows the LaTeX
        return cell, resources
