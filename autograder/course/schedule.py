"""When work is due and what lateness costs, as ``course.toml`` states them (its
``due`` per assignment and its ``[late]`` table), checked when the manifest is read:
a wrong entry is a ``CourseError`` naming it, never a silent "nothing is late".

The grader hands the due dates to nbgrader's gradebook (``Assignment.duedate``) and
the policy to nbgrader's late-submission plugin (``autograder.grading.late``)."""

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

POLICIES = ("none", "zero", "per_day")
DAY_SECONDS = 86400


@dataclass(frozen=True)
class LatePolicy:
    policy: str = "none"  # "none": recorded only; "zero": no points; "per_day": a share a day
    per_day: float = 0.0  # the share of the score taken per day or part of a day late
    grace_minutes: float = 0.0  # lateness up to this costs nothing

    def share(self, seconds_late: float) -> float:
        """The share (0 to 1) of a notebook's score that ``seconds_late`` costs."""
        if seconds_late <= self.grace_minutes * 60 or self.policy == "none":
            return 0.0
        if self.policy == "zero":
            return 1.0
        return min(1.0, math.ceil(seconds_late / DAY_SECONDS) * self.per_day)

    def describe(self) -> str:
        grace = f", {self.grace_minutes:g} min grace" if self.grace_minutes else ""
        if self.policy == "none":
            return f"no penalty{grace}"
        if self.policy == "zero":
            return f"late work scores 0{grace}"
        return f"{self.per_day:.0%} of the score per day or part of a day late{grace}"


def check_schedule(manifest, where="course.toml"):
    """Raise CourseError (one line, naming the entry) for a due date or late policy
    that is not what ``due_dates`` and ``late_policy`` read."""
    due_dates(manifest, where)
    late_policy(manifest, where)


def due_dates(manifest: dict[str, Any], where: str | Path = "course.toml") -> dict[str, datetime]:
    """{assignment: its due date as a naive UTC datetime (nbgrader's form)} for each
    assignment that has one."""
    from autograder.course.build import CourseError
    dates = {}
    for a in manifest["assignments"]:
        if "due" not in a:
            continue
        due = a["due"]
        if not isinstance(due, datetime) or due.tzinfo is None:
            raise CourseError(f"{where}: {a['name']}'s due = {due!r} is not a date and time with "
                              "a UTC offset (write e.g. due = 2026-09-14T23:59:00Z)")
        dates[a["name"]] = due.astimezone(timezone.utc).replace(tzinfo=None)
    return dates


def late_policy(manifest: dict[str, Any], where: str | Path = "course.toml") -> LatePolicy:
    """The ``[late]`` table as a LatePolicy (none: no penalty)."""
    from autograder.course.build import CourseError
    table = manifest.get("late", {})
    unknown = sorted(set(table) - {"policy", "per_day", "grace_minutes"})
    if unknown:
        raise CourseError(f"{where}: [late] has no key {unknown[0]!r} (it takes policy, per_day "
                          "and grace_minutes)")
    policy = LatePolicy(table.get("policy", "none"), table.get("per_day", 0.0),
                        table.get("grace_minutes", 0.0))
    if policy.policy not in POLICIES:
        raise CourseError(f"{where}: [late] policy = {policy.policy!r} is not one of "
                          f"{', '.join(POLICIES)}")
    for key in ("per_day", "grace_minutes"):
        value = getattr(policy, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                key == "per_day" and value > 1):
            limit = "a number from 0 to 1" if key == "per_day" else "a number of minutes, 0 or more"
            raise CourseError(f"{where}: [late] {key} = {value!r} is not {limit}")
    if policy.policy == "per_day" and not policy.per_day:
        raise CourseError(f"{where}: [late] policy = \"per_day\" needs per_day (the share "
                          "taken per day late, e.g. 0.1)")
    return policy
