"""Where each check of a course component declares itself, once.

A check is registered by ``@declares(...)`` where it is defined: the component it
judges, the notebook whose test cells call it, what the grader needs to know to run it
(the exercise's framework, the probes its notebook's process runs, the data the grader
must hold, whether it is measured by the grader alone and by which judge hook) and its
torch counterpart, in words. The grader's judge, the reference table and the tests read
this registry (the grader's data step reads course.toml's ``data``, which a test holds
equal to the checks' own); nothing reads a notebook's text to find them.
Student-safe: it names no solution (the references are paired with these names on the
instructor's side, ``autograder.course.reference``).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

Check = TypeVar("Check", bound=Callable[..., Any])  # a check_<component> function


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
    probes: dict[str, str] = field(default_factory=dict)
    data: tuple[str, ...] = ()
    measured_here_only: bool = False
    judge: str | None = None
    function: Callable[..., Any] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]  # always set by declares


REGISTRY: dict[str, "Component"] = {}  # check name -> Component, in the order the checks are defined


def declares(*, component: str, notebook: str, torch: str = "", framework: str = "numpy",
             probes: dict[str, str] | None = None, data: tuple[str, ...] = (),
             measured_here_only: bool = False, judge: str | None = None) -> Callable[[Check], Check]:
    """Register the check it decorates (see ``Component``); a name registered twice is a
    mistake, said at import."""
    def declare(check: Check) -> Check:
        entry = Component(check.__name__, component, notebook, torch, framework, dict(probes or {}),
                          tuple(data), measured_here_only, judge, check)
        if check.__name__ in REGISTRY or component in {c.component for c in REGISTRY.values()}:
            raise ValueError(f"{check.__name__} ({component}) is registered twice")
        REGISTRY[check.__name__] = entry
        check.framework, check.probes, check.component = (  # type: ignore[attr-defined]  # set on the
            framework, entry.probes, entry)  # check function itself
        return check
    return declare


def probe(name: str) -> str:
    return f"autograder.student.probes:{name}"


def registered(name: str) -> Component | None:
    """The registration of the check called ``name``, or None (not a component check)."""
    return REGISTRY.get(name)


def of_notebook(notebook: str) -> list[Component]:
    """The checks registered for one notebook, in order."""
    return [c for c in REGISTRY.values() if c.notebook == notebook]


def data_needed(notebook: str) -> set[str]:
    """What the grader must hold before grading ``notebook``: {"mnist", "corpus", …}."""
    return {need for c in of_notebook(notebook) for need in c.data}
