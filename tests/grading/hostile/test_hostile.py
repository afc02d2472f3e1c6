"""The hostile suite: every case of ``cases`` graded in one class beside honest
submissions, by ``firstmlp grade`` with its sandbox; each gets exactly its points and
its message, the honest ones keep theirs, and the submissions are left untouched (a
grader killed or stopped mid-class: ``test_stopped``)."""

import hashlib
import os
import socket
from contextlib import contextmanager, nullcontext
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder.grading.grader import grade
from autograder.sandbox.limits import landlock_abi
from tests.grading.hostile.cases import (
    ABSTRACT_NAME,
    CASES,
    HARD_LINK,
    HONEST,
    HONEST_MARKER,
    PWNED,
    ROOT_ONLY,
    SECRET,
    SYMLINK,
    UDP_PORT,
    WRONG_NAME,
)
from tests.helpers import local_dask_cluster

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 5  # seconds per cell: the endless loop costs this, not ten minutes


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory, prepared_course):
    course = tmp_path_factory.mktemp("hostile") / "course"
    prepared_course(course)
    return course


def write_class(course_dir, folder):
    for student, assignment, make, *_ in CASES + [(*h[:3],) for h in HONEST]:
        target = folder / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{assignment}.ipynb").write_bytes(make(course_dir, ROOT))
    student, assignment, name = WRONG_NAME
    (folder / student / assignment).mkdir(parents=True)
    (folder / student / assignment / name).write_bytes(b"{}")
    student, assignment, honest, *_ = HARD_LINK
    (folder / student / assignment).mkdir(parents=True)
    os.link(folder / honest / assignment / f"{assignment}.ipynb",
            folder / student / assignment / f"{assignment}.ipynb")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}
    student, assignment, target, *_ = SYMLINK
    (folder / student / assignment).mkdir(parents=True)
    (folder / student / assignment / f"{assignment}.ipynb").symlink_to(course_dir / target)
    return before


