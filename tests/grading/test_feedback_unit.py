"""autograder/grading/feedback.py's preprocessors on one cell at a time (no gradebook
file, no page: tests/grading/test_feedback.py renders the page and checks it loads no
script): a test cell's hidden part, seeds and tracebacks never reach the page, the check
it names is a visible one, and each cell's score and "to grade by hand" are the
gradebook's."""

from types import SimpleNamespace

from nbformat.v4 import new_code_cell, new_output

from autograder.grading.feedback import GetGradesForFeedback, HideTestSources

HIDDEN = "### BEGIN HIDDEN TESTS\ncheck_secret_case(relu, seed=7103).assert_passed()\n### END HIDDEN TESTS\n"


def graded_cell(source, outputs=(), **nbgrader):
    cell = new_code_cell(source, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade_id": "test_relu", "grade": True, "solution": False,
                                 "points": 2, **nbgrader}
    return cell


def test_the_hidden_part_seeds_and_frames_of_a_test_cell_stay_off_the_page():
    error = new_output("error", ename="CheckFailed", evalue="ReLU differs at seed 7103",
                       traceback=["Traceback", '  File "/grader/judge.py", line 9', "CheckFailed"])
    cell, _ = HideTestSources().preprocess_cell(
        graded_cell("check_relu(relu).assert_passed()\n" + HIDDEN, [error]), {}, 0)
    assert "check_secret_case" not in cell.source and "7103" not in cell.source
    assert "hidden tests: run when graded, not shown" in cell.source
    assert cell.outputs[0].evalue == "ReLU differs at seed …"
    assert cell.outputs[0].traceback == ["CheckFailed: ReLU differs at seed …"]
    assert cell.metadata["firstmlp"]["check"] == "check_relu"  # the visible one


def test_a_check_named_only_in_the_hidden_part_is_not_named():
    cell, _ = HideTestSources().preprocess_cell(graded_cell("x = 1\n" + HIDDEN), {}, 0)
    assert "check" not in cell.metadata.get("firstmlp", {})


def test_an_answer_cell_is_shown_as_written():
    answer = graded_cell("def relu(x):  # seed 7103\n    return x", solution=True, grade=False)
    cell, _ = HideTestSources().preprocess_cell(answer, {}, 0)
    assert cell.source == "def relu(x):  # seed 7103\n    return x"


def test_an_earlier_work_error_anywhere_is_its_first_line():
    error = new_output("error", ename="EarlierWorkError",
                       evalue="notebook 02_activations was not handed in\n/grader/path/earlier.py",
                       traceback=['  File "/srv/autograder/student/earlier.py", line 3'])
    cell, _ = HideTestSources().preprocess_cell(new_code_cell("import x", outputs=[error]), {}, 0)
    assert cell.outputs[0].traceback == ["EarlierWorkError: notebook 02_activations was not handed in"]


class Gradebook:
    def __init__(self, **grades):
        self.grades = grades

    def find_grade(self, grade_id, notebook, assignment, student):
        return self.grades[grade_id]


def test_each_cell_shows_the_gradebooks_score_and_what_waits_for_a_person():
    get = GetGradesForFeedback()
    get.notebook_id, get.assignment_id, get.student_id = "n", "a", "kim"
    get.gradebook = Gradebook(
        test_relu=SimpleNamespace(score=1.5, max_score=2.0, needs_manual_grade=False, manual_score=None),
        q_xor=SimpleNamespace(score=0.0, max_score=3.0, needs_manual_grade=True, manual_score=None),
        q_and=SimpleNamespace(score=1.0, max_score=1.0, needs_manual_grade=True, manual_score=1.0))
    resources = {"nbgrader": {"by_hand": 0.0}}
    cells = {name: graded_cell("", grade_id=name) for name in ("test_relu", "q_xor", "q_and")}
    for cell in cells.values():
        get._get_score(cell, resources)
    shown = {name: (c.metadata.nbgrader["score"], c.metadata.nbgrader["points"],
                    c.metadata.nbgrader["to_grade_by_hand"]) for name, c in cells.items()}
    assert shown == {"test_relu": (1.5, 2.0, False), "q_xor": (0.0, 3.0, True), "q_and": (1.0, 1.0, False)}
    assert resources["nbgrader"]["by_hand"] == 3.0
