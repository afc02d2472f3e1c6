"""Calls between the grader and the process that runs a student's notebook — data
only, never pickle.

A message is a JSON header plus raw ``.npy`` payloads (``numpy.lib.format`` with
``allow_pickle=False``). Values travel as JSON scalars, lists, tuples, string-keyed
dicts, numpy arrays and torch tensors (as arrays); anything else stays where it lives
and travels as a handle: a ``Remote`` proxy on the grader's side (attribute access,
calls, ``len`` and indexing go back to the notebook's process), a ``Callback`` on the
notebook's side (a grader function the student's code may call, e.g. a loss).

Arrays travel one way — the notebook's process gets a copy — except those a check
*lends* (``autograder.student.lending``: an optimizer's parameters, an input it hands
over to see whether student code changed it): a lent array is *mirrored*, so that when
the student's code changes it in place (an optimizer's step, a finite-difference probe)
the new contents travel back with the next message and are written into the grader's
array, as if shared. Every request tells the notebook's side which mirrors are still
lent; both sides forget the others, so nothing the grader keeps is ever written from
the notebook's side.

The grader reads with a deadline and a size cap, so a process that hangs, floods or
dies becomes a ``RemoteGone`` error, never a hang or a crash of the grader.
"""

import builtins
import functools
import io
import json
import keyword
import math
import os
import select
import struct
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from autograder.student.errors import ProcessGone
from autograder.student.lending import is_lent

FRAME = struct.Struct("<QQ")
MAX_MESSAGE = 512 << 20
MAX_DEPTH = 100  # JSON containers within one another: values the wire carries nest far less

JSON = Any  # a decoded JSON value: its shape is checked where it is read
Message = dict[str, JSON]  # a message's header
Arrays = list[np.ndarray]  # a message's payloads


class RemoteGone(ProcessGone):
    """The notebook's process died, hung past its deadline, or broke the protocol."""


class RemoteError(Exception):
    """An exception raised by student code in the notebook's process."""

    location = ""
    line = ""


_error_types: dict[str, type[RemoteError]] = {}  # builtin names only: one class each


def printable(text: object, limit: int) -> str:
    """``text`` as one line of at most ``limit`` characters (what the student's side
    names goes into a verdict line)."""
    return "".join(c if c.isprintable() else " " for c in str(text)[:limit])


def warn_here(reported: JSON) -> None:
    """numpy's warnings from the student's code, raised again on the grader's side, so
    that the check records them as it does for local code (``oracle.call_student``)."""
    if not isinstance(reported, list):
        return
    import warnings

    from autograder.student.errors import StudentFPWarning
    for item in reported[:20]:
        if isinstance(item, dict):
            warnings.warn(StudentFPWarning(printable(item.get("message", ""), 300),
                                           printable(item.get("line", ""), 300)),
                          stacklevel=1)  # where the grader reports it; the line is in the text


def remote_error(name: str, message: str, location: str, line: str = "") -> RemoteError:
    """An exception of a class named like the original (a builtin one stays catchable
    as itself: FloatingPointError, AttributeError, …); any other name gets a class of
    its own, never kept. Names that are not identifiers read "Error"; the location and
    line are one line each."""
    name = name if name.isidentifier() and len(name) <= 100 else "Error"
    if name not in _error_types:
        base = getattr(builtins, name, None)
        if not (isinstance(base, type) and issubclass(base, Exception)):
            return located(type(name, (RemoteError,), {})(message), location, line)
        try:
            _error_types[name] = type(name, (RemoteError, base), {})
            _error_types[name](message)
        except TypeError:  # incompatible layouts, or other arguments: keep the name only
            _error_types[name] = type(name, (RemoteError,), {})
    return located(_error_types[name](message), location, line)


def located(error: RemoteError, location: str, line: str) -> RemoteError:
    error.location, error.line = printable(location, 300), printable(line, 300)
    return error


# ---- framing ------------------------------------------------------------------------

