"""What a check hands to student code: data made for that call, and what it lends.

The rule (the grader never hands student code an object it keeps): every argument a
check passes to student code is ``fresh`` — arrays, tensors and the lists, tuples and
dicts holding them are copied for that call — so an implementation that writes into
its inputs changes nothing the grader keeps, and nothing the next student is judged on.

The exception is state the student must update in place (an optimizer's parameters),
or an array a check hands over to see whether student code changed it (``x`` of a
forward pass, ``w0`` of gradient descent, the ``x`` a finite-difference probe perturbs):
the check makes that array for the call and ``lend``s it. A lent array is passed as it
is, and the sandbox's wire mirrors the student's in-place changes back into it — it
alone: an array that is not lent travels one way. A lent array is lent while the check
holds it (a weak registry), so a lending ends with the check that made it.
"""

import sys
import weakref
from typing import TypeVar

import numpy as np

# id(array) -> array, while the check holds it
_LENT: "weakref.WeakValueDictionary[int, np.ndarray]" = weakref.WeakValueDictionary()
T = TypeVar("T")  # lend hands back what it was given


def lend(value: T) -> T:
    """Lend ``value`` (an array, or a list/tuple of arrays) to student code: passed as
    is and mirrored back through the wire. Returns ``value``."""
    if isinstance(value, np.ndarray):
        _LENT[id(value)] = value
    elif isinstance(value, (list, tuple)):
        for item in value:
            lend(item)
    else:
        raise TypeError(f"only arrays (or lists of arrays) are lent, not {type(value).__name__}")
    return value


def is_lent(value: object) -> bool:
    """True for an array a check lent (and still holds)."""
    return isinstance(value, np.ndarray) and _LENT.get(id(value)) is value


def fresh(value):
    """``value`` made for one call: arrays and tensors copied, lists, tuples and
    string-keyed dicts rebuilt around fresh items; lent arrays, scalars, strings and
    other objects (a student's own object, a function) as they are."""
    if isinstance(value, np.ndarray):
        return value if is_lent(value) else value.copy()
    if isinstance(value, (list, tuple)):
        items = [fresh(v) for v in value]
        if isinstance(value, list):
            return items
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if type(value) is dict:
        return {k: fresh(v) for k, v in value.items()}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    return value
