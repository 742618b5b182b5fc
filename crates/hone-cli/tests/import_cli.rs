//! `hone import` on real DSPy saves (testdata/dspy-imports) with no structure: the TOML
//! program and state it writes run, export, freeze and import again; dotted stage names and
//! ReAct command tools run against `hone sim`; every subcommand's help shows examples.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Sim, command, hone};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn save(name: &str) -> String {
    let path = if name.contains('/') {
        format!("testdata/dspy-saves/{name}.json")
    } else {
        format!("testdata/dspy-imports/programs/{name}.json")
    };
    repo().join(path).display().to_string()
}

/// The saves scripts/make-dspy-saves.py made, as `dspy-VERSION/programs/KIND`.
fn made_saves() -> Vec<String> {
    let mut out = Vec::new();
    for version in ["dspy-2.6.27", "dspy-3.4.1"] {
        for kind in [
            "predict",
            "chain_of_thought",
            "react",
            "refine",
            "custom_module",
        ] {
            out.push(format!("{version}/programs/{kind}"));
        }
    }
    out
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Imports a save with no flags into `dir`; returns (program.toml, state.json, stderr).
fn import(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let state = dir.join(format!("{}.json", name.replace('/', "_")));
    let out = hone(&["import", &save(name), "-o", &state.display().to_string()]);
    ok(&out);
    assert!(text(&out.stdout).is_empty());
    (state.with_extension("toml"), state, text(&out.stderr))
}

const IMPORTABLE: [&str; 7] = [
    "legacy_plexlogic_contract",
    "honeyoak_rag_cot",
    "knutole_pii_cot",
    "robofactor_pipeline",
    "habenicht_react",
    "bhanu_counter_narrative",
    "legacy_lear_netlogo",
];

#[test]
fn every_save_imports_with_no_flags_into_a_program_that_freezes_exports_and_imports_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = IMPORTABLE
        .iter()
        .map(|n| n.to_string())
        .chain(made_saves())
        .collect();
    for name in &names {
        let source = save(name);
        let (program, state, err) = import(dir.path(), name);
        let name = &name.replace('/', "_");
        assert!(
            err.contains("the same structure as flags: --signature"),
            "{name}: {err}"
        );
        let p = program.display().to_string();
        let s = state.display().to_string();

        // The TOML program with its state is the state again.
        let frozen = dir.path().join(format!("{name}.frozen.json"));
        ok(&hone(&[
            "program",
            "freeze",
            &p,
            "--state",
            &s,
            "-o",
            &frozen.display().to_string(),
        ]));
        assert_eq!(read_json(&frozen), read_json(&state), "{name}: freeze");

        // `--structure` takes the TOML program the import wrote and gives the same state.
        let again = dir.path().join(format!("{name}.again.json"));
        ok(&hone(&[
            "import",
            &source,
            "--structure",
            &p,
            "-o",
            &again.display().to_string(),
        ]));
        assert_eq!(
            read_json(&again),
            read_json(&state),
            "{name}: --structure TOML"
        );

        // Export reads the TOML program and its state.
        let out = hone(&["export", &p, "--state", &s, "--format", "openai"]);
        ok(&out);
        let openai: Value = serde_json::from_slice(&out.stdout).expect("openai JSON");
        let names: Vec<&String> = openai["predictors"]
            .as_object()
            .expect("predictors")
            .keys()
            .collect();
        let want: Vec<String> = read_json(&state)
            .as_object()
            .expect("object")
            .keys()
            .filter(|k| *k != "metadata")
            .cloned()
            .collect();
        if want.iter().any(|k| k == "signature") {
            assert_eq!(names, ["self"], "{name}");
        } else {
            assert_eq!(names.len(), want.len(), "{name}: {names:?} vs {want:?}");
        }
    }
}

