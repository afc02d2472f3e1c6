"""The grader's verdict on a test cell, decided outside the student's process.

A test cell of the course reads ``check_<component>(<Name>, …).assert_passed()``.
The grader parses that (trusted) source for calls of registered checks
(``components.registry``: each check declares its probes, framework, judge hook),
looks each name up in the notebook's process
(``wire``: the class or function comes back as a ``Remote`` proxy), and runs the same
``components`` check *here*, with torch and the oracle in the grader's own process:
once on the visible inputs (seed 0) and once on inputs drawn for this grading run
(``seed``), which no file a student sees contains. Student code only ever receives
inputs and returns arrays; it cannot reach the comparison.

The torch exercises pass torch objects, which cannot travel; for them the notebook's
process runs a probe (``probes``) and returns plain numbers. A probe builds its problem
from a seed in that process, so it is given ``probe_seed(seed, secret)``, a keyed one-way
function of this run's seed: the notebook learns the problem it is handed, never the
run's seed (nor the secret, without which the function cannot be inverted or
enumerated). Test accuracy is measured
on the grader's own copy of the MNIST test set (notebook 6: of the speech corpus's
test speakers, windows cut by the grader) against the grader's own targets.
"""

import ast
import hashlib
import hmac
import importlib
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from nbformat.v4 import new_output

from autograder.grading.trusted import kernel_source
from autograder.sandbox.wire import RemoteGone
from autograder.student import components
from autograder.student.oracle import Verdict, describe_exception

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.grading.record import GradingRecord
    from autograder.sandbox.wire import Link
    from autograder.student.components import Component
    from autograder.student.data import MNIST

Found = tuple[str, list[ast.expr], dict[str | None, ast.expr]]  # (check, arguments, keywords)


def probes_of(name: str) -> dict[str, str]:
    """{option: probe} a check declares (``components.declares``); {} for a name that is
    not a registered check."""
    entry = components.registered(name)
    return entry.probes if entry else {}


def numpy_checks_in(source: str) -> list[str]:
    """The names of the numpy exercises' checks a test cell calls."""
    return [name for name, _, _ in checks_in(source)
            if (entry := components.registered(name)) and entry.framework == "numpy"]


def remote_probe(link: "Link", probe: str) -> Callable[..., Any]:
    """A function that runs ``probe`` in the notebook's process (devices as names)."""
    import torch

    return lambda *args: link.request("probe", probe, *[
        str(a) if isinstance(a, torch.device) else a for a in args])


def checks_in(source: str) -> list[Found]:
    """[(check name, argument nodes, keyword nodes)] for each statement of the form
    ``check_x(...).assert_passed()`` (or a bare ``check_x(...)``) in ``source`` whose
    ``check_x`` is a registered check (``components.REGISTRY``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[Found] = []
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and call.func.attr == "assert_passed":
            call = call.func.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and components.registered(call.func.id):
            found.append((call.func.id, call.args, {k.arg: k.value for k in call.keywords}))
    return found


def resolve(node: ast.expr, link: "Link") -> Any:
    """A name from the notebook (a Remote, or a plain value), an attribute of one, or
    a constant; nothing else is evaluated."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return link.request("lookup", node.id)
    if isinstance(node, ast.Attribute):
        return getattr(resolve(node.value, link), node.attr)
    raise ValueError(f"the grader cannot evaluate {ast.unparse(node)!r}")


# measured only here: the notebook's sandbox withholds their labels (sandbox.data_view), so
# the kernel's run of such a cell measures nothing to compare with (declared by each check)
MEASURED_HERE_ONLY = {name for name, entry in components.REGISTRY.items() if entry.measured_here_only}


def judge_hook(entry: "Component") -> Callable[..., Verdict] | None:
    """The function a check's registration names to judge it here ("module:function"),
    or None: the check itself, run here on the notebook's names."""
    if entry.judge is None:
        return None
    module, function = entry.judge.split(":")
    hook: Callable[..., Verdict] = getattr(importlib.import_module(module), function)
    return hook


@lru_cache(maxsize=1)
def grader_mnist() -> "MNIST":
    from autograder.student.data import load_mnist
    return load_mnist(announce=lambda message: None)


def run_check(name: str, args: Sequence[ast.expr], keywords: dict[str | None, ast.expr], link: "Link",
              seed: int, secret: str = "", device: str | None = None) -> Verdict:
    """One check of a test cell: visible inputs and this run's inputs (``seed``, and for
    a probe ``probe_seed(seed, secret)``), on the run's ``device`` (None: the check's
    default)."""
    entry = components.registered(name)
    assert entry is not None, "checks_in keeps registered checks only"
    check = entry.function
    try:
        implementation = resolve(args[0], link)
        if hook := judge_hook(entry):  # measured on the grader's own data
            verdict: Verdict = hook(implementation, args, link)
            return verdict
        options: dict[str, Any] = {  # a None key (``**`` in the cell) fails the call: a verdict
            k: v.value for k, v in keywords.items()  # type: ignore[misc]  # ** keys: None, see above
            if isinstance(v, ast.Constant)}
        options.update({option: remote_probe(link, probe)
                        for option, probe in probes_of(name).items()})
        hidden = probe_seed(seed, secret) if probes_of(name) else seed
        if device:
            options["device"] = device
        others = [resolve(node, link) for node in args[1:]]  # a check of several pieces
        verdicts = [check(implementation, *others, **dict(options, seed=s))
                    for s in dict.fromkeys((0, hidden))]
    except RemoteGone as error:
        return Verdict(name, [f"the notebook's process {error} before this check"], 1)
    except Exception as error:
        return Verdict(name, [describe_exception("notebook", error).replace(
            "your notebook raised NameError: ", "")], 1)
    return Verdict(verdicts[0].name, [f for v in verdicts for f in v.failures],
                   sum(v.comparisons for v in verdicts), [a for v in verdicts for a in v.advice],
                   verdicts[0].against)


