"""``hone.export`` and ``hone.diff`` give the CLI's bytes for the same program."""

from __future__ import annotations

import json
import subprocess

import pytest

import hone
from conftest import hone_bin
from test_state import build, optimized


def cli(*args: str) -> str:
    proc = subprocess.run([hone_bin(), *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("format", ["openai", "jinja", "markdown", "dspy"])
@pytest.mark.parametrize("adapter", ["chat", "json"])
def test_export_equals_the_cli(tmp_path, format, adapter):
    program = optimized()
    saved = tmp_path / "program.json"
    program.save(saved, format="hone")
    ours = hone.export(program, format, adapter=adapter, title="program.json", date="2026-01-02",
                       score=0.8, metric="exact_match")
    theirs = cli("export", str(saved), "--format", format, "--adapter", adapter, "--date", "2026-01-02",
                 "--score", "0.8", "--metric", "exact_match")
    assert ours == theirs
    if format in ("openai", "jinja", "dspy"):
        json.loads(ours)


def test_bundle_writes_a_directory_with_a_manifest(tmp_path):
    out = hone.export(optimized(), "bundle", path=tmp_path / "bundle", date="2026-01-02")
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert out == str(tmp_path / "bundle")
    assert manifest["files"]
    with pytest.raises(TypeError, match="path="):
        hone.export(optimized(), "bundle")
    with pytest.raises(ValueError, match="unknown export format"):
        hone.export(optimized(), "yaml")


def test_diff_equals_the_cli(tmp_path):
    before, after = build(), optimized()
    after.answer.predict.signature  # the view exists
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    before.save(a, format="hone")
    after.save(b, format="hone")
    for format in ("text", "markdown"):
        ours = hone.diff(before, after, format=format, old_name=str(a), new_name=str(b))
        assert ours == cli("diff", str(a), str(b), "--format", format, "--color", "never")
        assert not ours.same
    assert hone.diff(before, build()).same
