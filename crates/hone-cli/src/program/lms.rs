//! Building the named LMs of a program: `[lm.NAME]` tables and `--lm` flags, in the
//! environment the binary passes in.

use hone_lm::{Env, LmContext, LmError, LmHandle, LmSpec, UsageTracker};
use indexmap::IndexMap;

use super::load::Program;
use crate::error::{Error, Result};

/// LMs given on the command line, beating the file's, and the environment LMs are built in.
#[derive(Debug, Clone, Default)]
pub struct LmOverrides {
    /// `--lm [NAME=]MODEL[@BASE_URL]`: the LM's name (default `task`) and its spec.
    pub lms: Vec<(String, LmSpec)>,
    /// `--base-url URL`: the base URL of every LM that sets none.
    pub base_url: Option<String>,
    /// `--no-cache`: turn every LM's cache off.
    pub no_cache: bool,
    /// The environment key variables and `OPENAI_BASE_URL` are read from (the binary passes
    /// the process's).
    pub env: Env,
}

impl LmOverrides {
    /// Parses one `--lm` value: `[NAME=]MODEL[@BASE_URL]`.
    pub fn parse_lm(text: &str) -> std::result::Result<(String, LmSpec), String> {
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
        let mut spec = LmSpec::new(model);
        spec.base_url = url;
        Ok((name, spec))
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
/// `task` from `--lm`. Each is built by [`LmSpec::build`] in `overrides.env`, with relative
/// cache paths under the program's directory.
pub fn build_lms(program: &Program, overrides: &LmOverrides) -> Result<Lms> {
    let mut specs: IndexMap<String, LmSpec> = program
        .lms
        .iter()
        .map(|(n, s)| (n.clone(), s.get_ref().clone()))
        .collect();
    for (name, flag) in &overrides.lms {
        let entry = specs
            .entry(name.clone())
            .or_insert_with(|| LmSpec::new(flag.model.clone()));
        entry.model.clone_from(&flag.model);
        if flag.base_url.is_some() {
            entry.base_url.clone_from(&flag.base_url);
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
    let dir = program.dir();
    let mut handles = IndexMap::new();
    for (name, spec) in specs.iter_mut() {
        if spec.base_url.is_none() {
            spec.base_url = overrides.base_url.clone().or_else(|| {
                overrides
                    .env
                    .non_empty(hone_lm::spec::DEFAULT_BASE_URL_ENV)
                    .map(str::to_owned)
            });
        }
        if overrides.no_cache {
            spec.cache = None;
        }
        let cx = LmContext::new(&overrides.env, &usage).dir(&dir);
        let handle = spec.build(&cx).map_err(|e| match e {
            LmError::Cache(message) => Error::Usage(message),
            e => program
                .error_at_key(&format!("lm.{name}"), "model", format!("LM `{name}`: {e}"))
                .hint("check the [lm] table (base_url, api_key_env) or the --lm flag")
                .into(),
        })?;
        handles.insert(name.clone(), handle);
    }
    Ok(Lms {
        handles,
        specs,
        default,
        usage,
    })
}
