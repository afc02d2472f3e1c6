"""The sandbox's policy as data: what a notebook's sandbox is given and what it is
refused, in one frozen object (``Policy``), built for the course by ``course_policy``.

bubblewrap's command line and the fallback without it are rendered from it
(``boundary.bwrap_argv``, ``boundary.zygote_command``), the cgroups around the sandbox
are made from it, what it could not apply is said from it (``missing``), and the
audit below is rendered from it (``audit_table``): tests/sandbox/test_policy.py fails
when a row here disagrees with the code. Why each layer is there, and every channel
across the boundary, is in ``boundary``'s docstring.

Audit (``audit_table()``: a normal user's policy, and as root):
  sandbox namespaces    user (uid 65534), pid, net, ipc, uts, cgroup
  as root               pid, net, ipc, uts, cgroup; no user namespace: the command drops to a uid
                        and gid of the sandbox's own first
  notebook namespaces   user, mount, pid, net, ipc, uts (each notebook's own)
  environment           cleared, then only HOME LANG MKL_NUM_THREADS MNIST_ROOT MPLBACKEND
                        MPLCONFIGDIR OMP_NUM_THREADS PATH PYTHONDONTWRITEBYTECODE PYTHONNOUSERSITE
                        SPEECH_ROOT TMPDIR
  /tmp                  a tmpfs of 2 GiB, mode 1777 (a notebook's: its own, as large)
  hostname              notebook
  read-only binds       system (/usr /etc /opt /bin /lib /lib64 /sbin), python, data, font cache,
                        helpers (autograder/__init__.py autograder/student autograder/sandbox)
  masked                the hidden data (data_view.hidden), after the binds it lies in: an empty
                        read-only tmpfs over a folder, /dev/null over a file
  devices               a minimal /dev; with a cuda device: /sys read-only and /dev/nvidia*,
                        /dev/dri*
  rlimits               RLIMIT_CPU 1800/1805, RLIMIT_AS +6144 MiB, RLIMIT_FSIZE 256 MiB, RLIMIT_CORE
                        0, RLIMIT_NPROC 64
  Landlock reads        system (/usr /lib /lib64 /bin /etc /proc /sys /dev /opt), python, helpers
                        (autograder/__init__.py autograder/student), data
  Landlock writes       the notebook's scratch, /dev/null
  cgroups (as root)     pids 160, memory 6144 + 2048 MiB
"""

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder import PACKAGE, SANDBOX, STUDENT
from autograder.sandbox import limits
from autograder.sandbox.limits import MEMORY_MB, SCRATCH_BYTES, SYSTEM_DIRS, Limits

NOBODY = 65534
IDENTITY_BASE = 0x70000000  # + the worker's pid: the sandbox's own uid/gid, as root
PROCESSES = 160  # the zygote's tasks and one notebook's (64 by default), as root
ZYGOTE_MB = 2048  # the zygote's own memory, on top of a notebook's (as root: a cgroup)
UNSHARE_ALL = ("user", "pid", "net", "ipc", "uts", "cgroup")  # bubblewrap's --unshare-all
AS_ROOT = ("pid", "net", "ipc", "uts", "cgroup")  # no user namespace: it would map root in
NOTEBOOK_NAMESPACES = ("user", "mount", "pid", "net", "ipc", "uts")  # zygote.enter_namespaces
SYSTEM_BINDS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("bin", "lib", "lib64", "sbin")  # a link into /usr on merged systems
GPU_DEVICES = ("nvidia", "dri")  # /dev/<prefix>*, bound for a cuda device only


@dataclass(frozen=True)
class Bind:
    """One path of the host inside bubblewrap's sandbox. ``mode``: "ro" (read-only),
    "ro-try" (read-only where it exists), "dev-try" (a device, where it exists),
    "symlink" (``dest`` a link to ``source``) or "empty" (an empty read-only tmpfs over
    ``dest``: a hidden folder; a hidden file is /dev/null bound over it). ``why``: its
    kind, as the audit names it."""
    source: str
    dest: str
    mode: str = "ro"
    why: str = ""


@dataclass(frozen=True)
class Policy:
    """Everything the sandbox is given, in the order bubblewrap applies it: a mask
    after the bind it masks."""
    namespaces: tuple[str, ...]  # bubblewrap's new namespaces for the zygote
    uid: int                   # its uid and gid inside a user namespace of its own
    identity: int | None       # as root: the uid and gid it drops to (no user namespace)
    env: tuple[tuple[str, str], ...]  # (name, value), sorted: its whole environment
    scratch_bytes: int         # its private tmpfs /tmp (and each notebook's own)
    hostname: str
    binds: tuple[Bind, ...]    # in order
    devices: tuple[Bind, ...]  # the GPU's device files (a cuda device only)
    notebook_namespaces: tuple[str, ...]  # each notebook's own, entered by the zygote
    rlimits: tuple[limits.Rlimit, ...]  # per notebook; RLIMIT_AS on top of the warm image
    landlock_read: tuple[str, ...]  # what a notebook may read (and execute)
    landlock_write: tuple[str, ...]  # what it may write ("<scratch>": its own /tmp or folder)
    cgroups: tuple[tuple[str, int], ...] = field(default=())  # (controller, limit), as root


