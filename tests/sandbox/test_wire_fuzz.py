"""Fuzzing the wire from the notebook's side: whatever bytes a notebook's process
writes to the grader — frames whose sizes lie, truncated payloads, huge headers,
non-JSON or odd JSON, ``.npy`` payloads with object, structured or zero-size dtypes
and absurd shapes, deep nesting, NaN and infinities, unknown kinds, handles never
given, replies and callbacks nobody asked for, mirrors of arrays never lent — the
grader's ``Link`` returns a value, or raises ``RemoteGone`` (or ``RemoteError`` for a
student's error), before its deadline, and a judged check records one line for that
notebook only.

The notebook's side is played by a thread writing to a real ``os.pipe()`` (and, in a
few examples, by student code in a real notebook process writing to its own wire). A
hang fails the test through ``SIGALRM``; nothing here measures time."""

import ast
import io
import json
import os
import signal
import struct
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import torch  # noqa: F401  (Codec.encode imports it: not on a deadline's clock)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.sandbox import wire
from autograder.student.errors import StudentFPWarning

FUZZ = settings(deadline=None, max_examples=100, derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
FEW = settings(FUZZ, max_examples=8)


class Hung(BaseException):
    """The grader waited past every deadline (not an OSError: the wire catches those)."""


@contextmanager
def hang_guard(seconds=20):
    def alarm(signum, frame):
        raise Hung(f"the grader was still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def grader_function(*args):
    """A grader function lent to the notebook (its id is a callback the fake may call)."""
    return len(args)


LENT_ID = id(grader_function)

# ---- what a hostile notebook writes -------------------------------------------------------

NAN, INF = float("nan"), float("inf")
scalars = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
KINDS = ["$array", "$tensor", "$list", "$tuple", "$dict", "$handle", "$ref", "$what",
         "fields", "type", "scalar", "mirror", "is_type", "payloads", "op", "error"]
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KINDS) | st.text(max_size=6), inner, max_size=4), max_leaves=10)
junk = scalars | st.lists(scalars, max_size=3) | st.dictionaries(  # any_json, cheaper to draw
    st.sampled_from(KINDS) | st.text(max_size=4), scalars, max_size=3)
indices = (st.integers(-2, 4) | st.sampled_from([NAN, INF, 0.0, "0", None, True, [0]])
           | junk)
names = st.sampled_from(["a", "b", "x", "class", "def", "_x", "1a", "a b", "", "Result",
                         "None", "a\x00b", "a\nb", "ValueError", "UnicodeDecodeError",
                         "ExceptionGroup", "KeyboardInterrupt", "StopIteration", "OSError",
                         "RemoteGone", "x" * 500]) | st.text(max_size=8)
handle_ids = st.sampled_from([LENT_ID, 0, -1, 2 ** 64, NAN, None, [LENT_ID], {"a": 1}]) | junk


def wire_values():
    """Encoded values as a ``Codec`` reads them, well-formed or not."""
    leaf = (scalars | junk
            | st.builds(lambda i, s: {"$array": i, "scalar": s}, indices, scalars)
            | st.builds(lambda i: {"$tensor": i}, indices)
            | st.builds(lambda h, t, k: {"$handle": h, "type": t, "is_type": k},
                        handle_ids, names | junk, scalars)
            | st.builds(lambda h: {"$handle": h}, handle_ids)
            | st.builds(lambda r: {"$ref": r}, handle_ids)
            | st.builds(lambda k, v: {k: v}, st.text(max_size=6), junk))
    return st.recursive(leaf, lambda inner: (
        st.builds(lambda v: {"$list": v}, st.lists(inner, max_size=4) | junk)
        | st.builds(lambda v, f, t: {"$tuple": v, "fields": f, "type": t},
                    st.lists(inner, max_size=3), st.lists(names, max_size=3) | junk,
                    names | junk)
        | st.builds(lambda v: {"$tuple": v}, st.lists(inner, max_size=3) | junk)
        | st.builds(lambda v: {"$dict": v},
                    st.dictionaries(st.text(max_size=6), inner, max_size=3) | junk)),
        max_leaves=10)


