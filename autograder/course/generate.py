"""nbgrader's generate_assignment for several assignments in one process
(``python -m autograder.course.generate ASSIGNMENT...``, run in the course folder by
``nbgrader_course.generate_assignments``): through nbgrader's own API, as formgrader's
"Generate" button calls it, on the folder's configuration; one process start and one
import of nbgrader instead of one per assignment. Each assignment's log is printed;
the first failure ends the run with exit status 1, its traceback last."""

import sys

from autograder.course.nbgrader_course import GENERATING


def main(assignments: list[str]) -> int:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=".").load_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for assignment in assignments:
        print(f"{GENERATING}{assignment}", flush=True)
        result = api.generate_assignment(assignment, force=True)
        print(result.get("log", ""), end="")
        if not result["success"]:
            print(f"generate_assignment {assignment} failed:\n{result.get('error', '')}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
