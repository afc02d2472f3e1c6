"""autograder/student/execute.py on its own (no kernel): what the self-check and the
course tests read of an executed notebook — each failing cell's error in one line, and
how many figures it drew."""

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.student.execute import cell_errors, image_outputs


def executed():
    failing = new_code_cell("relu(x)", outputs=[
        new_output("stream", name="stdout", text="before\n"),
        new_output("error", ename="NotImplementedError", evalue="fill it in", traceback=[])])
    figure = new_code_cell("plot()", outputs=[
        new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
        new_output("display_data", data={"text/plain": "no image"})])
    return new_notebook(cells=[new_markdown_cell("words"), failing, figure, new_code_cell("x = 1")])


def test_each_failing_cell_is_named_with_its_error():
    notebook = executed()
    assert cell_errors(notebook) == {notebook.cells[1].id: "NotImplementedError: fill it in"}
    assert cell_errors(new_notebook(cells=[new_code_cell("x = 1")])) == {}


def test_only_png_outputs_count_as_figures():
    assert image_outputs(executed()) == 1
