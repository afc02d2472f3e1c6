"""Hostile and broken submissions, each with the points it deserves and the words the
grader must say about it. Assignment 02 (14 points, independent cells) unless named.

A case: (student, assignment, make(course_dir, root) -> bytes of the file, points,
expected text, where that text must appear: "flags", "notebook" (an output of the
autograded notebook) or "unmatched")."""


import os
import socket

import nbformat

from tests.grading.test_grader import notebook_for

A1, A2 = "01_perceptron", "02_activations"
WRONG_LEAKY = ("leaky_relu", "slope=0.1", "slope=0.01")  # costs test_leaky_relu: 2 points
NOT_THERE = "No such file or directory"
SECRET = "hostile-suite-secret-5f1c"  # FIRSTMLP_GRADING_SECRET of the hostile class
HONEST_MARKER = "HONEST-ANSWER-MARKER-7731"  # in an honest student's answer

STEAL_QUEUE = '''
import gc, sys
found = []
frame = sys._getframe()
while frame is not None:  # the pool worker's frames, if this process were its fork
    found += [v for v in frame.f_locals.values() if "queue" in type(v).__name__.lower()]
    frame = frame.f_back
found += [o for o in gc.get_objects()  # the pool's queues and pipes, were they here
          if str(getattr(type(o), "__module__", "")).startswith("multiprocessing")
          and type(o).__name__ in ("Queue", "SimpleQueue", "JoinableQueue", "Connection")]
class Evil:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/firstmlp-pwned')",))
for queue in found:
    try:
        queue.put(Evil())
        queue.get_nowait()
    except Exception:
        pass
print(f"queues found: {len(found)}")
'''

SIGNAL_EVERYONE = '''
import os, signal
hit = 0
for pid in range(1, 1 << 16):
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(pid, sig)
            hit += sig == signal.SIGKILL
        except (ProcessLookupError, PermissionError):
            pass
print(f"signalled: {hit} process")
'''

READ_SECRETS = '''
import gc, os, sys
places = [repr(dict(os.environ))]
frame = sys._getframe()
while frame is not None:
    places.append(repr(frame.f_locals)[:100000])
    frame = frame.f_back
places += [r for o in gc.get_objects() for r in gc.get_referents(o) if isinstance(r, str)]
for pid in os.listdir("/proc"):
    for name in ("environ", "cmdline"):
        try:
            places.append(open(f"/proc/{pid}/{name}", "rb").read().decode(errors="replace"))
        except OSError:
            pass
print("\\n".join(p for p in places if "secret" in p.lower() or "seed" in p.lower())[:20000])
print("secrets searched")
'''

READ_OTHERS = '''
import gc
marker = "".join(["HONEST-ANSWER-", "MARKER-7731"])  # built at run time: not in this source
hits = {id(r): r for o in gc.get_objects() for r in gc.get_referents(o)
        if isinstance(r, str) and r is not marker and marker in r}
print("\\n".join(hits.values())[:5000])
print(f"other students found: {len(hits)}")
'''
assert "HONEST-ANSWER-" + "MARKER-7731" == HONEST_MARKER

SOCKETS = '''
import socket
def attempt(name, action):
    try:
        action()
        print(f"{name}: worked")
        return [name]
    except OSError as error:
        print(f"{name}: OSError {error}")
        return []
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"hostile", ("127.0.0.1", UDP_PORT))
def tcp():
    socket.create_connection(("127.0.0.1", 22), timeout=1)
def abstract():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\\0ABSTRACT_NAME")
def unix_file():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("listener.sock")
outward = attempt("udp", udp) + attempt("tcp", tcp) + attempt("abstract", abstract)
attempt("unix", unix_file)  # a socket file in its own scratch folder: no way out
print(f"sockets that reached out: {outward}")
'''


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# this run's own listeners (test_hostile.listeners): two runs of the suite on one machine
# (two CI jobs, a fresh clone beside a working tree) must not take each other's
UDP_PORT, ABSTRACT_NAME = free_udp_port(), f"firstmlp-hostile-probe-{os.getpid()}"
SOCKETS = SOCKETS.replace("UDP_PORT", str(UDP_PORT)).replace("ABSTRACT_NAME", ABSTRACT_NAME)

