"""firstmlp similarity: a disguised copy ranks above independent solutions, untouched
stubs are never a pair, the report is inert however hostile the code, the command
prints the ranked pairs and refuses bad input in one line."""

import ast
import builtins
import inspect
import io
import tokenize

import nbformat
import pytest
from bs4 import BeautifulSoup

from autograder import cli
from autograder.course.build import load_manifest, reference_definition
from autograder.course.nbgrader_course import submit
from autograder.course.release import RELEASES
from autograder.grading.similarity import find_similar, write_report
from tests.fairness import implementations as fairness

RELEASE = RELEASES / load_manifest()["version"]
ASSIGNMENT = "01_perceptron"
# grade_id -> (the reference's definition, each independent student's own)
ANSWERS = {
    "weighted_sum": ("weighted_sum", fairness.weighted_sum_einsum, fairness.weighted_sum_dot),
    "step": ("step", fairness.step_where, fairness.step_astype),
    "perceptron": ("Perceptron", fairness.PerceptronNamedTuple, fairness.PerceptronClassic),
}
HOSTILE = '"</script><script>alert(1)</script><img src=x onerror=alert(2)>"'


def reference():
    return {g: reference_definition("solutions.perceptron", name, as_solution=False)
            for g, (name, *_) in ANSWERS.items()}


def independent(which):
    """The fairness corpus's correct code, under the notebook's names."""
    answers = {}
    for grade_id, (name, *own) in ANSWERS.items():
        tree = ast.parse(inspect.getsource(own[which]))
        tree.body[0].name = name
        answers[grade_id] = ast.unparse(tree)
    return answers


