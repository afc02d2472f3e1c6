"""Execute a notebook top to bottom in a fresh kernel (nbclient), errors recorded."""

import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

# A cell's time limit in a student's self-check: the grader's default too, stated again
# on this side because student/ ships alone (tests/test_settings.py holds them equal).
CELL_SECONDS = 600


def execute_notebook(path, cwd=None, timeout=CELL_SECONDS, allow_errors=True):
    """Run every cell of the notebook at ``path``; returns the executed notebook.
    With ``allow_errors`` a failing cell records its error and the run goes on.
    The kernel's own log (e.g. its warning about TCP) is kept off the terminal, and
    shown only when the kernel died."""
    notebook = nbformat.read(str(path), as_version=4)
    client = NotebookClient(notebook, timeout=timeout, allow_errors=allow_errors,
                            kernel_name="python3", resources={"metadata": {
                                "path": str(cwd or Path(path).parent)}})
    with tempfile.TemporaryFile() as log:
        try:
            client.execute(stderr=log)
        except DeadKernelError as error:
            log.seek(0)
            tail = log.read()[-2000:].decode(errors="replace").strip()
            raise DeadKernelError(f"{error}{chr(10) + tail if tail else ''}") from None
    return notebook


def cell_errors(notebook):
    """{cell id: "ErrorName: message"} for every cell whose output is an error."""
    errors = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors[cell.get("id")] = f"{output['ename']}: {output['evalue']}"
    return errors


def image_outputs(notebook):
    """How many image/png outputs the executed notebook holds."""
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells
               for output in cell.get("outputs", []))
