"""Notebook 5's figures say what their text says: the experiments behind them
(autograder.student.experiments) run here with the reference on MNIST, and each claim
of the text is asserted on the numbers (computed, never pasted). Notebook 5's sanity
checks: the reference passes, the mutants fail with the words that name their cause,
here and graded through the wire to a forked notebook process."""

import numpy as np
import pytest

import solutions as S
from autograder.grading.judge import judge_cell
from autograder.student import components as C
from autograder.student import experiments as E
from autograder.student.oracle import not_attempted
from solutions.mlp import Sequential, train
from tests.mutants import SANITY_MUTANTS


@pytest.fixture(scope="module")
def update_rules(mnist):
    return E.compare_update_rules(S.MLP, S.CrossEntropyLoss, S.SGD, S.Adam,
                                  mnist.X_train[:6000], mnist.y_train[:6000])


@pytest.fixture(scope="module")
def overfitting(mnist):
    n_val = len(mnist.X_train) // 12
    return E.regularisation_runs(train, S.Linear, S.ReLU, Sequential, S.Dropout, S.Adam,
                                 S.CrossEntropyLoss, mnist.X_train[:1000], mnist.y_train[:1000],
                                 mnist.X_train[-n_val:][:2000], mnist.y_train[-n_val:][:2000])


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_at_the_same_learning_rate_momentum_is_lower_at_step_25_and_at_the_end(update_rules):
    same_lr, _ = update_rules
    sgd, momentum = (same_lr[f"{name}, η = {E.SAME_LR:g}"] for name in ("SGD", "SGD + momentum 0.9"))
    assert E.smoothed(momentum)[25] < E.smoothed(sgd)[25]
    assert momentum[-E.TAIL:].mean() < sgd[-E.TAIL:].mean()


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_tuned_adam_leads_at_step_25_then_momentum_then_sgd(update_rules):
    _, tuned = update_rules
    at_25 = [E.smoothed(tuned[name]["losses"])[25] for name in ("Adam", "SGD + momentum 0.9", "SGD")]
    assert at_25 == sorted(at_25)


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_tuned_rules_end_within_a_quarter_of_each_other(update_rules):
    _, tuned = update_rules
    ends = [run["losses"][-E.TAIL:].mean() for run in tuned.values()]
    assert max(ends) < 1.25 * min(ends)


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_each_tuned_learning_rate_is_inside_its_grid(update_rules):
    """"Best learning rate" means a minimum, not the edge of the grid tried."""
    _, tuned = update_rules
    for name, run in tuned.items():
        assert run["lr"] == E.LEARNING_RATES[name][1], (name, run["tried"])


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_without_a_regulariser_training_loss_nears_0_and_validation_loss_rises(overfitting):
    plain = overfitting["no regulariser"]
    assert plain["train_loss"][-1] < 0.01 and plain["train_accuracy"][-1] == 1.0
    best = int(np.argmin(plain["val_loss"]))
    assert best < 10  # "after its minimum within the first ten epochs"
    assert plain["val_loss"][-1] > plain["val_loss"][best] + 0.05  # "rises again"


def gap(curves):
    return float(np.mean(curves["val_loss"][-5:] - curves["train_loss"][-5:]))


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
@pytest.mark.parametrize("remedy", ["weight decay", "dropout"])
def test_each_regulariser_narrows_the_gap_over_the_last_five_epochs(overfitting, remedy):
    assert gap(overfitting[remedy]) < gap(overfitting["no regulariser"])


@pytest.mark.slow  # trains on MNIST: the full suite's, not make test-fast's
def test_early_stopping_keeps_the_epoch_of_least_validation_loss(overfitting):
    val_loss = overfitting["no regulariser"]["val_loss"]
    best, stop = E.early_stopping(val_loss, patience=5)
    assert best == int(np.argmin(val_loss)) + 1 and stop == best + 5


def test_early_stopping_without_improvement_to_the_end_stops_at_the_end():
    assert E.early_stopping(np.array([3.0, 2.0, 1.0]), patience=5) == (3, 3)
    assert E.early_stopping(np.array([1.0, 2.0, 3.0, 4.0]), patience=2) == (1, 3)


