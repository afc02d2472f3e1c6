"""The student side: everything a notebook imports. Ships to every release whole, and
is what the sandbox lets a notebook read; imports only the standard library, the
student environment and this folder (``tests/course/test_layering.py``)."""