def judge_accuracy(model: Any, args: Sequence[ast.expr], link: "Link") -> Verdict:
    """Accuracy of the notebook's model on the grader's test set, against the grader's
    target for the kind of model the cell names (numpy part A, torch part B)."""
    data = grader_mnist()
    kind = "torch" if "torch" in ast.unparse(args[0]) else "numpy"
    minimum = components.required_accuracy(len(data.X_train))[kind]
    return components.check_mnist_accuracy(model, data.X_test, data.y_test, minimum,
                                           logits=remote_probe(link, "autograder.student.probes:logits"))


def judge_frame_accuracy(model: Any, args: Sequence[ast.expr], link: "Link") -> Verdict:
    """Frame accuracy of the notebook's model on the grader's corpus (test speakers),
    windows cut by the grader with the context the cell names, the grader's target."""
    if len(args) < 2:
        raise ValueError("check_frame_accuracy needs the model and its context")
    context = resolve(args[1], link)
    return components.check_frame_accuracy(model, context,
                                           logits=remote_probe(link, "autograder.student.probes:logits"))


def judge_cell(source: str, link: "Link", seed: int, secret: str = "",
               device: str | None = None) -> Verdict | None:
    """The verdict on a test cell's checks, or None when the cell has none."""
    checks = checks_in(source)
    if not checks:
        return None
    verdicts = [run_check(name, args, keywords, link, seed, secret, device)
                for name, args, keywords in checks]
    return verdicts[0] if len(verdicts) == 1 else Verdict.combine(verdicts[0].name, verdicts)


def grading_seed(student: str, assignment: str, secret: str = "") -> int:
    """Per grading run: from the run's ``secret`` (the grader draws it for each run and
    hands it to ``WarmExecute`` in memory: never a file, never the environment), per
    student and assignment."""
    if not secret:  # stock nbgrader, no run secret: the course's seed, as in the source
        from autograder.course.build import load_manifest
        course_seed: int = load_manifest()["hidden_seed"]
        return course_seed
    digest = hashlib.sha256(f"{secret}/{student}/{assignment}".encode()).digest()
    return int.from_bytes(digest[:4], "little") % (2 ** 31 - 1) + 1


def probe_seed(seed: int, secret: str = "") -> int:
    """The hidden seed a probe check hands the notebook's process: HMAC-SHA256 of the
    grading seed keyed by this run's ``secret``, in [1, 2**31 - 1]. Knowing it (and the
    visible seed 0) tells nothing of ``seed``; without a secret (stock nbgrader, where
    the hidden tests run in the kernel anyway) it is keyed by the empty string."""
    key = secret.encode()
    digest = hmac.new(key, f"probe/{seed}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little") % (2 ** 31 - 1) + 1


def without_seed(verdict: Verdict, seed: int) -> Verdict:
    """The verdict with this run's hidden seed replaced by words."""
    def hide(text: str) -> str:
        return re.sub(rf"\bseed {seed}\b", "the grading run's hidden seed", text)
    return Verdict(verdict.name, [hide(f) for f in verdict.failures], verdict.comparisons,
                   [hide(a) for a in verdict.advice], verdict.against)


def judge_test_cell(cell: "NotebookNode", link: "Link", seed: int, record: "GradingRecord",
                    secret: str = "", device: str | None = None) -> None:
    """Decide a test cell's outputs (hence its points) by the grader's verdict."""
    grade_id = cell.metadata.nbgrader.get("grade_id")
    kernel_errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    in_kernel = "failed" if kernel_errors else "passed"
    names = [name for name, _, _ in checks_in(kernel_source(cell))]
    if not kernel_errors and names and set(names) <= MEASURED_HERE_ONLY:
        in_kernel = "not measured (the test labels are withheld from the notebook)"
    link.torch_calls = set()
    verdict = judge_cell(kernel_source(cell), link, seed, secret, device)
    if link.torch_calls and numpy_checks_in(kernel_source(cell)):
        record.flag(f"{grade_id}: your code called torch ({', '.join(sorted(link.torch_calls))}) "
                    "while the grader checked a numpy exercise — review")
    if verdict is not None:  # this run's seed stays in the grader: never in a notebook
        verdict = without_seed(without_seed(verdict, seed), probe_seed(seed, secret))
    if verdict is None:
        record.cell(grade_id, in_kernel, None, "no out-of-kernel check: scored in the kernel")
        return
    note = ""
    if kernel_errors and verdict.passed:
        first = kernel_errors[0]
        note = (f"\n(in your notebook this cell failed — {first.get('ename')}: "
                f"{str(first.get('evalue'))[:300]} — but the grader's own check passed)")
    if verdict.passed:
        cell.outputs = [new_output("stream", name="stdout",
                                   text=f"graded out of your notebook's reach: {verdict}{note}\n")]
    else:
        cell.outputs = [new_output("error", ename="GradingCheckFailed", evalue=str(verdict),
                                   traceback=[f"GradingCheckFailed: {verdict}"])]
    record.cell(grade_id, in_kernel, verdict.passed, str(verdict))
