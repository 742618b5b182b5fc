//! [`PriceTable`]: model → US dollars per million input / output tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::response::Usage;

/// Price of one model in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Per million input (prompt) tokens.
    pub input_per_million: f64,
    /// Per million output (completion) tokens.
    pub output_per_million: f64,
    /// Per million input tokens served from the provider's prompt cache, if cheaper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_million: Option<f64>,
}

impl Price {
    /// A price without a prompt-cache discount.
    pub fn new(input_per_million: f64, output_per_million: f64) -> Self {
        Price {
            input_per_million,
            output_per_million,
            cached_input_per_million: None,
        }
    }

    /// Cost of `usage` in US dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
            .min(usage.prompt_tokens);
        let cached_price = self
            .cached_input_per_million
            .unwrap_or(self.input_per_million);
        let fresh = usage.prompt_tokens - cached;
        (fresh as f64 * self.input_per_million
            + cached as f64 * cached_price
            + usage.completion_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Model prices. Serializes as a map from model name to [`Price`], so a table loads from
/// JSON (or TOML) such as `{"my-model": {"input_per_million": 1.0, "output_per_million": 2.0}}`.
///
/// Lookup tries the exact name, then the name without a `provider/` prefix, then the
/// longest table entry the name starts with followed by `-` (so `gpt-4o-2024-08-06` uses
/// `gpt-4o`, and `gpt-4o-mini-…` uses `gpt-4o-mini`).
///
/// ```
/// use hone_lm::{Price, PriceTable};
/// let mut prices = PriceTable::with_defaults();
/// prices.set("my-local-model", Price::new(0.0, 0.0));
/// assert!(prices.get("gpt-4o-mini-2024-07-18").is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

impl PriceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A few OpenAI list prices (USD per 1M tokens); check them against your provider and
    /// override as needed.
    pub fn with_defaults() -> Self {
        let mut table = Self::new();
        let rows: [(&str, f64, f64, Option<f64>); 10] = [
            ("gpt-4o", 2.50, 10.00, Some(1.25)),
            ("gpt-4o-mini", 0.15, 0.60, Some(0.075)),
            ("gpt-4.1", 2.00, 8.00, Some(0.50)),
            ("gpt-4.1-mini", 0.40, 1.60, Some(0.10)),
            ("gpt-4.1-nano", 0.10, 0.40, Some(0.025)),
            ("o3-mini", 1.10, 4.40, Some(0.55)),
            ("o4-mini", 1.10, 4.40, Some(0.275)),
            ("text-embedding-3-small", 0.02, 0.0, None),
            ("text-embedding-3-large", 0.13, 0.0, None),
            ("text-embedding-ada-002", 0.10, 0.0, None),
        ];
        for (model, input, output, cached) in rows {
            table.set(
                model,
                Price {
                    input_per_million: input,
                    output_per_million: output,
                    cached_input_per_million: cached,
                },
            );
        }
        table
    }

    /// Sets or replaces the price of `model`.
    pub fn set(&mut self, model: impl Into<String>, price: Price) -> &mut Self {
        self.prices.insert(model.into(), price);
        self
    }

    /// Adds or replaces every entry of `other`.
    pub fn extend(&mut self, other: PriceTable) -> &mut Self {
        self.prices.extend(other.prices);
        self
    }

    /// The price for `model` (see the type docs for the lookup rules).
    pub fn get(&self, model: &str) -> Option<Price> {
        if let Some(price) = self.prices.get(model) {
            return Some(*price);
        }
        let bare = model.rsplit_once('/').map_or(model, |(_, name)| name);
        if let Some(price) = self.prices.get(bare) {
            return Some(*price);
        }
        self.prices
            .iter()
            .filter(|(name, _)| {
                bare.len() > name.len()
                    && bare.starts_with(name.as_str())
                    && bare.as_bytes()[name.len()] == b'-'
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }

    /// Cost of `usage` on `model`, if its price is known.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.get(model).map(|price| price.cost(usage))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::response::PromptTokensDetails;

    #[test]
    fn lookup_rules() {
        let table = PriceTable::with_defaults();
        assert_eq!(table.get("gpt-4o").map(|p| p.input_per_million), Some(2.5));
        assert_eq!(
            table
                .get("gpt-4o-mini-2024-07-18")
                .map(|p| p.input_per_million),
            Some(0.15)
        );
        assert_eq!(
            table
                .get("openai/gpt-4o-2024-08-06")
                .map(|p| p.input_per_million),
            Some(2.5)
        );
        assert_eq!(table.get("gpt-4omega"), None);
        assert_eq!(table.get("unknown"), None);
    }

    #[test]
    fn cost_with_cached_prompt_tokens() {
        let price = Price {
            input_per_million: 2.0,
            output_per_million: 8.0,
            cached_input_per_million: Some(0.5),
        };
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
            total_tokens: 1_500_000,
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: Some(400_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let cost = price.cost(&usage);
        assert!(
            (cost - (0.6 * 2.0 + 0.4 * 0.5 + 0.5 * 8.0)).abs() < 1e-9,
            "{cost}"
        );
    }

    #[test]
    fn serde_round_trip_and_override() {
        let json = r#"{"sim-1": {"input_per_million": 1.0, "output_per_million": 2.0}}"#;
        let loaded: PriceTable = serde_json::from_str(json).unwrap();
        let mut table = PriceTable::with_defaults();
        table.extend(loaded.clone());
        assert_eq!(table.get("sim-1"), Some(Price::new(1.0, 2.0)));
        let back: PriceTable =
            serde_json::from_str(&serde_json::to_string(&loaded).unwrap()).unwrap();
        assert_eq!(back, loaded);
    }
}
