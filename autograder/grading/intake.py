"""Find submissions: nbgrader's ``submitted/<student>/<assignment>/`` tree, or a
folder or zip of notebooks named by student as an LMS exports them.

The LMS file-name pattern is a regular expression with the named groups ``student``
and ``assignment``; the default reads Canvas-style names such as
``smithjane_12345_67890_02_activations.ipynb`` or
``smithjane_LATE_12345_67890_02_activations-1.ipynb``.

Intake is made for hostile input (the grader that reads the result runs unsandboxed):

* Links are never followed. A notebook, student folder or assignment folder that is a
  symbolic link is refused (a student folder: a zero for each assignment), and so is a
  hard link (a file with more than one name): either could point at the course's source
  notebook and its hidden tests.
* Only regular files are read: FIFOs (which block a reader forever), device files and
  sockets are refused. Files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked
  with ``fstat`` on the opened descriptor, and folders are walked by descriptor, so
  nothing can be swapped in between the check and the read.
* Each accepted notebook is read once, at most ``MAX_NOTEBOOK_BYTES`` (plus one byte:
  sizes are counted, never trusted), and copied into the scratch folder;
  ``Submission.path`` is that private copy and the student's file is never touched again.
* JSON nested deeper than ``MAX_JSON_DEPTH`` is refused (it would crash a parser);
  nothing else about the notebook is checked here.
* Zip members are streamed in chunks, never read whole: members that are links or
  other special files, that have absolute or ``..`` paths, that are encrypted or
  compressed other than stored/deflated (bzip2 and lzma decompress without a bound) are
  refused. An archive with more than ``MAX_ZIP_MEMBERS`` members, or that decompresses
  to more than ``MAX_ZIP_TOTAL`` bytes, or that is not a readable zip, raises
  ``IntakeError``, as does a source that is neither a folder nor a zip.

A refused notebook is still returned, with ``path=None`` and ``refused`` saying which
file and why, so that the grader records a zero with that reason.
"""

import errno
import os
import re
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

LMS_PATTERN = (r"^(?P<student>[A-Za-z0-9.\-]+)_(?:(?P<late>LATE)_)?(?:\d+_)*"
               r"(?P<assignment>\d\d_[A-Za-z0-9_]+?)(?:-\d+)?\.ipynb$")

MAX_NOTEBOOK_BYTES = 50 << 20
MAX_ZIP_MEMBERS = 5000
MAX_ZIP_TOTAL = 2 << 30
MAX_JSON_DEPTH = 100
CHUNK_BYTES = 1 << 20
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # both decompress in bounded steps
OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
OPEN_FOLDER = OPEN_FILE | os.O_DIRECTORY
IS_LINK = "is a symbolic link (links are never followed)"
LINK = f"it {IS_LINK}"


class IntakeError(Exception):
    """The submissions source as a whole cannot be used; the message is one line."""


class Refused(Exception):
    """One notebook is not taken in; the message says why."""


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str
    path: Path | None  # a private copy of the notebook as handed in; None when refused
    refused: str | None = None  # "refused <file>: <why>": graded zero, never read
    late: bool = False  # the LMS marked the file late (the pattern's ``late`` group matched)


@dataclass(frozen=True)
class Unmatched:
    path: Path
    reason: str


def special_file(mode):
    """What a file that is not a regular file is, in words; None for a regular file."""
    kinds = {stat.S_IFLNK: LINK, stat.S_IFDIR: "it is a folder, not a file",
             stat.S_IFIFO: "it is a FIFO (named pipe), not a file",
             stat.S_IFCHR: "it is a device file", stat.S_IFBLK: "it is a device file",
             stat.S_IFSOCK: "it is a socket, not a file"}
    return None if stat.S_ISREG(mode) else kinds.get(stat.S_IFMT(mode), "it is not a regular file")


