//! `hone report` in a real browser: headless Chromium loads the page, and its DOM holds the
//! chart (a dot per trial, the best-so-far line) and the winning prompt. Needs Debian's
//! `chromium` (scripts/test installs it); without it the test says it skipped, except in CI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const HONE: &str = env!("CARGO_BIN_EXE_hone");
const CHROMIUM: &str = "/usr/bin/chromium";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromium(profile: &Path, args: &[String]) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {CHROMIUM}: {e}"))
}

#[test]
fn the_report_renders_in_headless_chromium_with_its_chart() {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} is missing in CI: scripts/test installs it with `ensure_apt chromium`"
        );
        eprintln!("skipped: {CHROMIUM} is not installed (scripts/test installs it)");
        return;
    }
    let mut child = Command::new(HONE)
        .args(["sim", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let _sim = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    let url = line.trim().trim_start_matches("listening on ").to_owned();

    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let program: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/programs/review-pipeline.toml");
    for args in [
        vec![
            "optimize".to_owned(),
            program.display().to_string(),
            "--out".into(),
            run_dir.display().to_string(),
            "--base-url".into(),
            url.clone(),
            "-q".into(),
        ],
        vec![
            "report".to_owned(),
            run_dir.display().to_string(),
            "-q".into(),
        ],
    ] {
        let out = Command::new(HONE)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let page = format!("file://{}", run_dir.join("report.html").display());
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("run.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let trials = record["trials"].as_array().map_or(0, Vec::len);

    let out = chromium(
        &tmp.path().join("profile"),
        &["--dump-dom".to_owned(), page.clone()],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains("<svg id=\"chart\""),
        "no chart in the DOM:\n{dom}"
    );
    assert_eq!(dom.matches("<circle class=\"trial\"").count(), trials);
    assert!(
        dom.contains(">wall time</text>"),
        "the chart is not over wall time:\n{dom}"
    );
    let points = dom
        .split("<polyline class=\"best-so-far\"")
        .nth(1)
        .and_then(|rest| rest.split("points=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default();
    assert_eq!(
        points.split_whitespace().count(),
        trials,
        "best-so-far points: {points}"
    );
    assert!(dom.contains("Summarize the review in one short sentence."));
    assert!(dom.contains("data-predictor=\"classify.predict\""));

    let shot = tmp.path().join("report.png");
    let out = chromium(
        &tmp.path().join("profile2"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600".into(),
            page,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG"),
        "screenshot of {} bytes",
        png.len()
    );
}
