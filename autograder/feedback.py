"""Feedback that names a failed test and the size of its error, never its source.

nbgrader's feedback HTML shows test cells verbatim, hidden tests included (#917,
#1363). This preprocessor, added to ``GenerateFeedback.preprocessors``, replaces each
hidden-test region with a one-line note, shortens tracebacks to their message, and
masks seeds, so the feedback gives away neither hidden inputs nor test code.
"""

import re

from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.M | re.S)
SEED = re.compile(r"seed[ =]\d+")


class HideTestSources(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not nbgrader.get("grade") or nbgrader.get("solution"):
            return cell, resources
        cell.source = HIDDEN.sub("# (hidden tests: run when graded, not shown)", cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue = SEED.sub("seed …", output.evalue)
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
