"""Student self-check: run a notebook's visible tests in a fresh kernel and say
where each question stands.

    python -m autograder check 02_activations.ipynb

Works inside a release folder with its own files only; the notebook on disk is not
changed. Hidden tests (other inputs) run only when the notebook is graded.
"""

import argparse
import sys
from pathlib import Path

import nbformat

from autograder.student.execute import CELL_SECONDS, execute_notebook
from autograder.student.table import format_table, points

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
ANSWERED, UNANSWERED = "written: graded by hand", "written: no answer yet"
STUB = "YOUR ANSWER HERE"


def question_status(cell):
    """(status, message) of an executed graded cell; a passed cell's message is the
    advice its verdicts carried (a warning that cost nothing, with its fix)."""
    advice = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", ""), output.get("evalue", "")
            message = (evalue if ename == "CheckFailed" else f"{ename}: {evalue}").strip()
            if "NotImplementedError" in message:
                return NOT_ATTEMPTED, ""
            return FAILED, message
        text = output.get("data", {}).get("text/plain", "") or output.get("text", "")
        text = "".join(text) if isinstance(text, list) else text
        advice += [line.strip() for line in text.splitlines() if line.strip().startswith("advice:")]
    return PASSED, "\n".join(advice)


def check_notebook(path, timeout=CELL_SECONDS):
    """[(question, points, status, message)] for every graded cell of the notebook."""
    notebook = execute_notebook(path, cwd=Path(path).resolve().parent, timeout=timeout)
    results = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "markdown":  # a written answer
            answered = cell.source.strip() not in ("", STUB)
            results.append((meta["grade_id"], meta.get("points", 0),
                            ANSWERED if answered else UNANSWERED, ""))
        elif meta.get("grade"):
            status, message = question_status(cell)
            results.append((meta["grade_id"], meta.get("points", 0), status, message))
    return results


def by_hand(results):
    return sum(worth for _, worth, status, _ in results if status in (ANSWERED, UNANSWERED))


def total(results):
    """The notebook's points as the grade table shows them: passed visible tests out of
    all its points, written answers (graded by hand) counted in the denominator and
    named beside it: "9/10 (1 to grade by hand)"."""
    earned = sum(worth for _, worth, status, _ in results if status == PASSED)
    return points(earned, sum(worth for _, worth, _, _ in results), by_hand(results))


def report(path, results):
    rows = [[q, worth, status] for q, worth, status, _ in results]
    lines = [f"Self-check of {path} (visible tests only):", format_table(
        ["question", "points", "status"], rows)]
    for question, _, status, message in results:
        if status == FAILED:
            lines.append(f"\n{question} failed:\n  " + message.replace("\n", "\n  "))
        elif status == PASSED and message:
            lines.append(f"\n{question} passed, with advice:\n  " + message.replace("\n", "\n  "))
    lines.append(f"\nPoints from the visible tests: {total(results)}. "
                 "Grading also runs hidden tests on other inputs.")
    if hand := by_hand(results):
        lines.append(f"Written answers ({hand:g} point{'s' * (hand != 1)}) are graded by hand.")
    return "\n".join(lines)


def markdown_report(path, results):
    """The same, as a Markdown table (for a CI job summary)."""
    lines = [f"### {Path(path).name}: {total(results)} points (visible tests)", "",
             "| question | points | status |", "|---|---|---|"]
    for question, worth, status, message in results:
        detail = f" — {message.splitlines()[0][:120]}" if message else ""
        lines.append(f"| {question} | {worth} | {status}{detail.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="run a notebook's visible tests")
    check.add_argument("notebook", type=Path)
    check.add_argument("--timeout", type=int, default=CELL_SECONDS, help="seconds per cell")
    check.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        print(f"No notebook at {args.notebook}: give the path of an .ipynb file.", file=sys.stderr)
        return 2
    try:
        nbformat.read(str(args.notebook), as_version=4)
    except Exception as error:
        print(f"{args.notebook} is not a readable notebook ({type(error).__name__}: {error}).",
              file=sys.stderr)
        return 2
    results = check_notebook(args.notebook, timeout=args.timeout)
    print((markdown_report if args.markdown else report)(args.notebook, results))
    return 0 if all(status in (PASSED, ANSWERED) for _, _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
