"""The command line's argument types, in one place: each turns a string into a value
or raises ``argparse.ArgumentTypeError`` with what was expected (argparse then says it
in one line: ``firstmlp grade: argument --workers: must be 1 or more, not 0``)."""

import argparse
import os
import re
from pathlib import Path


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number is needed, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def lms_pattern(text):
    """A regular expression with the groups ``student`` and ``assignment``."""
    try:
        groups = re.compile(text).groupindex
    except re.error as error:
        raise argparse.ArgumentTypeError(f"not a regular expression ({error})") from None
    missing = [g for g in ("student", "assignment") if g not in groups]
    if missing:
        raise argparse.ArgumentTypeError(
            "needs the named groups " + " and ".join(f"(?P<{g}>…)" for g in missing))
    return text


def output_folder(text):
    """A folder to write into: one that exists, or one that can be made (no file in
    the way, the nearest existing folder writable)."""
    path = Path(text)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is a file, not a folder: give a folder "
                                         "that exists or can be made")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{existing} is not writable here: give a folder "
                                         "you can write in")
    return text


def output_file(text):
    """A file to write: its folder exists and is writable, and it is not a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{folder} is not a folder you can write in")
    return text


def score_fraction(text):
    """A similarity score from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number from 0 to 1 is needed, not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, not {value:g}")
    return value


def scheduler_address(text):
    """A Dask scheduler's address as ``distributed.Client`` takes it: [tcp://]host:port."""
    from distributed.comm import get_address_host_port
    try:
        port = get_address_host_port(text)[1]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"a Dask scheduler address such as tcp://host:8786 "
                                         f"is needed, not {text!r} ({error})") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port {port} of {text!r} is not a port (1 to 65535)")
    return text


def release_folder(text):
    """A release folder: one that holds the assignments' notebooks."""
    if not any(Path(text).glob("*.ipynb")):
        raise argparse.ArgumentTypeError(f"{text} is not a release folder (it holds no "
                                         "<assignment>.ipynb)")
    return Path(text)


def release_version(text):
    from autograder.course.release import ReleaseError, check_version
    try:
        check_version(text)
    except ReleaseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
