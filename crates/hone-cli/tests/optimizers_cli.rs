//! The optimizer catalogue from the shell: `hone optimize --help` and `--list-optimizers`
//! list every kind; a key an optimizer does not take is an error at its line, per optimizer;
//! `knn_few_shot` and `ensemble` run from a program file against `hone sim`.

mod common;

use std::path::{Path, PathBuf};

use common::{Sim, hone, ok, read, text};

/// The eleven kinds, with a key each does not take but another kind does.
const KINDS: &[(&str, &str)] = &[
    ("labeled_few_shot", "max_bootstrapped_demos"),
    ("bootstrap_few_shot", "num_trials"),
    ("bootstrap_few_shot_with_random_search", "num_trials"),
    ("bootstrap_few_shot_with_optuna", "num_rules"),
    ("mipro_v2", "num_candidate_programs"),
    ("infer_rules", "num_trials"),
    ("gepa", "auto"),
    ("copro", "seed"),
    ("simba", "breadth"),
    ("knn_few_shot", "num_candidate_programs"),
    ("ensemble", "k"),
];

const OPTIMIZER: &str = "[optimizer]\nkind = \"random_search\"\nnum_candidate_programs = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2\nseed = 0";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The review pipeline with its `[optimizer]` table replaced by `optimizer` and `extra` added
/// at the top, in `dir` beside a copy of its dataset.
fn program(dir: &Path, optimizer: &str, extra: &str) -> PathBuf {
    let original = repo().join("testdata/programs/review-pipeline.toml");
    let text = read(&original);
    assert!(text.contains(OPTIMIZER), "the optimizer table changed");
    let text = format!("{extra}{}", text.replace(OPTIMIZER, optimizer));
    let path = dir.join("program.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        original.with_file_name("reviews.jsonl"),
        dir.join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn optimize(program: &Path, run_dir: &Path, base_url: &str) -> std::process::Output {
    hone(&[
        "optimize",
        &program.display().to_string(),
        "--out",
        &run_dir.display().to_string(),
        "--base-url",
        base_url,
        "--json",
    ])
}

#[test]
fn help_and_the_listing_name_all_eleven_kinds() {
    let long = ok(&hone(&["optimize", "--help"]));
    let short = ok(&hone(&["optimize", "-h"]));
    for (kind, _) in KINDS {
        assert!(long.contains(&format!("\n  {kind}")), "{kind} in\n{long}");
        assert!(short.contains(&format!("\n  {kind}")), "{kind} in\n{short}");
    }
    assert!(long.contains("      - num_trials: integer (optional). Search trials"));
    let listing = ok(&hone(&["optimize", "--list-optimizers", "--json"]));
    let v: serde_json::Value =
        serde_json::from_str(listing.trim()).unwrap_or_else(|e| panic!("{e}: {listing}"));
    let names: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(|k| k["name"].as_str()).collect())
        .unwrap_or_default();
    let expected: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
    assert_eq!(names, expected);
    for kind in v.as_array().into_iter().flatten() {
        assert!(kind["description"].as_str().is_some_and(|d| !d.is_empty()));
        let params = kind["params"].as_array().map_or(0, Vec::len);
        assert!(params > 0, "{kind}");
    }
    assert_eq!(v[4]["params"][2]["name"], "num_trials");
    assert_eq!(v[4]["params"][2]["type"], "integer (optional)");
    assert!(long.contains("      - num_rules: integer = 10. Rules asked for per predictor.\n"));
    assert!(long.contains("\n  bootstrap_few_shot_with_optuna (also optuna)"));
    let text_listing = ok(&hone(&["optimize", "--list-optimizers"]));
    assert_eq!(
        text_listing.trim(),
        long[long.find("Optimizers (").unwrap_or(0)..].trim()
    );
}

#[test]
fn a_key_an_optimizer_does_not_take_is_an_error_at_its_line() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (kind, misplaced) in KINDS {
        // A key of another optimizer, and a typo of one of its own.
        let own = if *kind == "ensemble" {
            "programs"
        } else {
            "seed"
        };
        let own = if *kind == "copro" { "depth" } else { own };
        for (key, hint) in [
            (misplaced.to_string(), "(it is a parameter of".to_owned()),
            (format!("{own}x"), format!("did you mean `{own}`?")),
        ] {
            let table = format!("[optimizer]\nkind = \"{kind}\"\n{key} = 5");
            let path = program(tmp.path(), &table, "");
            let out = optimize(&path, &tmp.path().join("run"), "http://127.0.0.1:9/v1");
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{kind} {key}: {err}");
            let line = read(&path)
                .lines()
                .position(|l| l.starts_with(&format!("{key} = ")))
                .map_or(0, |i| i + 1);
            assert!(
                err.contains(&format!(
                    "program.toml:{line}:1: `optimizer.{key}`: `{key}` is not a parameter of {kind}"
                )),
                "{kind} {key}: {err}"
            );
            assert!(err.contains(&hint), "{kind} {key}: {err}");
            assert!(!tmp.path().join("run").exists(), "no run started");
        }
    }
}

