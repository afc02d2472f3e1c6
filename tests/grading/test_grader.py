"""Grading a class: per-cell points for full, blank and partial submissions, the CSV,
feedback without hidden tests, idempotent re-grading, one student at a time, LMS
zips, and a real Dask LocalCluster."""

import csv
import zipfile

import nbformat
import pytest

from autograder.course.build import load_manifest
from autograder.course.nbgrader_course import completed_notebook, submit
from autograder.course.release import RELEASES
from autograder.grading.grader import grade
from autograder.grading.late import LMS_LATE
from autograder.grading.report import summary_table
from tests.helpers import cell_scores, local_dask_cluster

HIDDEN_SEED = load_manifest()["hidden_seed"]

pytestmark = pytest.mark.slow
RELEASE = RELEASES / load_manifest()["version"]
ASSIGNMENTS = ["01_perceptron", "02_activations"]


def graded_cell_points(course_dir, assignment):
    source = nbformat.read(str(course_dir / "source" / assignment / f"{assignment}.ipynb"), 4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in source.cells if c.metadata["nbgrader"].get("grade")}


def notebook_for(course_dir, assignment, solved=None, replace=None):
    """The release notebook with the listed solution cells (all if None) filled in
    from the reference, and (cell id, old, new) text replacements applied."""
    release = RELEASE / f"{assignment}.ipynb"
    full = completed_notebook(release, course_dir / "source" / assignment / f"{assignment}.ipynb")
    notebook = nbformat.read(str(release), as_version=4)
    for cell, done in zip(notebook.cells, full.cells, strict=True):
        if solved is None or cell.id in solved:
            cell.source = done.source
    for cell_id, old, new in replace or []:
        cell = next(c for c in notebook.cells if c.id == cell_id)
        assert old in cell.source
        cell.source = cell.source.replace(old, new)
    return notebook


# student -> assignment -> (notebook recipe, failing test cells)
CLASS = {
    "reference": {a: ({}, set()) for a in ASSIGNMENTS},
    "blank": {a: ({"solved": set()}, "all") for a in ASSIGNMENTS},
    "partial": {"01_perceptron": ({"solved": {"weighted_sum", "step"}},
                                  {"test_perceptron_update", "test_fit", "test_xor"})},
    "no_fit": {"01_perceptron": ({"replace": [("perceptron", "        order_rng = None",
                                               "        raise NotImplementedError()\n"
                                               "        order_rng = None")]},
                                 {"test_fit", "test_xor"})},
    "leaky_001": {"02_activations": ({"replace": [("leaky_relu", "slope=0.1", "slope=0.01")]},
                                     {"test_leaky_relu"})},
    "maxout_argmin": {"02_activations": ({"replace": [("maxout", "np.argmax(z, axis=0)",
                                                       "np.argmin(z, axis=0)")]},
                                         {"test_maxout"})},
}


def expected_cells(course_dir, assignment, failing):
    points = graded_cell_points(course_dir, assignment)
    return {cell: (0.0 if failing == "all" or cell in failing else float(p), float(p))
            for cell, p in points.items()}


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory, prepared_course):
    course = tmp_path_factory.mktemp("grading") / "course"
    prepared_course(course)
    return course


@pytest.fixture(scope="module")
def graded_class(course_dir, tmp_path_factory, mnist):
    submitted = tmp_path_factory.mktemp("class") / "submitted"
    for student, work in CLASS.items():
        for assignment, (recipe, _) in work.items():
            folder = submitted / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(notebook_for(course_dir, assignment, **recipe),
                           str(folder / f"{assignment}.ipynb"))
    originals = {p: p.read_bytes() for p in submitted.rglob("*.ipynb")}
    outcomes, unmatched, csv_path = grade(submitted, course_dir, workers=2, progress=False)
    return submitted, originals, outcomes, unmatched, csv_path


@pytest.mark.parametrize("student, assignment", [(s, a) for s, w in CLASS.items() for a in w])
def test_points_per_graded_cell(graded_class, course_dir, student, assignment):
    failing = CLASS[student][assignment][1]
    assert cell_scores(course_dir, assignment, student) == expected_cells(
        course_dir, assignment, failing)