errors = junk | st.fixed_dictionaries({}, optional={
    "type": names | junk, "message": st.text(max_size=40) | junk,
    "location": st.sampled_from([" (line 3 in f)", " (line 1\nTraceback", "\u2028x"]) | junk,
    "line": st.text(max_size=20) | junk})
warning_lists = junk | st.lists(st.fixed_dictionaries(
    {"message": st.text(max_size=30) | junk, "line": st.text(max_size=30) | junk}),
    max_size=3).map(lambda items: items * 8)  # past the 20 the grader takes
mirror_maps = junk | st.dictionaries(
    st.sampled_from(["0", "-1", "nan", "1e400", "x", " 7 ", str(2 ** 70)]) | st.text(max_size=4),
    indices, max_size=4)
ops = st.sampled_from(["reply"] * 16 + ["callback"] * 3 + ["return", "run", "lookup", "", None, 1,
                                                      NAN, ["reply"]])

# .npy payloads: real arrays of many dtypes and layouts, and headers that lie
DTYPES = [np.float64, np.float32, np.float16, ">f8", np.int64, np.uint8, np.bool_,
          np.complex128, "U3", "S2", "M8[s]", [("a", "<f8"), ("b", "<i4")]]
real_arrays = st.builds(
    lambda a, fortran: np.asfortranarray(a) if fortran else a,
    st.sampled_from(DTYPES).flatmap(lambda d: arrays(d, array_shapes(min_dims=0, max_dims=3,
                                                                      min_side=0, max_side=4))),
    st.booleans())
DESCRS = ["<f8", ">f8", "|b1", "<i8", "|u1", "<c16", "<f2", "|O", "|V0", "|S0", "<U0", "|V8",
          "|S3", "<U2", "<M8[s]", "(3,)<f8", "(0,)<f8", [("a", "<f8"), ("b", "|O")],
          [("a", "<i4"), ("b", "<f8")], [("z", "|V0")], [("a", "<f8", (2**31, 2**31))],
          "junk", 5, None]
dims = st.sampled_from([0, 1, 3, -1, -3, 2 ** 31, 2 ** 32, 2 ** 62, 2 ** 63 - 1, 2 ** 64]) \
    | st.integers(-4, 8)
shapes = st.lists(dims, max_size=4).map(tuple) | st.sampled_from([(1.5,), ("3",), None, [3], 7])


