"""Every setting of the course and of a grading run, stated once: its default, its
type, its range and its help text (``Course``, ``Grading``).

Why traitlets ``Configurable``s: nbgrader's world is traitlets. Its configuration file
(``nbgrader_config.py``) is a traitlets config, ``nbgrader --help-all`` and formgrader
speak traits, and the grader's preprocessor in nbgrader (``WarmExecute``) is configured
by traits already. A trait states a default, a type, a range and its help in one line,
traitlets validates values against it and renders a commented config section from it
(``config_section``); a dataclass tree or a config library would be a second language
beside nbgrader's. The sandbox's limits keep their one home in ``sandbox.limits`` (the
sandbox runs on the student side of the boundary too): the defaults here are those.

Where a value comes from, a later source winning (``load_settings``):

    default           stated here
    course.toml       its top-level keys (``Course``) and an optional ``[grading]`` table
    nbgrader_config   a course folder's nbgrader config (``--course-dir``): what stock
                      nbgrader and formgrader run with in that folder
    environment       FIRSTMLP_GRADING_SECRET, MNIST_ROOT (``env`` below)
    command line      ``firstmlp grade``'s and ``firstmlp config``'s flags

``course.toml`` is checked against the schema (``check_course_toml``): an unknown key, a
wrong type or a value out of range is a ``SettingsError`` of one line naming the file,
the key and what it takes. ``firstmlp config`` prints the effective settings and where
each came from (``describe``)."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets import Bool, Integer, TraitError, Unicode
from traitlets.config import Configurable

from autograder.errors import FirstmlpError
from autograder.sandbox.limits import CELL_SECONDS, MEMORY_MB, NOTEBOOK_SECONDS, Limits

COURSE_TOML = "course.toml"
GRADING_TABLE = "grading"  # course.toml's [grading]
DEFAULT, TOML, NBGRADER, ENVIRONMENT, COMMAND_LINE = (
    "default", "course.toml", "nbgrader_config", "environment", "command line")


class SettingsError(FirstmlpError):
    """A setting that is not what the schema takes; one line naming file and key."""


class Course(Configurable):
    """The course as course.toml states it (its top-level keys)."""

    course_id = Unicode("firstmlp", help="nbgrader's course id (CourseDirectory.course_id)"
                        ).tag(config=True, nbgrader="CourseDirectory.course_id")
    version = Unicode("", help="the release students get (firstmlp release --version)"
                      ).tag(config=True)
    title = Unicode("", help="the course's title").tag(config=True)
    hidden_seed = Integer(None, allow_none=True, min=0,
                          help="the seed of the hidden tests in the built sources (a grading "
                               "run replaces it with a secret seed of its own)").tag(config=True)


class Grading(Configurable):
    """A grading run's settings (``firstmlp grade``; stock nbgrader in a course folder
    reads the same values from the config the grader writes there)."""

    timeout = Integer(CELL_SECONDS, min=1, help="seconds per cell (wall clock, kept by the "
                      "worker outside the sandbox)").tag(
        config=True, nbgrader="WarmExecute.timeout Execute.timeout", flag="--timeout")
    notebook_timeout = Integer(NOTEBOOK_SECONDS, min=1, help="seconds per notebook (wall clock)"
                               ).tag(config=True, nbgrader="WarmExecute.notebook_timeout")
    cpu_seconds = Integer(Limits.cpu_seconds, min=1, help="CPU seconds per notebook "
                          "(RLIMIT_CPU)").tag(config=True, nbgrader="WarmExecute.cpu_seconds")
    memory_mb = Integer(MEMORY_MB, min=64, help="a notebook's memory in MB, on top of the warm "
                        "worker's image").tag(config=True, nbgrader="WarmExecute.memory_mb")
    workers = Integer(None, allow_none=True, min=1, help="grading workers (none: one per core)"
                      ).tag(config=True, flag="--workers")
    device = Unicode("auto", help="the torch side's device for the checks: auto (CUDA when "
                     "torch sees a GPU), cpu or cuda").tag(config=True, flag="--device")
    isolate = Bool(True, help="run notebooks in the sandbox (false only to compare)"
                   ).tag(config=True, nbgrader="WarmExecute.isolate", flag="--no-isolation")
    course_dir = Unicode("build/grading", help="the nbgrader course folder graded into"
                         ).tag(config=True, toml=False, flag="--course-dir")
    secret = Unicode("", help="the run's secret (hidden seeds): drawn per run unless set, "
                     "to repeat a run's hidden inputs").tag(config=True, toml=False, secret=True,
                                                            env="FIRSTMLP_GRADING_SECRET")
    mnist_root = Unicode("", help="the grader's MNIST (empty: torchvision's download, else "
                         "the shipped sample)").tag(config=True, toml=False, env="MNIST_ROOT")


SECTIONS = {None: Course, GRADING_TABLE: Grading}  # course.toml table: its schema


def nbgrader_trait(name: str) -> Any:
    """A configurable trait for nbgrader's side (``WarmExecute``) with ``Grading.<name>``'s
    type, default and help: the setting is still stated once, here."""
    trait = Grading.class_traits()[name]
    return type(trait)(trait.default_value, help=trait.help).tag(config=True)


@dataclass
class Settings:
    """The effective settings and, for each ``(section, name)``, where it came from."""
    course: Course
    grading: Grading
    origin: dict[tuple[str | None, str], str]


def traits_of(schema: type[Configurable]) -> dict[str, Any]:
    return schema.class_traits(config=True)


def expected(trait: Any) -> str:
    """What a trait takes, in words: "a whole number, 1 or more"."""
    kind = {Integer: "a whole number", Bool: "true or false", Unicode: "a string"}[type(trait)]
    low = getattr(trait, "min", None)
    return f"{kind}, {low} or more" if low is not None else kind


def check_value(schema: type[Configurable], name: str, value: Any, where: str) -> Any:
    """``value`` as the trait ``name`` of ``schema`` takes it, else SettingsError."""
    trait = traits_of(schema)[name]
    if isinstance(value, bool) != isinstance(trait, Bool) and value is not None:
        raise SettingsError(f"{where} = {value!r} is not {expected(trait)}")
    try:
        return trait.validate(schema(), value)
    except TraitError:
        raise SettingsError(f"{where} = {value!r} is not {expected(trait)}") from None


def check_course_toml(manifest: Mapping[str, Any], where: str | os.PathLike[str] = COURSE_TOML
                      ) -> dict[tuple[str | None, str], Any]:
    """course.toml's settings checked against the schema, in one line naming file and
    key; returns {(section, name): value}. Tables other than the schema's (``[late]``,
    ``[[assignments]]``) are checked where they are read (``schedule``, ``build``)."""
    found: dict[tuple[str | None, str], Any] = {}
    for table, schema in SECTIONS.items():
        entries = manifest if table is None else manifest.get(table, {})
        if not isinstance(entries, dict):
            raise SettingsError(f"{where}: [{table}] is not a table")
        known = {n for n, t in traits_of(schema).items() if t.metadata.get("toml", True)}
        for key, value in entries.items():
            if table is None and (key in ("late", "assignments") or key in SECTIONS):
                continue
            label = f"{where}: {'[' + table + '] ' if table else ''}{key}"
            if key not in known:
                tables = "" if table else " and the tables [grading], [late], [[assignments]]"
                raise SettingsError(f"{where}: {'[' + table + '] ' if table else ''}has no key "
                                    f"{key!r} (it takes {', '.join(sorted(known))}{tables})")
            found[table, key] = check_value(schema, key, value, label)
    return found


def nbgrader_values(course_dir: str | os.PathLike[str]) -> dict[tuple[str | None, str], Any]:
    """{(section, name): value} that a course folder's nbgrader config sets, for the
    settings it carries (``nbgrader=`` below); {} without one."""
    from traitlets.config.loader import PyFileConfigLoader
    root = Path(course_dir)
    if not (root / "nbgrader_config.py").is_file():
        return {}
    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the folder's own file, said
        line = (str(error).strip().splitlines() or [""])[0]
        raise SettingsError(f"{root / 'nbgrader_config.py'} cannot be read "
                            f"({type(error).__name__}: {line})") from None
    found: dict[tuple[str | None, str], Any] = {}
    for table, schema in SECTIONS.items():
        for name, trait in traits_of(schema).items():
            if "nbgrader" not in trait.metadata:
                continue
            for section, key in (n.split(".") for n in trait.metadata["nbgrader"].split()):
                if section in config and key in config[section]:
                    found[table, name] = check_value(schema, name, config[section][key],
                                                     f"{root / 'nbgrader_config.py'}: "
                                                     f"c.{section}.{key}")
                    break
    return found


def nbgrader_lines(instance: Configurable, section: str) -> str:
    """``c.<section>.<key> = <value>`` for each setting of ``instance`` that nbgrader's
    ``section`` carries (``nbgrader=`` above), each under its help: the lines of the
    course folder's nbgrader config rendered from the schema."""
    lines: list[str] = []
    for name, trait in traits_of(type(instance)).items():
        for target in trait.metadata.get("nbgrader", "").split():
            if target.split(".")[0] == section:
                lines += [f"# {trait.help}", f"c.{target} = {getattr(instance, name)!r}"]
    return "\n".join(lines)


