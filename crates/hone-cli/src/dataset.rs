//! Datasets: JSON Lines and CSV files read line by line, fields renamed, inputs marked, split
//! into train and dev with a seed. Errors name the file, the line and the field.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use hone_core::Example;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::error::{Error, FileError, Result};
use crate::program::Program;
use crate::program::spec::{DataFormat, DatasetSpec, SplitSpec};

/// How to read one dataset file.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The format (default from the extension).
    pub format: Option<DataFormat>,
    /// The input fields every example must have.
    pub inputs: Vec<String>,
    /// Renames: `field = "column"`.
    pub map: IndexMap<String, String>,
    /// Read at most this many examples.
    pub limit: Option<usize>,
}

/// The examples of a run.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Training examples (demos are drawn from them).
    pub train: Vec<Example>,
    /// Development examples (candidates are scored on them).
    pub dev: Vec<Example>,
    /// Where they came from, for reports.
    pub source: String,
}

/// The format of `path`: the given one, else from the extension (`.csv` → CSV, else JSONL).
pub fn format_of(path: &Path, given: Option<DataFormat>) -> DataFormat {
    given.unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => DataFormat::Csv,
        _ => DataFormat::Jsonl,
    })
}

/// Reads one dataset file, streaming it line by line.
pub fn read_examples(path: &Path, options: &ReadOptions) -> Result<Vec<Example>> {
    let file = File::open(path).map_err(|e| Error::io("read", path, e))?;
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut examples = Vec::new();
    match format_of(path, options.format) {
        DataFormat::Jsonl => {
            for (i, line) in BufReader::new(file).lines().enumerate() {
                if examples.len() >= limit {
                    break;
                }
                let line = line.map_err(|e| Error::io("read", path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                let at = |m: String| FileError::new(path, m).at(i + 1, 1);
                let value: Value = serde_json::from_str(&line).map_err(|e| {
                    at(format!("not valid JSON: {}", strip_position(&e.to_string())))
                        .at(i + 1, e.column())
                        .hint("each line must hold one JSON object, e.g. {\"question\": \"...\", \"answer\": \"...\"}")
                })?;
                let Value::Object(fields) = value else {
                    return Err(
                        at(format!("expected a JSON object, found {}", kind(&value)))
                            .hint("each line must hold one JSON object")
                            .into(),
                    );
                };
                examples.push(make_example(path, i + 1, fields, options)?);
            }
        }
        DataFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
            let headers = reader
                .headers()
                .map_err(|e| {
                    FileError::new(path, format!("cannot read the CSV header: {e}")).at(1, 1)
                })?
                .clone();
            for record in reader.records() {
                if examples.len() >= limit {
                    break;
                }
                let record = record.map_err(|e| {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    FileError::new(path, format!("invalid CSV: {e}")).at(line.max(1), 1)
                })?;
                let line = record.position().map_or(0, |p| p.line() as usize);
                let fields: Map<String, Value> = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.to_owned(), Value::String(v.to_owned())))
                    .collect();
                examples.push(make_example(path, line, fields, options)?);
            }
        }
    }
    Ok(examples)
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn make_example(
    path: &Path,
    line: usize,
    mut fields: Map<String, Value>,
    options: &ReadOptions,
) -> Result<Example> {
    for (target, column) in &options.map {
        match fields.remove(column) {
            Some(v) => {
                fields.insert(target.clone(), v);
            }
            None => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                return Err(FileError::new(
                    path,
                    format!(
                        "no column `{column}` (mapped to `{target}`); the line has {}",
                        names.join(", ")
                    ),
                )
                .at(line, 1)
                .field(format!("dataset.map.{target}"))
                .hint(crate::error::did_you_mean(column, &names))
                .into());
            }
        }
    }
    for input in &options.inputs {
        if !fields.contains_key(input) {
            let names: Vec<&str> = fields.keys().map(String::as_str).collect();
            let hint = match crate::error::suggest(input, names.iter().copied()) {
                Some(s) => format!("rename it in [dataset]: map = {{ {input} = \"{s}\" }}"),
                None => format!(
                    "add `{input}` to every example, or map a column to it with [dataset] map"
                ),
            };
            return Err(FileError::new(
                path,
                format!(
                    "the example has no input field `{input}` (its fields: {})",
                    names.join(", ")
                ),
            )
            .at(line, 1)
            .field(input.clone())
            .hint(hint)
            .into());
        }
    }
    Ok(Example::from_map(fields).with_inputs(options.inputs.iter().map(String::as_str)))
}