READ_PROC = '''
import os, signal
me = int(os.readlink("/proc/self"))  # this process as the sandbox's /proc numbers it
others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
readable, signalled = [], []
for pid in others:  # bwrap's init and the zygote are listed; neither may be reached
    try:
        open(f"/proc/{pid}/environ", "rb").read()
        readable.append(pid)
    except OSError:
        pass
    try:
        signal.pidfd_send_signal(os.open(f"/proc/{pid}", os.O_RDONLY), signal.SIGSTOP)
        signalled.append(pid)
    except OSError:
        pass
print(f"other processes listed: {len(others)}; environ readable: {readable}; signalled: {signalled}")
'''

WRITE_WIRE = '''
import os
for fd in range(3, 64):
    try:
        os.write(fd, b"\\xff" * 64)
    except OSError:
        pass
'''

HTML_INJECTION = '''
from IPython.display import HTML, Javascript, Markdown, SVG, display
display(HTML("<script>document.title='pwned-script'</script><b>bold</b>"))
display(Javascript("document.title='pwned-js'"))
display(HTML('<img src=x onerror="document.title=1">'))
display(Markdown("<script>document.title='pwned-md'</script> *text*"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'))
display(HTML('<a href="javascript:alert(1)">link</a><iframe src="https://example.org"></iframe>'))
'''
PWNED = "pwned"  # in every active payload above: no script, handler or URL may carry it


def with_cells(assignment, replace=(), append=(), solved=None, edit=None):
    """A notebook (reference unless ``solved``) with text replaced, code appended to
    cells (cell id, code), and ``edit(notebook)`` applied; as file bytes."""
    def make(course_dir, root):
        notebook = notebook_for(course_dir, assignment, solved=solved, replace=list(replace))
        for cell_id, code in append:
            cell = next(c for c in notebook.cells if c.id == cell_id)
            cell.source += "\n" + code.replace("{root}", str(root)).replace(
                "{course}", str(course_dir))
        if edit:
            edit(notebook)
        return nbformat.writes(notebook).encode()
    return make


def raw(data):
    return lambda course_dir, root: data


def set_meta(cell_id, **changes):
    def edit(notebook):
        cell = next(c for c in notebook.cells if c.id == cell_id)
        cell.metadata.nbgrader.update(changes)
    return edit


def drop(cell_id):
    def edit(notebook):
        notebook.cells = [c for c in notebook.cells if c.id != cell_id]
    return edit


# a grade_id that would clear the grader's terminal, retitle it and start a new line of
# report.md: a flag quotes it as plain text
FORGED_ID = "bonus\x1b[2J\x1b]0;forged title\x07\r\n# forged heading"


def add_forged_cell(notebook):
    cell = nbformat.v4.new_code_cell("print('bonus')")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": FORGED_ID, "points": 50,
                                 "locked": True, "solution": False, "schema_version": 3}
    notebook.cells.append(cell)


def other_assignment(course_dir, root):
    return nbformat.writes(notebook_for(course_dir, A2)).encode()


HARD_CODED = '''
from autograder.student.components import perceptron_inputs
_rng, _known = np.random.default_rng(0), {}
for _ in range(6):
    _X, _w, _b = perceptron_inputs(_rng)
    _known[(_X.tobytes(), _w.tobytes(), float(_b))] = _X @ _w + _b


def weighted_sum(X, w, b):
    """Answers the visible test's inputs from a table; anything else gets zeros."""
    key = (np.asarray(X, float).tobytes(), np.asarray(w, float).tobytes(), float(b))
    return _known.get(key, np.zeros(len(X)))
'''