def npy(descr, shape, fortran, data, version=(1, 0)):
    """An ``.npy`` payload with exactly this header (whatever it says) and data."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode() + b"\n"
    size = struct.pack("<H" if version[0] == 1 else "<I", len(text) % (1 << 16))
    return b"\x93NUMPY" + bytes(version) + size + text + data


def written(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


@st.composite
def forged_payloads(draw):
    descr, shape = draw(st.sampled_from(DESCRS)), draw(shapes)
    try:
        need = int(np.prod(shape, dtype=object)) * np.dtype(descr).itemsize
    except Exception:
        need = None
    data = (bytes(need) if need is not None and 0 <= need <= 4096 and draw(st.booleans())
            else draw(st.binary(max_size=64)))
    version = draw(st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0), (9, 9)]))
    return npy(descr, shape, draw(st.booleans() | st.just("yes")), data, version)


payloads = (real_arrays.map(written) | forged_payloads()
            | st.sampled_from([written(np.array([object()], dtype=object)),
                               written(np.ndarray((3,), "V0")), b"", b"\x93NUMPY"])
            | st.binary(max_size=40))
sizes = st.sampled_from([0, 1, 15, 16, wire.MAX_MESSAGE - 16, wire.MAX_MESSAGE - 1,
                         wire.MAX_MESSAGE, wire.MAX_MESSAGE + 1, 2 ** 63, 2 ** 64 - 1]) \
    | st.integers(0, 2 ** 64 - 1)


@st.composite
def frames(draw):
    """One frame: a message with payloads, with at most one fault at the frame's level
    (sizes that lie, cut short, other JSON or bytes for a header, payload sizes that do
    not add up, a forged ``.npy``) — and whatever the message itself says."""
    fault = draw(st.sampled_from([None] * 6 + ["sizes", "cut", "json", "bytes", "payload sizes",
                                              "forged npy"]))
    bodies = draw(st.lists(real_arrays.map(written), max_size=3))
    if fault == "forged npy":
        bodies.insert(draw(st.integers(0, len(bodies))), draw(payloads))
    header = draw(st.fixed_dictionaries({"op": ops, "value": wire_values()}, optional={
        "error": errors, "warnings": warning_lists, "id": handle_ids,
        "torch": any_json | st.lists(st.text(max_size=70), min_size=19, max_size=22)}))
    header["payloads"] = [len(b) for b in bodies]
    if fault == "payload sizes":
        header["payloads"] = draw(st.lists(st.integers(-5, 2 ** 64) | st.sampled_from(
            [NAN, INF, 1.5, "3", None, True]), max_size=4) | any_json)
    head = json.dumps(header).encode()
    if fault in ("json", "bytes"):
        head = json.dumps(draw(any_json)).encode() if fault == "json" else draw(st.binary(max_size=40))
    body = b"".join(bodies)
    head_size, body_size = len(head), len(body)
    if fault == "sizes":
        head_size, body_size = draw(sizes), draw(sizes)
    data = wire.FRAME.pack(head_size, body_size) + head + body
    return data[:draw(st.integers(0, len(data) - 1))] if fault == "cut" else data


streams = st.builds(lambda fs, tail: b"".join(fs) + tail,
                    st.lists(frames(), min_size=1, max_size=3), st.binary(max_size=8))

# ---- the grader's side -----------------------------------------------------------------


def frame(header, bodies=()):
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    return wire.FRAME.pack(len(head), sum(map(len, bodies))) + head + b"".join(bodies)


@contextmanager
def fake_notebook(data, keep_open=False, deadline=30.0):
    """A Link to a 'notebook' that writes ``data`` and then hangs up (or, with
    ``keep_open``, stays silent until the grader gives up at its deadline)."""
    from_child, child_out = os.pipe()
    child_in, to_child = os.pipe()
    done = threading.Event()

    def notebook():
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(child_out, view):]
        except OSError:  # the grader hung up first
            pass
        if keep_open:
            done.wait(60)
        os.close(child_out)

    writer = threading.Thread(target=notebook, daemon=True)
    writer.start()
    link = wire.Link(to_child, from_child, time.monotonic() + (0.1 if keep_open else deadline))
    try:
        yield link
    finally:
        done.set()
        for fd in (from_child, to_child, child_in):
            os.close(fd)
        writer.join(30)


def ask(link, *args):
    """What a request gives the grader: ('value', v), ('gone', e) or ('error', e), with
    warnings recorded as a check records them (``oracle.call_student``); any other
    exception escapes and fails the test."""
    with hang_guard(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = "value", link.request("lookup", "x", grader_function, *args)
        except wire.RemoteGone as error:
            outcome = "gone", error
        except wire.RemoteError as error:
            outcome = "error", error
    for warning in caught:
        assert issubclass(warning.category, StudentFPWarning), warning
        assert len(str(warning.message)) <= 300 and len(warning.message.line) <= 300
    return outcome


def one_line(text):
    return len(text.splitlines()) <= 1 and all(c.isprintable() for c in text)


def assert_survived(link, outcome, sent):
    kind, value = outcome
    if kind == "gone":
        assert one_line(str(value)) and len(str(value)) <= 200, repr(str(value))
        with hang_guard():  # the link stays gone: no second wait
            with pytest.raises(wire.RemoteGone):
                link.request("lookup", "y")
    elif kind == "error":
        assert one_line(type(value).__name__) and len(type(value).__name__) <= 100
        assert one_line(value.location) and one_line(value.line), (value.location, value.line)
    else:
        for leaf in leaves(value):
            if isinstance(leaf, torch.Tensor):
                leaf = leaf.numpy()
            if isinstance(leaf, np.ndarray):  # no more elements than bytes sent
                assert leaf.dtype != object and leaf.size <= max(len(sent), 1), leaf.shape
            if isinstance(leaf, wire.Remote):  # how the grader names it in a verdict
                assert one_line(repr(leaf)) and len(repr(leaf)) <= 200, repr(leaf)


def leaves(value, depth=0):
    assert depth < 200
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item, depth + 1)
    else:
        yield value


# ---- properties --------------------------------------------------------------------------


@FUZZ
@given(data=streams)
def test_any_stream_then_hang_up_is_a_value_or_remote_gone(data):
    with fake_notebook(data) as link:
        assert_survived(link, ask(link), data)


@settings(FUZZ, max_examples=40)
@given(data=streams)
def test_any_stream_then_silence_ends_at_the_deadline(data):
    with fake_notebook(data, keep_open=True) as link:
        assert_survived(link, ask(link), data)


@settings(FUZZ, max_examples=40)
@given(depth=st.integers(1, 4000), kind=st.sampled_from(["$list", "$tuple", "$dict", "json"]),
       stack=st.integers(0, 400))
def test_deep_nesting_is_refused_at_any_stack_depth(depth, kind, stack):
    """Values nested deeper than the recursion limit (or nearly), read while the
    grader is itself deep in a check's calls."""
    opening, closing = {"$list": ('{"$list": [', "]}"), "$tuple": ('{"$tuple": [', "]}"),
                        "$dict": ('{"$dict": {"k": ', "}}"), "json": ("[", "]")}[kind]
    head = ('{"op": "reply", "payloads": [], "value": ' + opening * depth + "1"
            + closing * depth + "}").encode()
    data = frame(head)

    def at_depth(n):
        return ask(link) if n == 0 else at_depth(n - 1)

    with fake_notebook(data) as link:
        assert_survived(link, at_depth(stack), data)


