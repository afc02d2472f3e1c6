"""autograder/student/lending.py on its own: every argument a check hands student code
is made for that call (``fresh``), except an array the check lends, which is passed as
it is while the check holds it."""

import gc
import weakref
from collections import namedtuple

import numpy as np
import pytest
import torch

from autograder.student.lending import fresh, is_lent, lend

Pair = namedtuple("Pair", "x y")


def test_arrays_tensors_and_their_containers_are_copies():
    x, t = np.ones(3), torch.ones(2, requires_grad=True)
    made = fresh({"x": x, "items": [x, (t, 5)], "pair": Pair(x, "s")})
    made["x"][0] = 9
    made["items"][0][1] = 9
    assert np.array_equal(x, np.ones(3))
    copied = made["items"][1][0]
    assert copied is not t and copied.requires_grad and torch.equal(copied.detach(), t.detach())
    assert isinstance(made["pair"], Pair) and made["pair"].x is not x and made["pair"].y == "s"
    assert isinstance(made["items"][1], tuple) and made["items"][1][1] == 5


def test_a_lent_array_is_passed_as_it_is_and_other_objects_too():
    x = lend(np.zeros(2))
    student_object = object()
    assert fresh([x])[0] is x and is_lent(x)
    assert fresh(student_object) is student_object
    assert not is_lent(np.zeros(2)) and not is_lent([x])


def test_a_list_of_arrays_is_lent_item_by_item_and_nothing_else_is():
    params = lend([np.zeros(1), np.ones(1)])
    assert all(is_lent(p) for p in params)
    with pytest.raises(TypeError, match="only arrays"):
        lend({"w": np.zeros(1)})


def test_a_lending_ends_with_the_check_that_holds_it():
    x = lend(np.zeros(2))
    held = weakref.ref(x)
    del x
    gc.collect()
    assert held() is None  # the registry kept nothing alive
