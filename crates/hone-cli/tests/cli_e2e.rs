//! The CLI end to end, from the shell's point of view: `hone sim` in the background,
//! `hone optimize` of a two-stage TOML program on a JSONL dataset, `hone report`,
//! `hone export --format markdown`, `hone diff`; Ctrl-C and resume; `run` and `eval`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{HONE, Sim, hone, ok, read, text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn program() -> PathBuf {
    repo().join("testdata/programs/review-pipeline.toml")
}

fn optimize(sim: &Sim, run_dir: &Path) {
    let out = hone(&[
        "optimize",
        &program().display().to_string(),
        "--out",
        &run_dir.display().to_string(),
        "--base-url",
        &sim.url,
    ]);
    let stdout = ok(&out);
    assert!(stdout.contains("baseline 40.00% -> best"), "{stdout}");
}

#[test]
fn optimize_report_export_and_diff_from_the_shell() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    optimize(&sim, &run_dir);

    for f in [
        "run.json",
        "program.toml",
        "checkpoint.json",
        "baseline.json",
        "program.json",
        "results.jsonl",
    ] {
        assert!(run_dir.join(f).is_file(), "{f} missing");
    }
    let record: serde_json::Value =
        serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "done");
    assert_eq!(
        record["optimizer"]["kind"],
        "bootstrap_few_shot_with_random_search"
    );
    let trials = record["trials"].as_array().map_or(0, Vec::len);
    assert!(trials >= 3, "{trials} trials");
    // Each trial has the time its result came in, in order (the report's time axis).
    let times: Vec<f64> = record["trials"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["at_secs"].as_f64()).collect())
        .unwrap_or_default();
    assert_eq!(times.len(), trials, "every trial has its time");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let baseline = record["baseline"]["mean"].as_f64().unwrap_or(-1.0);
    let best = record["best"]["mean"].as_f64().unwrap_or(-1.0);
    assert!(best > baseline, "best {best} vs baseline {baseline}");
    assert!(record["usage"]["calls"].as_u64().unwrap_or(0) > 0);
    let results = read(&run_dir.join("results.jsonl"));
    assert_eq!(
        results.lines().count(),
        40,
        "20 dev examples x (baseline, best)"
    );
    assert!(
        results.contains("\"program\":\"baseline\"") && results.contains("\"program\":\"best\"")
    );
    let best_state = read(&run_dir.join("program.json"));
    assert!(best_state.contains("\"summarize\"") && best_state.contains("\"classify.predict\""));

    // The report.
    let report = ok(&hone(&["report", &run_dir.display().to_string()]));
    assert_eq!(
        report.trim(),
        run_dir.join("report.html").display().to_string()
    );
    let html = read(&run_dir.join("report.html"));
    assert!(html.contains("<polyline class=\"best-so-far\""));
    assert_eq!(html.matches("<circle class=\"trial\"").count(), trials);
    // Its first lines: the task (the stages' signatures, as the program has no description),
    // the model and the gain.
    let lead = html
        .split("<p id=\"lead\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no lead paragraph: {html}"));
    assert!(
        lead.contains(
            "summarize (review -&gt; summary); classify (review, summary -&gt; sentiment)"
        ),
        "{lead}"
    );
    assert!(lead.contains("<strong>Model:</strong> sim-model"), "{lead}");
    assert!(
        lead.contains("bootstrap_few_shot_with_random_search raised the dev score from 40.00% to "),
        "{lead}"
    );
    // The wall-time axis: a short run's ticks each read differently.
    let ticks: Vec<&str> = html
        .split("<text class=\"tick\"")
        .skip(1)
        .filter_map(|t| t.split('>').nth(1)?.split('<').next())
        .collect();
    assert!(ticks.len() >= 2, "{ticks:?}");
    let mut unique = ticks.clone();
    unique.dedup();
    assert_eq!(unique, ticks, "every tick has its own label");
    assert!(html.contains("Summarize the review in one short sentence."));
    assert!(html.contains("data-predictor=\"classify.predict\""));
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http")
    );

    // The Markdown export of the best program.
    let md = ok(&hone(&[
        "export",
        &run_dir.join("program.json").display().to_string(),
        "--format",
        "markdown",
        "--date",
        "2025-01-01",
    ]));
    assert!(md.contains("## Predictor `summarize`"), "{md}");
    assert!(md.contains("## Predictor `classify.predict`"), "{md}");

    // The diff: exit 1 because the optimizer added demos.
    let out = hone(&[
        "diff",
        &run_dir.join("baseline.json").display().to_string(),
        &run_dir.join("program.json").display().to_string(),
        "--color",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout).replace(&run_dir.display().to_string(), "RUN_DIR");
    insta::assert_snapshot!("baseline_to_best_diff", diff);
}

