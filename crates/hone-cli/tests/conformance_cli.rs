//! Runs the built `hone` binary on the reference cases and on broken copies of them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .output()
        .expect("the hone binary runs")
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("hone-{tag}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("readable dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy file");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn shipped_cases_all_pass() {
    let dir = repo().join("testdata/dspy-golden");
    let out = hone(&["conformance", dir.to_str().expect("utf-8 path")]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("ok   qa_typed_with_demos chat.format\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   sentiment_literal_bool parse[2].chat\n"),
        "{stdout}"
    );
    let last = stdout.lines().last().expect("a summary line");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    assert!(!stdout.contains("programs"), "{stdout}");
}

#[test]
fn a_changed_expectation_fails_with_a_diff() {
    let tmp = TempDir::new("broken");
    copy_dir(&repo().join("testdata/dspy-golden"), &tmp.0);
    let file = tmp.0.join("qa_typed_with_demos/chat.messages.json");
    let original = fs::read_to_string(&file).expect("golden file");
    fs::write(&file, original.replace("Be concise.", "Be brief.")).expect("write");
    let parse = tmp.0.join("sentiment_literal_bool/parse.json");
    let original = fs::read_to_string(&parse).expect("parse file");
    fs::write(&parse, original.replacen("\"neutral\"", "\"positive\"", 1)).expect("write");

    let out = hone(&["conformance", tmp.0.to_str().expect("utf-8 path")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL qa_typed_with_demos chat.format\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    message 0 (System): line 23"),
        "{stdout}"
    );
    assert!(stdout.contains("Be brief."), "{stdout}");
    assert!(
        stdout.contains("FAIL sentiment_literal_bool parse[0].chat\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   qa_typed_with_demos json.format\n"),
        "{stdout}"
    );
    let last = stdout.lines().last().expect("a summary line");
    assert!(last.ends_with(" passed, 2 failed"), "{last}");
}

#[test]
fn malformed_case_and_missing_dir_are_usage_errors() {
    let tmp = TempDir::new("malformed");
    copy_dir(
        &repo().join("testdata/dspy-golden/incomplete_demo"),
        &tmp.0.join("incomplete_demo"),
    );
    fs::write(tmp.0.join("incomplete_demo/inputs.json"), "{\"question\": ").expect("write");
    let out = hone(&["conformance", tmp.0.to_str().expect("utf-8 path")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("inputs.json"), "{stderr}");
    assert!(stderr.contains("invalid JSON"), "{stderr}");

    let out = hone(&[
        "conformance",
        tmp.0.join("nope").to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read the cases directory"));

    let out = hone(&["conformance"]);
    assert_eq!(out.status.code(), Some(2));
}
