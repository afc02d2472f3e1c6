"""The wire between the grader and a notebook's process: verdicts on a remote object
equal verdicts on the local one (reference and every mutant), arrays changed in place
come back, callbacks reach the grader, and nothing is ever unpickled."""

import io
import os
import time

import numpy as np
import pytest

from autograder.course.reference import REFERENCE_CHECKS
from autograder.grading.judge import remote_probe
from autograder.sandbox import wire
from autograder.sandbox.notebook_process import ForkedNotebook, warm_up
from autograder.student import components
from autograder.student.lending import lend
from tests.mutants import MUTANTS
from tests.sandbox.test_wire_fuzz import npy, written

PROBES = {check: check.probes for check in vars(components).values() if getattr(check, "probes", None)}


def in_place_double(x):
    x *= 2
    return None


def calls_back(f, x):
    return f(x) + 1


@pytest.fixture(scope="module")
def child():
    shell = warm_up()
    shell.user_ns.update(mutants=[m.impl for m in MUTANTS],
                         references=[r[3] for r in REFERENCE_CHECKS],
                         in_place_double=in_place_double, calls_back=calls_back,
                         object_array=np.array([object()], dtype=object))
    notebook = ForkedNotebook(timeout=60)  # forked now: the namespace above goes with it
    notebook.link.deadline = time.monotonic() + 300  # a hung child fails the test, not CI
    yield notebook.link
    notebook.close()


def remote_verdict(link, check, impl):
    options = {option: remote_probe(link, probe) for option, probe in PROBES.get(check, {}).items()}
    return check(impl, **options)


@pytest.mark.parametrize("index", range(len(MUTANTS)), ids=[m.name for m in MUTANTS])
def test_mutant_verdict_is_the_same_through_the_wire(child, index):
    mutant = MUTANTS[index]
    remote = child.request("lookup", "mutants")[index]
    verdict = remote_verdict(child, mutant.check, remote)
    assert not verdict.passed
    assert mutant.expect in str(verdict), str(verdict)


@pytest.mark.parametrize("index", range(len(REFERENCE_CHECKS)),
                         ids=[r[0] for r in REFERENCE_CHECKS])
def test_reference_passes_through_the_wire(child, index):
    remote = child.request("lookup", "references")[index]
    verdict = remote_verdict(child, REFERENCE_CHECKS[index][2], remote)
    assert verdict.passed, str(verdict)


def test_a_lent_array_changed_in_place_comes_back(child):
    x = lend(np.arange(4.0))
    child.request("lookup", "in_place_double")(x)
    np.testing.assert_array_equal(x, [0.0, 2.0, 4.0, 6.0])


def test_an_array_not_lent_travels_one_way(child):
    """The grader's own arrays never take the student's writes (a module constant
    changed by one student would be the next student's input)."""
    x = np.arange(4.0)
    child.request("lookup", "in_place_double")(x)
    np.testing.assert_array_equal(x, np.arange(4.0))


def test_a_mirror_ends_with_its_lending(child):
    """Once the check drops a lent array, later requests neither write it nor keep
    its mirror on either side."""
    x = lend(np.arange(3.0))
    keep = x
    child.request("lookup", "in_place_double")(x)
    del x
    assert id(keep) in child.codec.mirrors  # still held, still lent
    held = keep.copy()
    lent_id = id(keep)
    del keep
    child.request("lookup", "in_place_double")(np.ones(2))
    assert lent_id not in child.codec.mirrors
    np.testing.assert_array_equal(held, [0.0, 2.0, 4.0])


def test_student_code_can_call_the_grader_back(child):
    assert child.request("lookup", "calls_back")(lambda v: v * 10, 4) == 41


def test_an_object_array_stays_behind_a_handle(child):
    value = child.request("lookup", "object_array")
    assert isinstance(value, wire.Remote)


def test_a_pickled_payload_is_refused():
    read, write = os.pipe()
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([object()], dtype=object), allow_pickle=True)
    payload = buffer.getvalue()
    head = b'{"op": "reply", "payloads": [%d]}' % len(payload)
    os.write(write, wire.FRAME.pack(len(head), len(payload)) + head + payload)
    with pytest.raises(wire.RemoteGone, match="malformed"):
        wire.receive(read, deadline=None)


def test_write_all_without_a_deadline_waits_for_room_on_a_non_blocking_pipe():
    """Found by mypy (``deadline - time.monotonic()`` with no deadline): a full
    non-blocking pipe and no deadline waits for the reader, not a TypeError."""
    import threading
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    data = os.urandom(1 << 20)  # well past a pipe's buffer
    got = bytearray()

    def drain():
        while chunk := os.read(read_end, 1 << 16):
            got.extend(chunk)
    reader = threading.Thread(target=drain)
    reader.start()
    try:
        wire.write_all(write_end, data)
    finally:
        os.close(write_end)
        reader.join()
        os.close(read_end)
    assert bytes(got) == data


