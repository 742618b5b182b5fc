//! Building the named LMs of a program: `[lm.NAME]` tables, `--lm` flags and the environment.

use std::path::PathBuf;
use std::time::Duration;

use hone_lm::{BreakerLayer, HttpLm, LmBuilder, LmHandle, SqliteCache, UsageTracker};
use indexmap::IndexMap;

use super::load::Program;
use super::spec::{CacheSpec, LmSpec};
use crate::error::{Error, Result};

/// LMs given on the command line, beating the file's.
#[derive(Debug, Clone, Default)]
pub struct LmOverrides {
    /// `--lm [NAME=]MODEL[@BASE_URL]`: (name, model, base URL). The name defaults to `task`.
    pub lms: Vec<(String, String, Option<String>)>,
    /// `--base-url URL`: the base URL of every LM that sets none.
    pub base_url: Option<String>,
    /// `--no-cache`: turn every LM's cache off.
    pub no_cache: bool,
}

impl LmOverrides {
    /// Parses one `--lm` value: `[NAME=]MODEL[@BASE_URL]`.
    pub fn parse_lm(text: &str) -> std::result::Result<(String, String, Option<String>), String> {
        let (name, rest) = match text.split_once('=') {
            Some((n, r)) => (n.trim().to_owned(), r.trim()),
            None => ("task".to_owned(), text.trim()),
        };
        let (model, url) = match rest.split_once('@') {
            Some((m, u)) => (m.trim().to_owned(), Some(u.trim().to_owned())),
            None => (rest.to_owned(), None),
        };
        if name.is_empty() || model.is_empty() {
            return Err(format!(
                "`{text}`: expected [NAME=]MODEL[@BASE_URL], e.g. `task=gpt-4o-mini` or `gemma@http://127.0.0.1:8080/v1`"
            ));
        }
        Ok((name, model, url))
    }
}

/// The LMs of a run, by name, sharing one usage tracker.
#[derive(Debug, Clone)]
pub struct Lms {
    /// The handles, by name.
    pub handles: IndexMap<String, LmHandle>,
    /// The resolved settings, by name (what run.json records).
    pub specs: IndexMap<String, LmSpec>,
    /// The default LM's name.
    pub default: String,
    /// Usage and cost over all of them.
    pub usage: UsageTracker,
}

impl Lms {
    /// The default LM.
    pub fn default_lm(&self) -> Result<LmHandle> {
        self.get(&self.default)
    }

    /// The LM called `name`.
    pub fn get(&self, name: &str) -> Result<LmHandle> {
        self.handles
            .get(name)
            .cloned()
            .ok_or_else(|| Error::Usage(format!("no LM named `{name}`")))
    }

    /// The LM for a role (`proposer`, `judge`, `teacher`): the one of that name, else the
    /// default.
    pub fn role(&self, name: &str) -> Result<LmHandle> {
        match self.handles.get(name) {
            Some(h) => Ok(h.clone()),
            None => self.default_lm(),
        }
    }
}

/// Builds the LMs: the file's `[lm.*]` tables with `overrides` applied; without any, an LM
/// `task` from `--lm`. Base URLs default to `OPENAI_BASE_URL`, keys to `OPENAI_API_KEY` (sent
/// only when set).
pub fn build_lms(program: &Program, overrides: &LmOverrides) -> Result<Lms> {
    let mut specs: IndexMap<String, LmSpec> = program
        .lms
        .iter()
        .map(|(n, s)| (n.clone(), s.get_ref().clone()))
        .collect();
    for (name, model, url) in &overrides.lms {
        let entry = specs.entry(name.clone()).or_insert_with(|| LmSpec {
            model: model.clone(),
            base_url: None,
            api_key_env: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
            seed: None,
            cache: None,
            max_in_flight: None,
            timeout_secs: None,
        });
        entry.model = model.clone();
        if url.is_some() {
            entry.base_url = url.clone();
        }
    }
    if specs.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no LM: add a [lm.task] table with `model = \"...\"`, or pass --lm MODEL[@BASE_URL]",
            program.path.display()
        )));
    }
    let names: Vec<String> = specs.keys().cloned().collect();
    program.check_lm_names(&names)?;
    let default = match &program.default_lm {
        Some(n) => n.get_ref().clone(),
        None if specs.contains_key("task") => "task".to_owned(),
        None => names[0].clone(),
    };
    let usage = UsageTracker::new();
    let env_url = std::env::var("OPENAI_BASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let mut handles = IndexMap::new();
    for (name, spec) in specs.iter_mut() {
        if spec.base_url.is_none() {
            spec.base_url = overrides.base_url.clone().or_else(|| env_url.clone());
        }
        if overrides.no_cache {
            spec.cache = None;
        }
        let mut http = HttpLm::builder().model(spec.model.clone());
        if let Some(url) = &spec.base_url {
            http = http.base_url(url.clone());
        }
        match &spec.api_key_env {
            Some(var) => http = http.api_key_env(var.clone()),
            None if std::env::var_os("OPENAI_API_KEY").is_some() => {
                http = http.api_key_env("OPENAI_API_KEY")
            }
            None => {}
        }
        if let Some(t) = spec.temperature {
            http = http.temperature(t);
        }
        if let Some(p) = spec.top_p {
            http = http.top_p(p);
        }
        if let Some(m) = spec.max_tokens {
            http = http.max_tokens(m);
        }
        if let Some(s) = spec.seed {
            http = http.seed(s);
        }
        if let Some(s) = spec.timeout_secs {
            http = http.timeout(Duration::from_secs(s));
        }
        let at = |message: String| {
            program
                .error_at_key(&format!("lm.{name}"), "model", message)
                .hint("check the [lm] table (base_url, api_key_env) or the --lm flag")
        };
        let base = http.build().map_err(|e| at(format!("LM `{name}`: {e}")))?;
        // A server that is down fails the run in seconds instead of spending its budget.
        let mut builder = LmBuilder::new(base)
            .usage(usage.clone())
            .breaker(BreakerLayer::new());
        if let Some(n) = spec.max_in_flight {
            builder = builder.max_in_flight(n);
        }
        let cache_path = match &spec.cache {
            Some(CacheSpec::On(true)) => Some(program.dir().join(".hone").join("cache.sqlite")),
            Some(CacheSpec::Path(p)) => Some(program.dir().join(p)),
            Some(CacheSpec::On(false)) | None => None,
        };
        if let Some(path) = cache_path {
            builder = builder.cache(open_cache(&path)?);
        }
        handles.insert(name.clone(), builder.build());
    }
    Ok(Lms {
        handles,
        specs,
        default,
        usage,
    })
}

fn open_cache(path: &PathBuf) -> Result<SqliteCache> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    SqliteCache::open(path, 1 << 30)
        .map_err(|e| Error::Usage(format!("cannot open the LM cache {}: {e}", path.display())))
}