def sandbox_modules() -> list[Path]:
    """The helper code the sandbox may read: the package's ``__init__``, the student
    side (``autograder/student/``) and the sandbox's own (``autograder/sandbox/``)."""
    return [PACKAGE / "__init__.py", STUDENT, SANDBOX]


def python_dirs() -> list[str]:
    """Where this interpreter and its packages live (the venv included), those that exist:
    bubblewrap cannot bind a missing path (Landlock's list, ``limits.python_dirs``, keeps
    them all)."""
    return [d for d in limits.python_dirs() if Path(d).exists()]


def matplotlib_cache() -> str | None:
    """The grader's matplotlib font cache (read-only in the sandbox: no rebuild)."""
    try:
        import matplotlib
        cache = matplotlib.get_cachedir()
        return cache if any(Path(cache).glob("fontlist-*.json")) else None
    except Exception:
        return None


def environment(threads: int | None = None) -> dict[str, str]:
    """The zygote's whole environment: nothing of the grader's (no secret, no device:
    the checks get the run's device from the grader, the notebook sees only the GPU
    files bound in)."""
    from autograder.sandbox import data_view
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(Path.home()),
           "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", **data_view.environment(),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def course_binds(device: str | None = None) -> tuple[list[Bind], list[Bind]]:
    """What bubblewrap shows, in order: the system, the Python environment, the data
    (``data_view``: after the Python environment, since it masks inside it), the font
    cache, the helpers, and for a cuda device ``/sys``; then the GPU's device files."""
    from autograder.sandbox import data_view
    binds = [Bind(path, path, "ro-try", "system") for path in SYSTEM_BINDS]
    for link in SYSTEM_LINKS:
        target = os.path.realpath(f"/{link}")
        binds.append(Bind(target, f"/{link}", "symlink", "system") if target != f"/{link}"
                     else Bind(f"/{link}", f"/{link}", "ro-try", "system"))
    binds += [Bind(path, path, "ro", "python") for path in python_dirs()]
    binds += [Bind(path, path, "ro", "data") for path in data_view.shown()]
    binds += [Bind("", path, "empty", "hidden") if os.path.isdir(path)
              else Bind("/dev/null", path, "ro", "hidden") for path in data_view.hidden()]
    cache = matplotlib_cache()
    if cache:
        binds.append(Bind(cache, "/tmp/matplotlib", "ro", "font cache"))
    binds += [Bind(str(m), str(m), "ro-try", "helpers") for m in sandbox_modules()]
    devices: list[Bind] = []
    if device and str(device).startswith("cuda"):
        binds.append(Bind("/sys", "/sys", "ro-try", "gpu"))
        devices = [Bind(f"/dev/{name}", f"/dev/{name}", "dev-try", "gpu")
                   for name in sorted(os.listdir("/dev")) if name.startswith(GPU_DEVICES)]
    return binds, devices


def landlock_read(bubblewrap: bool = True) -> list[str]:
    """What Landlock lets a notebook read: the system and Python directories, the
    student-side helpers and the data shown; without bubblewrap the hidden data carved
    out (``data_view.carve``; ``WarmExecute.readable`` sends this)."""
    from autograder.sandbox import data_view
    from autograder.sandbox.limits import student_readable
    readable = student_readable(data_view.shown())
    return readable if bubblewrap else data_view.carve(readable, data_view.hidden(carving=True))


def course_policy(device: str | None = None, threads: int | None = None, identity: int | None = None,
                  env: dict[str, str] | None = None, limits: Limits | None = None,
                  memory_mb: int = MEMORY_MB, bubblewrap: bool = True) -> Policy:
    """The course's sandbox for ``device`` and ``threads`` (``identity``: as root, the
    sandbox's own uid, ``boundary.sandbox_identity``); ``env`` replaces the environment
    (``environment``), ``limits`` a notebook's defaults (``Limits()``); ``bubblewrap``:
    whether it starts (Landlock carves the hidden data out where it does not)."""
    binds, devices = course_binds(device)
    return Policy(
        namespaces=UNSHARE_ALL if identity is None else AS_ROOT, uid=NOBODY, identity=identity,
        env=tuple(sorted((environment(threads) if env is None else env).items())),
        scratch_bytes=SCRATCH_BYTES, hostname="notebook", binds=tuple(binds),
        devices=tuple(devices), notebook_namespaces=NOTEBOOK_NAMESPACES,
        rlimits=(limits or Limits()).rlimits(), landlock_read=tuple(landlock_read(bubblewrap)),
        landlock_write=("<scratch>", "/dev/null"),
        cgroups=(("pids", PROCESSES), ("memory", (memory_mb + ZYGOTE_MB) << 20)))