def test_summary_csv_and_untouched_submissions(graded_class, course_dir):
    """One denominator: work a student did not hand in counts as a flagged zero in the
    table, as it does in grades.csv (and formgrader)."""
    submitted, originals, outcomes, unmatched, csv_path = graded_class
    assert unmatched == [] and len(outcomes) == len(CLASS) * len(ASSIGNMENTS)
    assert all(p.read_bytes() == data for p, data in originals.items())
    rows = {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"]))
            for r in csv.DictReader(open(csv_path))}
    for o in outcomes:
        assert rows[(o.student, o.assignment)] == (o.score, o.max_score)
        handed_in = o.assignment in CLASS[o.student]
        assert o.flags == ([] if handed_in else ["missing: no submission"])
    table = summary_table(course_dir, outcomes)
    assert "reference" in table and "24/24" in table and "0/24" in table
    partial = next(line for line in table.splitlines() if line.startswith("partial"))
    assert "/24" in partial and "02_activations: missing: no submission" in partial


def test_feedback_names_failures_but_hides_hidden_tests(graded_class, course_dir):
    for student, work in CLASS.items():
        for assignment in work:
            html = (course_dir / "feedback" / student / assignment / f"{assignment}.html").read_text()
            assert f"seed={HIDDEN_SEED}" not in html and "BEGIN HIDDEN TESTS" not in html
            assert "hidden tests: run when graded, not shown" in html
            assert "<math" in html and "<script" not in html  # offline: MathML, no CDN
    html = (course_dir / "feedback" / "leaky_001" / "02_activations" / "02_activations.html").read_text()
    assert "LeakyReLU(0.1):" in html and "comparisons with torch failed" in html


def test_stock_generate_feedback_on_the_course_folder_hides_hidden_tests(graded_class,
                                                                         course_dir):
    """Formgrader's "Generate Feedback" button runs stock nbgrader on the course folder:
    it must be as safe as `firstmlp grade` (the folder's config loads the grader's)."""
    from autograder.course.nbgrader_course import run_nbgrader
    feedback = course_dir / "feedback" / "leaky_001" / "02_activations" / "02_activations.html"
    feedback.unlink()
    run_nbgrader(course_dir, "generate_feedback", "02_activations", "--student", "leaky_001",
                 "--force")
    html = feedback.read_text()
    assert f"seed={HIDDEN_SEED}" not in html and "BEGIN HIDDEN TESTS" not in html
    assert "hidden tests: run when graded, not shown" in html


def test_stock_nbgrader_on_a_built_course_folder_grades_as_the_grader_does(tmp_path, generated):
    """A folder made by `firstmlp build` (never by `firstmlp grade`), formgrader's
    buttons on it: stock `nbgrader autograde` runs the grader's sandboxed execution
    judged from outside (a comparator patched in the kernel fools nothing), and
    `generate_feedback` hides the hidden tests and the seed."""
    from nbgrader.api import Gradebook

    from autograder.course.nbgrader_course import NbgraderError, make_course_dir, run_nbgrader
    folder = tmp_path / "course"
    make_course_dir(folder)
    generated(folder, ["02_activations"])  # generate_assignment's output for these sources
    notebook = notebook_for(folder, "02_activations", replace=[("leaky_relu", "slope=0.1", "slope=0.01")])
    leaky = next(c for c in notebook.cells if c.id == "leaky_relu")
    leaky.source += ("\nnp.allclose = lambda *a, **k: True\n"
                     "np.testing.assert_allclose = lambda *a, **k: None\nnp.abs = lambda x: 0 * x")
    submit(folder, "kim", "02_activations", notebook)
    run_nbgrader(folder, "autograde", "02_activations", "--student", "kim", "--force")
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        # as `firstmlp grade` scores it (tests/grading/hostile: patch_numpy); in-kernel: 14
        assert gradebook.find_submission("02_activations", "kim").score == 11
    autograded = (folder / "autograded" / "kim" / "02_activations" / "02_activations.ipynb").read_text()
    assert "graded out of your notebook" in autograded and "LeakyReLU(0.1)" in autograded
    run_nbgrader(folder, "generate_feedback", "02_activations", "--student", "kim", "--force")
    html = (folder / "feedback" / "kim" / "02_activations" / "02_activations.html").read_text()
    assert f"seed={HIDDEN_SEED}" not in html and "BEGIN HIDDEN TESTS" not in html
    assert "hidden tests: run when graded, not shown" in html
    (folder / "firstmlp_grading_config.py").unlink()  # stock nbgrader stops, never runs unsafely
    with pytest.raises(NbgraderError, match="firstmlp_grading_config.py is missing"):
        run_nbgrader(folder, "generate_feedback", "02_activations", "--student", "kim", "--force")