def lstat_mode(name, dir_fd):
    """The type and mode of ``name`` itself (not of what it links to); 0 if it vanished."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return 0


def open_folder(name, dir_fd=None):
    """A descriptor for a folder, never through a link (only ``name`` itself is opened)."""
    try:
        return os.open(name, OPEN_FOLDER, dir_fd=dir_fd)
    except OSError as error:
        raise Refused(f"it changed while being read ({error.strerror})") from None


def read_capped(read):
    """All that ``read(n)`` gives, refused past MAX_NOTEBOOK_BYTES: bytes are counted
    as they come (at most the cap plus one is read), declared sizes are not trusted."""
    data = bytearray()
    while chunk := read(min(CHUNK_BYTES, MAX_NOTEBOOK_BYTES + 1 - len(data))):
        data += chunk
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise Refused(f"it is larger than the {MAX_NOTEBOOK_BYTES / 2**20:.3g} MB limit")
    return data


def read_file_at(dir_fd, name):
    """The bytes of ``name`` in folder ``dir_fd``, read once through one descriptor that
    is checked to be a regular file with a single name."""
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
        if info.st_nlink != 1:
            raise Refused("it is a hard link (a file with several names is never read)")
        return read_capped(partial(os.read, fd))
    finally:
        os.close(fd)


JSON_TOKEN = re.compile(rb'"(?:[^"\\]+|\\.)*(?:"|\Z)|[\[\]{}]', re.S)  # a string, or a bracket


def json_depth_refusal(data, name="the notebook"):
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


def take(student, assignment, name, read, scratch, late=False):
    """The submission of one notebook: ``read()`` gives its bytes or raises Refused; they
    are checked and copied to ``scratch/files/<student>/<assignment>.ipynb``."""
    try:
        data = read()
    except Refused as why:
        return Submission(student, assignment, None, f"refused {name}: {why}", late)
    refusal = json_depth_refusal(data, name)
    if refusal:
        return Submission(student, assignment, None, refusal, late)
    copy = Path(scratch) / "files" / student / f"{assignment}.ipynb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    return Submission(student, assignment, copy, late=late)


def scratch_folder(scratch):
    return Path(scratch) if scratch is not None else Path(tempfile.mkdtemp(prefix="intake-"))


def from_nbgrader_tree(root, assignments, scratch=None):
    """submitted/<student>/<assignment>/<assignment>.ipynb, for known assignments."""
    root, scratch = Path(root), scratch_folder(scratch)
    found, unmatched = [], []
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)  # the instructor's root: may be a link
    try:
        for student in sorted(os.listdir(root_fd)):
            mode = lstat_mode(student, root_fd)
            if stat.S_ISLNK(mode):  # not followed: a zero for each assignment, with the reason
                found += [Submission(student, assignment, None,
                                     f"refused {student}/: the student folder {IS_LINK}")
                          for assignment in sorted(assignments)]
            elif stat.S_ISDIR(mode):
                try:
                    student_fd = open_folder(student, root_fd)
                except Refused as why:
                    unmatched.append(Unmatched(root / student, str(why)))
                    continue
                try:
                    student_work(root, student, student_fd, assignments, scratch, found, unmatched)
                finally:
                    os.close(student_fd)
    finally:
        os.close(root_fd)
    return found, unmatched


def student_work(root, student, student_fd, assignments, scratch, found, unmatched):
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
                    found.append(take(student, assignment, f"{name}/{notebook}",
                                      partial(read_file_at, folder_fd, notebook), scratch))
                else:
                    unmatched.append(Unmatched(folder, f"no {notebook} in it (found: "
                                                       f"{', '.join(others) or 'nothing'})"))
            finally:
                os.close(folder_fd)


def choose(entries, assignments, pattern):
    """``entries``: (file name, path to show, handle) in order; returns
    ({(student, assignment): (name, handle, late)}, unmatched). The last of a duplicate
    wins; ``late`` is True when the pattern's optional ``late`` group matched."""
    regex = re.compile(pattern)
    chosen, unmatched = {}, []
    for name, shown, handle in entries:
        match = regex.match(name)
        if not match:
            unmatched.append(Unmatched(shown, "file name does not match the LMS pattern"))
        elif match["assignment"] not in assignments:
            unmatched.append(Unmatched(shown, f"unknown assignment '{match['assignment']}'"))
        elif match["student"] in (".", ".."):
            unmatched.append(Unmatched(shown, f"unusable student name '{match['student']}'"))
        else:
            late = bool(match.groupdict().get("late"))
            chosen[(match["student"], match["assignment"])] = (name, handle, late)
    return dict(sorted(chosen.items())), unmatched


