"""Confine the process that runs a student's notebook (called in the forked child).

``confine(limits, scratch, readable, group)`` applies, in this order:
  * resource limits: CPU seconds (SIGXCPU, then SIGKILL), address space (a memory
    bomb gets ``MemoryError``), file size, no core dumps, and a process count;
  * Landlock (Linux ≥ 5.13, unprivileged): the process may read only the system and
    Python directories, ``autograder/student/`` and the data set, may write
    only its scratch (its own tmpfs ``/tmp``: ``zygote.mount_scratch``), and may not
    open TCP connections. ``solutions/``,
    ``course/``, the nbgrader course folder (sources with hidden tests, gradebook,
    other students' files) are out of reach;
  * a cap on processes: as root (which RLIMIT_NPROC ignores) a pids cgroup of its own
    (``ProcessGroup``), which also lets the grader kill every process the notebook
    started, even one that left its process group; otherwise RLIMIT_NPROC.

``policy.missing`` lists what could not be applied (nothing on Linux with bubblewrap
and, as root, cgroups), so the grader can say so instead of pretending.
"""

import ctypes
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

Rlimit = tuple[str, int, int]  # (resource.RLIMIT_* name, soft, hard)

SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER, PR_CAPBSET_DROP = 38, 36, 24
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_ALL_V1 = (1 << 13) - 1          # ABI 1: execute … make_sym
FS_REFER, FS_TRUNCATE = 1 << 13, 1 << 14
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
READ_FILE_ONLY = FS_EXECUTE | FS_READ_FILE
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/bin", "/etc", "/proc", "/sys", "/dev", "/opt")
SCRATCH_BYTES = 2 << 30  # a notebook's own tmpfs /tmp (and the sandbox's shared one)
CELL_SECONDS = 600       # a cell's wall-clock limit (kept by the worker, outside)
NOTEBOOK_SECONDS = 1800  # a notebook's wall-clock limit (kept by the worker, outside)
MEMORY_MB = 6144         # a notebook's memory: address space on top of the warm image,
#                          and (as root) the sandbox's memory cgroup beside the zygote's own