def test_without_bubblewrap_every_outcome_says_so(course_dir, tmp_path, monkeypatch):
    """Where bubblewrap cannot start, the notebooks are graded in the fallback layers
    and every outcome carries the flag (the table, report.md and the notebook)."""
    from autograder.sandbox.boundary import bwrap_problem, identity_problem
    if problem := identity_problem(None, False):  # as root: the sandbox's user must reach
        pytest.skip(f"no sandbox without bubblewrap here: {problem}")  # Python and the data
    monkeypatch.setenv("FIRSTMLP_NO_BUBBLEWRAP", "1")  # the workers inherit it
    bwrap_problem.cache_clear()
    try:
        for student in ("nobwrap_a", "nobwrap_b"):
            submit(tmp_path, student, "01_perceptron", notebook_for(course_dir, "01_perceptron"))
        outcomes, _, _ = grade(tmp_path / "submitted", course_dir, workers=1, progress=False)
    finally:
        bwrap_problem.cache_clear()
    assert [(o.student, o.score) for o in outcomes] == [("nobwrap_a", 10), ("nobwrap_b", 10)]
    for outcome in outcomes:
        assert any("no bubblewrap sandbox (switched off by FIRSTMLP_NO_BUBBLEWRAP)" in f
                   for f in outcome.flags), outcome.flags


def test_a_worker_killed_mid_class_is_replaced_and_nothing_is_lost(course_dir, tmp_path):
    """SIGKILL to the grading worker as it begins the class's first notebook: the pool
    is started again, that notebook is graded again, the others in their turn."""
    import multiprocessing
    import os
    import signal
    import threading
    import time

    from autograder.course.course_dir import CourseDir
    submitted, students = tmp_path / "submitted", ("killed_a", "killed_b", "killed_c")
    for student in students:
        submit(tmp_path, student, "01_perceptron", notebook_for(course_dir, "01_perceptron"))
    result, killed = [], []
    grading = threading.Thread(target=lambda: result.append(
        grade(submitted, course_dir, workers=1, progress=False)))
    grading.start()
    began = CourseDir(course_dir).attempts("killed_a", "01_perceptron")
    while grading.is_alive() and not killed:
        if began.exists():
            for worker in multiprocessing.active_children():
                os.kill(worker.pid, signal.SIGKILL)
                killed.append(worker.pid)
        time.sleep(0.05)
    grading.join()
    assert killed, "no worker was seen grading"
    outcomes = result[0][0]
    assert [(o.student, o.score, o.flags) for o in outcomes] == [(s, 10, []) for s in students]


def test_stock_autograde_in_turn_imports_every_earlier_notebook_handed_in(course_dir):
    """Formgrader's Autograde, one notebook after another, with no `firstmlp grade` run
    behind it: each notebook imports every earlier one in submitted/ (none is stored,
    so the next one's import cannot take a stored few for a run's)."""
    from autograder.course.course_dir import CourseDir
    from autograder.grading.grader import earlier_work
    names = [a["name"] for a in load_manifest()["assignments"]]
    for name in names[:3]:
        submit(course_dir, "stock_only", name, notebook_for(course_dir, name))
    assert sorted(earlier_work(course_dir, "stock_only", names[2])) == names[:2]
    work = earlier_work(course_dir, "stock_only", names[3])
    assert sorted(work) == names[:3] and all("cells" in w for w in work.values())
    assert not CourseDir(course_dir).earlier("stock_only").exists()


def test_regrading_one_student_is_idempotent_and_touches_no_one_else(graded_class, course_dir):
    from nbgrader.api import Gradebook
    submitted = graded_class[0]
    before = {(s, a): cell_scores(course_dir, a, s) for s, w in CLASS.items() for a in w}
    fixed = notebook_for(course_dir, "02_activations")
    nbformat.write(fixed, str(submitted / "leaky_001" / "02_activations" / "02_activations.ipynb"))
    outcomes, _, _ = grade(submitted, course_dir, workers=1, student="leaky_001",
                           assignment="02_activations", progress=False)
    assert [(o.student, o.score) for o in outcomes] == [("leaky_001", 14.0)]
    for (student, assignment), scores in before.items():
        if student != "leaky_001":
            assert cell_scores(course_dir, assignment, student) == scores
    with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gradebook:
        records = [s.student.id for s in gradebook.find_assignment("02_activations").submissions]
        # one record per student: graded, or empty for missing work (scope.settle), never two
        assert sorted(records) == sorted(s.id for s in gradebook.students)


