"""Plain-text tables for the terminal: columns padded to their widest cell."""

from collections.abc import Iterable, Sequence


def format_table(headers: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def points(score: float, possible: float, by_hand: float = 0.0) -> str:
    """Points as every view of a grade shows them (the grade table, report.md, the
    self-check): "72/74", and the points no person has graded yet beside them:
    "72/74 (2 to grade by hand)" (they count in the 74, not yet in the 72)."""
    text = f"{score:g}/{possible:g}"
    return text + (f" ({by_hand:g} to grade by hand)" if by_hand else "")
