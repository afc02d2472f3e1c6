"""The isolation boundary between the grader and a student's notebook (the picture and
the audit of every channel are in ``boundary``). Readable inside the sandbox."""