CGROUP_WHAT = {"pids": "processes", "memory": "memory"}
FALLBACK = ("no bubblewrap sandbox ({}): the notebook ran in the grader's own PID, network "
            "and IPC namespaces, with rlimits, Landlock and a pids cgroup only")


def missing(policy: Policy, bubblewrap_problem: str | None, cgroups_made: Sequence[bool] = ()) -> list[str]:
    """What of ``policy`` the sandbox could not apply, in words for every notebook's
    record: bubblewrap (``bubblewrap_problem``: None where it started) and with it the
    data it hides (unless Landlock hides it), and each of the cgroups tried
    (``cgroups_made``: one truth per ``policy.cgroups`` entry, as root)."""
    said = []
    if bubblewrap_problem is not None:
        from autograder.sandbox.data_view import unprotected
        said += [FALLBACK.format(bubblewrap_problem), *unprotected()]
    for (controller, _), made in zip(policy.cgroups, cgroups_made, strict=False):
        if not made:
            said.append(f"the sandbox's {CGROUP_WHAT[controller]} are not capped as a whole "
                        "(no cgroup could be made)")
    return said


def kinds(paths: Sequence[str], binds: Sequence[Bind]) -> str:
    """``paths`` named by the kind of the bind that shows each (``Bind.why``), in order;
    the system's and the helpers' by name."""
    def kind(path: str) -> str:
        if path in SYSTEM_DIRS or path in SYSTEM_BINDS:
            return "system"
        return next((b.why for b in binds if path == b.dest or path.startswith(b.dest + "/")),
                    "unbound")
    named: dict[str, list[str]] = {}
    for path in paths:
        named.setdefault(kind(path), []).append(path)
    spelled = {"system": lambda ps: " ".join(ps),
               "helpers": lambda ps: " ".join(os.path.relpath(p, PACKAGE.parent) for p in ps)}
    return ", ".join(f"{k} ({spelled[k](ps)})" if k in spelled else k for k, ps in named.items())


def audit_table(device: str = "cuda", threads: int = 2) -> str:
    """The audit (layer, what the policy gives) of the course's policy as a normal user
    and as root, each value read from the ``Policy``; this machine's paths are named by
    their kind (``Bind.why``), so the table is the same on every machine with the data."""
    user = course_policy(device, threads)
    root = course_policy(device, threads, identity=IDENTITY_BASE)
    shown = [b.dest for b in user.binds if b.why not in ("hidden", "gpu")]
    size = {"RLIMIT_AS": lambda s, h: f"+{s >> 20} MiB", "RLIMIT_FSIZE": lambda s, h: f"{s >> 20} MiB",
            "RLIMIT_CPU": lambda s, h: f"{s}/{h}"}
    cgroups = dict(user.cgroups)
    rows = [
        ("sandbox namespaces", ", ".join(f"user (uid {user.uid})" if n == "user" else n
                                         for n in user.namespaces)),
        ("as root", ", ".join(root.namespaces) + "; no user namespace: the command drops to a "
                    "uid and gid of the sandbox's own first"),
        ("notebook namespaces", ", ".join(user.notebook_namespaces) + " (each notebook's own)"),
        ("environment", "cleared, then only " + " ".join(name for name, _ in user.env)),
        ("/tmp", f"a tmpfs of {user.scratch_bytes >> 30} GiB, mode 1777 (a notebook's: its "
                 "own, as large)"),
        ("hostname", user.hostname),
        ("read-only binds", kinds(shown, user.binds)),
        ("masked", "the hidden data (data_view.hidden), after the binds it lies in: an "
                   "empty read-only tmpfs over a folder, /dev/null over a file"),
        ("devices", "a minimal /dev; with a cuda device: /sys read-only and "
                    + ", ".join(f"/dev/{prefix}*" for prefix in GPU_DEVICES)),
        ("rlimits", ", ".join(f"{name} {size.get(name, lambda s, h: str(s))(soft, hard)}"
                              for name, soft, hard in user.rlimits)),
        ("Landlock reads", kinds(user.landlock_read, user.binds)),
        ("Landlock writes", ", ".join(user.landlock_write).replace("<scratch>",
                                                                   "the notebook's scratch")),
        ("cgroups (as root)", f"pids {cgroups['pids']}, memory "
                              f"{(cgroups['memory'] >> 20) - ZYGOTE_MB} + {ZYGOTE_MB} MiB"),
    ]
    return "\n".join(textwrap.fill(value, 100, initial_indent=f"  {layer:<20}  ",
                                  subsequent_indent=" " * 24, break_on_hyphens=False)
                     for layer, value in rows)