def send(fd: int, header: Message, arrays: Iterable[np.ndarray] = (), deadline: float | None = None) -> None:
    payloads = []
    for array in arrays:
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, allow_pickle=False)
        payloads.append(buffer.getvalue())
    header = dict(header, payloads=[len(p) for p in payloads])
    head = json.dumps(header).encode()
    data = FRAME.pack(len(head), sum(len(p) for p in payloads)) + head + b"".join(payloads)
    write_all(fd, data, deadline)


def write_all(fd: int, data: bytes, deadline: float | None = None) -> None:
    """All of ``data``; with a deadline, a reader that stops reading (a pipe full) is a
    ``RemoteGone("timeout")`` at the deadline, not a write blocked for ever."""
    view, blocking = memoryview(data), os.get_blocking(fd)
    if deadline is not None:
        os.set_blocking(fd, False)
    try:
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:  # without a deadline (a non-blocking fd), wait for room
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0 or not select.select([], [fd], [], wait)[1]:
                    raise RemoteGone("timeout") from None
    finally:
        os.set_blocking(fd, blocking)


def read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    left = n
    while left:
        wait = None if deadline is None else deadline - time.monotonic()
        if wait is not None and wait <= 0:
            raise RemoteGone("timeout")
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            raise RemoteGone("timeout")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise RemoteGone("ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, deadline: float | None = None) -> tuple[Message, Arrays]:
    head_size, body_size = FRAME.unpack(read_exactly(fd, FRAME.size, deadline))
    if head_size + body_size > MAX_MESSAGE:
        raise RemoteGone(f"sent a message of {head_size + body_size} bytes")
    try:
        header = json.loads(read_exactly(fd, head_size, deadline))
        sizes = header.get("payloads", []) if isinstance(header, dict) else None
        if not (isinstance(sizes, list) and all(type(s) is int and s >= 0 for s in sizes)
                and sum(sizes) == body_size and nesting(header) <= MAX_DEPTH):
            raise ValueError("a header that does not describe its message")
        body = read_exactly(fd, body_size, deadline)
        arrays: Arrays = []
        offset = 0
        for size in sizes:
            arrays.append(read_payload(body[offset:offset + size]))
            offset += size
    except RemoteGone:
        raise
    except Exception as error:
        raise RemoteGone(f"sent a malformed message ({type(error).__name__})") from None
    return header, arrays


def nesting(value: JSON) -> int:
    """How deep JSON containers nest in ``value`` (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_DEPTH:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            stack += [(v, depth + 1) for v in (value.values() if isinstance(value, dict) else value)]
    return deepest


def read_payload(data: bytes) -> np.ndarray:
    """One ``.npy`` payload whose header accounts for exactly the bytes that follow it
    (so nothing is allocated beyond what was sent, even for a zero-size dtype). The
    header is read by numpy (``payload_header``, remembered: the checks send arrays of
    the same few shapes hundreds of times per notebook), the data copied once into an
    array of this process's own."""
    start = header_end(data)
    head = data[:start]
    shape, fortran_order, dtype = payload_header(head) if start <= HEADER_KEPT else parse_header(head)
    if dtype.names is not None:  # its field names can be renamed in place: never shared
        shape, fortran_order, dtype = parse_header(head)
    count = math.prod(shape)
    if min(shape, default=0) < 0 or dtype.hasobject or (dtype.itemsize == 0 and count) \
            or count * dtype.itemsize != len(data) - start:
        raise ValueError("a payload that does not match its header")
    if dtype.itemsize == 0 or dtype.subdtype is not None:  # numpy's own reader for the odd ones
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    # a structured array is copied field by field, its padding never: zeros there, not old memory
    array = np.zeros(count, dtype) if dtype.names is not None else np.empty(count, dtype)
    if count:
        array[...] = np.frombuffer(data, dtype, count, start)
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


HEADER_KEPT = 512  # bytes: a longer header is parsed each time (a structured dtype's, say)


def header_end(data: bytes) -> int:
    """Where an ``.npy`` payload's data begins: after the magic, the version, the
    header's length (2 bytes in version 1, 4 in versions 2 and 3) and the header."""
    if data[:6] != b"\x93NUMPY" or len(data) < 10:
        raise ValueError("not an .npy payload")
    if data[6] == 1:
        return 10 + int.from_bytes(data[8:10], "little")
    if len(data) < 12:
        raise ValueError("not an .npy payload")
    return 12 + int.from_bytes(data[8:12], "little")


def parse_header(head: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) of an ``.npy`` header, as numpy reads it."""
    stream = io.BytesIO(head)
    version = np.lib.format.read_magic(stream)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}[version]
    shape, fortran_order, dtype = read_header(stream)
    if stream.tell() != len(head):
        raise ValueError("a header longer than it says")
    return tuple(shape), bool(fortran_order), dtype


payload_header = functools.lru_cache(maxsize=256)(parse_header)


# ---- values ---------------------------------------------------------------------------

class Codec:
    """Encodes values for one side; ``handles`` keeps what stays on this side."""

    def __init__(self) -> None:
        self.handles: dict[object, Any] = {}  # id -> what stays on this side (looked up by any JSON key)
        self.mirrors: dict[int, np.ndarray] | weakref.WeakValueDictionary[int, np.ndarray] = {}

    def reset(self) -> None:
        self.handles.clear()
        self.mirrors.clear()

    def encode(self, value: object, arrays: Arrays, mirror: bool = False) -> JSON:
        """``mirror``: the grader's side, where a lent array (``lending.is_lent``) is
        mirrored back; every other array travels one way. A tensor is one only where
        torch is imported (this side never imports it for a value: 1.6 s of the grader's)"""
        torch = sys.modules.get("torch")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Remote):  # the other side's own object, going home
            return {"$ref": value._info["$handle"]}
        if isinstance(value, (np.generic, np.ndarray)) and np.asarray(value).dtype != object:
            arrays.append(np.asarray(value))
            if mirror and isinstance(value, np.ndarray) and is_lent(value):
                self.mirrors[id(value)] = value
                return {"$array": len(arrays) - 1, "mirror": id(value)}
            return {"$array": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
        if torch is not None and isinstance(value, torch.Tensor):
            arrays.append(value.detach().cpu().numpy())
            return {"$tensor": len(arrays) - 1}
        if isinstance(value, tuple) and is_namedtuple(value):  # fields travel by name
            return {"$tuple": [self.encode(v, arrays, mirror) for v in value],
                    "fields": list(value._fields),  # type: ignore[attr-defined]  # is_namedtuple checked it
                    "type": type(value).__name__}
        if isinstance(value, (list, tuple)):
            return {"$list" if isinstance(value, list) else "$tuple":
                    [self.encode(v, arrays, mirror) for v in value]}
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {"$dict": {k: self.encode(v, arrays, mirror) for k, v in value.items()}}
        self.handles[id(value)] = value
        return {"$handle": id(value), "type": type(value).__name__,
                "is_type": isinstance(value, type)}

    def decode(self, value: JSON, arrays: Arrays, make_handle: Callable[[Message], object]) -> Any:
        """The value a message encodes; anything malformed is a ``RemoteGone``."""
        if not isinstance(value, dict):
            return value
        for kind, form in (("$list", list), ("$tuple", list), ("$dict", dict)):
            if kind in value and not isinstance(value[kind], form):
                raise RemoteGone(f"sent a {kind[1:]} that is not one")
        if "$array" in value:
            array = payload_at(arrays, value["$array"])
            return array[()] if value.get("scalar") else array
        if "$tensor" in value:
            import torch
            try:
                return torch.from_numpy(np.array(payload_at(arrays, value["$tensor"])))
            except (TypeError, ValueError, RuntimeError):
                raise RemoteGone("sent a tensor of a type torch cannot hold") from None
        if "$list" in value:
            return [self.decode(v, arrays, make_handle) for v in value["$list"]]
        if "$tuple" in value:
            items = tuple(self.decode(v, arrays, make_handle) for v in value["$tuple"])
            if "fields" in value:
                return named_tuple(value.get("type"), value["fields"], items)
            return items
        if "$dict" in value:
            return {k: self.decode(v, arrays, make_handle) for k, v in value["$dict"].items()}
        if "$handle" in value:
            if type(value["$handle"]) is not int:
                raise RemoteGone("sent a handle that is not a number")
            return make_handle({"$handle": value["$handle"], "is_type": value.get("is_type") is True,
                                "type": printable(value.get("type", "object"), 100)})
        if "$ref" in value:
            if type(value["$ref"]) is not int or value["$ref"] not in self.handles:
                raise RemoteGone("referred to an object it was never given")
            return self.handles[value["$ref"]]
        raise RemoteGone("sent a value of unknown kind")


def payload_at(arrays: Arrays, index: JSON) -> np.ndarray:
    if type(index) is not int or not 0 <= index < len(arrays):
        raise RemoteGone("named a payload it did not send")
    return arrays[index]


def is_namedtuple(value: object) -> bool:
    fields = getattr(type(value), "_fields", None)
    return isinstance(fields, tuple) and all(isinstance(f, str) for f in fields)


def named_tuple(name: JSON, fields: JSON, items: tuple[Any, ...]) -> tuple[Any, ...]:
    """A namedtuple made here with the sender's field names (checked: identifiers but
    not keywords, as many as the items)."""
    from collections import namedtuple

    def usable(text: object) -> bool:
        return isinstance(text, str) and text.isidentifier() and not keyword.iskeyword(text) \
            and len(text) <= 100
    if not (isinstance(fields, list) and len(fields) == len(items) and len(fields) <= 64
            and all(usable(f) and not f.startswith("_") for f in fields)
            and len(set(fields)) == len(fields)):
        raise RemoteGone("sent a namedtuple with bad field names")
    name = name if usable(name) else "Result"
    return namedtuple(name, fields)(*items)


# ---- the grader's side -------------------------------------------------------------------

class Remote:
    """A student's object that lives in the notebook's process."""

    __slots__ = ("_link", "_info")

    _link: "Link"
    _info: Message

    def __init__(self, link: "Link", info: Message) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_info", info)

    @property
    def is_remote_class(self) -> bool:
        return self._info["is_type"] is True  # decode made it a bool

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in ("__name__", "__len__"):
            raise AttributeError(name)  # numpy's and copy's protocol probes stay here
        return self._link.request("getattr", self, name)

    def __setattr__(self, name: str, value: object) -> None:
        self._link.request("setattr", self, name, value)

    def __call__(self, *args: object, **kwargs: object) -> Any:
        return self._link.request("call", self, *args, **kwargs)

    def __len__(self) -> int:
        n = self._link.request("len", self)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise TypeError("len() of your object is not a non-negative int")
        return n

    def __getitem__(self, key: object) -> Any:
        return self._link.request("getitem", self, key)

    def __setitem__(self, key: object, value: object) -> None:
        self._link.request("setitem", self, key, value)

    def __repr__(self) -> str:
        return f"<your {self._info['type']}>"


class Link:
    """The grader's end of the pipe pair to one notebook's process."""

    def __init__(self, to_child: int, from_child: int, deadline: float | None = None) -> None:
        self.to_child, self.from_child = to_child, from_child
        self.codec, self.deadline = Codec(), deadline
        self.gone: str | None = None  # why the process is gone, once it is
        self.codec.mirrors = weakref.WeakValueDictionary()  # ends with the lent array
        self.torch_calls: set[str] = set()  # torch functions the student's code called, as reported

    def handle(self, info: Message) -> "Remote":
        return Remote(self, info)

    def request(self, op: str, *args: object, **kwargs: object) -> Any:
        """Send one operation; serve the student's callbacks until its reply."""
        if self.gone:
            raise RemoteGone(self.gone)
        arrays: Arrays = []
        target, rest = (args[0], args[1:]) if args and isinstance(args[0], Remote) else (None, args)
        header = {"op": op, "target": target._info["$handle"] if target is not None else None,
                  "args": self.codec.encode(list(rest), arrays, mirror=True),
                  "kwargs": self.codec.encode(kwargs, arrays, mirror=True),
                  "lent": sorted(self.codec.mirrors)}
        try:
            send(self.to_child, header, arrays, self.deadline)
            while True:
                reply, payload = receive(self.from_child, self.deadline)
                self.apply_mirrors(reply, payload)
                if reply.get("op") != "callback":
                    break
                self.serve_callback(reply, payload)
            if reply.get("op") != "reply":
                raise RemoteGone("sent a message that is neither a reply nor a callback")
            failure = reply.get("error")
            if "error" in reply and not isinstance(failure, dict):
                raise RemoteGone("sent an error that is not a map")
            value = self.codec.decode(reply.get("value"), payload, self.handle) \
                if failure is None else None
        except (RemoteGone, OSError) as error:
            self.gone = str(error) if isinstance(error, RemoteGone) else "ended"
            raise RemoteGone(self.gone) from None
        warn_here(reply.get("warnings"))
        if isinstance(reply.get("torch"), list):
            self.torch_calls |= {name[:60] for name in reply["torch"][:20]
                                 if isinstance(name, str) and name[:60].isprintable()}
        if failure is not None:
            raise remote_error(str(failure.get("type", "Error")), str(failure.get("message", "")),
                               str(failure.get("location", "")), str(failure.get("line", "")))
        return value

    def apply_mirrors(self, reply: Message, payload: Arrays) -> None:
        """Write the student's in-place changes into the lent arrays they came from;
        anything else (an array never lent, another shape or dtype) is ignored."""
        mirrors = reply.get("mirrors", {})
        if not isinstance(mirrors, dict):
            raise RemoteGone("sent mirrors that are not a map")
        for key, index in mirrors.items():
            try:
                target = self.codec.mirrors.get(int(key))
                new = payload[index] if isinstance(index, int) and not isinstance(index, bool) else None
            except (ValueError, TypeError, IndexError):
                raise RemoteGone("sent a malformed mirror") from None
            if target is not None and new is not None \
                    and target.shape == new.shape and target.dtype == new.dtype:
                target[...] = new

    def serve_callback(self, message: Message, payload: Arrays) -> None:
        """Run the grader's function the student's code called, and answer; a call the
        grader cannot make (no such function, arguments that are not a list) is
        answered with the error."""
        arrays: Arrays = []
        try:
            function = self.codec.handles.get(message.get("id")) \
                if type(message.get("id")) is int else None
            args = self.codec.decode(message.get("args"), payload, self.handle)
            if function is None or not isinstance(args, list):
                raise TypeError("the grader lent no such function, or the arguments are not a list")
            value = function(*args)
            reply = {"op": "return", "value": self.codec.encode(value, arrays)}
        except Exception as error:
            arrays = []
            reply = {"op": "return", "error": {"type": type(error).__name__, "message": str(error)}}
        send(self.to_child, reply, arrays, self.deadline)


# ---- the notebook's side ------------------------------------------------------------------

class Callback:
    """A grader function handed to student code; calling it asks the grader."""

    def __init__(self, server: "Server", info: Message) -> None:
        self.server, self.id = server, info["$handle"]

    def __call__(self, *args: object) -> Any:
        arrays: Arrays = []
        message = {"op": "callback", "id": self.id,
                   "args": self.server.codec.encode(list(args), arrays)}
        self.server.send(message, arrays)
        reply, payload = receive(self.server.from_parent)
        if "error" in reply:
            raise RuntimeError(f"the grader's function raised {reply['error']['type']}: "
                               f"{reply['error']['message']}")
        return self.server.codec.decode(reply.get("value"), payload, self.server.handle)


class Server:
    """The notebook's end: runs cells and the grader's operations, in order."""

    def __init__(self, from_parent: int, to_parent: int, namespace: dict[str, Any],
                 run_cell: Callable[..., object], guard: Any, allowed_modules: Iterable[str]) -> None:
        self.from_parent, self.to_parent = from_parent, to_parent
        self.namespace, self.run_cell, self.guard = namespace, run_cell, guard
        self.allowed_modules = allowed_modules
        self.codec = Codec()
        self.snapshots: dict[int, bytes] = {}
        self.pid = os.getpid()

    def handle(self, info: Message) -> Callback:
        return Callback(self, info)

    def stray(self) -> None:
        """A copy made by os.fork in student code: it must not touch the pipes."""
        if os.getpid() != self.pid:
            os._exit(0)

    def send(self, message: Message, arrays: Arrays) -> None:
        mirrors: dict[str, int] = {}
        for key, array in self.codec.mirrors.items():
            if self.snapshots.get(key) != array.tobytes():
                self.snapshots[key] = array.tobytes()
                mirrors[str(key)] = len(arrays)
                arrays.append(array)
        send(self.to_parent, dict(message, mirrors=mirrors), arrays)

    def decode(self, value: JSON, payload: Arrays) -> Any:
        return self.codec.decode(value, payload, self.handle)

    def serve(self) -> None:
        """Until the grader closes the pipe."""
        while True:
            try:
                message, payload = receive(self.from_parent)
            except RemoteGone:
                return
            self.mirror_inputs(message, payload)
            arrays: Arrays = []
            try:
                value = self.perform(message, payload)
                self.stray()
                reply = {"op": "reply", "value": self.codec.encode(value, arrays)}
            except BaseException as error:  # the student's, reported back; the loop goes on
                self.stray()
                arrays = []
                reply = {"op": "reply", "error": describe(error)}
            reply["warnings"] = getattr(self.guard, "take_warnings", list)()
            reply["torch"] = getattr(self.guard, "take_torch_calls", list)()
            self.send(reply, arrays)
            if message.get("op") == "reset":
                self.codec.reset()
                self.snapshots.clear()
                getattr(self.guard, "reset", lambda: None)()

    def mirror_inputs(self, message: Message, payload: Arrays) -> None:
        """Keep the mirrors the grader still lends (``lent``), and add this message's."""
        lent = message.get("lent")
        lent = {k for k in lent if isinstance(k, int)} if isinstance(lent, list) else set()
        for key in [k for k in self.codec.mirrors if k not in lent]:
            del self.codec.mirrors[key]
            self.snapshots.pop(key, None)

        def walk(value: JSON) -> None:
            if isinstance(value, dict):
                if "mirror" in value:
                    array = payload[value["$array"]]
                    self.codec.mirrors[value["mirror"]] = array
                    self.snapshots[value["mirror"]] = array.tobytes()
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk([message.get("args"), message.get("kwargs")])

    def perform(self, message: Message, payload: Arrays) -> Any:
        op = message.get("op")
        args = self.decode(message.get("args") or {"$list": []}, payload)
        kwargs = self.decode(message.get("kwargs") or {"$dict": {}}, payload)
        target = self.codec.handles.get(message.get("target"))
        if op == "run":
            return self.run_cell(*args)
        if op == "reset":
            return None
        if op == "lookup":
            if args[0] not in self.namespace:
                raise NameError(f"name {args[0]!r} is not defined in your notebook")
            return self.namespace[args[0]]
        if op == "probe":
            module, _, name = str(args[0]).partition(":")
            if module not in self.allowed_modules:
                raise PermissionError(f"no probe in {module}")
            import importlib
            function = getattr(importlib.import_module(module), name)
            return self.guard(function, *args[1:], **kwargs)
        if target is None:
            raise RemoteGone("an operation without its object")
        operations = {
            "getattr": lambda: getattr(target, args[0]),
            "setattr": lambda: setattr(target, args[0], args[1]),
            "call": lambda: target(*args, **kwargs),
            "len": lambda: len(target),
            "getitem": lambda: target[args[0]],
            "setitem": lambda: target.__setitem__(args[0], args[1]),
        }
        if op not in operations:
            raise RemoteGone(f"unknown operation {op!r}")
        return self.guard(operations[op])


def describe(error: BaseException) -> dict[str, str]:
    """Type, message and where in the student's code (not this module) it was raised."""
    import traceback

    from autograder.student.errors import first_line, frame_location, student_frames
    frames = student_frames([f for f in traceback.extract_tb(error.__traceback__)
                             if not f.filename.endswith(("wire.py", "notebook_process.py"))])
    location = frame_location(frames[-1]) if frames else ""
    return {"type": type(error).__name__, "message": first_line(error, 500), "location": location,
            "line": (frames[-1].line or "")[:300] if frames else ""}
