//! `hone run PROGRAM`: runs a program on inputs and prints its predictions.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use hone_cli::dataset::{ReadOptions, read_examples};
use hone_cli::run::Loaded;
use hone_core::Example;
use serde_json::{Value, json};

use super::common::{LmArgs, Output, at_least_one, options, runtime};

/// Arguments of `hone run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  hone run qa.toml --input question='What is 17 + 25?'
  hone run qa.toml --state runs/qa/program.json --inputs questions.jsonl --json")]
pub struct RunArgs {
    /// The program file (TOML).
    program: PathBuf,
    /// An optimized state to load (`program.json` of a run).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// An input field, `NAME=VALUE` (repeatable; VALUE is JSON when it parses, else text).
    #[arg(
        long = "input",
        short = 'i',
        value_name = "NAME=VALUE",
        conflicts_with = "inputs"
    )]
    input: Vec<String>,
    /// A JSONL file of inputs, one object per line.
    #[arg(long, value_name = "FILE")]
    inputs: Option<PathBuf>,
    /// Inputs run at once (with --inputs).
    #[arg(long, value_parser = at_least_one, default_value_t = 8)]
    concurrency: usize,
    #[command(flatten)]
    lm: LmArgs,
}

fn parse_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Array(_) | Value::Object(_))) => v,
        _ => Value::String(text.to_owned()),
    }
}

/// Runs the program; prints one prediction per input.
pub fn run(args: &RunArgs, out: Output) -> anyhow::Result<bool> {
    let opts = options(&args.lm, None, args.state.clone(), Some(args.concurrency))?;
    let loaded = Loaded::load(&args.program, &opts)?;
    let inputs: Vec<Example> = match &args.inputs {
        Some(path) => read_examples(
            path,
            &ReadOptions {
                inputs: loaded.program.inputs.clone(),
                ..ReadOptions::default()
            },
        )?,
        None => {
            if args.input.is_empty() {
                bail!(
                    "give the inputs with --input NAME=VALUE (the program reads {}) or --inputs FILE.jsonl",
                    loaded.program.inputs.join(", ")
                );
            }
            let mut ex = Example::new();
            for kv in &args.input {
                let Some((k, v)) = kv.split_once('=') else {
                    bail!("--input `{kv}`: expected NAME=VALUE, e.g. question='What is 2 + 3?'");
                };
                ex.insert(k.trim().to_owned(), parse_value(v));
            }
            for name in &loaded.program.inputs {
                if !ex.contains(name) {
                    bail!("missing input `{name}`: add --input {name}=...");
                }
            }
            vec![ex]
        }
    };
    let rt = runtime()?;
    let results = rt.block_on(async {
        use futures_util::StreamExt;
        futures_util::stream::iter(inputs.into_iter().map(|ex| {
            let loaded = &loaded;
            async move {
                let r = loaded.predict(ex.clone()).await;
                (ex, r)
            }
        }))
        .buffered(args.concurrency.max(1))
        .collect::<Vec<_>>()
        .await
    });
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let mut failures = 0usize;
    let single = results.len() == 1;
    for (i, (ex, r)) in results.into_iter().enumerate() {
        match r {
            Ok(p) => {
                if out.json {
                    writeln!(
                        w,
                        "{}",
                        json!({"inputs": ex.fields(), "prediction": p.fields()})
                    )?;
                } else {
                    if !single {
                        writeln!(w, "# {i}")?;
                    }
                    for (k, v) in p.fields() {
                        match v {
                            Value::String(s) => writeln!(w, "{k}: {s}")?,
                            other => writeln!(w, "{k}: {other}")?,
                        }
                    }
                    if !single {
                        writeln!(w)?;
                    }
                }
            }
            Err(e) => {
                failures += 1;
                if out.json {
                    writeln!(
                        w,
                        "{}",
                        json!({"inputs": ex.fields(), "error": e.to_string()})
                    )?;
                } else if single {
                    return Err(e).context("the program failed");
                } else {
                    eprintln!("# {i}: error: {e}");
                }
            }
        }
    }
    Ok(failures == 0)
}