@dataclass
class Limits:
    """A notebook's limits: each default is stated here once, and the grader's settings
    (``WarmExecute``) default to these. The CPU limit is the notebook's wall-clock limit:
    a notebook computing on one thread reaches its deadline (the worker's) before its
    CPU limit, and one that spreads over threads is stopped by whichever comes first
    (before issue 23 the default here said 900 while grading always passed 1800)."""
    cpu_seconds: int = NOTEBOOK_SECONDS
    memory_bytes: int = MEMORY_MB << 20  # on top of what the warm worker already maps
    file_bytes: int = 256 << 20
    processes: int = 64
    output_bytes: int = 1 << 20       # recorded stdout/stderr per notebook
    scratch_bytes: int = SCRATCH_BYTES  # its /tmp, a tmpfs of its own (memory, as root capped)

    def rlimits(self, virtual: int = 0) -> tuple[Rlimit, ...]:
        """The resource limits as (name, soft, hard); the address space on top of
        ``virtual`` bytes (what the warm image already maps)."""
        memory = virtual + self.memory_bytes
        return (("RLIMIT_CPU", self.cpu_seconds, self.cpu_seconds + 5),
                ("RLIMIT_AS", memory, memory),
                ("RLIMIT_FSIZE", self.file_bytes, self.file_bytes),
                ("RLIMIT_CORE", 0, 0),
                ("RLIMIT_NPROC", self.processes, self.processes))


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """Landlock's ABI version, 0 where the kernel has none."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def restrict_files(readable: Iterable[str], writable: Iterable[str]) -> None:
    """Landlock: read (and execute) only ``readable``, read and write only
    ``writable``; no TCP bind/connect where the kernel supports it (ABI ≥ 4)."""
    abi = landlock_abi()
    handled = FS_ALL_V1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(handled, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 4 else 8
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((readable, READ), (writable, handled)):
            for path in paths:
                add_path_rule(ruleset, path, access)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def add_path_rule(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path this machine lacks
    try:
        if not os.path.isdir(path):
            access &= READ_FILE_ONLY | FS_WRITE_FILE | FS_TRUNCATE
        rule = _PathBeneath(access, fd)
        if _libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, ctypes.c_int(1), ctypes.byref(rule),
                         ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def python_dirs() -> list[str]:
    """Where this interpreter and its packages live (the venv included)."""
    import site
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    return sorted(d for d in dirs if d)


def student_readable(extra: Iterable[str | Path | None] = ()) -> list[str]:
    """System and Python directories, the student side of the helpers
    (``autograder/student/`` and the package's ``__init__``), ``extra``."""
    from autograder import PACKAGE, STUDENT
    return [*SYSTEM_DIRS, *python_dirs(), str(PACKAGE / "__init__.py"), str(STUDENT),
            *(str(p) for p in extra if p)]


def set_limits(limits: Limits) -> None:
    for name, soft, hard in limits.rlimits(current_virtual_memory()):
        resource.setrlimit(getattr(resource, name), (soft, hard))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises OSError instead


def current_virtual_memory() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def task_count_of_user(uid: int) -> int:
    """Processes and threads of ``uid`` now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


class ProcessGroup:
    """A cgroup (v1 or v2) holding a notebook's or a sandbox's processes: at most
    ``limit`` of them (``controller="pids"``) or ``limit`` bytes of memory, tmpfs pages
    included (``"memory"``), and every one of them can be killed, wherever it went.
    Root only; ``path`` is None where no cgroup can be made."""

    CONTROLLERS = {  # controller: ((v1 root, limit file), (v2 root, limit file))
        "pids": (("/sys/fs/cgroup/pids", "pids.max"), ("/sys/fs/cgroup", "pids.max")),
        "memory": (("/sys/fs/cgroup/memory", "memory.limit_in_bytes"),
                   ("/sys/fs/cgroup", "memory.max")),
    }

    def __init__(self, name: str, limit: int, controller: str = "pids") -> None:
        self.path: str | None = None  # None: no group could be made
        self.controller: str | None = controller
        if os.geteuid() != 0:
            return
        for root, limit_file in self.CONTROLLERS[controller]:
            if not os.path.isfile(os.path.join(root, "cgroup.procs")):
                continue
            path = os.path.join(root, f"{name}-{controller}" if root == "/sys/fs/cgroup" else name)
            try:
                os.makedirs(path, exist_ok=True)
                with open(os.path.join(path, limit_file), "w") as f:
                    f.write(str(limit))
                self.path = path
                return
            except OSError:
                self.remove_dir(path)

    @classmethod
    def remove_stale(cls, prefix: str, alive: Callable[[int], bool]) -> None:
        """Kill and remove the groups named ``prefix<pid>-…`` whose pid is not ``alive``
        (left by a grader that was killed before it could clean up)."""
        for controller in cls.CONTROLLERS.values():
            for root, _ in controller:
                try:
                    names = os.listdir(root)
                except OSError:
                    continue
                for name in names:
                    owner = name[len(prefix):].split("-")[0] if name.startswith(prefix) else ""
                    if owner.isdigit() and not alive(int(owner)):
                        group = cls.__new__(cls)
                        group.path, group.controller = os.path.join(root, name), None
                        group.kill_all()

    def join(self) -> None:
        """Called by the child before it starts anything."""
        assert self.path is not None, "join() is called only for a group that was made"
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def kill_all(self) -> None:
        if self.path is None:
            return
        for _ in range(200):
            try:
                with open(os.path.join(self.path, "cgroup.procs")) as f:
                    pids = [int(line) for line in f if line.strip()]
            except OSError:
                return
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        self.remove_dir(self.path)

    def oom_kills(self) -> int:
        """How many processes the kernel has killed for going over this memory group's
        limit (``oom_kill`` in memory.events, v2, or memory.oom_control, v1); 0 if unknown."""
        for name in ("memory.events", "memory.oom_control"):
            try:
                with open(os.path.join(self.path or "", name)) as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
            except (OSError, ValueError):
                continue
        return 0

    @staticmethod
    def remove_dir(path: str) -> None:
        try:
            os.rmdir(path)
        except OSError:
            pass


def confine(limits: Limits, scratch: str | Path, readable: Iterable[str],
            group: ProcessGroup | None = None) -> None:
    """Confine this process as far as this machine allows (``policy.missing`` says
    what it cannot), then drop every capability."""
    if group is not None and group.path:
        group.join()
    elif os.geteuid() != 0:  # RLIMIT_NPROC counts all of this user's tasks
        limits = replace(limits, processes=task_count_of_user(os.getuid()) + limits.processes)
    set_limits(limits)
    if landlock_abi() >= 1:
        restrict_files(readable, [str(scratch), "/dev/null"])
    drop_capabilities()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    """No capability left, none to regain: the bounding set emptied, then the
    effective, permitted and inheritable sets (a notebook that made its own user
    namespace holds every capability in it until now)."""
    for capability in range(64):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # fails harmlessly past the last
    header, data = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _libc.capset(ctypes.byref(header), data)


def become_subreaper() -> None:
    """Orphans of this process's descendants come back to it (to be reaped)."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
