"""autograder/grading/: intake, trusted notebook, judge, record, feedback, the grader."""