#[test]
fn ctrl_c_checkpoints_and_resume_finishes() {
    let sim = Sim::start(&["--latency-ms", "60"]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let child = Command::new(HONE)
        .args([
            "optimize",
            &program().display().to_string(),
            "--out",
            &run_dir.display().to_string(),
            "--base-url",
            &sim.url,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Wait until the first checkpoint exists, then interrupt.
    let checkpoint = run_dir.join("checkpoint.json");
    for _ in 0..200 {
        if checkpoint.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hone resume"),
        "{}",
        text(&out.stderr)
    );
    assert!(checkpoint.is_file());
    let record = read(&run_dir.join("run.json"));
    assert!(record.contains("\"status\": \"interrupted\""), "{record}");
    assert!(!run_dir.join("program.json").exists());

    let out = hone(&[
        "resume",
        &run_dir.display().to_string(),
        "--base-url",
        &sim.url,
        "--json",
    ]);
    let line = ok(&out);
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["status"], "done");
    assert!(run_dir.join("program.json").is_file());
}

#[test]
fn run_and_eval_print_predictions_and_scores() {
    let sim = Sim::start(&[]);
    let p = program().display().to_string();
    let out = ok(&hone(&[
        "run",
        &p,
        "--base-url",
        &sim.url,
        "--input",
        "review=I love this blender, it works great.",
    ]));
    assert!(out.contains("sentiment: positive"), "{out}");
    let out = ok(&hone(&["eval", &p, "--base-url", &sim.url, "--json"]));
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["examples"], 20);
    assert_eq!(v["metric"], "exact_match(sentiment)");
    let out = hone(&["run", &p, "--base-url", &sim.url]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("the program reads review"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_metric_command_speaks_json_lines() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tmp.path().join("metric.py"),
        "import json, sys\nfor line in sys.stdin:\n    m = json.loads(line)\n    ok = m['example']['sentiment'] == m['prediction'].get('sentiment')\n    print(json.dumps({'score': 1.0 if ok else 0.0, 'feedback': 'ok' if ok else 'wrong label'}), flush=True)\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let toml = read(&program())
        .replace(
            "kind = \"exact_match\"\nfield = \"sentiment\"",
            "kind = \"command\"\ncommand = [\"python3\", \"metric.py\"]",
        )
        .replace(
            "path = \"reviews.jsonl\"",
            &format!(
                "path = {:?}",
                repo()
                    .join("testdata/programs/reviews.jsonl")
                    .display()
                    .to_string()
            ),
        );
    let prog = tmp.path().join("p.toml");
    std::fs::write(&prog, toml).unwrap_or_else(|e| panic!("{e}"));
    let exact = ok(&hone(&[
        "eval",
        &program().display().to_string(),
        "--base-url",
        &sim.url,
        "--json",
    ]));
    let command = ok(&hone(&[
        "eval",
        &prog.display().to_string(),
        "--base-url",
        &sim.url,
        "--json",
    ]));
    let score = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s.trim())
            .map(|v| v["mean"].clone())
            .unwrap_or_default()
    };
    assert_eq!(score(&exact), score(&command), "{command}");
    assert!(command.contains("command(python3 metric.py)"), "{command}");
}

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let out = ok(&hone(&["--help"]));
    for s in [
        "run",
        "eval",
        "optimize",
        "resume",
        "export",
        "import",
        "diff",
        "parse",
        "report",
        "sim",
        "worker",
        "Exit codes:",
        "130",
    ] {
        assert!(out.contains(s), "missing {s} in\n{out}");
    }
}

#[test]
fn simba_optimizes_a_program_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = read(&program()).replace(
        "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0",
        "[optimizer]\nkind = \"simba\"\nbsize = 8\nnum_candidates = 3\nmax_steps = 2\nseed = 0",
    );
    assert!(
        text.contains("kind = \"simba\""),
        "the optimizer table changed"
    );
    let path = tmp.path().join("simba.toml");
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    // The dataset path is relative to the program file.
    std::fs::copy(
        program().with_file_name("reviews.jsonl"),
        tmp.path().join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run_dir = tmp.path().join("run");
    let out = hone(&[
        "optimize",
        &path.display().to_string(),
        "--out",
        &run_dir.display().to_string(),
        "--base-url",
        &sim.url,
        "--json",
    ]);
    let line = ok(&out);
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["optimizer"], "simba", "{v}");
    assert!(run_dir.join("program.json").is_file());
    let record = read(&run_dir.join("run.json"));
    assert!(
        record.contains("simba_"),
        "SIMBA's proposals are in the run log"
    );
}
