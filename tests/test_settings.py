"""The settings schema (``autograder.settings``): every default stated once, course.toml
checked against it in one line, the nbgrader configs rendered from it, and
``firstmlp config`` saying what is in effect and where each value came from."""

import functools
import inspect
import io
import re
import shutil
import tokenize
from pathlib import Path

import pytest

from autograder import PACKAGE, cli
from autograder.course import build
from autograder.errors import FirstmlpError
from autograder.sandbox import limits
from autograder.settings import Course, Grading, config_section, grading_settings, load_settings

DEFAULTS = {"cell": limits.CELL_SECONDS, "notebook": limits.NOTEBOOK_SECONDS,
            "memory": limits.MEMORY_MB}


def numbers_in(path):
    """The numeric literals of a module's code (not its comments or docstrings)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [int(t.string) for t in tokens if t.type == tokenize.NUMBER and t.string.isdigit()]


def test_each_default_is_stated_once_on_the_grader_side():
    """600 s a cell, 1800 s a notebook, 6144 MB: written once, in sandbox/limits.py; every
    signature and the schema take them from there. (student/ ships alone and states the
    self-check's cell limit on its own side: the next test holds it equal.)"""
    grader_side = [p for p in PACKAGE.rglob("*.py") if "student" not in p.relative_to(PACKAGE).parts]
    for name, value in DEFAULTS.items():
        stated = [str(p.relative_to(PACKAGE)) for p in grader_side for n in numbers_in(p) if n == value]
        assert stated == ["sandbox/limits.py"], (name, value, stated)


def test_the_student_side_cell_limit_is_the_graders():
    from autograder.student import execute, selfcheck
    assert execute.CELL_SECONDS == limits.CELL_SECONDS
    assert inspect.signature(selfcheck.check_notebook).parameters["timeout"].default == \
        limits.CELL_SECONDS


def test_the_schema_the_run_the_preprocessor_and_the_limits_agree():
    from autograder.course.course_dir import CourseDir
    from autograder.grading.run import GradingRun
    from autograder.grading.warm_execute import WarmExecute
    schema, run, execute = Grading(), GradingRun(CourseDir("/tmp")), WarmExecute()
    for name in ("timeout", "notebook_timeout", "memory_mb", "isolate"):
        assert getattr(run, name) == getattr(schema, name) == getattr(execute, name), name
    assert execute.cpu_seconds == schema.cpu_seconds == limits.Limits().cpu_seconds
    assert limits.Limits().memory_bytes == schema.memory_mb << 20


def test_every_setting_has_help_and_the_config_section_shows_it():
    section = config_section()
    for schema in (Course, Grading):
        for name, trait in schema.class_traits(config=True).items():
            assert trait.help, f"{schema.__name__}.{name} has no help"
            assert f"c.{schema.__name__}.{name} = " in section
    assert "seconds per cell" in section and f"Default: {limits.CELL_SECONDS}" in section


# ---- course.toml checked against the schema ----------------------------------------

@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A copy of course/ that load_manifest (and so every command) reads."""
    course = tmp_path / "course"
    shutil.copytree(build.COURSE, course)
    monkeypatch.setattr(build, "load_manifest", functools.partial(build.load_manifest, course=course))
    return course


def edited(course, top="", grading=""):
    """course.toml with the ``top`` line (replacing the key's own line where it has
    one) and a ``[grading]`` table of ``grading`` lines."""
    toml = course / "course.toml"
    text = toml.read_text()
    if top:
        key = top.split("=")[0].strip()
        text, found = re.subn(rf"(?m)^{key} = .*$", top.strip(), text)
        text = text if found else top + text
    toml.write_text(text + (f"\n[grading]\n{grading}" if grading else ""))
    return toml


BAD_TOML = [  # (top-level lines, [grading] lines, the one line said after "<file>: ")
    ('colour = "red"\n', "", "has no key 'colour' (it takes course_id, hidden_seed, title, "
                             "version and the tables [grading], [late], [[assignments]])"),
    ('course_id = 7\n', "", "course_id = 7 is not a string"),
    ("", "timeout = 0\n", "[grading] timeout = 0 is not a whole number, 1 or more"),
    ("", "memory_mb = \"lots\"\n", "[grading] memory_mb = 'lots' is not a whole number, 64 or more"),
    ("", "workers = true\n", "[grading] workers = True is not a whole number, 1 or more"),
    ("", "isolate = \"no\"\n", "[grading] isolate = 'no' is not true or false"),
    ("", "timout = 60\n", "[grading] has no key 'timout' (it takes cpu_seconds, device, "
                          "isolate, memory_mb, notebook_timeout, timeout, workers)"),
    ("", "secret = \"abc\"\n", "[grading] has no key 'secret'"),
    ("version = [\n", "", "cannot be read as TOML (Invalid"),
]


@pytest.mark.parametrize("top, grading, message", BAD_TOML, ids=[m[:30] for *_, m in BAD_TOML])
def test_a_bad_course_toml_is_one_line_naming_file_and_key(course_copy, top, grading, message):
    toml = edited(course_copy, top, grading)
    with pytest.raises(FirstmlpError) as refused:  # SettingsError; CourseError for TOML itself
        build.load_manifest()
    assert str(refused.value).startswith(f"{toml}: {message}")
    assert len(str(refused.value).splitlines()) == 1


def test_a_bad_course_toml_stops_a_command_in_one_line_and_exit_2(course_copy, capsys):
    toml = edited(course_copy, grading="timeout = -5\n")
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err
    assert err == f"firstmlp config: {toml}: [grading] timeout = -5 is not a whole number, 1 or more\n"


def test_course_toml_s_grading_table_sets_a_run_and_the_command_line_wins(course_copy, tmp_path):
    from autograder.course.nbgrader_course import write_grading_config
    edited(course_copy, grading="timeout = 300\nmemory_mb = 2048\n")
    settings = load_settings(environ={})
    assert (settings.grading.timeout, settings.origin["grading", "timeout"]) == (300, "course.toml")
    assert settings.origin["grading", "notebook_timeout"] == "default"
    assert grading_settings(timeout=120).timeout == 120
    assert grading_settings(timeout=None).timeout == 300
    write_grading_config(tmp_path, timeout=120)  # as firstmlp grade --timeout 120 writes it
    written = (tmp_path / "firstmlp_grading_config.py").read_text()
    assert "c.WarmExecute.timeout = 120\n" in written and "c.WarmExecute.memory_mb = 2048\n" in written


# ---- the nbgrader configs rendered from the schema; firstmlp config -----------------

def test_the_nbgrader_configs_are_rendered_from_the_schema_and_config_says_where_from(
        tmp_path, capsys, monkeypatch):
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.course.nbgrader_course import make_course_dir, write_grading_config
    folder = tmp_path / "course"
    make_course_dir(folder)
    write_grading_config(folder, timeout=42, notebook_timeout=99, memory_mb=1024, isolate=False)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    assert config.CourseDirectory.course_id == Course().course_id
    assert config.Execute.timeout == Grading().timeout
    assert (config.WarmExecute.timeout, config.WarmExecute.notebook_timeout,
            config.WarmExecute.memory_mb, config.WarmExecute.isolate,
            config.WarmExecute.cpu_seconds) == (42, 99, 1024, False, Grading().cpu_seconds)
    written = (folder / "firstmlp_grading_config.py").read_text()
    assert "# seconds per cell" in written  # each setting under its help

    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "mnist"))
    monkeypatch.setenv("FIRSTMLP_GRADING_SECRET", "hush-hush")
    assert cli.main(["config", "--course-dir", str(folder), "--timeout", "7"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[2:]}
    assert rows["Grading.timeout"] == ["7", "command"]  # "command line"
    assert rows["Grading.notebook_timeout"] == ["99", "nbgrader_config"]
    assert rows["Grading.isolate"] == ["false", "nbgrader_config"]
    assert rows["Grading.workers"] == ["-", "default"]
    assert rows["Grading.mnist_root"] == [str(tmp_path / "mnist"), "environment"]
    assert rows["Grading.secret"] == ["(set)", "environment"] and "hush-hush" not in out
    assert rows["Course.version"] == [build.load_manifest()["version"], "course.toml"]
    assert rows["Grading.course_dir"] == [str(folder), "command"]


def test_config_without_a_course_folder_says_defaults_and_course_toml(capsys, monkeypatch):
    monkeypatch.delenv("MNIST_ROOT", raising=False)
    monkeypatch.delenv("FIRSTMLP_GRADING_SECRET", raising=False)
    assert cli.main(["config"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["setting", "value", "from", "what"]
    sources = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(sources) == {f"{s.__name__}.{n}" for s in (Course, Grading)
                            for n in s.class_traits(config=True)}
    assert f"Grading.timeout           {limits.CELL_SECONDS}  " in out
    assert "course.toml" in sources["Course.course_id"] and "default" in sources["Grading.timeout"]


def test_the_settings_module_is_grader_side_only():
    """Nothing the student package ships imports the schema (it imports traitlets and
    the grader's errors)."""
    shipped = Path(PACKAGE / "student")
    assert not [p for p in shipped.rglob("*.py") if "autograder.settings" in p.read_text()
                or "autograder.errors" in p.read_text()]