def test_lms_zip_with_a_stray_file(course_dir, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("submissions/doejane_LATE_123_456_01_perceptron-1.ipynb",
                   nbformat.writes(notebook_for(course_dir, "01_perceptron")))
        z.writestr("submissions/notes.txt", "not a notebook")
    outcomes, unmatched, _ = grade(archive, course_dir, workers=1, progress=False)
    assert [(o.student, o.assignment, o.score) for o in outcomes] == [
        ("doejane", "01_perceptron", 10.0)]
    assert outcomes[0].flags == [LMS_LATE]
    assert [u.reason for u in unmatched] == ["file name does not match the LMS pattern"]


def test_unreadable_notebooks_get_zero_and_a_reason(course_dir, tmp_path):
    folder = tmp_path / "lms"
    folder.mkdir()
    text = nbformat.writes(notebook_for(course_dir, "01_perceptron"))
    (folder / "good_01_perceptron.ipynb").write_text(text)
    (folder / "cut_01_perceptron.ipynb").write_text(text[:2000])
    (folder / "empty_01_perceptron.ipynb").write_text("")
    outcomes, _, _ = grade(folder, course_dir, workers=1, progress=False)
    got = {o.student: (o.score, o.flags) for o in outcomes}
    assert got["good"] == (10.0, [])
    assert got["cut"][0] == 0 and got["cut"][1][0].startswith("zero: not a readable notebook (")
    assert got["empty"][1] == ["zero: not a readable notebook (NotJSONError: the file is empty)"]


def test_a_notebook_whose_grading_never_finished_is_not_tried_forever(course_dir, tmp_path):
    """Resume never loops on a poisoned submission: one whose grading began three times
    without finishing is left ungraded (a worker dying is the grader's failure, never a
    score) with the reason; --regrade tries it again."""
    import hashlib
    import json

    from autograder.course.course_dir import CourseDir
    from autograder.grading.grader import ATTEMPTS
    folder = tmp_path / "lms"
    folder.mkdir()
    path = folder / "poison_01_perceptron.ipynb"
    path.write_text(nbformat.writes(notebook_for(course_dir, "01_perceptron")))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    record = CourseDir(course_dir).attempts("poison", "01_perceptron")
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"sha256": digest, "count": ATTEMPTS}))
    outcome, = grade(folder, course_dir, workers=1, progress=False)[0]
    assert outcome.score == 0 and outcome.ungraded
    assert f"grading this notebook began {ATTEMPTS} times and never finished" in outcome.ungraded
    outcome, = grade(folder, course_dir, workers=1, progress=False, regrade=True)[0]
    assert outcome.score == 10 and not outcome.flags


def sandbox_of_this_worker():
    """What a Dask worker keeps between tasks: its sandbox's settings, its environment's
    secret, the optional heavy modules its zygote imported."""
    import os

    from autograder.sandbox import boundary
    sandbox = boundary._SANDBOX
    return (sandbox and sandbox.memory_mb, sandbox and sandbox.alive(),
            os.environ.get("FIRSTMLP_GRADING_SECRET"), sandbox and sandbox.optional)


@pytest.fixture(scope="module")
def dask_cluster():
    """One ``local_dask_cluster`` for this module's Dask runs, its scheduler made to give a
    task up at its worker's first death (allowed-failures 0), so that when workers are
    killed it is the grader's own resubmission that saves the notebook."""
    with local_dask_cluster(allowed_failures=0) as cluster:
        yield cluster


