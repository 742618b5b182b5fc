//! Every sampling key of an `[lm.*]` table reaches the request: `temperature`, `top_p`,
//! `max_tokens` and `seed` are in the body `hone run -vvv` logs.

mod common;

use common::{Sim, command, text};

#[test]
fn lm_table_sampling_keys_reach_the_request() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tmp.path().join("program.toml"),
        r#"
[lm.task]
model = "sim-model"
temperature = 0.25
top_p = 0.5
max_tokens = 48
seed = 7

[[program.stages]]
name = "answer"
module = "predict"
signature = "question -> answer"
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = command()
        .args(["-vvv", "run", "program.toml", "--base-url", &sim.url])
        .args(["--input", "question=What is 2 + 2?"])
        .env("OPENAI_API_KEY", "k")
        .current_dir(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(r#""temperature":0.25,"top_p":0.5,"max_tokens":48,"seed":7"#),
        "the logged request body carries every key:\n{err}"
    );
}