CASES = [
    # comparator monkeypatching: the kernel is fooled, the grader is not
    ("patch_numpy", A2, with_cells(A2, [WRONG_LEAKY], [("leaky_relu",
        "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "np.abs = lambda x: 0 * x")]), 11, "test_leaky_relu: your notebook's own test passed, "
        "the grader's check failed", "flags"),
    ("patch_torch", A2, with_cells(A2, append=[("leaky_relu",
        "import torch.nn.functional as F\nF.leaky_relu = lambda x, slope=0.01: x")]),
        14, "test_leaky_relu: your notebook's own test failed, the grader's check passed",
        "flags"),
    ("patch_oracle", A2, with_cells(A2, [WRONG_LEAKY], [("leaky_relu",
        "import autograder.student.oracle as _o\n_o.compare = lambda *a, **k: None")]), 12,
        "test_leaky_relu: your notebook's own test passed", "flags"),
    ("patch_assert", A2, with_cells(A2, [WRONG_LEAKY], [("leaky_relu",
        "from autograder.student.oracle import Verdict\nVerdict.assert_passed = lambda self: self")]),
        12, "test_leaky_relu: your notebook's own test passed", "flags"),
    ("patch_check", A2, with_cells(A2, [WRONG_LEAKY], [("leaky_relu",
        "from autograder.student.oracle import Verdict\ncheck_leaky_relu = lambda *a, **k: Verdict('ok')")]),
        12, "test_leaky_relu: your notebook's own test passed", "flags"),
    # the process ends, hangs, or floods
    ("os_exit", A2, with_cells(A2, append=[("relu", "import os\nos._exit(0)")]), 4,
     "the notebook's process ended before this cell ran", "notebook"),
    ("sys_exit", A2, with_cells(A2, append=[("relu", "import sys\nsys.exit(3)")]), 14,
     "SystemExit", "notebook"),
    ("infinite_loop", A2, with_cells(A2, replace=[("leaky_relu", "slope=0.1",
        "slope=0.1 + 0 * len([None for _ in iter(int, 1)])")]), 12, "CellTimeout", "notebook"),
    ("loop_in_c", A2, with_cells(A2, replace=[("leaky_relu", "slope=0.1",
        "slope=0.1 + 0 * sum(iter(int, 1))")]), 5, "ran past its time limit without giving "
        "control back", "notebook"),
    ("loop_in_answer", A2, with_cells(A2, replace=[("leaky_relu", "    def forward(self, x):",
        "    def forward(self, x):\n        while True:\n            pass")]), 12,
     "your forward raised CellTimeout: your code ran past the check's 5 s time budget "
     "(all its calls together) (line 8 in forward)", "notebook"),
    ("memory_bomb", A2, with_cells(A2, append=[("relu",
        # bytes(n) is calloc'd: the address-space limit stops it at once, where writing
        # 2 GB of bytearray zeros could outlast the 5 s cell limit on a loaded machine
        "def bomb():\n    hog = []\n    while True:\n        hog.append(bytes(1 << 28))\n\n\n"
        "bomb()")]), 14, "MemoryError",
     "notebook"),
    ("fork_bomb", A2, with_cells(A2, append=[("relu",
        "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(600)\n"
        "        os._exit(0)")]), 14, "BlockingIOError: [Errno 11] Resource "
        "temporarily unavailable", "notebook"),
    ("print_flood", A2, with_cells(A2, append=[("relu", "print('x' * (100 << 20))")]), 14,
     "[output truncated by the grader", "notebook"),
    # reaching for what the grader keeps
    # (not in the sandbox at all: bubblewrap binds only what a notebook may read)
    ("read_solutions", A2, with_cells(A2, solved=set(), append=[("relu",
        "exec(open('{root}/solutions/activations.py').read())")]), 0, NOT_THERE,
     "notebook"),
    ("read_instructor_code", A2, with_cells(A2, solved=set(), append=[("relu",
        "print(open('{root}/autograder/course/reference.py').read()[:100])")]), 0, NOT_THERE,
     "notebook"),
    ("read_hidden_tests", A2, with_cells(A2, solved=set(), append=[("relu",
        "print(open('{course}/source/02_activations/02_activations.ipynb').read()[:100])")]),
     0, NOT_THERE, "notebook"),
    ("write_gradebook", A2, with_cells(A2, append=[("relu",
        "open('{course}/gradebook.db', 'ab').write(b'0' * 100)")]), 14, NOT_THERE,
     "notebook"),
    # the grader's own processes, state and channels (issue 13): none is reachable
    ("steal_pool_queue", A1, with_cells(A1, solved=set(), append=[("weighted_sum", STEAL_QUEUE)]),
     0, "queues found: 0", "notebook"),
    ("kill_parent", A2, with_cells(A2, append=[("relu",
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('still here')")]),
     14, "still here", "notebook"),
    ("stop_parent", A2, with_cells(A2, append=[("relu",
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint('still here')")]),
     14, "still here", "notebook"),
    ("signal_every_pid", A2, with_cells(A2, append=[("relu", SIGNAL_EVERYONE)]), 14,
     "signalled: 1 process", "notebook"),
    ("read_secrets", A1, with_cells(A1, solved=set(), append=[("weighted_sum", READ_SECRETS)]),
     0, "secrets searched", "notebook"),
    ("read_other_students", A2, with_cells(A2, solved=set(), append=[("relu", READ_OTHERS)]),
     0, "other students found: 0", "notebook"),
    ("sockets", A2, with_cells(A2, append=[("relu", SOCKETS)]), 14,
     "sockets that reached out: []", "notebook"),
    ("read_proc", A2, with_cells(A2, append=[("relu", READ_PROC)]), 14,
     "environ readable: []; signalled: []", "notebook"),
    ("write_wire", A2, with_cells(A2, append=[("relu", WRITE_WIRE)]), 4,
     "the notebook stopped before this cell ran", "notebook"),
    ("html_injection", A2, with_cells(A2, append=[("relu", HTML_INJECTION)]), 14,
     "<IPython.core.display.Javascript object>", "notebook"),
    # correct, but 0.5 s per call: each check has one budget of the cell's time limit for
    # all its calls of student code (TIMEOUT = 5 s here; 600 s in a real run), so the
    # slow leaky ReLU's check runs out of time and its 2 points are lost, and no other
    ("slow_answers", A2, with_cells(A2, replace=[("leaky_relu", "    def forward(self, x):",
        "    def forward(self, x):\n        import time\n        time.sleep(0.5)")]), 12,
     "your code ran past the check's 5 s time budget", "notebook"),
    # edited, deleted and forged cells
    ("edited_test", A2, with_cells(A2, [WRONG_LEAKY, ("test_leaky_relu",
        "check_leaky_relu(LeakyReLU).assert_passed()", "pass")]), 12,
     "cell test_leaky_relu was edited", "flags"),
    ("deleted_test", A2, with_cells(A2, [WRONG_LEAKY], edit=drop("test_leaky_relu")), 12,
     "test cell test_leaky_relu was deleted", "flags"),
    ("forged_points", A2, with_cells(A2, [WRONG_LEAKY], edit=set_meta("test_maxout", points=100)),
     12, "cell test_maxout was edited", "flags"),
    ("forged_locked", A2, with_cells(A2, [WRONG_LEAKY], edit=set_meta(
        "test_leaky_relu", locked=False, grade=False)), 12, "cell test_leaky_relu was edited",
     "flags"),
    ("forged_grade_cell", A2, with_cells(A2, solved=set(), edit=add_forged_cell), 0,
     "a cell claims nbgrader metadata it was not given (bonus?[2J?]0;forged title?? # forged "
     "heading)", "flags"),
    # files that are not this assignment's notebook
    ("other_assignment", A1, other_assignment, 0,
     "this is the notebook of 02_activations, submitted as 01_perceptron: graded as a blank",
     "flags"),
    ("truncated_json", A2, lambda c, r: other_assignment(c, r)[:500], 0,
     "not a readable notebook", "flags"),
    ("empty_file", A2, raw(b""), 0, "the file is empty", "flags"),
    ("non_utf8", A2, raw(b"\xff\xfe\x00{ not utf-8 \xc3\x28"), 0, "not a readable notebook",
     "flags"),
    # right answers for the visible inputs only; a framework in a numpy exercise
    ("hard_coded", A1, with_cells(A1, replace=[("weighted_sum", "    return X @ w + b",
                                                "    return X @ w + b\n" + HARD_CODED)]),
     2, "test_weighted_sum: your notebook's own test passed, the grader's check failed", "flags"),
    ("torch_in_numpy_hidden", A2, with_cells(A2, append=[("stable_sigmoid",
        "_t = __import__('sys').modules['to' + 'rch']\n"
        "def stable_sigmoid(x):\n    return getattr(_t, 'sig' + 'moid')(_t.as_tensor(x)).numpy()")]),
     14, "test_stable_sigmoid: your code called torch (as_tensor, numpy, sigmoid) while the "
     "grader checked a numpy exercise — review", "flags"),
    ("torch_in_numpy", A2, with_cells(A2, append=[("relu",
        "import torch\n\n\nclass ReLU(ReLU):\n    def forward(self, x):\n"
        "        self.positive = x > 0\n        return torch.relu(torch.from_numpy(x)).numpy()")]), 14,
     "relu: uses torch in a numpy exercise", "flags"),
]

HONEST = [  # graded beside the hostile ones: their points must not move
    ("honest_reference", A2, with_cells(A2, append=[("relu", f"# {HONEST_MARKER}")]), 14),
    ("honest_reference", A1, with_cells(A1), 10),
    ("honest_blank", A2, with_cells(A2, solved=set()), 0),
    ("honest_partial", A1, with_cells(A1, solved={"weighted_sum", "step"}), 3),
    ("honest_leaky", A2, with_cells(A2, [WRONG_LEAKY]), 12),
]

WRONG_NAME = ("wrong_file_name", A2, "homework.ipynb")
# a submitted notebook that is a symbolic link to the course's source notebook (solutions,
# hidden tests): refused, never followed — zero, and a flag naming the file
SYMLINK = ("symlink_to_source", A2, "source/02_activations/02_activations.ipynb", 0,
           "symbolic link")

# a student's notebook that is a hard link to an honest student's (issue 20): a link count
# says nothing of who wrote it, so both are read as bytes and graded as handed in — the
# honest student keeps full marks (on 2026.7 both were refused: "it is a hard link")
HARD_LINK = ("hard_link_to_honest", A1, "honest_reference", 10,
             "the same file as honest_reference's 01_perceptron (a hard link)")

# issue 20: with the grader run as root, student code was the host's root without
# capabilities, and read every root-only file bound in (/etc/shadow, into its feedback).
# It runs as an unprivileged user of its own now: every file of /etc that others may not
# read stays unread, among them ROOT_ONLY, a 0600 file of root's the suite makes as root
# (test_hostile.root_only_file).
ROOT_ONLY = f"/etc/firstmlp-hostile-root-only-{os.getpid()}"
READ_ROOT_ONLY = '''
import os, stat
tried, read = ["/etc/shadow", "/etc/gshadow"], []
for folder, _, names in os.walk("/etc"):
    for name in names:
        path = os.path.join(folder, name)
        try:
            if stat.S_ISREG(os.lstat(path).st_mode) and not os.lstat(path).st_mode & stat.S_IROTH:
                tried.append(path)
        except OSError:
            pass
for path in tried:
    try:
        with open(path, "rb") as f:
            read.append((path, f.read(60)))
    except OSError:
        pass
print(f"the suite's root-only file tried: {'ROOT_ONLY' in tried}; root-only files read: {read}")
'''.replace("ROOT_ONLY", ROOT_ONLY)
CASES.append(("read_root_only_files", A2, with_cells(A2, append=[("relu", READ_ROOT_ONLY)]), 14,
              "the suite's root-only file tried: True; root-only files read: []", "notebook"))
