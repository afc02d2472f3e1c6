"""The main job's component table: every reference component, all passing."""

import pytest

from autograder import cli
from autograder.reference import REFERENCE_CHECKS


def test_check_prints_every_component_and_exits_zero(capsys):
    status = cli.main(["check", "--device", "cpu"])
    out = capsys.readouterr().out
    assert status == 0, out
    for component, counterpart, *_ in REFERENCE_CHECKS:
        assert component in out and counterpart in out
    assert "FAIL" not in out, out


def test_check_exits_nonzero_when_a_reference_fails(monkeypatch, capsys):
    from tests.mutants import LinearSignError
    broken = [row if row[0] != "Linear" else (*row[:3], LinearSignError) for row in REFERENCE_CHECKS]
    monkeypatch.setattr("autograder.reference.REFERENCE_CHECKS", broken)
    assert cli.main(["check", "--device", "cpu"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_unknown_command_is_refused():
    with pytest.raises(SystemExit):
        cli.main(["fly"])
