"""Where each check of a course component declares itself, once.

A check is registered by ``@declares(...)`` where it is defined: the component it
judges, the notebook whose test cells call it, what the grader needs to know to run it
(the exercise's framework, the probes its notebook's process runs, the data the grader
must hold, whether it is measured by the grader alone and by which judge hook) and its
torch counterpart, in words. The grader's judge, its data step, the reference table and
the tests read this registry; nothing reads a notebook's text to find them.
Student-safe: it names no solution (the references are paired with these names on the
instructor's side, ``autograder.course.reference``).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Component:
    """One registered check. ``check``: the function's name, as a test cell calls it;
    ``component``: what it judges (the reference table's row); ``notebook``: the
    assignment whose test cells call it; ``framework``: the exercise's ("numpy": a call
    to torch while it is graded is flagged); ``probes``: {option: "module:function"} the
    notebook's process runs for it when graded (torch objects cannot cross the wire);
    ``data``: what the grader must make or load before grading the notebook ("mnist",
    "corpus"); ``measured_here_only``: the notebook's own run measures nothing (its test
    labels are withheld), the grader's alone counts; ``judge``: "module:function" the
    grader calls instead of the check (it measures on the grader's own data);
    ``torch``: the torch counterpart, in words."""
    check: str
    component: str
    notebook: str
    torch: str = ""
    framework: str = "numpy"
    probes: dict = field(default_factory=dict)
    data: tuple = ()
    measured_here_only: bool = False
    judge: str | None = None
    function: object = field(default=None, compare=False, repr=False)


REGISTRY: dict[str, "Component"] = {}  # check name -> Component, in the order the checks are defined


def declares(*, component, notebook, torch="", framework="numpy", probes=None, data=(),
             measured_here_only=False, judge=None):
    """Register the check it decorates (see ``Component``); a name registered twice is a
    mistake, said at import."""
    def declare(check):
        entry = Component(check.__name__, component, notebook, torch, framework, dict(probes or {}),
                          tuple(data), measured_here_only, judge, check)
        if check.__name__ in REGISTRY or component in {c.component for c in REGISTRY.values()}:
            raise ValueError(f"{check.__name__} ({component}) is registered twice")
        REGISTRY[check.__name__] = entry
        check.framework, check.probes, check.component = framework, entry.probes, entry
        return check
    return declare


def probe(name):
    return f"autograder.student.probes:{name}"


def registered(name):
    """The registration of the check called ``name``, or None (not a component check)."""
    return REGISTRY.get(name)


def of_notebook(notebook):
    """The checks registered for one notebook, in order."""
    return [c for c in REGISTRY.values() if c.notebook == notebook]


def data_needed(notebook):
    """What the grader must hold before grading ``notebook``: {"mnist", "corpus", …}."""
    return {need for c in of_notebook(notebook) for need in c.data}