@settings(FUZZ, max_examples=60)
@given(callbacks=st.lists(st.fixed_dictionaries({"op": st.just("callback"), "id": handle_ids},
                                                optional={"args": wire_values()}),
                          min_size=1, max_size=4),
       then=st.sampled_from([b"", frame({"op": "reply", "value": 7})]))
def test_callbacks_to_ids_never_lent_are_answered_or_refused(callbacks, then):
    data = b"".join(frame(c) for c in callbacks) + then
    with fake_notebook(data) as link:
        assert_survived(link, ask(link), data)


@settings(FUZZ, max_examples=60)
@given(mirrors=mirror_maps, bodies=st.lists(real_arrays.map(written), max_size=3),
       kept_index=indices, lent_index=indices)
def test_mirrors_of_arrays_never_lent_change_nothing_the_grader_keeps(mirrors, bodies,
                                                                     kept_index, lent_index):
    """The reply names mirrors the grader never lent, the id of an array it passed
    without lending, and the id of one it lent, with payloads of any shape and dtype:
    no crash; the array not lent is unchanged; the lent one takes only a payload of
    its own shape and dtype."""
    from autograder.student.lending import lend
    kept, lent = np.arange(4.0), lend(np.arange(3.0))
    if isinstance(mirrors, dict):
        mirrors = dict(mirrors, **{str(id(kept)): kept_index, str(id(lent)): lent_index})
    data = frame({"op": "reply", "value": None, "mirrors": mirrors,
                  "payloads": [len(b) for b in bodies]}, bodies)
    with fake_notebook(data) as link:
        assert_survived(link, ask(link, kept, lent), data)
    np.testing.assert_array_equal(kept, np.arange(4.0))
    sent = [np.lib.format.read_array(io.BytesIO(b)) for b in bodies]
    assert np.array_equal(lent, np.arange(3.0)) or any(
        a.shape == lent.shape and a.dtype == lent.dtype and np.array_equal(a, lent, equal_nan=True)
        for a in sent)


# ---- examples worth naming ------------------------------------------------------------------

def reply_with(value, bodies=(), **fields):
    return frame(dict({"op": "reply", "value": value, "payloads": [len(b) for b in bodies]},
                      **fields), bodies)