def test_dask_local_cluster_end_to_end(course_dir, tmp_path, mnist, monkeypatch, dask_cluster):
    """Through a LocalCluster whose workers started before the run, reached by its address
    as ``--scheduler`` gives it (the grader's own client, not a default one): the run's
    sandbox memory reaches them (not the environment they were started with), their
    sandbox runs, and the run's secret is gone from them once the run ends (they outlive it);
    their zygotes import only the optional heavy modules notebook 1 names (none), as the
    local pool's do."""
    from distributed import Client
    submitted = tmp_path / "submitted"
    for student, solved in (("dask_full", None), ("dask_blank", set())):
        (submitted / student / "01_perceptron").mkdir(parents=True)
        nbformat.write(notebook_for(course_dir, "01_perceptron", solved=solved),
                       str(submitted / student / "01_perceptron" / "01_perceptron.ipynb"))
    with Client(dask_cluster, set_as_default=False) as client:
        monkeypatch.setenv("FIRSTMLP_GRADING_SECRET", "a-secret-of-the-dask-run")
        outcomes, _, _ = grade(submitted, course_dir, scheduler=dask_cluster.scheduler_address,
                               progress=False, memory_mb=3072)
        kept = client.run(sandbox_of_this_worker)
    assert sorted((o.student, o.score) for o in outcomes) == [("dask_blank", 0.0), ("dask_full", 10.0)]
    graded = [state for state in kept.values() if state[0] is not None]
    assert graded and all(state == (3072, True, None, ()) for state in graded), kept


def test_a_dask_workers_zygote_is_started_again_for_a_run_that_needs_a_module_it_lacks(monkeypatch):
    """A Dask worker outlives runs: its zygote, made for notebooks that name no optional
    heavy module, is started again for a run whose notebooks name torchvision (or that
    cannot say: None, all), and kept for one that needs no more than it has."""
    from autograder.grading import pool
    from autograder.sandbox import boundary

    killed = []

    class Zygote(boundary.Sandbox):
        def kill(self):
            killed.append(self.optional)

    monkeypatch.setattr(pool, "dask_worker_threads", lambda: 1)
    monkeypatch.setattr(boundary, "_SANDBOX", Zygote(None, 1, memory_mb=2048, optional=[]))
    sandbox = boundary._SANDBOX
    pool.dask_worker_setup(None, 2048, [])
    assert killed == [] and sandbox.optional == ()
    pool.dask_worker_setup(None, 2048, ["torchvision"])
    assert killed == [()] and sandbox.optional == ("torchvision",)
    pool.dask_worker_setup(None, 2048, [])  # fewer than it has: kept
    assert killed == [()] and sandbox.optional == ("torchvision",)
    pool.dask_worker_setup(None, 2048, None)
    assert killed == [(), ("torchvision",)] and sandbox.optional is None
    pool.dask_worker_setup(None, 2048, ["sklearn.metrics"])  # all of them: kept
    assert len(killed) == 2 and sandbox.optional is None


def test_a_dask_worker_killed_mid_class_is_replaced_and_nothing_is_lost(course_dir, tmp_path,
                                                                       dask_cluster):
    """Dask mode: SIGKILL to every worker process as the class's first notebook begins,
    on a scheduler that gives a task up at its worker's first death (``dask_cluster``:
    allowed-failures 0, so the grader's own resubmission is what saves it): the nannies
    start new workers, every notebook is graded, none lost or flagged."""
    import os
    import signal
    import threading
    import time

    from distributed import Client

    from autograder.course.course_dir import CourseDir
    submitted, students = tmp_path / "submitted", ("dkilled_a", "dkilled_b", "dkilled_c")
    for student in students:
        submit(tmp_path, student, "01_perceptron", notebook_for(course_dir, "01_perceptron"))
    result, killed = [], []
    with Client(dask_cluster) as client:
        workers = client.run(os.getpid)
        grading = threading.Thread(target=lambda: result.append(  # end-to-end's memory: its zygotes kept
            grade(submitted, course_dir, scheduler=client, progress=False, memory_mb=3072)))
        grading.start()
        began = CourseDir(course_dir).attempts("dkilled_a", "01_perceptron")
        while grading.is_alive() and not killed:
            if began.exists():
                for pid in workers.values():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            time.sleep(0.05)
        grading.join()
        client.wait_for_workers(2, timeout=300)
        replaced = client.run(os.getpid)
    assert killed, "no worker was seen grading"
    assert len(replaced) == 2 and not set(replaced.values()) & set(killed)
    outcomes = result[0][0]
    assert [(o.student, o.score, o.flags) for o in outcomes] == [(s, 10, []) for s in students]


