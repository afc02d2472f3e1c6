import os
import shutil
from pathlib import Path

import pytest

# One OpenMP/BLAS thread for torch and numpy here and in everything a test starts
# (nbgrader's kernels side by side, the grader, whose workers' threads it caps:
# pool.threads_per_worker), unless the caller set it. Measured on this 2-core machine:
# a small MLP's training loop alone is up to 1.4x faster on two threads, but two copies
# at once (two test workers, two kernels) are 2-5x slower than on one each, and 4-5x
# beside two busy loops: an OpenMP or OpenBLAS thread spins at every barrier for a
# partner that another process keeps off the cores. `bench/threads.py` prints the figures.
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

import torch  # noqa: E402 (after the threads are set: torch reads them when imported)

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

if not os.environ.get("MNIST_ROOT") and (SHARED_MNIST / "MNIST" / "raw").is_dir():
    os.environ["MNIST_ROOT"] = str(SHARED_MNIST)


def heaviest_modules_first(items):
    """Under pytest-xdist (``-n 2 --dist loadfile --no-loadscope-reorder``: each module
    whole on one worker, in the order collected): the modules with the most tests
    marked slow first, so that the longest (the hostile class, the stock-nbgrader class,
    the grader's) start at once instead of last; the rest keep their order. Modules that
    grade in the sandbox may run beside each other: a sandbox's user is its worker's own
    (``sandbox_identity``), and the tests that look for leftover processes look below
    their own grader only."""
    def module(item):
        return item.nodeid.split("::", 1)[0]
    slow = {}
    for item in items:
        slow[module(item)] = slow.get(module(item), 0) + ("slow" in item.keywords)
    items.sort(key=lambda item: -slow[module(item)])  # stable


def pytest_collection_modifyitems(config, items):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        heaviest_modules_first(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def shared_folder(tmp_path_factory):
    """This run's temporary folder; under pytest-xdist, the one its workers share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def mnist():
    """Full MNIST from MNIST_ROOT (this checkout: ../shared/data/mnist)."""
    if not os.environ.get("MNIST_ROOT"):
        pytest.skip("MNIST_ROOT is not set and ../shared/data/mnist is missing")
    from autograder.student.data import load_mnist
    return load_mnist()


@pytest.fixture(scope="session")
def speech_corpus(tmp_path_factory):
    """Notebook 6's default corpus (made once, ~1 minute, then cached like a student's)."""
    from filelock import FileLock

    from autograder.student.speech.corpus import ensure_corpus
    from autograder.student.speech.festival import missing
    reason = missing()
    if reason:
        pytest.skip(reason)
    with FileLock(shared_folder(tmp_path_factory) / "speech-corpus.lock"):  # made by one worker
        return ensure_corpus(announce=lambda message: None)


@pytest.fixture(scope="session")
def prepared_template(tmp_path_factory):
    """``template()``: a course folder as ``prepare_course`` leaves it, made on first use
    (generate_assignment of the six in one nbgrader process: about 7 s)
    and shared by the session (by all its workers under pytest-xdist): the one place the
    suite generates the whole course."""
    from filelock import FileLock

    from autograder.grading.grader import prepare_course
    folder = shared_folder(tmp_path_factory) / "prepared"
    folder.mkdir(exist_ok=True)

    def template():
        with FileLock(folder / "lock"):
            if not (folder / "made").exists():
                shutil.rmtree(folder / "course", ignore_errors=True)
                prepare_course(folder / "course")
                (folder / "made").touch()
        return folder / "course"
    return template


@pytest.fixture(scope="session")
def prepared_course(prepared_template):
    """``prepared_course(folder)``: ``folder`` as ``prepare_course`` leaves it, and its
    assignments. Each caller gets a copy of the session's template on which
    ``prepare_course`` itself runs again (the sources rebuilt and compared, the configs
    rewritten for the copy's path), so the folder is what the grader would have made."""
    from autograder.grading.grader import prepare_course

    def prepare(folder):
        shutil.copytree(prepared_template(), folder)
        return prepare_course(folder)
    return prepare


@pytest.fixture(scope="session")
def generated(prepared_template):
    """``generated(course_dir, assignments)``: nbgrader's generate_assignment for a folder
    that ``make_course_dir`` built, taken from the session's template where the folder's
    source notebooks are byte for byte the template's (generate_assignment reads nothing
    else), and run for real where any differs. Its release notebooks, and the template's
    gradebook when the folder has none."""
    from autograder.course import nbgrader_course
    from autograder.course.course_dir import CourseDir
    real = nbgrader_course.generate_assignments

    def generate(course_dir, assignments):
        mine, theirs = CourseDir(Path(course_dir).resolve()), CourseDir(prepared_template())
        if any(not theirs.source(a).exists() or mine.source(a).read_bytes() != theirs.source(a).read_bytes()
               for a in assignments):
            return real(course_dir, assignments)
        for assignment in assignments:
            shutil.copytree(theirs.release(assignment).parent, mine.release(assignment).parent,
                            dirs_exist_ok=True)
        if not mine.gradebook.exists():
            shutil.copyfile(theirs.gradebook, mine.gradebook)
    return generate
