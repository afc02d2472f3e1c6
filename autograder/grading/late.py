"""Late work: the submission time a grader records, and course.toml's late policy as
nbgrader's late-submission plugin.

A submission's time is nbgrader's own ``timestamp.txt`` beside the notebook (what
``nbgrader collect`` writes; intake reads it as hostile input, ``read_timestamp``);
the grader writes it beside the notebook it places, so nbgrader's ``Autograde``
records it in the gradebook and nbgrader's ``AssignLatePenalties`` asks ``LatePolicy``
for the penalty of a submission past its due date. A file an LMS marked ``LATE``
carries no time (Canvas's zip gives every file the zip's own time): it is flagged,
not penalised here — the LMS knows when it came in and applies its own late policy
to the grade it imports."""

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

from autograder.course.schedule import POLICIES
from autograder.course.schedule import LatePolicy as Policy

TIMESTAMP_FILE = "timestamp.txt"
TIMESTAMP_LIMIT = 100  # characters: nbgrader's format is about 30
LMS_LATE = ("late: the LMS marked the file LATE (it gives no time: no penalty here; the "
            "LMS's own late policy applies to the grade it imports)")


class LatePolicy(LateSubmissionPlugin):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """course.toml's ``[late]`` table (rendered into the course folder's grading config,
    so formgrader's and stock nbgrader's autograde apply it too)."""

    policy = Enum(POLICIES, default_value="none", help="none, zero or per_day").tag(config=True)
    per_day = Float(0.0, help="share of the score taken per day or part of a day late").tag(
        config=True)
    grace_minutes = Float(0.0, help="lateness up to this costs nothing").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float | None,
                                total_seconds_late: float) -> float:
        share = Policy(self.policy, self.per_day, self.grace_minutes).share(total_seconds_late)
        return share * (score or 0.0)


def config_lines(policy: Policy) -> str:
    """The lines of a course folder's config that apply ``policy`` (a schedule.LatePolicy)."""
    return "\n".join([
        "from autograder.grading.late import LatePolicy",
        "c.AssignLatePenalties.plugin_class = LatePolicy",
        f"c.LatePolicy.policy = {policy.policy!r}",
        f"c.LatePolicy.per_day = {float(policy.per_day)!r}",
        f"c.LatePolicy.grace_minutes = {float(policy.grace_minutes)!r}",
    ])


def read_timestamp(data: bytes | bytearray) -> tuple[str, None] | tuple[None, str]:
    """(nbgrader's timestamp string in UTC, None) for the bytes of a ``timestamp.txt``,
    or (None, why it is ignored)."""
    from nbgrader.utils import parse_utc
    try:
        text = bytes(data).decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, "timestamp.txt ignored: it is not text"
    shown = "".join(c if c.isprintable() else "?" for c in text[:40])
    if not text or len(text) > TIMESTAMP_LIMIT:
        return None, f"timestamp.txt ignored: '{shown}' is not a date and time"
    try:
        moment = parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None, f"timestamp.txt ignored: '{shown}' is not a date and time"
    return f"{moment:%Y-%m-%d %H:%M:%S.%f} UTC", None


def duration(seconds: float) -> str:
    """``seconds`` in words a person reads at a glance: "3 d 2 h", "2 h 5 min", "40 s"."""
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min" if minutes else f"{seconds} s"