ZERO_ITEMSIZE = [npy(d, (2 ** 62,), False, b"") for d in ("|V0", "|S0", "<U0")]
NAMED = {  # what the grader must make of each: gone, a student's error, or a value
    "truncated payload": ("gone", reply_with({"$array": 0}, [written(np.arange(9.0))])[:-5]),
    "header claims just under the cap": ("gone", wire.FRAME.pack(wire.MAX_MESSAGE - 17, 0) + b"{"),
    "header claims over the cap": ("gone", wire.FRAME.pack(wire.MAX_MESSAGE, 1)),
    "payload sizes that do not add up": ("gone", frame({"op": "reply", "value": {"$array": 0},
                                                        "payloads": [3]}, [written(np.arange(3.0))])),
    "negative payload size": ("gone", frame({"op": "reply", "value": {"$array": 0},
                                             "payloads": [-1, 81]}, [written(np.arange(1.0))])),
    "NaN payload size": ("gone", frame({"op": "reply", "payloads": [NAN]})),
    "non-dict header": ("gone", frame([1, 2, 3])),
    "zero itemsize V0": ("gone", reply_with({"$array": 0}, ZERO_ITEMSIZE[:1])),
    "zero itemsize S0": ("gone", reply_with({"$array": 0}, ZERO_ITEMSIZE[1:2])),
    "zero itemsize U0": ("gone", reply_with({"$array": 0}, ZERO_ITEMSIZE[2:])),
    "absurd shape": ("gone", reply_with({"$array": 0}, [npy("<f8", (2 ** 33,), False, b"")])),
    "negative shape": ("gone", reply_with({"$array": 0}, [npy("<f8", (-2, -3), False, bytes(48))])),
    "object dtype": ("gone", reply_with({"$array": 0}, [written(np.array([object()], dtype=object))])),
    "object in a structured dtype": ("gone", reply_with({"$array": 0}, [
        npy([("a", "|O")], (1,), False, bytes(8))])),
    "structured and fortran-ordered": ("value", reply_with({"$list": [{"$array": 0}, {"$array": 1}]}, [
        written(np.zeros(2, [("a", "<f8"), ("b", "<i4")])),
        written(np.asfortranarray(np.arange(6.0).reshape(2, 3)))])),
    "array index out of range": ("gone", reply_with({"$array": 3})),
    "array index NaN": ("gone", reply_with({"$array": NAN})),
    "list that is not a list": ("gone", reply_with({"$list": 5})),
    "dict that is not a dict": ("gone", reply_with({"$dict": [1]})),
    "namedtuple with a keyword field": ("gone", reply_with({"$tuple": [1], "fields": ["class"]})),
    "namedtuple with a keyword name": ("value", reply_with({"$tuple": [1], "fields": ["a"],
                                                            "type": "def"})),
    "tensor of strings": ("gone", reply_with({"$tensor": 0}, [written(np.array(["a"]))])),
    "tensor big-endian": ("gone", reply_with({"$tensor": 0}, [written(np.arange(3, dtype=">f8"))])),
    "handle without its type": ("value", reply_with({"$handle": 1})),
    "handle named over lines": ("value", reply_with({"$handle": 1, "type": "a\nb" * 100})),
    "ref never given": ("gone", reply_with({"$ref": 12345})),
    "ref unhashable": ("gone", reply_with({"$ref": [1]})),
    "unknown kind": ("gone", reply_with({"$what": 1})),
    "error that is not a map": ("gone", reply_with(None, error="boom")),
    "error named with a NUL": ("error", reply_with(None, error={"type": "a\x00b"})),
    "error that needs other arguments": ("error", reply_with(None, error={
        "type": "UnicodeDecodeError"})),
    "error group": ("error", reply_with(None, error={"type": "ExceptionGroup"})),
    "reply of another kind": ("gone", frame({"op": "return", "value": 1})),
    "callback with an unhashable id": ("gone", frame({"op": "callback", "id": [1]})),
    "warnings and torch of the wrong types": ("value", reply_with(1, warnings=[
        {"message": [[[]]]}, 5], torch=[[1], {"a": NAN}, "x\ny"])),
    "NaN everywhere": ("gone", reply_with({"$list": [NAN, INF, -INF]}, warnings=NAN, torch=NAN,
                                          error=NAN)),
}


@pytest.mark.parametrize("name", NAMED)
def test_named_malformed_reply(name):
    expected, data = NAMED[name]
    with fake_notebook(data) as link:
        outcome = ask(link)
        assert_survived(link, outcome, data)
    assert outcome[0] == expected, outcome


