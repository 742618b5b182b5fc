"""The Python examples run as their docstrings say."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_first_program_runs_against_the_simulator(sim):
    proc = subprocess.run([sys.executable, str(ROOT / "examples/python/first_program.py"), sim.base_url],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("answer: ") and lines[0].endswith("(int)")
    assert any(line.startswith("evaluation: EvaluationResult(score=") for line in lines)
    assert any(line.startswith("32 concurrent calls from asyncio: ") for line in lines)
    assert proc.stderr == ""
