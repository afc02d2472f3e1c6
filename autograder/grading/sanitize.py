"""What a student's notebook shows reaches a grader-written page only once made inert.

The rule: nothing the student controls may run in the browser of whoever opens the
autograded notebook or its feedback page. Each output keeps an allowlist of mime types:
  * ``text/plain``, ``stream`` and ``error`` text: kept (nbconvert escapes them); terminal
    control sequences other than SGR colours are removed (``strip_terminal_controls``);
  * ``text/html``: cleaned by nh3 (ammonia) with a small allowlist of tags and
    attributes (``clean_html``): no script, style, iframe, object, embed, form, svg,
    math, no ``style``/``on*`` attributes; ``<img src>`` only ``data:image/png``,
    ``jpeg`` or ``gif`` (the page never fetches anything), ``<a href>`` only http(s),
    mailto or ``#fragment``, with ``rel="noopener noreferrer"``;
  * ``text/markdown``: rendered as nbconvert renders it, then cleaned as HTML and kept as
    ``text/html`` (nh3 on the markdown itself would mangle it: ``> quote`` and ``a<b``);
  * ``image/svg+xml``: becomes ``text/html`` ``<img src="data:image/svg+xml;base64,…">``,
    built here, never through the HTML allowlist: an SVG loaded as an image runs no script;
  * ``image/png``, ``image/jpeg``: kept when they are base64 text; ``text/latex``: kept
    (the template escapes it, MathJax typesets the text);
  * anything else (``application/javascript``, widgets, ``application/vnd.*``,
    ``application/json``, which the HTML template never shows) is dropped; a display
    left empty says which types were removed.
Output metadata keeps only the images' numeric width and height (``isolated`` would put
HTML in an iframe). Cell attachments keep base64 png, jpeg and gif only. A markdown
cell is kept as written when cleaning its rendered HTML changes nothing; otherwise it
is shown as text, in a code block.

What nbconvert 7.17 already does: ``HTMLExporter.sanitize_html = True`` runs bleach over
``text/html`` and ``text/markdown`` outputs and drops the JavaScript and widget
``<script>`` blocks, but nbgrader's feedback template overrides the markdown-cell block
without it, and bleach *escapes* tables and images (``<thead>``, ``<th>``, ``<img>``, ``<p>``)
into visible text. Raw cells always go through bleach (``clean_html``), code-cell sources
through pygments, and SVG outputs are rendered as ``<img>`` by default. So the grader adds
``SanitizeOutputs`` to ``Autograde.autograde_preprocessors`` (after ``LimitOutput``) and
last in ``GenerateFeedback.preprocessors``, and leaves ``sanitize_html`` off.
"""

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import nh3
from bs4 import BeautifulSoup
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
TAGS = {
    "table", "thead", "tbody", "tfoot", "caption", "tr", "th", "td",
    "div", "span", "p", "pre", "code", "blockquote", "b", "i", "em", "strong",
    "sub", "sup", "br", "hr", "ul", "ol", "li", "img", "a", *HEADINGS,
}
ATTRIBUTES = {
    "*": {"class"},
    "table": {"border"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "title"},
    **{h: {"id"} for h in HEADINGS},  # the anchors nbconvert gives markdown headings
}
IMAGE_SOURCES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,")
LINK_TARGETS = ("http://", "https://", "mailto:", "#")
IMAGE_TYPES = ("image/png", "image/jpeg")
ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif")
HTML_SOURCES = ("text/html", "text/markdown", "image/svg+xml")  # each may become text/html
KEPT_AS_IS = ("text/plain", "text/latex", *IMAGE_TYPES)

# A terminal escape or control character: CSI (colours, cursor moves, erasing), the
# string commands (OSC: titles, hyperlinks, clipboard; DCS, SOS, PM, APC) up to their
# terminator, any other ESC sequence, and C0/C1 controls but tab, newline and return.
TERMINAL_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|\Z)"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]",
    re.S,
)
SGR = re.compile(r"\x1b\[[0-9;]*m")


