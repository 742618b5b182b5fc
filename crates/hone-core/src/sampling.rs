//! [`Sampling`]: the sampling settings of LM requests, the one type for them everywhere — an
//! LM's request defaults, a predictor's or a call's settings, and a job's settings in the
//! optimizer protocol.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Sampling parameters of chat requests. Unset values leave the request as it is; every value
/// is optional, and the serialized form holds only what is set.
///
/// ```
/// use hone_core::Sampling;
/// let base = Sampling::new().temperature(0.0).max_tokens(256);
/// let call = base.merged(&Sampling::new().temperature(0.7).rollout_id(3));
/// assert_eq!(call.temperature, Some(0.7));
/// assert_eq!(call.max_tokens, Some(256));
/// assert_eq!(
///     serde_json::to_string(&Sampling::new().rollout_id(3)).unwrap(),
///     r#"{"rollout_id":3}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Sampling {
    /// `temperature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `top_p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// `max_tokens` (applied when neither `max_tokens` nor `max_completion_tokens` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Number of choices (`n`). As in DSPy, with `n > 1` and a temperature unset or at most
    /// 0.15, a module raises the temperature to 0.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// The request `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// A rollout id (DSPy's `rollout_id`): distinct ids give distinct samples of the same
    /// prompt. It is sent as the request `seed` (beating [`seed`](Self::seed)), so it also
    /// keys the response cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<u64>,
    /// Other top-level request parameters (provider specific).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
}

impl Sampling {
    /// No settings.
    pub fn new() -> Self {
        Sampling::default()
    }

    /// Sets `temperature`.
    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Sets `top_p`.
    pub fn top_p(mut self, p: f64) -> Self {
        self.top_p = Some(p);
        self
    }

    /// Sets `max_tokens`.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Sets the number of choices.
    pub fn n(mut self, n: u32) -> Self {
        self.n = Some(n);
        self
    }

    /// Sets the request seed.
    pub fn seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the rollout id.
    pub fn rollout_id(mut self, id: u64) -> Self {
        self.rollout_id = Some(id);
        self
    }

    /// Sets another request parameter.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Sampling::default()
    }

    /// The seed a request gets: the rollout id when set (as `i64`, saturating), else
    /// [`seed`](Self::seed).
    pub fn request_seed(&self) -> Option<i64> {
        match self.rollout_id {
            Some(id) => Some(i64::try_from(id).unwrap_or(i64::MAX)),
            None => self.seed,
        }
    }

    /// `self` with every value set in `over` replaced by it (DSPy's `{**config, **overrides}`).
    pub fn merged(&self, over: &Sampling) -> Sampling {
        let mut extra = self.extra.clone();
        for (k, v) in &over.extra {
            extra.insert(k.clone(), v.clone());
        }
        Sampling {
            temperature: over.temperature.or(self.temperature),
            top_p: over.top_p.or(self.top_p),
            max_tokens: over.max_tokens.or(self.max_tokens),
            n: over.n.or(self.n),
            seed: over.seed.or(self.seed),
            rollout_id: over.rollout_id.or(self.rollout_id),
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_only_what_is_set_and_reads_it_back() {
        let s = Sampling::new()
            .temperature(0.5)
            .rollout_id(2)
            .param("logprobs", true);
        let json = serde_json::to_value(&s).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"temperature": 0.5, "rollout_id": 2, "extra": {"logprobs": true}})
        );
        assert_eq!(serde_json::from_value::<Sampling>(json).expect("reads"), s);
        assert_eq!(
            serde_json::to_string(&Sampling::new()).expect("empty"),
            "{}"
        );
    }

    #[test]
    fn the_rollout_id_beats_the_seed() {
        assert_eq!(Sampling::new().seed(5).request_seed(), Some(5));
        assert_eq!(
            Sampling::new().seed(5).rollout_id(1).request_seed(),
            Some(1)
        );
        assert_eq!(
            Sampling::new().rollout_id(u64::MAX).request_seed(),
            Some(i64::MAX)
        );
    }

    #[test]
    fn merged_prefers_the_override() {
        let base = Sampling::new().temperature(0.0).top_p(0.9).param("a", 1);
        let merged = base.merged(&Sampling::new().temperature(1.0).param("a", 2).n(3));
        assert_eq!(merged.temperature, Some(1.0));
        assert_eq!(merged.top_p, Some(0.9));
        assert_eq!(merged.n, Some(3));
        assert_eq!(merged.extra["a"], 2);
    }
}
