"""Find submissions: nbgrader's ``submitted/<student>/<assignment>/`` tree, a folder or
zip of notebooks named by student as an LMS exports them, or a folder holding both.

The LMS file-name pattern is a regular expression with the named groups ``student``
and ``assignment``; the default reads Canvas-style names such as
``smithjane_12345_67890_02_activations.ipynb`` or
``smithjane_LATE_12345_67890_02_activations-1.ipynb``.

Intake is made for hostile input (the grader that reads the result runs unsandboxed),
and **a refused item costs only its owner**: it is a zero with the reason for the
student who handed it in, never a refusal of a neighbour, of the class, or a wider run.

* Links are never followed. A notebook, student folder or assignment folder that is a
  symbolic link is refused for the student who holds it. A refused student folder is
  one Submission with ``assignment=None``: the grader gives it a zero for each
  assignment the run grades (it never adds one to them).
* A hard link is read like any file: its bytes are copied once, and never judged by the
  file's link count — nobody can tell which of two names is "the original", so an
  honest student whose notebook another student linked is graded as usual. Submissions
  read from one file each get a note naming the others. What is refused is a file that
  *is* one of the grader's own (``keep_out``: the identities of the course folder's and
  the project's files, such as the source notebook with its hidden tests).
* Only regular files are read: FIFOs (which block a reader forever), device files and
  sockets are refused. Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked
  with ``fstat`` on the opened descriptor, and folders are walked by descriptor, so
  nothing can be swapped in between the check and the read.
* Each accepted notebook is read once, at most ``MAX_NOTEBOOK_BYTES`` (plus one byte:
  sizes are counted, never trusted), and copied into the scratch folder under a name
  intake makes (never the student's: no name, however a filesystem folds it, reaches
  another student's copy); ``Submission.path`` is that copy and the student's file is
  never touched again.
* nbgrader's ``timestamp.txt`` beside a notebook in an nbgrader tree (when it was
  handed in) is read the same way; one that is not a date and time is a note, not a
  time. An LMS file's own time is never read as one (an LMS zip dates every file
  with the zip's time); its ``LATE`` mark is (``late``).
* JSON nested deeper than ``MAX_JSON_DEPTH`` is refused (it would crash a parser);
  nothing else about the notebook is checked here.
* A student name is plain (``name_problem``): nbgrader finds a student's folder with a
  glob, so a student called ``*`` would be graded as every student; a file or folder
  named so is listed as unmatched.
* Two files for one student and assignment: the last (by name) is graded and the other
  is listed as unmatched, naming it; a student folder beside an LMS file for the same
  work wins over the file. A stray folder beside LMS files hides none of them.
* Zip members are streamed in chunks, never read whole: members that are links or
  other special files, that have absolute or ``..`` paths, that are encrypted or
  compressed other than stored/deflated (bzip2 and lzma decompress without a bound) are
  refused. The zip's caps are charged member by member, smallest declared size first
  (zipfile never unpacks more than a member declares): a member over a cap — its own
  size, ``MAX_ZIP_MEMBERS`` notebooks read from one zip, ``MAX_ZIP_TOTAL`` bytes
  unpacked in all — is refused with the cap named, and the others are graded. Only a
  source that is neither a folder nor a readable zip raises ``IntakeError``.

A refused notebook is still returned, with ``path=None`` and ``refused`` saying which
file and why, so that the grader records a zero with that reason.
"""

import errno
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TypeVar

from autograder.errors import FirstmlpError

Identity = tuple[int, int]  # (device, inode) of a file
Read = Callable[[int], bytes]  # read(n): at most n more bytes, b"" at the end
Handle = TypeVar("Handle")  # what ``choose`` hands back for a name: a file name, a zip member

LMS_PATTERN = (r"^(?P<student>[A-Za-z0-9.\-]+)_(?:(?P<late>LATE)_)?(?:\d+_)*"
               r"(?P<assignment>\d\d_[A-Za-z0-9_]+?)(?:-\d+)?\.ipynb$")