@pytest.fixture(scope="module")
def listeners():
    """A UDP port and an abstract unix socket on the grader's side: the sockets case
    must reach neither."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", UDP_PORT))
    udp.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0{ABSTRACT_NAME}")
    abstract.listen()
    abstract.setblocking(False)
    yield udp, abstract
    udp.close()
    abstract.close()


@contextmanager
def local_dask_client():
    """A Dask client of a fresh ``local_dask_cluster``."""
    from distributed import Client
    with local_dask_cluster() as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module", params=["pool", "dask"])
def graded(request, course_dir, tmp_path_factory, mnist, listeners):
    """The class graded in one run, once per mode: the local pool, and a Dask
    LocalCluster started before the run's secret is set (it reaches the workers in the
    tasks only, as on a real cluster). Every test of the class runs for both; the second
    mode grades the same course folder again (``regrade``), never resuming the first."""
    folder = tmp_path_factory.mktemp(f"hostile-class-{request.param}") / "submitted"
    before = write_class(course_dir, folder)
    with local_dask_client() if request.param == "dask" else nullcontext() as scheduler:
        os.environ["FIRSTMLP_GRADING_SECRET"] = SECRET
        try:
            outcomes, unmatched, csv_path = grade(folder, course_dir, workers=2, scheduler=scheduler,
                                                  progress=False, timeout=TIMEOUT, memory_mb=2048,
                                                  regrade=True)
        finally:
            del os.environ["FIRSTMLP_GRADING_SECRET"]
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*")
             if p.is_file() and not p.is_symlink()}
    return {(o.student, o.assignment): o for o in outcomes}, unmatched, before, after


def notebook_text(course_dir, student, assignment):
    path = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return ""
    notebook = nbformat.read(str(path), as_version=4)
    return "\n".join(str(o.get("text", "")) if o.get("output_type") == "stream" else
                     f"{o.get('ename', '')}: {o.get('evalue', '')}" if o.get("output_type") == "error"
                     else str(o.get("data", {}).get("text/plain", ""))
                     for c in notebook.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_submission_gets_its_points_and_message(case, graded, course_dir):
    student, assignment, _, points, message, where = case
    if student.startswith(("read_", "write_")) and landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    if student == "read_root_only_files" and os.geteuid() != 0:
        pytest.skip("a grader run as root: the suite makes a file only root may read")
    outcome = graded[0][(student, assignment)]
    assert outcome.score == points, (outcome.score, outcome.flags,
                                     notebook_text(course_dir, student, assignment)[-2000:])
    text = "\n".join(outcome.flags) if where == "flags" else notebook_text(course_dir, student, assignment)
    assert message in text, text[-3000:]


def test_honest_submissions_keep_their_points(graded):
    for student, assignment, _, points in HONEST:
        outcome = graded[0][(student, assignment)]
        assert outcome.score == points, (student, assignment, outcome.flags)
        assert not [f for f in outcome.flags if "review" in f or "edited" in f], outcome.flags


def test_wrong_file_name_is_reported_not_graded(graded):
    outcomes, unmatched = graded[0], graded[1]
    assert not any(student == WRONG_NAME[0] for student, _ in outcomes)
    assert any(f"no {WRONG_NAME[1]}.ipynb in it (found: {WRONG_NAME[2]})" in item.reason
               for item in unmatched), unmatched


def test_submissions_are_never_modified(graded):
    assert graded[2] == graded[3]


def test_symlinked_notebook_is_refused_not_followed(graded, course_dir):
    student, assignment, _, points, message = SYMLINK
    outcome = graded[0][(student, assignment)]
    assert outcome.score == points
    assert any(message in flag and f"{assignment}.ipynb" in flag for flag in outcome.flags), \
        outcome.flags
    assert not (course_dir / "autograded" / student / assignment).exists()


def test_hard_link_to_an_honest_notebook_costs_the_honest_student_nothing(graded):
    student, assignment, honest, points, message = HARD_LINK
    for name in (honest, student):
        outcome = graded[0][(name, assignment)]
        assert outcome.score == points, (name, outcome.flags)
    assert any(message in flag for flag in graded[0][(student, assignment)].flags)
    assert any(message.replace(honest, student) in flag
               for flag in graded[0][(honest, assignment)].flags)


def graded_texts(course_dir):
    """{path: text} of every autograded notebook and feedback page of the class."""
    return {p: p.read_text(errors="replace") for folder in ("autograded", "feedback")
            for p in (course_dir / folder).rglob("*") if p.suffix in (".ipynb", ".html")}


def test_no_secret_seed_or_other_students_work_reaches_any_output(graded, course_dir):
    from autograder.grading.judge import grading_seed
    seeds = {str(grading_seed(s, a, SECRET)) for (s, a) in graded[0]}
    for path, text in graded_texts(course_dir).items():
        assert SECRET not in text, path
        assert not [seed for seed in seeds if seed in text], path
    for (student, assignment) in graded[0]:
        if student != "honest_reference":  # the marker is in that student's answer only
            assert HONEST_MARKER not in notebook_text(course_dir, student, assignment), student


class ActiveContent(HTMLParser):
    """Collects what would run in a browser: script bodies, event handlers, URLs with
    a javascript: scheme, frames, embedded objects."""

    def __init__(self):
        super().__init__()
        self.found, self.in_script = [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        if tag in ("iframe", "object", "embed", "frame"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or "javascript:" in (value or "").replace(" ", "").lower():
                self.found.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and PWNED in data:
            self.found.append(f"script: {data[:80]}")


def test_no_active_content_in_feedback_or_autograded_notebook(graded, course_dir):
    student = "html_injection"
    pages = list((course_dir / "feedback" / student).rglob("*.html"))
    assert pages
    for page in pages:
        parser = ActiveContent()
        parser.feed(page.read_text())
        assert not parser.found, (page, parser.found)
        assert "<b>bold</b>" in page.read_text()  # harmless markup still shows
    notebook = nbformat.read(str(next((course_dir / "autograded" / student).rglob("*.ipynb"))), 4)
    for output in (o for c in notebook.cells for o in c.get("outputs", [])):
        for mime, value in output.get("data", {}).items():
            assert "javascript" not in mime
            if mime in ("text/html", "text/markdown"):
                parser = ActiveContent()
                parser.feed("".join(value) if isinstance(value, list) else value)
                assert not parser.found, parser.found


def test_sockets_reach_nothing_of_the_grader(graded, listeners):
    udp, abstract = listeners
    with pytest.raises(BlockingIOError):
        udp.recv(100)
    with pytest.raises(BlockingIOError):
        abstract.accept()


def test_no_code_ran_in_the_grader():
    assert not Path("/tmp/firstmlp-pwned").exists()


def test_gradebook_survives_the_class(graded, course_dir):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission("02_activations", "honest_reference").score == 14


def test_zip_bomb_in_a_class_export_costs_its_sender_only(tmp_path, course_dir, mnist):
    """An LMS zip whose member inflates to 300 MB beside an honest member: the bomb is
    refused with its name (zero and a flag), the honest notebook is graded, and intake
    never holds the member in memory."""
    import tracemalloc
    import zipfile

    from tests.grading.hostile.cases import with_cells
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("honest_1_01_perceptron.ipynb", with_cells("01_perceptron")(course_dir, ROOT))
        with archive.open("mallory_2_01_perceptron.ipynb", "w") as member:
            for _ in range(300):
                member.write(bytes(1 << 20))
    assert export.stat().st_size < 2 << 20
    tracemalloc.start()
    try:
        outcomes, _, _ = grade(export, course_dir, workers=1, progress=False, timeout=TIMEOUT,
                               student=None, assignment="01_perceptron")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    scores = {o.student: o for o in outcomes}
    assert scores["honest"].score == 10
    assert scores["mallory"].score == 0
    assert any("mallory_2_01_perceptron.ipynb" in f and "MB" in f for f in scores["mallory"].flags), \
        scores["mallory"].flags
    assert peak < 150 << 20, f"intake held {peak >> 20} MB"


@pytest.fixture(scope="module", autouse=True)
def root_only_file():
    """As root: a file only root may read (0600) in /etc, which the sandbox binds; the
    read_root_only_files case must not read it (nor /etc/shadow)."""
    if os.geteuid() != 0:
        yield
        return
    fd = os.open(ROOT_ONLY, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"a secret of root's\n")
        os.close(fd)
        yield
    finally:
        os.unlink(ROOT_ONLY)
