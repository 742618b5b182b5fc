//! Secrets never reach a file or a log: a marker key in the key variable, in the base URL's
//! userinfo and in its query, through `run`, `eval`, `optimize` and `report` at
//! `-vvv` with the disk cache on: the marker is in no output, no file of the run directory and
//! not in the cache. The requests still reach the server: the path is joined before the query.

mod common;

use std::path::{Path, PathBuf};

use common::{Sim, command, read, text};

const KEY_MARKER: &str = "sk-KeyMarker4Vq8";
const USER_MARKER: &str = "UserMarker2Lp6";
const QUERY_MARKER: &str = "QueryMarker5Zt3";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hone(dir: &Path, args: &[&str]) -> String {
    let out = command()
        .args(args)
        .arg("-vvv")
        .env("OPENAI_API_KEY", KEY_MARKER)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}\n{all}",
        out.status.code()
    );
    all
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn markers_appear_in_no_output_and_no_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    let program = read(&repo().join("testdata/programs/review-pipeline.toml")).replace(
        "[lm.task]\nmodel = \"sim-model\"",
        "[lm.task]\nmodel = \"sim-model\"\ncache = true",
    );
    assert!(program.contains("cache = true"));
    std::fs::write(dir.join("program.toml"), program).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        dir.join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let url = sim
        .url
        .replacen("http://", &format!("http://user:{USER_MARKER}@"), 1)
        + &format!("?api-key={QUERY_MARKER}&token={QUERY_MARKER}&api-version=1");

    let mut outputs = vec![
        hone(
            dir,
            &[
                "run",
                "program.toml",
                "--base-url",
                &url,
                "--input",
                "review=Great kettle.",
            ],
        ),
        hone(dir, &["eval", "program.toml", "--base-url", &url]),
        hone(
            dir,
            &[
                "optimize",
                "program.toml",
                "--out",
                "run",
                "--base-url",
                &url,
            ],
        ),
        hone(dir, &["report", "run"]),
    ];
    // The optimization went through the server, and the cache holds its answers.
    let record: serde_json::Value =
        serde_json::from_str(&read(&dir.join("run/run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "done", "{record}");
    let recorded_url = record["lms"]["task"]["base_url"].as_str().unwrap_or("");
    assert!(
        recorded_url.contains("api-version=1") && recorded_url.contains("REDACTED"),
        "{recorded_url}"
    );
    // A second optimization answers from the cache.
    outputs.push(hone(
        dir,
        &[
            "optimize",
            "program.toml",
            "--out",
            "run2",
            "--base-url",
            &url,
        ],
    ));
    let mut files = Vec::new();
    files_under(dir, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("cache.sqlite")),
        "the disk cache was used: {files:?}"
    );
    for marker in [KEY_MARKER, USER_MARKER, QUERY_MARKER] {
        for (i, out) in outputs.iter().enumerate() {
            assert!(!out.contains(marker), "output {i} leaks {marker}:\n{out}");
        }
        for file in &files {
            let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{} leaks {marker}",
                file.display()
            );
        }
    }
    assert!(
        outputs.iter().any(|o| o.contains("request body")),
        "-vvv logged the request bodies"
    );
}