DTYPES = ["<f8", ">f8", "<f4", "<f2", "|u1", "<i8", ">i2", "|b1", "<c16", "<U3", "|S4", "<M8[ns]",
          "<m8[s]", [("a", "<f4"), ("b", "|i1")], [("x", "<f8", (2,))], "<U0"]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (3, 0, 2), (2, 3, 4)], ids=str)
def test_a_payload_reads_as_numpys_own_reader_reads_it(dtype, shape):
    """``read_payload`` parses headers once per shape and copies the data itself: what it
    returns is what ``np.lib.format.read_array`` returns — dtype, shape, bytes, memory
    order — in C order, Fortran order and transposed, and is the process's own (writable)."""
    rng = np.random.default_rng(0)
    array = np.zeros(shape, dtype)
    if array.dtype.itemsize and array.size:
        array = np.frombuffer(rng.bytes(array.nbytes), array.dtype).reshape(array.shape)
    for sent in (array, np.asfortranarray(array), array.T):
        data = written(sent)
        want = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        got = wire.read_payload(data)
        assert (got.dtype, got.shape, got.tobytes()) == (want.dtype, want.shape, want.tobytes())
        assert (got.flags.c_contiguous, got.flags.f_contiguous) == (want.flags.c_contiguous,
                                                                     want.flags.f_contiguous)
        assert got.flags.writeable


@pytest.mark.parametrize("change", [
    lambda d: d[:-1], lambda d: d + b"x", lambda d: d[:9], lambda d: b"junk" + d[4:],
    lambda d: d.replace(b"(3,)", b"(4,)"), lambda d: d.replace(b"(3,)", b"(-3,)"),
    lambda d: d[:6] + b"\x03\x00" + d[8:], lambda d: d[:8] + b"\xff\x00" + d[10:],
    lambda d: d.replace(b"<f8", b"|O8")], ids=["short", "long", "cut header", "magic",
                                               "shape", "negative", "version", "header length",
                                               "object"])
def test_a_payload_its_header_does_not_describe_is_refused(change):
    """Read twice (the second from the remembered header): refused both times."""
    for _ in range(2):
        with pytest.raises((ValueError, KeyError)):
            wire.read_payload(change(written(np.ones(3))))


def test_a_header_is_parsed_once_for_payloads_of_the_same_shape():
    wire.payload_header.cache_clear()
    for value in range(5):
        assert wire.read_payload(written(np.full((7, 5), value, np.float32)))[0, 0] == value
    info = wire.payload_header.cache_info()
    assert (info.misses, info.hits) == (1, 4)


def test_a_structured_payloads_dtype_is_its_own():
    """A structured dtype's field names can be renamed in place: two payloads never
    share one, remembered header or not."""
    data = written(np.zeros(2, [("a", "<f4"), ("b", "|i1")]))
    first, second = wire.read_payload(data), wire.read_payload(data)
    first.dtype.names = ("x", "y")
    assert second.dtype.names == ("a", "b")


def test_a_structured_payloads_padding_is_zeros_not_the_graders_old_memory():
    """Found by an outside review (it was so before the headers were remembered too):
    assigning a structured array copies its fields, not the padding between them, so an
    array made with ``np.empty`` kept whatever the grader's memory held there — which
    the grader could send on to the next notebook's process."""
    n = 1 << 16
    data = npy([("a", "|u1"), ("", "|V7")], (n,), False, b"\x01" * (8 * n))
    for _ in range(5):
        secret = np.full(8 * n, 0xAB, np.uint8)
        del secret  # freed: the next array may be made in its memory
        array = wire.read_payload(data)
        assert (array["a"] == 1).all() and b"\xab" not in array.tobytes()


def test_student_calls_are_watched_by_one_torch_mode_class():
    """``TorchCalls`` made a new TorchFunctionMode subclass for every call of student
    code (torch's mode classes cost more to make the more of them are alive); one class
    per process now, each call its own record."""
    import torch

    from autograder.sandbox.notebook_process import TorchCalls
    first, second = set(), set()
    with TorchCalls(first) as mode:
        torch.ones(2).sum()
    with TorchCalls(second) as again:
        torch.zeros(2)
    assert type(mode) is type(again)
    assert first == {"ones", "sum"} and second == {"zeros"}
