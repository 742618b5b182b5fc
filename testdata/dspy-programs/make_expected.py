#!/usr/bin/env python3
"""Writes the messages DSPy renders for reference programs, with the real `dspy` package.

Usage:  "$VENV/bin/python" testdata/dspy-programs/make_expected.py

Writes:
  testdata/dspy-programs/two_step_messages.json
      per predictor of cases.TwoStep loaded from dspy-golden/programs/two_step_optimized.json:
      the inputs and the messages ChatAdapter().format(...) returns;
  testdata/hone-saved/expected.json
      for each file hone saves into testdata/hone-saved/: the program kind and, per predictor,
      the inputs and the messages DSPy renders for the reference program (built in DSPy, not
      loaded from hone's file). scripts/check-dspy-load.py compares against it.
No LM is called.
"""
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import programs  # noqa: E402


def main():
    two_step = programs.reference("two_step")
    rendered = programs.render(two_step, "two_step")
    # The loaded program renders as the program built in memory by cases.py does.
    in_memory = programs.render(programs.cases._optimized_two_step(), "two_step")
    assert rendered == in_memory, "loading two_step_optimized.json changed the rendering"
    out = Path(__file__).resolve().parent / "two_step_messages.json"
    out.write_text(programs.dumps(rendered))

    expected = {}
    for file_name, kind in programs.HONE_SAVED.items():
        expected[file_name] = {
            "program": kind,
            "predictors": programs.render(programs.reference(kind), kind),
        }
    out = programs.ROOT / "testdata" / "hone-saved" / "expected.json"
    out.write_text(programs.dumps(expected))


if __name__ == "__main__":
    main()