#[test]
fn a_wrong_value_or_kind_is_named() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"mipro\"\nnum_trials = \"many\"",
        "",
    );
    let out = optimize(&path, &tmp.path().join("run"), "http://127.0.0.1:9/v1");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`optimizer.num_trials`: invalid `num_trials` for mipro_v2"),
        "{err}"
    );
    // A key inside a table parameter, at its table's line.
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"bootstrap\"\nteacher_settings = { temperatur = 0.7 }",
        "",
    );
    let out = optimize(&path, &tmp.path().join("run"), "http://127.0.0.1:9/v1");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(":1: `optimizer.teacher_settings.temperatur`: `teacher_settings.temperatur` is not a parameter of bootstrap_few_shot"),
        "{err}"
    );
    assert!(err.contains("did you mean `temperature`?"), "{err}");
    // A value the optimizer refuses when it starts leaves no run directory behind.
    let path = program(tmp.path(), "[optimizer]\nkind = \"copro\"\nbreadth = 1", "");
    let out = optimize(&path, &tmp.path().join("run"), "http://127.0.0.1:9/v1");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("breadth"), "{err}");
    assert!(
        !tmp.path().join("run").exists(),
        "no run directory for a refused run"
    );
    // A misspelt kind names the closest one.
    let path = program(tmp.path(), "[optimizer]\nkind = \"simbaa\"", "");
    let out = optimize(&path, &tmp.path().join("run"), "http://127.0.0.1:9/v1");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`optimizer.kind`: unknown optimizer `simbaa`"),
        "{err}"
    );
    assert!(err.contains("did you mean `simba`?"), "{err}");
}

fn record(run_dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&run_dir.join("run.json"))).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn knn_few_shot_runs_from_a_program_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"knn_few_shot\"\nk = 2\nmax_bootstrapped_demos = 1",
        "[lm.embedder]\nmodel = \"sim-embed\"\n\n",
    );
    let run_dir = tmp.path().join("run");
    let out = optimize(&path, &run_dir, &sim.url);
    let line = ok(&out);
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["optimizer"], "knn_few_shot", "{v}");
    let r = record(&run_dir);
    assert_eq!(r["optimizer"]["params"]["k"], 2);
    let examples = r["best"]["examples"].as_u64().unwrap_or(0);
    assert_eq!(examples, 20, "every dev example scored through the module");
    let results = read(&run_dir.join("results.jsonl"));
    assert_eq!(
        results.lines().count(),
        40,
        "20 dev examples x (baseline, best)"
    );
    // Every call embedded its inputs through [lm.embedder] and bootstrapped on the
    // neighbours: a failed embeddings call would have failed the example.
    assert_eq!(r["best"]["errors"], 0, "{}", r["best"]);
    assert!(
        r["usage"]["calls"].as_u64().unwrap_or(0) > 40,
        "{}",
        r["usage"]
    );
    // Without an embedder the error says what to add.
    let path = program(tmp.path(), "[optimizer]\nkind = \"knn\"\nk = 2", "");
    let out = optimize(&path, &tmp.path().join("run2"), &sim.url);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("knn_few_shot needs an embedder LM") && err.contains("[lm.embedder]"),
        "{err}"
    );
}

