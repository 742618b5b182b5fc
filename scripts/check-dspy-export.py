#!/usr/bin/env python3
"""Proves that programs exported by `hone export --format dspy` load in the real DSPy, and that
DSPy then renders the same messages as hone, under each of DSPy's adapters.

Usage:  "$VENV/bin/python" scripts/check-dspy-export.py      (needs `pip install dspy`; no LM is called)

testdata/export-proof/dspy.json is written by crates/hone-export/tests/export_proof.rs (which
fails when it is out of date): for each program of testdata/hone-saved, its `dspy` export and,
for several inputs per predictor (including `{{`, `[[ ## x ## ]]` and Jinja syntax), the
messages hone's ChatAdapter, JSONAdapter, XMLAdapter and BAMLAdapter produce. This loads
each export into a fresh DSPy program of the same structure (testdata/dspy-programs/programs.py)
with `program.load(path)` and compares DSPy's rendering. Exits with status 1 on the first mismatch.
"""
import difflib
import json
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.dont_write_bytecode = True
sys.path.insert(0, str(ROOT / "testdata" / "dspy-programs"))

import dspy  # noqa: E402
import programs  # noqa: E402
from dspy.adapters.baml_adapter import BAMLAdapter  # noqa: E402

FIXTURE = ROOT / "testdata" / "export-proof" / "dspy.json"
ADAPTERS = {"chat": dspy.ChatAdapter, "json": dspy.JSONAdapter, "xml": dspy.XMLAdapter, "baml": BAMLAdapter}


def show(value):
    return json.dumps(value, indent=2, ensure_ascii=False).splitlines()


def fail(what, expected, actual):
    print(f"FAIL: {what}", file=sys.stderr)
    for line in difflib.unified_diff(show(expected), show(actual), "hone", "dspy", lineterm=""):
        print(line, file=sys.stderr)
    sys.exit(1)


def main():
    logging.basicConfig(level=logging.WARNING)
    fixture = json.loads(FIXTURE.read_text())
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in fixture["programs"]:
            path = Path(tmp) / entry["file"]
            path.write_text(entry["dspy_json"])
            program = programs.STRUCTURES[entry["kind"]]()
            program.load(str(path))
            named = dict(program.named_predictors())
            if list(named) != list(entry["predictors"]):
                fail(f"{entry['file']}: predictor names", list(entry["predictors"]), list(named))
            for name, renders in entry["predictors"].items():
                predictor = named[name]
                for render in renders:
                    for kind, want in render["adapters"].items():
                        adapter = ADAPTERS[kind]()
                        got = adapter.format(predictor.signature, predictor.demos, render["inputs"])
                        if got != want["messages"]:
                            fail(
                                f"{entry['file']}: {kind} messages of `{name}` for {render['inputs']!r}",
                                want["messages"],
                                got,
                            )
                        checked += 1
            print(f"ok: the dspy export of {entry['file']} loads into {entry['kind']} and DSPy renders hone's messages")
    print(f"ok: {checked} renders match")


if __name__ == "__main__":
    main()
