#!/usr/bin/env python3
"""Proves that program files saved by hone load in the real DSPy.

Usage:  "$VENV/bin/python" scripts/check-dspy-load.py      (needs `pip install dspy`; no LM is called)

For every file in testdata/hone-saved/expected.json (files written by hone's tests, see
crates/hone-core/tests/state.rs), this builds a fresh DSPy program of the same structure
(`dspy.Predict(...)`, cases.py's `TwoStep`), calls `program.load(path)`, and checks that
  * DSPy's ChatAdapter formats each loaded predictor exactly as the expected messages, which
    testdata/dspy-programs/make_expected.py rendered from a reference program built in DSPy;
  * the loaded program's `dump_state()` equals the reference program's.
Exits with status 1 and a diff on the first mismatch.
"""
import difflib
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(ROOT / "testdata" / "dspy-programs"))

import programs  # noqa: E402

SAVED = ROOT / "testdata" / "hone-saved"


def show(value):
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False).splitlines()


def fail(what, expected, actual):
    print(f"FAIL: {what}", file=sys.stderr)
    for line in difflib.unified_diff(show(expected), show(actual), "expected", "actual", lineterm=""):
        print(line, file=sys.stderr)
    sys.exit(1)


def main():
    # A file saved by hone records no Python package versions; DSPy's version check has nothing
    # to compare, so nothing is logged. Other warnings would be worth seeing.
    logging.basicConfig(level=logging.WARNING)
    expected = json.loads((SAVED / "expected.json").read_text())
    for file_name, case in expected.items():
        kind = case["program"]
        program = programs.STRUCTURES[kind]()
        program.load(str(SAVED / file_name))

        rendered = programs.render(program, kind)
        if list(rendered) != list(case["predictors"]):
            fail(f"{file_name}: predictor names", list(case["predictors"]), list(rendered))
        for name, want in case["predictors"].items():
            got = rendered[name]["messages"]
            if got != want["messages"]:
                fail(f"{file_name}: ChatAdapter messages of predictor `{name}`", want["messages"], got)

        reference = programs.reference(kind).dump_state()
        loaded = program.dump_state()
        if loaded != reference:
            fail(f"{file_name}: dump_state() after load", reference, loaded)
        names = ", ".join(case["predictors"])
        print(f"ok: {file_name} loads into {kind} ({names}) and renders as DSPy's own program")


if __name__ == "__main__":
    main()
