"""autograder/student/: the oracle, the checks, data, earlier work, speech."""