def environment_values(environ: Mapping[str, str] | None = None
                       ) -> dict[tuple[str | None, str], Any]:
    environ = os.environ if environ is None else environ
    return {(table, name): environ[trait.metadata["env"]]
            for table, schema in SECTIONS.items()
            for name, trait in traits_of(schema).items()
            if environ.get(trait.metadata.get("env", ""))}


def load_settings(manifest: Mapping[str, Any] | None = None,
                  course_dir: str | os.PathLike[str] | None = None,
                  given: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """The effective settings: the schema's defaults, then course.toml (``manifest``,
    default: the course's), then ``course_dir``'s nbgrader config when given, then the
    environment, then ``given`` ({name: value} of ``Grading``, None meaning not given:
    the command line)."""
    if manifest is None:
        from autograder.course.build import load_manifest
        manifest = load_manifest()
    layers: list[tuple[str, dict[tuple[str | None, str], Any]]] = [
              (TOML, check_course_toml(manifest)),
              (NBGRADER, nbgrader_values(course_dir) if course_dir else {}),
              (ENVIRONMENT, environment_values(environ)),
              (COMMAND_LINE, {(GRADING_TABLE, name): check_value(Grading, name, value, name)
                              for name, value in (given or {}).items() if value is not None})]
    origin = {(table, name): DEFAULT for table, schema in SECTIONS.items()
              for name in traits_of(schema)}
    values: dict[str | None, dict[str, Any]] = {table: {} for table in SECTIONS}
    for source, layer in layers:
        for (table, name), value in layer.items():
            values[table][name] = value
            origin[table, name] = source
    return Settings(Course(**values[None]), Grading(**values[GRADING_TABLE]), origin)


def grading_settings(**given: Any) -> Grading:
    """``Grading`` for a run: the schema's defaults, course.toml's [grading], then
    ``given`` (the caller's arguments; None: not given)."""
    return load_settings(given=given, environ={}).grading


def describe(settings: Settings) -> str:
    """The effective settings as a table: each setting, its value, where it came from
    and what it is (a secret is said to be set, never shown)."""
    from autograder.student.table import format_table
    rows = []
    for table, schema in SECTIONS.items():
        instance = settings.course if table is None else settings.grading
        for name, trait in sorted(traits_of(schema).items()):
            value = getattr(instance, name)
            if trait.metadata.get("secret"):
                value = "(set)" if value else "(drawn per run)"
            shown = "true" if value is True else "false" if value is False else (
                "" if value is None else str(value))
            rows.append([f"{schema.__name__}.{name}", shown or "-",
                         settings.origin[table, name], trait.help])
    return format_table(["setting", "value", "from", "what"], rows)


def config_section() -> str:
    """The schema as a commented traitlets config section (defaults and help)."""
    return "\n".join(schema.class_config_section() for schema in SECTIONS.values())
