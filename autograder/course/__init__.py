"""The instructor's course: build the nbgrader sources from ``course/`` and
``solutions/``, cut a student release, scan it for leaks, check the reference."""