def test_a_dask_worker_never_begins_a_notebook_whose_grading_began_three_times(tmp_path):
    """The scheduler runs a task again each time its worker dies (up to its
    allowed-failures, 3 by default): the worker does not begin a notebook whose grading
    began ATTEMPTS times, as the local pool does not, and says why."""
    import json

    from autograder.course.course_dir import CourseDir
    from autograder.grading.pool import ATTEMPTS, grade_on_dask
    from autograder.grading.run import GradingRun, Task
    record = CourseDir(tmp_path).attempts("poison", "01_perceptron")
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"sha256": "digest", "count": ATTEMPTS}))
    result = grade_on_dask(GradingRun(CourseDir(tmp_path), secret="secret", memory_mb=2048),
                           Task("poison", "01_perceptron", "digest"))
    assert result == {"student": "poison", "assignment": "01_perceptron",
                      "ungraded": f"the grading worker died {ATTEMPTS} times while grading this "
                                  "notebook; not tried again (--regrade retries)"}


def test_an_unreachable_scheduler_is_one_line_before_anything_is_built(tmp_path, capsys, monkeypatch):
    """Nothing listens on port 9: one line, exit 2, no course folder made (issue 21).
    Dask retries a refused connection until its timeout: 2 s here, not the grader's 10."""
    from autograder import cli
    from autograder.grading import pool
    monkeypatch.setattr(pool, "DASK_CONNECT_SECONDS", 2)
    (tmp_path / "submitted").mkdir()
    course = tmp_path / "course"
    assert cli.main(["grade", str(tmp_path / "submitted"), "--course-dir", str(course),
                     "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("grade: --scheduler tcp://127.0.0.1:9: no Dask scheduler answers "
                          "there (") and "nothing was graded" in err and "\n" not in err, err
    assert not course.exists()


def test_nothing_matched_is_said_and_exits_nonzero(course_dir, tmp_path, capsys):
    """A pattern or a --student that matches nothing grades nothing and says so (exit 1),
    after listing the files it skipped."""
    from autograder import cli
    folder = tmp_path / "lms"
    folder.mkdir()
    (folder / "kim_01_perceptron.ipynb").write_text(
        nbformat.writes(notebook_for(course_dir, "01_perceptron", solved=set())))
    args = ["grade", str(folder), "--course-dir", str(course_dir), "--workers", "1"]
    assert cli.main(args + ["--pattern", r"^(?P<student>\w+)-(?P<assignment>\d\d_\w+)\.ipynb$"]) == 1
    out, err = capsys.readouterr()
    assert "skipped" in out and "kim_01_perceptron.ipynb: file name does not match" in out
    assert err.strip() == f"grade: nothing graded: no submission in {folder} matched (1 files " \
                          "skipped, listed above)"
    assert cli.main(args + ["--student", "lee"]) == 1
    assert capsys.readouterr().err.strip() == (f"grade: nothing graded: no submission in {folder} "
                                               "matched --student lee (0 files skipped)")


def test_a_later_notebook_imports_the_students_own_earlier_work(course_dir, tmp_path):
    """Notebook 4's MLP uses the ReLU of the student's notebook 2 as handed in (graded
    there, not again): a wrong one fails notebook 4's MLP check; a notebook 2 not handed
    in is said in notebook 4. Grading notebook 4 alone still takes notebook 2 from the
    class's folder, and no file of another student is read."""
    submitted = tmp_path / "submitted"
    work = {"own_relu": {"02_activations": {}, "04_backprop": {}},
            "abs_relu": {"02_activations": {"replace": [("relu", "np.maximum(x, 0)", "np.abs(x)")]},
                         "04_backprop": {}},
            "no_nb2": {"04_backprop": {}}}
    for student, notebooks in work.items():
        for assignment, recipe in notebooks.items():
            (submitted / student / assignment).mkdir(parents=True)
            nbformat.write(notebook_for(course_dir, assignment, **recipe),
                           str(submitted / student / assignment / f"{assignment}.ipynb"))
    outcomes, _, _ = grade(submitted, course_dir, workers=2, assignment="04_backprop",
                           progress=False)
    assert sorted(o.assignment for o in outcomes) == ["04_backprop"] * 3
    for student, failing in (("own_relu", set()), ("abs_relu", {"test_mlp"}),
                             ("no_nb2", {"test_mlp"})):
        failing = failing | {"q_xor"}  # a written answer: 0 until graded by hand
        assert cell_scores(course_dir, "04_backprop", student) == expected_cells(
            course_dir, "04_backprop", failing), student
    autograded = course_dir / "autograded" / "no_nb2" / "04_backprop" / "04_backprop.ipynb"
    assert "notebook 02_activations was not handed in" in autograded.read_text()