def test_a_failing_run_is_left_out_and_a_failing_first_run_stops_the_rest(mnist):
    said = []

    def attempt(step, what):
        try:
            return step()
        except NotImplementedError:
            said.append(what)

    class Unfinished(S.Dropout):
        def forward(self, x):
            raise NotImplementedError

    X, y = mnist.X_train[:50], mnist.y_train[:50]
    runs = E.regularisation_runs(train, S.Linear, S.ReLU, Sequential, Unfinished, S.Adam,
                                 S.CrossEntropyLoss, X, y, X, y, sizes=(784, 8, 10), epochs=1,
                                 attempt=attempt)
    assert list(runs) == ["no regulariser", "weight decay"] and said == ["the run with dropout"]

    def untrained(*args, **kwargs):
        raise NotImplementedError

    said.clear()
    assert E.regularisation_runs(untrained, S.Linear, S.ReLU, Sequential, S.Dropout, S.Adam,
                                 S.CrossEntropyLoss, X, y, X, y, attempt=attempt) == {}
    assert said == ["the run with no regulariser"]


# ---- the sanity checks ---------------------------------------------------------------

REFERENCE = {"MLP": S.MLP, "CrossEntropyLoss": S.CrossEntropyLoss, "Adam": S.Adam, "train": train}
CELLS = {C.check_initial_loss: "check_initial_loss(MLP, CrossEntropyLoss).assert_passed()",
         C.check_overfits_small_batch:
             "check_overfits_small_batch(MLP, CrossEntropyLoss, Adam, train).assert_passed()"}
ARGUMENTS = {C.check_initial_loss: ("MLP", "CrossEntropyLoss"),
             C.check_overfits_small_batch: ("MLP", "CrossEntropyLoss", "Adam", "train")}


@pytest.mark.parametrize("seed", [0, 7103])
@pytest.mark.parametrize("check", list(CELLS), ids=lambda c: c.__name__)
def test_the_reference_passes_the_sanity_checks(check, seed):
    assert check(*(REFERENCE[a] for a in ARGUMENTS[check]), seed=seed).passed


@pytest.mark.parametrize("mutant", SANITY_MUTANTS, ids=[m.name for m in SANITY_MUTANTS])
def test_a_broken_piece_fails_its_sanity_check_with_words_for_its_cause(mutant):
    pieces = {**REFERENCE, **mutant.impl}
    verdict = mutant.check(*(pieces[a] for a in ARGUMENTS[mutant.check]))
    assert not verdict.passed and mutant.expect in str(verdict), str(verdict)


def test_an_unstarted_train_is_not_attempted():
    def train_stub(*args, **kwargs):
        raise NotImplementedError()

    verdict = C.check_overfits_small_batch(S.MLP, S.CrossEntropyLoss, S.Adam, train_stub)
    assert not_attempted(verdict.failures) and "not attempted yet" in str(verdict)


def test_an_untrained_model_s_accuracy_is_not_attempted(mnist):
    verdict = C.check_mnist_accuracy(None, mnist.X_test, mnist.y_test, 0.97)
    assert "not attempted yet" in str(verdict) and "NotImplementedError" in str(verdict)


def mutant_names(index):
    """{piece: the name it has in the notebook's process} for a mutant's broken pieces."""
    return {piece: f"mutant{index}_{piece}" for piece in SANITY_MUTANTS[index].impl}


@pytest.fixture(scope="module")
def notebook_process():
    import time

    from autograder.sandbox.notebook_process import ForkedNotebook, warm_up

    shell = warm_up()
    shell.user_ns.update(REFERENCE)
    for index, mutant in enumerate(SANITY_MUTANTS):
        shell.user_ns.update({name: mutant.impl[piece] for piece, name in mutant_names(index).items()})
    notebook = ForkedNotebook(timeout=60)  # forked now: the namespace above goes with it
    notebook.link.deadline = time.monotonic() + 300
    yield notebook
    notebook.close()


@pytest.mark.parametrize("check", list(CELLS), ids=lambda c: c.__name__)
def test_graded_through_the_wire_the_reference_passes(notebook_process, check):
    """The grader's path: the test cell's names looked up in the notebook's process,
    the check run here (the training by a probe, in the notebook's process)."""
    verdict = judge_cell(CELLS[check], notebook_process.link, seed=7103)
    assert verdict.passed, str(verdict)


@pytest.mark.parametrize("index", range(len(SANITY_MUTANTS)), ids=[m.name for m in SANITY_MUTANTS])
def test_graded_through_the_wire_a_mutant_fails_alike(notebook_process, index):
    mutant, names = SANITY_MUTANTS[index], mutant_names(index)
    arguments = ", ".join(names.get(a, a) for a in ARGUMENTS[mutant.check])
    verdict = judge_cell(f"{mutant.check.__name__}({arguments}).assert_passed()",
                         notebook_process.link, seed=7103)
    assert not verdict.passed and mutant.expect in str(verdict), str(verdict)