#[test]
fn extended_signature_is_dropped_and_said_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (program, state, err) = import(dir.path(), "legacy_lear_netlogo");
    assert!(err.contains("dropped `extended_signature`"), "{err}");
    let out = hone(&[
        "export",
        &program.display().to_string(),
        "--state",
        &state.display().to_string(),
        "--format",
        "dspy",
    ]);
    ok(&out);
    assert!(!text(&out.stdout).contains("extended_signature"));
    assert!(text(&out.stdout).contains("Convert pseudocode to NetLogo code"));

    // Exported straight from the DSPy file with its structure, the export says so too.
    let out = hone(&[
        "export",
        &save("legacy_lear_netlogo"),
        "--signature",
        "self=pseudocode -> reasoning, netlogo_code",
        "--format",
        "dspy",
    ]);
    ok(&out);
    assert!(!text(&out.stdout).contains("extended_signature"));
    assert!(
        text(&out.stderr).contains("dropped `extended_signature`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_program_of_an_import_shows_what_was_guessed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (program, _, err) = import(dir.path(), "robofactor_pipeline");
    let toml = std::fs::read_to_string(&program).expect("toml");
    assert!(toml.contains("name = \"module.analyzer\""), "{toml}");
    assert!(
        toml.contains(
            "signature = \"code_snippet -> analysis, refactoring_opportunities: list[str]\""
        ),
        "{toml}"
    );
    assert!(toml.contains("# Guessed, to confirm"), "{toml}");
    assert!(
        err.contains("typed `list[str]` from 1 bootstrapped demo"),
        "{err}"
    );

    let (program, _, _) = import(dir.path(), "habenicht_react");
    let toml = std::fs::read_to_string(&program).expect("toml");
    for want in [
        "name = \"self\"",
        "module = \"react\"",
        "signature = \"question -> answer\"",
        "{ name = \"search_wikipedia\", description = \"\", args = { query = { type = \"string\" } }, command = [] }",
    ] {
        assert!(toml.contains(want), "missing {want:?} in\n{toml}");
    }
}

fn run_json(args: &[&str]) -> Value {
    let out = command()
        .args(args)
        .arg("--json")
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    ok(&out);
    let line = text(&out.stdout);
    let v: Value = serde_json::from_str(line.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {line}"));
    v["prediction"].clone()
}

#[test]
fn an_imported_program_with_dotted_stage_names_runs() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (program, state, _) = import(dir.path(), "robofactor_pipeline");
    let code = "def f(d):\n    return [x for x in d]\n";
    let p = run_json(&[
        "run",
        &program.display().to_string(),
        "--state",
        &state.display().to_string(),
        "--lm",
        "sim-model",
        "--base-url",
        &sim.url,
        "--input",
        &format!("code_snippet={code}"),
        "--input",
        &format!("original_code={code}"),
    ]);
    for field in ["analysis", "plan_steps", "refactored_code"] {
        assert!(p.get(field).is_some(), "no `{field}` in {p}");
    }
}

#[test]
fn a_react_stage_calls_a_command_tool() {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("multiply.py"),
        "import json, sys\n\
         for line in sys.stdin:\n\
         \x20   call = json.loads(line)\n\
         \x20   assert call['tool'] == 'multiply', call\n\
         \x20   a, b = call['args']['a'], call['args']['b']\n\
         \x20   print(json.dumps({'result': a * b}), flush=True)\n",
    )
    .expect("write tool");
    let program = dir.path().join("agent.toml");
    std::fs::write(
        &program,
        r#"[lm.task]
model = "sim-model"
temperature = 0.0

[[program.stages]]
name = "self"
module = "react"
signature = "question -> answer: float"
max_iters = 4
tools = [
  { name = "multiply", description = "Multiplies two numbers.", args = { a = { type = "number" }, b = { type = "number" } }, command = ["python3", "multiply.py"] },
]
"#,
    )
    .expect("write program");
    let p = run_json(&[
        "run",
        &program.display().to_string(),
        "--base-url",
        &sim.url,
        "--input",
        "question=What is 6 * 7?",
    ]);
    let trajectory = &p["trajectory"];
    assert_eq!(trajectory["tool_name_0"], "multiply", "{p}");
    assert_eq!(trajectory["observation_0"], serde_json::json!(42), "{p}");
    assert_eq!(p["answer"], serde_json::json!(42.0), "{p}");
}

#[test]
fn every_subcommand_help_shows_examples() {
    let out = hone(&["--help"]);
    ok(&out);
    let help = text(&out.stdout);
    let commands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    let mut paths: Vec<Vec<String>> = commands.iter().map(|c| vec![c.clone()]).collect();
    paths.push(vec!["program".into(), "freeze".into()]);
    for path in paths {
        if path == ["program"] {
            continue;
        }
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = hone(&args);
        ok(&out);
        let help = text(&out.stdout);
        assert!(
            help.contains("Example"),
            "`hone {}` has no examples:\n{help}",
            path.join(" ")
        );
    }
}