def from_lms_files(paths, assignments, pattern=LMS_PATTERN):
    """Match notebook files named by student (names only, nothing is read); the latest
    name wins for a duplicate. Each Submission's path is the file as named."""
    chosen, unmatched = choose([(p.name, p, p) for p in sorted(paths)], assignments, pattern)
    return [Submission(s, a, p, late=late) for (s, a), (_, p, late) in chosen.items()], unmatched


def from_folder(root, assignments, pattern, scratch):
    """An nbgrader tree if the folder holds any folder, else a flat folder of LMS files."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)  # the instructor's root: may be a link
    try:
        names = sorted(os.listdir(root_fd))
        if any(stat.S_ISDIR(lstat_mode(name, root_fd)) for name in names):
            return from_nbgrader_tree(root, assignments, scratch)
        files = [(name, root / name, name) for name in names]
        chosen, unmatched = choose(files, assignments, pattern)
        return [take(s, a, name, partial(read_file_at, root_fd, name), scratch, late)
                for (s, a), (name, _, late) in chosen.items()], unmatched
    finally:
        os.close(root_fd)


def zip_member_problem(member):
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
    return None


def from_zip(source, assignments, pattern, scratch):
    """A zip of LMS files; folders inside it are flattened (only base names count)."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise IntakeError(f"cannot read the zip {source.name}: {error}") from None
    unpacked = 0

    def counted(read, n):
        nonlocal unpacked
        chunk = read(n)
        unpacked += len(chunk)
        if unpacked > MAX_ZIP_TOTAL:
            raise IntakeError(f"refused the zip {source.name}: it unpacks to more than "
                              f"{MAX_ZIP_TOTAL / 2**20:.3g} MB")
        return chunk

    def read_member(member):
        problem = zip_member_problem(member)
        if problem:
            raise Refused(problem)
        try:
            with archive.open(member) as stream:
                return read_capped(partial(counted, stream.read))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError) as error:
            raise Refused(f"it cannot be read from the zip ({type(error).__name__}: {error})") \
                from None

    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise IntakeError(f"refused the zip {source.name}: it has {len(members)} members, "
                              f"more than {MAX_ZIP_MEMBERS}")
        files = [(PurePosixPath(m.filename.replace("\\", "/")).name, m) for m in members
                 if not (m.is_dir() or stat.S_ISDIR(m.external_attr >> 16))]
        files = [(name, Path(f"{source.name}:{m.filename}"), m)
                 for name, m in sorted(files, key=lambda item: item[0]) if name]
        chosen, unmatched = choose(files, assignments, pattern)
        return [take(s, a, member.filename, partial(read_member, member), scratch, late)
                for (s, a), (_, member, late) in chosen.items()], unmatched


def collect(source, assignments, pattern=LMS_PATTERN, scratch=None):
    """Submissions under ``source``: an nbgrader ``submitted`` tree, a folder of LMS
    files, or a zip of them. Accepted notebooks are copied into ``scratch`` (a new
    temporary folder if None). Raises IntakeError if the source cannot be used."""
    source = Path(source).resolve()
    if source.is_dir():
        return from_folder(source, assignments, pattern, scratch_folder(scratch))
    if not source.exists():
        raise IntakeError(f"no submissions at {source}: give a folder or a zip file")
    if not (source.is_file() and zipfile.is_zipfile(source)):
        raise IntakeError(f"no submissions at {source}: it is neither a folder nor a "
                          "readable zip file")
    return from_zip(source, assignments, pattern, scratch_folder(scratch))