MAX_NOTEBOOK_BYTES = 50 << 20
MAX_ZIP_MEMBERS = 5000  # notebooks read from one zip
MAX_ZIP_TOTAL = 2 << 30  # bytes unpacked from one zip, all its members together
MAX_JSON_DEPTH = 100
CHUNK_BYTES = 1 << 20
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # both decompress in bounded steps
OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
OPEN_FOLDER = OPEN_FILE | os.O_DIRECTORY
IS_LINK = "is a symbolic link (links are never followed)"
LINK = f"it {IS_LINK}"
GRADERS_OWN = ("it is one of the course's own files (a hard link into the grader's folders), "
               "never read as a submission")
UNSAFE_IN_NAMES = set("/\\*?[]")  # a path separator, or a glob character (nbgrader globs)
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's: when the work was handed in


class IntakeError(FirstmlpError):
    """The submissions source as a whole cannot be used; the message is one line."""


class Refused(Exception):
    """One notebook is not taken in; the message says why."""


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str | None  # None: the student's whole folder was refused (see ``refused``)
    path: Path | None  # a private copy of the notebook as handed in; None when refused
    refused: str | None = None  # "refused <file>: <why>": graded zero, never read
    late: bool = False  # the LMS marked the file late (the pattern's ``late`` group matched)
    notes: tuple[str, ...] = ()  # what a grader should know, each one line (flags): a shared file
    file: Identity | None = None  # (device, inode) of the file read, for ``note_shared_files``
    timestamp: str | None = None  # when it was handed in (nbgrader's timestamp.txt), UTC


def named(s: Submission) -> tuple[str, str]:
    """(student, assignment) of a submission that names its assignment: every one after
    ``steps.over_scope``, which gives each refused folder's zero its assignment."""
    if s.assignment is None:
        raise ValueError(f"{s.student}'s refused folder names no assignment (steps.over_scope)")
    return s.student, s.assignment


@dataclass(frozen=True)
class Unmatched:
    path: Path
    reason: str


