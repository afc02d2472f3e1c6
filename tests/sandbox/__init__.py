"""autograder/sandbox/: the boundary, its limits and the wire."""
