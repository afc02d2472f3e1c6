"""nbgrader's per-notebook set-up, done once per grading worker instead.

nbgrader opens its gradebook about ten times per notebook graded, each time with a new
SQLAlchemy engine, so every query is compiled again (SQLAlchemy caches compiled
statements per engine); and it checks its cell-metadata schema itself before each use
(``jsonschema.validate``). A worker (``pool.worker_init``) keeps one engine per gradebook
URL, whose connections are still closed each time nbgrader closes the gradebook
(``Engine.dispose``), and one validator per schema. What is checked, read and written
is unchanged.
"""

from collections.abc import Callable
from functools import lru_cache
from typing import Any


def warm_nbgrader() -> None:
    """Once per worker process (idempotent), while its zygote starts: also imports what
    the first notebook would (nbgrader's apps, nbconvert, the grader's preprocessors)."""
    import nbgrader.api
    import nbgrader.apps  # noqa: F401
    import nbgrader.nbgraderformat.common as metadata

    import autograder.grading.feedback  # noqa: F401
    import autograder.grading.sanitize  # noqa: F401
    import autograder.grading.warm_execute  # noqa: F401
    if not getattr(nbgrader.api.create_engine, "shared", False):
        nbgrader.api.create_engine = shared_engine(nbgrader.api.create_engine)
    metadata.jsonschema = _SchemaChecked()


def shared_engine(create: Callable[..., Any]) -> Callable[..., Any]:
    """``create_engine`` that returns one engine per URL and options in this process."""
    @lru_cache(maxsize=8)
    def cached(url: str, **options: Any) -> Any:
        return create(url, **options)

    def create_engine(url: str, **options: Any) -> Any:
        return cached(url, **options)
    create_engine.shared = True  # type: ignore[attr-defined]  # a function's own flag
    return create_engine


class _SchemaChecked:
    """``jsonschema`` as nbgrader's metadata validator uses it (``validate``), with the
    schema checked and its validator built once: the same errors, raised the same way."""

    def __getattr__(self, name: str) -> Any:
        import jsonschema
        return getattr(jsonschema, name)

    @staticmethod
    def validate(instance: object, schema: dict[str, Any]) -> None:
        from jsonschema.exceptions import best_match
        error = best_match(_validator(id(schema), schema).iter_errors(instance))
        if error is not None:
            raise error


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def _validator(key: int, schema: dict[str, Any]) -> Any:
    """The validator of ``schema`` (nbgrader's schemas are class attributes: one object
    each), checked as ``jsonschema.validate`` checks it."""
    from jsonschema.validators import validator_for
    held = _VALIDATORS.get(key)
    if held is None or held[0] is not schema:
        cls = validator_for(schema)
        cls.check_schema(schema)
        held = _VALIDATORS[key] = (schema, cls(schema))
    return held[1]