def special_file(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    kinds = {stat.S_IFLNK: LINK, stat.S_IFDIR: "it is a folder, not a file",
             stat.S_IFIFO: "it is a FIFO (named pipe), not a file",
             stat.S_IFCHR: "it is a device file", stat.S_IFBLK: "it is a device file",
             stat.S_IFSOCK: "it is a socket, not a file"}
    return None if stat.S_ISREG(mode) else kinds.get(stat.S_IFMT(mode), "it is not a regular file")


def name_problem(student: str) -> str | None:
    """Why ``student`` cannot name a student, or None: not empty, ``.`` or ``..``, and
    no path separator, glob character (nbgrader finds a student's folder with a glob: a
    student ``*`` would be graded as every student) or control or format character."""
    shown = "".join("?" if unicodedata.category(c)[0] == "C" else c for c in student)
    if student in ("", ".", "..") or shown != student or UNSAFE_IN_NAMES & set(student):
        return f"unusable student name '{shown}'"
    return None


def lstat_mode(name: str, dir_fd: int) -> int:
    """The type and mode of ``name`` itself (not of what it links to); 0 if it vanished."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return 0


def open_folder(name: str, dir_fd: int | None = None) -> int:
    """A descriptor for a folder, never through a link (only ``name`` itself is opened)."""
    try:
        return os.open(name, OPEN_FOLDER, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"it changed while being read ({error.strerror})") from None


def read_capped(read: Read) -> bytearray:
    """All that ``read(n)`` gives, refused past MAX_NOTEBOOK_BYTES: bytes are counted
    as they come (at most the cap plus one is read), declared sizes are not trusted."""
    data = bytearray()
    while chunk := read(min(CHUNK_BYTES, MAX_NOTEBOOK_BYTES + 1 - len(data))):
        data += chunk
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise Refused(too_large())
    return data


def too_large() -> str:
    return f"it is larger than the {MAX_NOTEBOOK_BYTES / 2**20:.3g} MB limit"


def read_file_at(dir_fd: int, name: str,
                 keep_out: Collection[Identity] = frozenset()) -> tuple[bytearray, Identity]:
    """(bytes, (device, inode)) of ``name`` in folder ``dir_fd``, read once through one
    descriptor that is checked to be a regular file and none of the grader's own
    (``keep_out``). How many names the file has is not judged: see the module's doc."""
    problem = special_file(lstat_mode(name, dir_fd))  # never open a device or a FIFO
    if problem:
        raise Refused(problem)
    try:
        fd = os.open(name, OPEN_FILE, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(LINK if error.errno == errno.ELOOP
                      else f"it could not be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        problem = special_file(info.st_mode)
        if problem:
            raise Refused(problem)
        if (info.st_dev, info.st_ino) in keep_out:
            raise Refused(GRADERS_OWN)
        return read_capped(partial(os.read, fd)), (info.st_dev, info.st_ino)
    finally:
        os.close(fd)


def file_identities(roots: Iterable[str | Path], skip: str | Path | None = None) -> frozenset[Identity]:
    """(device, inode) of every regular file under ``roots`` (links not followed), but
    not under ``skip`` (the submissions themselves): the files that no submission may
    be, ``collect``'s ``keep_out``."""
    skip = Path(skip).resolve() if skip else None
    found: set[Identity] = set()
    for root in roots:
        for folder, folders, files in os.walk(root):
            folders[:] = [f for f in folders if Path(folder, f) != skip]
            for name in files:
                try:
                    info = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    found.add((info.st_dev, info.st_ino))
    return frozenset(found)


JSON_TOKEN = re.compile(rb'"(?:[^"\\]+|\\.)*(?:"|\Z)|[\[\]{}]', re.S)  # a string, or a bracket


def json_depth_refusal(data: bytes | bytearray, name: str = "the notebook") -> str | None:
    """A refusal if the JSON in ``data`` nests brackets more than MAX_JSON_DEPTH deep
    (brackets inside strings do not count); None otherwise. Nothing else is checked."""
    depth = 0
    for token in JSON_TOKEN.finditer(data):
        first = data[token.start()]
        if first in b"[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return f"refused {name}: its JSON is nested more than {MAX_JSON_DEPTH} levels deep"
        elif first in b"]}":
            depth -= 1
    return None


def take(student: str, assignment: str, name: str, read: Callable[[], tuple[bytearray, Identity | None]],
         scratch: str | Path, late: bool = False) -> Submission:
    """The submission of one notebook: ``read()`` gives (its bytes, the file's identity
    or None) or raises Refused; the bytes are checked and copied into the scratch folder."""
    try:
        data, identity = read()
    except Refused as why:
        return Submission(student, assignment, None, f"refused {name}: {why}", late)
    refusal = json_depth_refusal(data, name)
    if refusal:
        return Submission(student, assignment, None, refusal, late)
    return Submission(student, assignment, private_copy(scratch, data), late=late, file=identity)


def private_copy(scratch: str | Path, data: bytes | bytearray) -> Path:
    """``data`` in a new file of ``scratch/files/`` named by intake, never by a student."""
    folder = Path(scratch) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(suffix=".ipynb", dir=folder)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Path(path)


def note_shared_files(found: Iterable[Submission]) -> list[Submission]:
    """Submissions read from one file (hard links) each get a note naming the others;
    all are graded as handed in (which name is the original, nobody can tell)."""
    sharing: dict[Identity | None, list[Submission]] = {}
    for s in found:
        if s.file is not None:
            sharing.setdefault(s.file, []).append(s)
    noted = []
    for s in found:
        others = [o for o in sharing.get(s.file, []) if o is not s]
        if others:
            names = ", ".join(f"{o.student}'s {o.assignment}" for o in others)
            s = replace(s, notes=s.notes + (f"the same file as {names} (a hard link): both "
                                            "graded as handed in",))
        noted.append(s)
    return noted


def scratch_folder(scratch: str | Path | None) -> Path:
    return Path(scratch) if scratch is not None else Path(tempfile.mkdtemp(prefix="intake-"))


def student_folder(root: Path, student: str, root_fd: int, assignments: Collection[str], scratch: Path,
                   keep_out: Collection[Identity], found: list[Submission],
                   unmatched: list["Unmatched"]) -> None:
    """One top-level folder of an nbgrader tree, into ``found`` and ``unmatched``. A
    folder that cannot be walked is refused for its student only (``assignment=None``)."""
    problem = name_problem(student)
    if problem:
        unmatched.append(Unmatched(root / student, problem))
        return
    if stat.S_ISLNK(lstat_mode(student, root_fd)):
        found.append(Submission(student, None, None,
                                f"refused {student}/: the student folder {IS_LINK}"))
        return
    try:
        student_fd = open_folder(student, root_fd)
    except Refused as why:
        found.append(Submission(student, None, None, f"refused {student}/: {why}"))
        return
    try:
        student_work(root, student, student_fd, assignments, scratch, keep_out, found, unmatched)
    finally:
        os.close(student_fd)


def student_work(root: Path, student: str, student_fd: int, assignments: Collection[str], scratch: Path,
                 keep_out: Collection[Identity], found: list[Submission],
                 unmatched: list["Unmatched"]) -> None:
    """One student's assignment folders, into ``found`` and ``unmatched``."""
    for assignment in sorted(os.listdir(student_fd)):
        folder, name = root / student / assignment, f"{student}/{assignment}"
        mode = lstat_mode(assignment, student_fd)
        if not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            continue
        if assignment not in assignments:
            unmatched.append(Unmatched(folder, f"unknown assignment '{assignment}'"))
        elif stat.S_ISLNK(mode):
            found.append(Submission(student, assignment, None,
                                    f"refused {name}: the assignment folder {IS_LINK}"))
        else:
            try:
                folder_fd = open_folder(assignment, student_fd)
            except Refused as why:
                found.append(Submission(student, assignment, None, f"refused {name}: {why}"))
                continue
            try:
                notebook, others = f"{assignment}.ipynb", sorted(os.listdir(folder_fd))
                if notebook in others:
                    submission = take(student, assignment, f"{name}/{notebook}",
                                      partial(read_file_at, folder_fd, notebook, keep_out), scratch)
                    if TIMESTAMP_FILE in others and submission.refused is None:
                        submission = handed_in_at(submission, folder_fd, keep_out)
                    found.append(submission)
                else:
                    unmatched.append(Unmatched(folder, f"no {notebook} in it (found: "
                                                       f"{', '.join(others) or 'nothing'})"))
            finally:
                os.close(folder_fd)


def handed_in_at(submission: Submission, folder_fd: int, keep_out: Collection[Identity]) -> Submission:
    """``submission`` with the time in the ``timestamp.txt`` beside it (nbgrader's
    record of when it was handed in, written by ``nbgrader collect``), read as the
    notebook is; a file that is unreadable or no date and time is a note, not a time."""
    from autograder.grading.late import read_timestamp
    try:
        data, _ = read_file_at(folder_fd, TIMESTAMP_FILE, keep_out)
    except Refused as why:
        return replace(submission, notes=submission.notes + (f"{TIMESTAMP_FILE} ignored: {why}",))
    timestamp, problem = read_timestamp(data)
    if problem:
        return replace(submission, notes=submission.notes + (problem,))
    return replace(submission, timestamp=timestamp)


def choose(entries: Iterable[tuple[str, Path, Handle]], assignments: Collection[str], pattern: str,
           ) -> tuple[dict[tuple[str, str], tuple[str, Handle, bool]], list["Unmatched"]]:
    """``entries``: (file name, path to show, handle) in order; returns
    ({(student, assignment): (name, handle, late)}, unmatched). The last of a duplicate
    is graded, the earlier ones are listed as unmatched with its name; ``late`` is True
    when the pattern's optional ``late`` group matched."""
    regex = re.compile(pattern)
    chosen: dict[tuple[str, str], tuple[str, Handle, bool]] = {}
    shown_as: dict[tuple[str, str], Path] = {}
    unmatched: list[Unmatched] = []
    for name, shown, handle in entries:
        match = regex.match(name)
        if not match:
            unmatched.append(Unmatched(shown, "file name does not match the LMS pattern"))
        elif match["assignment"] not in assignments:
            unmatched.append(Unmatched(shown, f"unknown assignment '{match['assignment']}'"))
        elif problem := name_problem(match["student"]):
            unmatched.append(Unmatched(shown, problem))
        else:
            key = (match["student"], match["assignment"])
            if key in chosen:
                unmatched.append(Unmatched(shown_as[key], f"another file for {key[0]}'s {key[1]} "
                                                          f"is graded: {name}"))
            chosen[key], shown_as[key] = (name, handle, bool(match.groupdict().get("late"))), shown
    return dict(sorted(chosen.items())), unmatched


def from_folder(root: Path, assignments: Collection[str], pattern: str, scratch: Path,
                keep_out: Collection[Identity] = frozenset()) -> tuple[list[Submission], list["Unmatched"]]:
    """Each top-level folder is a student's (nbgrader's tree), each other entry an LMS
    file: a stray folder (``__MACOSX``) hides no file beside it. A link is refused: as a
    file when the pattern matches its name or no folder is beside it, else as a student
    folder."""
    regex = re.compile(pattern)
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)  # the instructor's root: may be a link
    try:
        found: list[Submission] = []
        unmatched: list[Unmatched] = []
        files: list[tuple[str, Path, str]] = []
        modes = {name: lstat_mode(name, root_fd) for name in sorted(os.listdir(root_fd))}
        tree = any(stat.S_ISDIR(mode) for mode in modes.values())
        for name, mode in modes.items():
            if stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and tree and not regex.match(name)):
                student_folder(root, name, root_fd, assignments, scratch, keep_out, found,
                               unmatched)
            else:
                files.append((name, root / name, name))
        chosen, skipped = choose(files, assignments, pattern)
        in_folders = {(s.student, s.assignment) for s in found}
        for (student, assignment), (name, _, late) in chosen.items():
            if (student, assignment) in in_folders:
                skipped.append(Unmatched(root / name, f"{student}'s {assignment} is also in the "
                                                      f"folder {student}/, which is graded"))
            else:
                found.append(take(student, assignment, name,
                                  partial(read_file_at, root_fd, name, keep_out), scratch, late))
        return found, unmatched + skipped
    finally:
        os.close(root_fd)


def zip_member_problem(member: zipfile.ZipInfo) -> str | None:
    """Why a zip member is refused before any of it is read; None if it may be read."""
    path = PurePosixPath(member.filename.replace("\\", "/"))
    if path.is_absolute() or re.match(r"[A-Za-z]:", member.filename):
        return "its path in the zip is absolute"
    if ".." in path.parts:
        return "its path in the zip climbs out with '..'"
    kind = stat.S_IFMT(member.external_attr >> 16)
    if kind not in (0, stat.S_IFREG):
        return special_file(kind)
    if member.flag_bits & 0x1:
        return "it is encrypted"
    if member.compress_type not in ZIP_METHODS:
        return "it is compressed with a method other than stored or deflated"
    if member.file_size > MAX_NOTEBOOK_BYTES:  # zipfile never unpacks more than declared
        return too_large()
    return None


class ZipCaps:
    """The caps of one zip, charged member by member as they are read (smallest
    declared size first): the member that would pass a cap is refused, naming it, and
    so is each read after; the members read before are kept."""

    def __init__(self, archive: zipfile.ZipFile, notebooks: int) -> None:
        self.archive, self.notebooks = archive, notebooks
        self.read_so_far, self.unpacked = 0, 0

    def over_total(self) -> Refused:
        return Refused(f"the zip's notebooks unpack to more than its cap of "
                       f"{MAX_ZIP_TOTAL / 2**20:.3g} MB in all (read smallest first): "
                       "this one was not read")

    def read(self, member: zipfile.ZipInfo) -> tuple[bytearray, None]:
        """(bytes, None) of one member, or Refused."""
        problem = zip_member_problem(member)
        if problem:
            raise Refused(problem)
        if self.read_so_far >= MAX_ZIP_MEMBERS:
            raise Refused(f"the zip holds {self.notebooks} notebooks, over its cap of "
                          f"{MAX_ZIP_MEMBERS} read from one zip (read smallest first): "
                          "this one was not read")
        if self.unpacked >= MAX_ZIP_TOTAL:
            raise self.over_total()
        self.read_so_far += 1
        try:
            with self.archive.open(member) as stream:
                return read_capped(partial(self.counted, stream.read)), None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError) as error:
            raise Refused(f"it cannot be read from the zip ({type(error).__name__}: {error})") \
                from None

    def counted(self, read: Read, n: int) -> bytes:
        chunk = read(n)
        self.unpacked += len(chunk)
        if self.unpacked > MAX_ZIP_TOTAL:
            raise self.over_total()
        return chunk


