"""autograder/course/: build, release, leak scan, layering, the course end to end."""