def strip_terminal_controls(text: str) -> str:
    """``text`` without terminal control sequences, SGR colour codes (ESC[…m) excepted:
    nbconvert turns those into coloured spans; the rest would act on a terminal."""
    return TERMINAL_CONTROL.sub(lambda m: m.group() if SGR.fullmatch(m.group()) else "", text)


def _allowed_url(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: images only from inline png/jpeg/gif, links only out."""
    if tag == "img" and attribute == "src":
        return value if value.startswith(IMAGE_SOURCES) else None
    if tag == "a" and attribute == "href":
        return value if value.lower().startswith(LINK_TARGETS) else None
    return value


def clean_html(html: str, link_rel: str | None = "noopener noreferrer",
               extra: Mapping[str, set[str]] | None = None) -> str:
    """``html`` with only the allowlisted tags, attributes and URLs left (nh3);
    ``extra``: {tag: attributes} allowed as well (MathML in a feedback page)."""
    extra = extra or {}
    return nh3.clean(
        html, tags=TAGS | set(extra), attributes={**ATTRIBUTES, **extra},
        attribute_filter=_allowed_url, url_schemes={"http", "https", "mailto", "data"},
        link_rel=link_rel, strip_comments=True,
    )


def is_inert_markdown(source: str, extra: Mapping[str, set[str]] | None = None) -> bool:
    """Whether the markdown renders to HTML that the allowlist (plus ``extra``) leaves
    unchanged."""
    try:
        html = render_markdown(source)
    except Exception:
        return False
    return _same_page(html, clean_html(html, link_rel=None, extra=extra))


def render_markdown(source: str, attachments: dict[str, Any] | None = None) -> str:
    """Markdown as nbconvert's HTML exporter renders it (raw HTML passed through)."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {})
    html: str = MarkdownWithMath(renderer=renderer).render(source)
    return html


def _same_page(a: str, b: str) -> bool:
    """Whether two HTML fragments come out the same from the parse-and-serialise that
    nbconvert's HTMLExporter gives its whole page (BeautifulSoup, html.parser)."""
    return str(BeautifulSoup(a, "html.parser")) == str(BeautifulSoup(b, "html.parser"))


def _as_text(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _svg_as_image(svg: str) -> str:
    encoded = base64.b64encode(svg.encode("utf-8", "replace")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{encoded}" alt="SVG image">'


def _html(mime: str, text: str) -> str | None:
    """The safe ``text/html`` for one of ``HTML_SOURCES``, or None when nothing is left."""
    if mime == "image/svg+xml":
        return _svg_as_image(text)
    if mime == "text/markdown":
        try:
            text = render_markdown(text)
        except Exception:  # e.g. a missing attachment: dropped, like any unsafe type
            return None
    html = clean_html(text)
    return html if html.strip() else None


def _clean_data(data: Mapping[str, object]) -> tuple[dict[str, str], list[str]]:
    """The mime bundle's allowlisted, cleaned entries, and the types it lost."""
    kept: dict[str, str] = {}
    removed: list[str] = []
    for mime, value in data.items():
        text = _as_text(value)
        if mime in HTML_SOURCES and text is not None:
            continue  # cleaned or converted below
        if text is None or mime not in KEPT_AS_IS or (mime in IMAGE_TYPES and not _is_base64(text)):
            removed.append(mime)
        else:
            kept[mime] = strip_terminal_controls(text) if mime == "text/plain" else text
    for mime in HTML_SOURCES:  # in nbconvert's display priority: only the first is shown
        text = _as_text(data.get(mime))
        if text is not None and "text/html" not in kept:
            html = _html(mime, text)
            if html:
                kept["text/html"] = html
            else:
                removed.append(mime)
    return kept, removed


def _image_sizes(metadata: object) -> dict[str, dict[str, float]]:
    sizes: dict[str, dict[str, float]] = {}
    for mime in IMAGE_TYPES:
        entry = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(entry, dict):
            size = {k: v for k, v in entry.items() if k in ("width", "height")
                    and isinstance(v, (int, float)) and not isinstance(v, bool)}
            sizes.update({mime: size} if size else {})
    return sizes


def _removed_note(types: Iterable[object]) -> str:
    names = ", ".join(strip_terminal_controls(str(t))[:80] for t in types) or "empty output"
    return f"[output removed by the grader: {names} cannot be shown safely]"


def _node(fields: dict[str, Any]) -> NotebookNode:
    node: NotebookNode = from_dict(fields)
    return node


def clean_output(output: object) -> NotebookNode:
    """A safe copy of one nbformat v4 output (see the module's rule)."""
    output = output if isinstance(output, dict) else {}  # JSON from the notebook's process
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        text = strip_terminal_controls(_as_text(output.get("text")) or "")
        return _node({"output_type": "stream", "name": name, "text": text})
    if kind == "error":
        lines = output.get("traceback")
        lines = [line for line in lines if isinstance(line, str)] if isinstance(lines, list) else []
        return _node({
            "output_type": "error",
            "ename": strip_terminal_controls(str(output.get("ename", ""))),
            "evalue": strip_terminal_controls(str(output.get("evalue", ""))),
            "traceback": [strip_terminal_controls(line) for line in lines],
        })
    if kind not in ("display_data", "execute_result"):
        note = _removed_note([f"output type {kind!r}"])
        return _node({"output_type": "display_data", "data": {"text/plain": note}, "metadata": {}})
    data = output.get("data")
    kept, removed = _clean_data(data if isinstance(data, dict) else {})
    cleaned: dict[str, Any] = {"output_type": kind, "data": kept or {"text/plain": _removed_note(removed)},
               "metadata": _image_sizes(output.get("metadata"))}
    if kind == "execute_result":
        count = output.get("execution_count")
        cleaned["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
    return _node(cleaned)


def clean_outputs(outputs: Iterable[object] | None) -> list[NotebookNode]:
    """``clean_output`` of each output."""
    return [clean_output(output) for output in outputs or []]


def clean_attachments(attachments: Mapping[str, Mapping[str, object]] | None) -> dict[str, dict[str, str]]:
    """Only base64 png, jpeg and gif attachments; an attachment left empty is dropped."""
    cleaned: dict[str, dict[str, str]] = {}
    for name, bundle in (attachments or {}).items():
        images = {mime: data for mime, data in (bundle or {}).items()
                  if mime in ATTACHMENT_TYPES and isinstance(data, str) and _is_base64(data)}
        cleaned.update({name: images} if images else {})
    return cleaned


def _as_code_block(source: str) -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    note = "*[The grader shows this markdown cell as text: it holds HTML that cannot be shown safely.]*"
    return f"{note}\n\n{fence}\n{source}\n{fence}\n"


def clean_markdown_cell(source: str, attachments: dict[str, Any] | None = None) -> str:
    """``source`` as written when cleaning its rendered HTML changes nothing (the course's
    cells, LaTeX and all); otherwise the source shown as text in a fenced code block.
    Without attachments the answer depends on the text alone and is remembered by this
    process (``_clean_markdown_text``, up to ``REMEMBERED_CHARS`` characters): a class's
    notebooks share most markdown cells."""
    if not attachments and isinstance(source, str) and len(source) <= REMEMBERED_CHARS:
        return _clean_markdown_text(source)
    return _clean_markdown(source, attachments)


REMEMBERED_CHARS = 20_000  # a longer cell is not remembered: a class's own cells are short,
# and a student's huge ones must not fill a worker's memory (4 096 at most are kept)


@lru_cache(maxsize=4096)
def _clean_markdown_text(source: str) -> str:
    return _clean_markdown(source, None)


def _clean_markdown(source: str, attachments: dict[str, Any] | None) -> str:
    try:
        html = render_markdown(source, attachments)
    except Exception:  # e.g. a missing attachment
        return _as_code_block(source)
    return source if _same_page(html, clean_html(html, link_rel=None)) else _as_code_block(source)


class SanitizeOutputs(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """Makes each cell safe to render: code cells' outputs (``clean_outputs``), cell
    attachments (``clean_attachments``) and markdown cells (``clean_markdown_cell``)."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if "attachments" in cell:
            cell.attachments = from_dict(clean_attachments(cell.attachments))
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.get("outputs"))
        elif cell.cell_type == "markdown":
            cell.source = clean_markdown_cell(cell.source, cell.get("attachments"))
        return cell, resources