def from_zip(source: Path, assignments: Collection[str], pattern: str,
             scratch: Path) -> tuple[list[Submission], list["Unmatched"]]:
    """A zip of LMS files; folders inside it are flattened (only base names count)."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise IntakeError(f"cannot read the zip {source.name}: {error}") from None
    with archive:
        members = [(PurePosixPath(m.filename.replace("\\", "/")).name, m) for m in archive.infolist()
                 if not (m.is_dir() or stat.S_ISDIR(m.external_attr >> 16))]
        files = [(name, Path(f"{source.name}:{m.filename}"), m)
                 for name, m in sorted(members, key=lambda item: item[0]) if name]
        chosen, unmatched = choose(files, assignments, pattern)
        caps = ZipCaps(archive, len(chosen))
        smallest_first = sorted(chosen.items(), key=lambda item: (item[1][1].file_size, item[0]))
        found = [take(s, a, member.filename, partial(caps.read, member), scratch, late)
                 for (s, a), (_, member, late) in smallest_first]
        return sorted(found, key=lambda s: (s.student, s.assignment)), unmatched


def collect(source: str | Path, assignments: Collection[str], pattern: str = LMS_PATTERN,
            scratch: str | Path | None = None,
            keep_out: Collection[Identity] = frozenset()) -> tuple[list[Submission], list["Unmatched"]]:
    """Submissions under ``source``: an nbgrader ``submitted`` tree, a folder of LMS
    files (or both), or a zip of LMS files. Accepted notebooks are copied into
    ``scratch`` (a new temporary folder if None); a file whose (device, inode) is in
    ``keep_out`` (``file_identities``) is refused. Raises IntakeError if the source
    cannot be used."""
    source = Path(source).resolve()
    if source.is_dir():
        found, unmatched = from_folder(source, assignments, pattern, scratch_folder(scratch),
                                       keep_out)
        return note_shared_files(found), unmatched
    if not source.exists():
        raise IntakeError(f"no submissions at {source}: give a folder or a zip file")
    if not (source.is_file() and zipfile.is_zipfile(source)):
        raise IntakeError(f"no submissions at {source}: it is neither a folder nor a "
                          "readable zip file")
    return from_zip(source, assignments, pattern, scratch_folder(scratch))