/// A SplitMix64 step: the shuffle's generator (seeded, stable across platforms and versions).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Shuffles with `seed` and puts `dev` of the examples (a fraction) into the dev set, at least
/// one on each side when there are two or more.
pub fn split(examples: Vec<Example>, split: SplitSpec) -> (Vec<Example>, Vec<Example>) {
    let mut items = examples;
    let mut state = split.seed;
    for i in (1..items.len()).rev() {
        let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    let n = items.len();
    let mut dev_n = ((n as f64) * split.dev.clamp(0.0, 1.0)).round() as usize;
    if n >= 2 {
        dev_n = dev_n.clamp(1, n - 1);
    }
    let train = items.split_off(dev_n.min(n));
    (train, items)
}

/// Where a run's data comes from: the program's `[dataset]`, or `--dataset FILE`.
#[derive(Debug, Clone, Default)]
pub struct DataOverrides {
    /// `--dataset FILE`: one file, split as `[dataset] split` says.
    pub path: Option<PathBuf>,
    /// `--limit N`.
    pub limit: Option<usize>,
}

/// Loads the program's dataset.
pub fn load_dataset(program: &Program, overrides: &DataOverrides) -> Result<Dataset> {
    let spec: DatasetSpec = program
        .dataset
        .as_ref()
        .map(|d| d.get_ref().clone())
        .unwrap_or_default();
    let inputs = if spec.inputs.is_empty() {
        program.inputs.clone()
    } else {
        spec.inputs.clone()
    };
    let options = ReadOptions {
        format: spec.format,
        inputs,
        map: spec.map.clone(),
        limit: overrides.limit.or(spec.limit),
    };
    let dir = program.dir();
    if let Some(path) = &overrides.path {
        let all = read_examples(path, &options)?;
        let (train, dev) = split(all, spec.split.unwrap_or_default());
        return Ok(Dataset {
            train,
            dev,
            source: path.display().to_string(),
        });
    }
    match (&spec.path, &spec.train, &spec.dev) {
        (Some(path), None, None) => {
            let path = dir.join(path);
            let all = read_examples(&path, &options)?;
            let (train, dev) = split(all, spec.split.unwrap_or_default());
            Ok(Dataset {
                train,
                dev,
                source: path.display().to_string(),
            })
        }
        (None, Some(train), Some(dev)) => {
            let (train, dev) = (dir.join(train), dir.join(dev));
            Ok(Dataset {
                train: read_examples(&train, &options)?,
                dev: read_examples(&dev, &options)?,
                source: format!("{} + {}", train.display(), dev.display()),
            })
        }
        (None, None, None) => Err(Error::Usage(format!(
            "{}: no dataset: add a [dataset] table with `path = \"data.jsonl\"` (or `train` and `dev`), or pass --dataset FILE",
            program.path.display()
        ))),
        _ => Err(program
            .error_at_key(
                "dataset",
                "path",
                "give either `path` or both `train` and `dev`",
            )
            .hint("e.g. path = \"data.jsonl\" with split = { dev = 0.5, seed = 7 }")
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_jsonl_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("d.jsonl");
        std::fs::write(&path, "{\"q\": \"a\"}\n{\"q\": \"b\"\n").unwrap_or_else(|e| panic!("{e}"));
        let e = read_examples(&path, &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("d.jsonl:2:"), "{e}");
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn csv_with_mapping_and_limit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "q,a\n1+1,2\n2+2,4\n3+3,6\n").unwrap_or_else(|e| panic!("{e}"));
        let options = ReadOptions {
            inputs: vec!["question".into()],
            map: IndexMap::from([("question".to_owned(), "q".to_owned())]),
            limit: Some(2),
            ..ReadOptions::default()
        };
        let ex = read_examples(&path, &options).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].get("question"), Some(&Value::from("2+2")));
        assert_eq!(ex[1].inputs().len(), 1);
    }

    #[test]
    fn split_is_seeded_and_keeps_both_sides() {
        let ex: Vec<Example> = (0..10).map(|i| Example::new().with("i", i)).collect();
        let (t1, d1) = split(ex.clone(), SplitSpec { dev: 0.3, seed: 7 });
        let (t2, d2) = split(ex, SplitSpec { dev: 0.3, seed: 7 });
        assert_eq!((t1.len(), d1.len()), (7, 3));
        assert_eq!(d1, d2);
        assert_eq!(t1, t2);
    }
}
