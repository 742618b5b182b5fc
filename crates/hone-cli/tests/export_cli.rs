//! `hone export`, `import`, `diff` and `parse` on the saved programs and on broken input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn file(rel: &str) -> String {
    repo().join(rel).display().to_string()
}

fn hone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(args)
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("the hone binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const TWO_STEP: &str = "testdata/hone-saved/two_step_optimized.json";

#[test]
fn exports_every_format() {
    for format in ["openai", "jinja", "markdown", "dspy"] {
        for adapter in ["chat", "json", "xml", "baml"] {
            let out = hone(&[
                "export",
                TWO_STEP,
                "-f",
                format,
                "--adapter",
                adapter,
                "--date",
                "2025-01-01",
            ]);
            assert!(out.status.success(), "{format} {adapter}: {}", stderr(&out));
            let text = stdout(&out);
            match format {
                "markdown" => {
                    assert!(text.starts_with("# Prompt review: two_step_optimized.json"));
                    assert!(text.contains("| Date | 2025-01-01 |"));
                }
                _ => {
                    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    if format == "dspy" {
                        assert!(!text.contains("\"hone\""));
                        assert!(v.get("route").is_some());
                    } else {
                        assert_eq!(v["format"], format!("hone.{format}"));
                        assert_eq!(v["adapter"], adapter);
                    }
                }
            }
        }
    }
    let md = stdout(&hone(&[
        "export",
        TWO_STEP,
        "-f",
        "markdown",
        "--score",
        "0.87",
        "--metric",
        "exact_match",
        "--dataset",
        "tickets.jsonl",
        "--model",
        "openai/gpt-4o-mini",
        "--date",
        "2025-01-01",
        "--optimizer",
        "MIPROv2",
    ]));
    insta::assert_snapshot!("review_markdown", md);
}

#[test]
fn dspy_export_imports_back_to_the_same_program() {
    let tmp = TempDir::new("dspy-rt");
    let out = hone(&[
        "export",
        TWO_STEP,
        "-f",
        "dspy",
        "-o",
        &tmp.path("dspy.json"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hone(&["import", &tmp.path("dspy.json"), "--structure", TWO_STEP]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        fs::read_to_string(file(TWO_STEP)).expect("read")
    );
}

#[test]
fn imports_dspy_files_with_a_structure_or_signatures() {
    let out = hone(&[
        "import",
        "testdata/dspy-golden/programs/two_step_optimized.json",
        "--structure",
        TWO_STEP,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        fs::read_to_string(file(TWO_STEP)).expect("read")
    );
    let out = hone(&[
        "import",
        "testdata/dspy-golden/programs/qa_plain.json",
        "--signature",
        "self=question -> answer",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        fs::read_to_string(file("testdata/hone-saved/qa_plain.json")).expect("read")
    );
}

#[test]
fn bundle_has_every_format_and_a_verified_manifest() {
    let tmp = TempDir::new("bundle");
    let dir = tmp.path("bundle");
    let out = hone(&[
        "export",
        TWO_STEP,
        "-f",
        "bundle",
        "-o",
        &dir,
        "--date",
        "2025-01-01",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let manifest: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.0.join("bundle/manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["format"], "hone.bundle");
    assert_eq!(manifest["provenance"]["date"], "2025-01-01");
    let files = manifest["files"].as_object().expect("files");
    for name in [
        "program.json",
        "dspy.json",
        "openai.json",
        "jinja.json",
        "review.md",
        "predictors/route/openai.json",
        "predictors/route/jinja/00-system.jinja",
        "predictors/answer.predict/jinja/03-user.jinja",
    ] {
        let hash = files
            .get(name)
            .and_then(|h| h.as_str())
            .unwrap_or_else(|| panic!("{name} listed"));
        let bytes = fs::read(tmp.0.join("bundle").join(name)).expect("file written");
        assert_eq!(hone_export::sha256_hex(&bytes), hash, "{name}");
    }
    let source = fs::read(file(TWO_STEP)).expect("read");
    assert_eq!(manifest["source_sha256"], hone_export::sha256_hex(&source));
    let out = hone(&["export", TWO_STEP, "-f", "bundle"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--output DIR"));
}

fn edited_two_step(tmp: &TempDir) -> String {
    let text = fs::read_to_string(file(TWO_STEP)).expect("read");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let route = &mut v["route"];
    route["signature"]["instructions"] =
        "Route the ticket to the one team that can resolve it. Outages are priority 5.".into();
    route["signature"]["fields"][0]["description"] = "the customer's ticket".into();
    route["demos"][0]["priority"] = 3.into();
    v["answer.predict"]["demos"]
        .as_array_mut()
        .expect("demos")
        .push(serde_json::json!({"ticket": "Login fails", "team": "tech", "reasoning": "Auth.", "reply": "Reset your password."}));
    let path = tmp.path("edited.json");
    fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON")).expect("write");
    path
}

#[test]
fn diff_shows_changes_as_text_and_markdown() {
    let tmp = TempDir::new("diff");
    let edited = edited_two_step(&tmp);
    let same = hone(&["diff", TWO_STEP, TWO_STEP]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let text = hone(&["diff", TWO_STEP, &edited, "--color", "never"]);
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    let shown = stdout(&text).replace(&edited, "edited.json");
    insta::assert_snapshot!("diff_text", shown);
    let md = hone(&["diff", TWO_STEP, &edited, "--format", "markdown"]);
    assert_eq!(md.status.code(), Some(1));
    insta::assert_snapshot!("diff_markdown", stdout(&md).replace(&edited, "edited.json"));
    let colored = hone(&["diff", TWO_STEP, &edited, "--color", "always"]);
    assert!(stdout(&colored).contains("\x1b[32m"));
}

#[test]
fn parse_reads_answers_from_an_export_or_a_program() {
    let tmp = TempDir::new("parse");
    let export = tmp.path("openai.json");
    let out = hone(&["export", TWO_STEP, "-f", "openai", "-o", &export]);
    assert!(out.status.success(), "{}", stderr(&out));
    let completion = tmp.path("completion.txt");
    fs::write(
        &completion,
        "[[ ## team ## ]]\ntech\n\n[[ ## priority ## ]]\n4\n\n[[ ## summary ## ]]\nLogin {{crash}}\n\n[[ ## completed ## ]]\n",
    )
    .expect("write");
    let out = hone(&[
        "parse",
        "--export",
        &export,
        "--predictor",
        "route",
        &completion,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(
        v,
        serde_json::json!({"team": "tech", "priority": 4, "summary": "Login {{crash}}"})
    );
    let out = hone(&[
        "parse",
        "--program",
        TWO_STEP,
        "--predictor",
        "route",
        &completion,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = hone(&["parse", "--export", &export, &completion]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--predictor (route, answer.predict)"),
        "{}",
        stderr(&out)
    );
    let out = hone(&[
        "parse",
        "--export",
        TWO_STEP,
        "--predictor",
        "route",
        &completion,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not an openai export"),
        "{}",
        stderr(&out)
    );
    fs::write(&completion, "no sections here").expect("write");
    let out = hone(&[
        "parse",
        "--export",
        &export,
        "--predictor",
        "route",
        &completion,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("predictor `route`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_input_names_the_file_and_the_problem() {
    let tmp = TempDir::new("bad");
    let corrupt = tmp.path("corrupt.json");
    fs::write(&corrupt, "{\"route\": {\"demos\": [").expect("write");
    let package = tmp.path("package.json");
    fs::write(
        &package,
        r#"{"name": "web", "version": "1.0.0", "dependencies": {}}"#,
    )
    .expect("write");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["export", &corrupt, "-f", "openai"],
            vec!["corrupt.json", "not valid JSON (line 1"],
        ),
        (
            vec!["diff", &corrupt, TWO_STEP],
            vec!["corrupt.json", "not valid JSON"],
        ),
        (
            vec!["export", &package, "-f", "jinja"],
            vec![
                "package.json",
                "not a DSPy or hone program file",
                "name, version, dependencies",
            ],
        ),
        (
            vec!["import", &package, "--signature", "self=a -> b"],
            vec!["package.json", "no predictor state"],
        ),
        (
            vec![
                "export",
                "testdata/dspy-golden/programs/qa_plain.json",
                "-f",
                "dspy",
            ],
            vec!["qa_plain.json", "no `hone.signature`", "hone import FILE"],
        ),
        (
            vec![
                "import",
                "testdata/dspy-golden/programs/two_step_optimized.json",
                "--signature",
                "route=ticket -> team",
            ],
            vec![
                "two_step_optimized.json",
                "predictor `route` has 5 fields in the file (prefixes: \"Ticket:\", \"Metadata:\"",
                "the file's predictor `answer.predict` is not in the structure",
                "suggested: --signature 'answer.predict=ticket, team -> reasoning, reply'",
            ],
        ),
        (
            vec![
                "import",
                "testdata/dspy-golden/programs/qa_plain.json",
                "--signature",
                "self=question, context -> answer",
            ],
            vec![
                "qa_plain.json",
                "predictor `self` has 2 fields in the file",
                "3 in the structure",
                "suggested: --signature 'self=question -> answer'",
            ],
        ),
        (
            vec![
                "import",
                "testdata/dspy-golden/programs/qa_plain.json",
                "--signature",
                "self=question ->",
            ],
            vec!["predictor `self`", "signature `question ->`"],
        ),
        (
            vec![
                "export",
                "testdata/dspy-imports/programs/legacy_plexlogic_contract.json",
                "-f",
                "dspy",
            ],
            vec![
                "legacy_plexlogic_contract.json",
                "DSPy's old save format",
                "DSPy 2.4 and earlier",
                "`predictor`",
            ],
        ),
        (
            vec!["export", "no/such/file.json", "-f", "dspy"],
            vec!["cannot read no/such/file.json"],
        ),
    ];
    for (args, wanted) in cases {
        let out = hone(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        for w in wanted {
            assert!(err.contains(w), "{args:?}: `{w}` not in {err}");
        }
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn nasty_values_are_literal_in_every_export() {
    let nasty = "{{ question }} {% if x %} [[ ## answer ## ]] {# c #} }}";
    let out = hone(&[
        "export",
        "testdata/hone-saved/qa_plain.json",
        "-f",
        "openai",
    ]);
    let export = hone_export::OpenAiExport::from_json_str(&stdout(&out)).expect("export");
    let values = indexmap::IndexMap::from([("question".to_string(), nasty.to_string())]);
    let filled = export.predictors["self"].fill(&values);
    assert!(
        filled
            .last()
            .expect("message")
            .content
            .contains(&format!("[[ ## question ## ]]\n{nasty}\n\n"))
    );
}