class Rename(ast.NodeTransformer):
    """Every local name and argument renamed; globals, builtins, ``self`` and the
    class's own names (methods, ``predict = forward``) kept, so the copy still runs."""

    def __init__(self, keep):
        self.keep = keep | {"self", "np", "step", "weighted_sum", "FitResult"} | set(dir(builtins))

    def renamed(self, name):
        return name if name in self.keep else f"{name[::-1].strip('_')}_{len(name)}"

    def visit_Name(self, node):
        node.id = self.renamed(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.renamed(node.arg)
        return node


def disguise(source):
    """A plagiarist's copy: names renamed, a class's methods in the reverse order,
    every line reformatted (ast.unparse: other breaks, brackets, quotes) and commented."""
    tree = ast.parse(source)
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    own = {n.name for c in classes for n in c.body if isinstance(n, ast.FunctionDef)} | {
        t.id for c in classes for n in c.body if isinstance(n, ast.Assign) for t in n.targets}
    tree = Rename(own).visit(tree)
    for node in classes:
        methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
        rest = [n for n in node.body if n not in methods]
        node.body = rest[:1] + methods[::-1] + rest[1:]  # the docstring first
    code = ast.unparse(tree)
    ends = {t.start[0] for t in tokenize.generate_tokens(io.StringIO(code).readline)
            if t.type == tokenize.NEWLINE}
    return "\n".join(line + "  # mine" * (n in ends) for n, line in enumerate(code.splitlines(), 1))


def handed_in(answers=None, extra=""):
    """The release's notebook with these answer cells (grade_id -> source) filled in."""
    notebook = nbformat.read(str(RELEASE / f"{ASSIGNMENT}.ipynb"), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in (answers or {}):
            cell.source = answers[grade_id] + extra
    return notebook


@pytest.fixture
def course_class(tmp_path):
    """A submitted/ tree: the reference, a disguised copy of it, two independent
    solutions, two untouched releases and a student who did only weighted_sum."""
    copy = {grade_id: disguise(source) for grade_id, source in reference().items()}
    given = set(handed_in().cells[0].source.splitlines()).union(
        *(cell.source.splitlines() for cell in handed_in().cells))
    for grade_id, source in reference().items():  # not one line the reference wrote is left as written
        assert not set(copy[grade_id].splitlines()) & (set(source.splitlines()) - given - {""})
    for student, answers in {"ada": reference(), "bob": copy, "cy": independent(0),
                             "dee": independent(1), "eve": None, "fay": None,
                             "gus": {"weighted_sum": reference()["weighted_sum"]}}.items():
        submit(tmp_path, student, ASSIGNMENT, handed_in(answers))
    return tmp_path / "submitted"


def test_a_disguised_copy_ranks_above_independent_solutions(course_class):
    comparison = find_similar(course_class, RELEASE)
    top, *others = comparison.pairs
    assert top.students == ("ada", "bob") and top.assignment == ASSIGNMENT
    assert others and all(top.score > pair.score for pair in others), [
        (p.students, round(p.score, 2)) for p in comparison.pairs]
    assert comparison.notebooks == 7 and not comparison.skipped


def test_untouched_stubs_are_never_a_pair(course_class):
    """Two untouched releases share only the release's code (the boilerplate); one of
    them beside a student who solved one cell shares nothing either."""
    pairs = {p.students: p.score for p in find_similar(course_class, RELEASE).pairs}
    assert not {students for students in pairs if {"eve", "fay"} & set(students)}, pairs
    assert ("ada", "bob") in pairs


def test_untouched_stubs_of_an_older_release_are_never_a_pair(tmp_path):
    """Two students who started on an older release, whose stub gave more code, and
    changed nothing: every release beside the one compared against is boilerplate too."""
    given = "\n    def reset(self):\n        self.w = np.zeros_like(self.w)\n        self.b = 0.0\n"
    for version, extra in (("old", given), ("new", "")):
        folder = tmp_path / "releases" / version
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text("{}")
        notebook = handed_in()
        next(c for c in notebook.cells if c.get("id") == "perceptron").source += extra
        nbformat.write(notebook, str(folder / f"{ASSIGNMENT}.ipynb"))
    for student in ("eve", "fay"):
        submit(tmp_path, student, ASSIGNMENT, nbformat.read(
            str(tmp_path / "releases" / "old" / f"{ASSIGNMENT}.ipynb"), as_version=4))
    assert find_similar(tmp_path / "submitted", tmp_path / "releases" / "new").pairs == []


def test_the_report_is_inert_however_hostile_the_code(tmp_path):
    """A copied answer that holds </script><script>, handed in by a student whose name
    is an HTML tag: every page parses to no script, no event handler, no image, and
    shows the hostile text as text."""
    hostile_name = "<img src=x onerror=alert(3)>"
    answers = {"weighted_sum": reference()["weighted_sum"] + f"\n\nNOTE = {HOSTILE}\n"}
    for student in ("ada", hostile_name):
        submit(tmp_path, student, ASSIGNMENT, handed_in({**reference(), **answers}))
    comparison = find_similar(tmp_path / "submitted", RELEASE)
    index = write_report(comparison, tmp_path / "report")
    pages = [index, *sorted((tmp_path / "report" / "pairs").glob("*.html"))]
    assert len(pages) == 2
    for page in pages:
        soup = BeautifulSoup(page.read_text(), "html.parser")
        assert not soup.find_all(["script", "img", "iframe", "object", "embed", "svg"]), page
        assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.lower().startswith("on")]
        assert hostile_name in soup.get_text()
        policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert "default-src 'none'" in policy["content"]
    pair_page = BeautifulSoup(pages[1].read_text(), "html.parser")
    assert HOSTILE in pair_page.get_text()
    assert pair_page.find_all("span", class_="match"), "the matched regions are highlighted"


def test_the_command_prints_the_ranked_pairs_and_writes_the_report(course_class, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["similarity", str(course_class), "--out", str(out), "--min-score", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["student", "student"])
    rows = [line.split() for line in lines[header + 2:] if line.count("%") == 1]
    rows = rows[:next((i for i, r in enumerate(rows) if r[0][0].isdigit()), len(rows))]
    assert rows[0] == ["ada", "bob", ASSIGNMENT, rows[0][3]]
    scores = [int(row[3].rstrip("%")) for row in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert not [row for row in rows if {"eve", "fay"} & set(row[:2])]
    assert lines[-1] == f"report: {out / 'index.html'}" and (out / "pairs" / "1.html").exists()


@pytest.mark.parametrize("argv, message", [
    (["similarity", "/no/such/folder"], "similarity: no submissions at /no/such/folder"),
    (["similarity", __file__], "similarity: no submissions at"),
    (["similarity", "<empty>"], "similarity: no submissions in"),
    (["similarity", "/tmp", "--min-score", "2"], "firstmlp similarity: argument --min-score: must be"),
    (["similarity", "/tmp", "--release", "/no/such/release"],
     "firstmlp similarity: argument --release: /no/such/release is not a release folder"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    argv = [str(tmp_path) if arg == "<empty>" else arg for arg in argv]
    assert exit_status(argv + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out" / "index.html").exists()


def exit_status(argv):
    try:
        return cli.main(argv)
    except SystemExit as stop:  # the parser's refusals
        return stop.code
