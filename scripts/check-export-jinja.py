#!/usr/bin/env python3
"""Proves that hone's Jinja exports render, with standard Python jinja2, exactly the messages
hone's adapters send (and so DSPy's).

Usage:  "$VENV/bin/python" scripts/check-export-jinja.py      (needs jinja2; dspy's venv has it)

testdata/export-proof/jinja.json is written by crates/hone-export/tests/export_proof.rs (which
fails when it is out of date): for each program, adapter and predictor, the exported templates,
the messages that do not depend on the inputs, and for several inputs the formatted values and
the last message hone sends. Inputs include `{{`, `}}`, `{% %}`, `{# #}`, `[[ ## x ## ]]`, `\\r`
and trailing newlines. Templates are rendered with a default Environment (autoescape off,
keep_trailing_newline off) and StrictUndefined. Exits with status 1 on the first mismatch.
"""
import difflib
import json
import sys
from pathlib import Path

from jinja2 import Environment, StrictUndefined

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "testdata" / "export-proof" / "jinja.json"


def fail(what, expected, actual):
    print(f"FAIL: {what}", file=sys.stderr)
    for line in difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True), "hone", "jinja2"
    ):
        print(repr(line), file=sys.stderr)
    sys.exit(1)


def main():
    env = Environment(undefined=StrictUndefined)
    cases = json.loads(FIXTURE.read_text())["cases"]
    checked = 0
    for case in cases:
        where = f"{case['program']} {case['predictor']} ({case['adapter']})"
        templates = [env.from_string(t["template"]) for t in case["templates"]]
        roles = [t["role"] for t in case["templates"]]
        fixed = case["fixed_messages"]
        if roles[:-1] != [m["role"] for m in fixed]:
            fail(f"{where}: roles", json.dumps(fixed), json.dumps(roles))
        for render in case["renders"]:
            values = render["values"]
            for template, want in zip(templates, fixed):
                got = template.render(**values)
                if got != want["content"]:
                    fail(f"{where}: {want['role']} message", want["content"], got)
            got = templates[-1].render(**values)
            if got != render["last"]:
                fail(f"{where}: last message with {values!r}", render["last"], got)
            checked += 1
    print(f"ok: {checked} renders of {len(cases)} exported predictor prompts match hone's messages under jinja2")


if __name__ == "__main__":
    main()