def test_a_reader_that_stops_reading_cannot_hold_the_grader_past_its_deadline():
    """An argument larger than the pipe, to a notebook that never reads it."""
    with fake_notebook(b"", keep_open=True) as link:
        kind, error = ask(link, np.zeros(1 << 17))
    assert kind == "gone" and str(error) == "timeout"


def big_answer():
    return np.zeros(1 << 17)


def test_a_callback_answer_to_a_notebook_that_stops_reading_ends_at_the_deadline():
    with fake_notebook(frame({"op": "callback", "id": id(big_answer),
                                     "args": {"$list": []}}), keep_open=True) as link:
        with hang_guard(), pytest.raises(wire.RemoteGone, match="timeout"):
            link.request("lookup", big_answer)


# ---- through a real notebook process ----------------------------------------------------------

WRITE_TO_THE_WIRE = """import gc, os
server = next(o for o in gc.get_objects() if type(o).__name__ == "Server")
data = memoryview({data!r})
while data:
    data = data[os.write(server.to_parent, data):]
os._exit(0)
"""


@pytest.fixture(scope="module")
def shell():
    from autograder.sandbox.notebook_process import warm_up
    return warm_up()


@FEW
@given(data=streams)
def test_student_code_writing_to_its_own_wire_gets_a_value_or_remote_gone(shell, data):
    """A notebook's process (the real ``Server``, forked like a worker's notebook)
    whose cell writes the stream to the grader itself and exits."""
    from autograder.sandbox.notebook_process import ForkedNotebook
    notebook = ForkedNotebook(timeout=30)
    notebook.link.deadline = time.monotonic() + 60
    try:
        with hang_guard(90), warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                outcome = "value", notebook.link.request("run", WRITE_TO_THE_WIRE.format(data=data))
            except wire.RemoteGone as error:
                outcome = "gone", error
            except wire.RemoteError as error:
                outcome = "error", error
        assert_survived(notebook.link, outcome, data)
    finally:
        notebook.close(limit=2)


# ---- the verdict ---------------------------------------------------------------------------------

VERDICT_CASES = {
    "silent": b"",
    "a deep nesting": frame(('{"op": "reply", "payloads": [], "value": ' + '{"$list": [' * 3000
                             + "1" + "]}" * 3000 + "}").encode()),
    "a student error with lines in its location": reply_with(None, error={
        "type": "NameError", "message": "name 'Sigmoid' is not defined\nTraceback (most recent",
        "location": " (line 1\n  File \"x\")\u2028", "line": "a\nb"}),
    **{name: NAMED[name][1] for name in ("truncated payload", "zero itemsize V0", "tensor big-endian",
                                      "reply of another kind", "error that is not a map",
                                      "ref never given", "callback with an unhashable id",
                                      "header claims over the cap")},
}


def test_a_broken_notebook_gets_one_line_zero_and_the_next_one_full_marks(shell):
    """Through the judge (``run_check``, which turns ``RemoteGone`` into a verdict): each
    malformed notebook's check fails with exactly one line, no traceback; the honest
    notebook checked next, in the same grader process, passes."""
    from autograder.grading.judge import run_check
    from autograder.sandbox.notebook_process import ForkedNotebook
    from solutions import Sigmoid
    cell = ast.parse("check_sigmoid(Sigmoid).assert_passed()").body[0].value.func.value
    for name, data in VERDICT_CASES.items():
        with fake_notebook(data, keep_open=name == "silent") as link, hang_guard():
            verdict = run_check("check_sigmoid", cell.args, {}, link, seed=11)
        assert not verdict.passed and len(verdict.failures) == 1, (name, str(verdict))
        failure = verdict.failures[0]
        assert one_line(failure) and "Traceback" not in failure, (name, failure)
    shell.user_ns["Sigmoid"] = Sigmoid
    try:
        honest = ForkedNotebook(timeout=60)  # forked now: the namespace above goes with it
    finally:
        del shell.user_ns["Sigmoid"]
    honest.link.deadline = time.monotonic() + 300
    try:
        with hang_guard(300):
            verdict = run_check("check_sigmoid", cell.args, {}, honest.link, seed=11)
    finally:
        honest.close()
    assert verdict.passed, str(verdict)