#[test]
fn ensemble_runs_from_a_program_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Two saved programs to vote: a labeled few-shot run's baseline and its result.
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"labeled_few_shot\"\nk = 2",
        "",
    );
    ok(&optimize(&path, &tmp.path().join("first"), &sim.url));
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"ensemble\"\nprograms = [\"first/program.json\", \"first/baseline.json\", \"first/program.json\"]\nsize = 2\nseed = 1\nfield = \"sentiment\"",
        "",
    );
    let run_dir = tmp.path().join("run");
    let line = ok(&optimize(&path, &run_dir, &sim.url));
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["optimizer"], "ensemble", "{v}");
    let r = record(&run_dir);
    assert_eq!(r["best"]["examples"], 20);
    assert_eq!(r["best"]["errors"], 0, "{}", r["best"]);
    // A program that does not exist is named.
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"ensemble\"\nprograms = [\"missing.json\"]",
        "",
    );
    let out = optimize(&path, &tmp.path().join("run2"), &sim.url);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`optimizer.programs`") && err.contains("missing.json"),
        "{err}"
    );
}

/// `kind = "infer_rules"` runs from a program file against `hone sim`: both stages of the
/// pipeline get the rules the simulated model induced appended to their instructions, the
/// candidates are scored on the dev split, and the run is recorded under the canonical name.
#[test]
fn infer_rules_runs_from_a_program_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = program(
        tmp.path(),
        "[optimizer]\nkind = \"infer_rules\"\nnum_candidates = 2\nnum_rules = 3\nmax_bootstrapped_demos = 2\nmax_labeled_demos = 2",
        "",
    );
    let run_dir = tmp.path().join("run");
    let line = ok(&optimize(&path, &run_dir, &sim.url));
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(v["optimizer"], "infer_rules", "{v}");
    let r = record(&run_dir);
    assert_eq!(r["optimizer"]["params"]["num_candidates"], 2);
    let saved: serde_json::Value = serde_json::from_str(&read(&run_dir.join("program.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    for stage in ["summarize", "classify.predict"] {
        let instructions = saved[stage]["signature"]["instructions"]
            .as_str()
            .unwrap_or_else(|| panic!("{stage} in {saved}"));
        assert!(
            instructions.contains(
                "\n\nPlease adhere to the following rules when making your prediction:\n1. "
            ),
            "{stage}: {instructions}"
        );
    }
    let trials = r["trials"].as_array().map_or(0, Vec::len);
    assert_eq!(trials, 2, "one scored trial per candidate: {}", r["trials"]);
}

/// GEPA's stop file (relative to the program file) and its timeout stop `hone optimize`
/// before its first iteration: the seed is scored, the run ends as done, and the log says why.
#[test]
fn gepa_stops_on_its_stop_file_and_its_timeout_from_a_program_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (settings, reason) in [
        (
            "stop_file = \"gepa.stop\"",
            "GEPA stops (stop_file): the stop file ",
        ),
        ("timeout_secs = 0.001", "GEPA stops (timeout_secs): "),
    ] {
        let optimizer = format!(
            "[optimizer]\nkind = \"gepa\"\nbudget = {{ max_metric_calls = 400 }}\n{settings}"
        );
        let path = program(tmp.path(), &optimizer, "");
        std::fs::write(tmp.path().join("gepa.stop"), "").unwrap_or_else(|e| panic!("{e}"));
        let run_dir = tmp.path().join(format!("run-{}", reason.len()));
        let out = optimize(&path, &run_dir, &sim.url);
        let line = ok(&out);
        let v: serde_json::Value =
            serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["status"], "done", "{v}");
        let log = record(&run_dir)["log"].to_string();
        assert!(log.contains(reason), "{reason}: {log}");
        assert!(
            log.contains("after 0 iteration(s) and 20 metric call(s)"),
            "only the seed was scored on the 20 dev examples: {log}"
        );
        std::fs::remove_file(tmp.path().join("gepa.stop")).unwrap_or_else(|e| panic!("{e}"));
    }
}
