"""The class grader: intake of submissions, the trusted notebook, execution in the
sandbox, the judge, the gradebook record, feedback and the report."""
