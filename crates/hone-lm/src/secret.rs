//! [`ApiKey`]: an API key that never prints.

use std::fmt;

use crate::error::LmError;

/// An API key. `Debug` prints `ApiKey(<redacted>)`; there is no `Display`.
///
/// ```
/// use hone_lm::ApiKey;
/// let key = ApiKey::new("sk-secret");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// ```
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// Reads the key from the environment variable `var`.
    ///
    /// The error names the variable, never a value.
    pub fn from_env(var: &str) -> Result<Self, LmError> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_owned())),
            Ok(_) => Err(LmError::Config(format!(
                "environment variable {var} is empty; set it to your API key, or build the LM \
                 with no_api_key() for a local server"
            ))),
            Err(_) => Err(LmError::Config(format!(
                "environment variable {var} is not set (or not UTF-8); export it with your API \
                 key, or build the LM with no_api_key() for a local server"
            ))),
        }
    }

    /// The key itself, for building an `Authorization` header. Do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the key in `text` with `<redacted>`.
    pub(crate) fn redact(&self, text: String) -> String {
        if self.0.len() >= 4 && text.contains(&self.0) {
            text.replace(&self.0, "<redacted>")
        } else {
            text
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_redact_hide_the_key() {
        let key = ApiKey::new("sk-abcdef123456");
        assert!(!format!("{key:?}").contains("abcdef"));
        assert_eq!(
            key.redact("echo: Bearer sk-abcdef123456".into()),
            "echo: Bearer <redacted>"
        );
    }

    #[test]
    fn missing_env_var_names_the_variable() {
        let err = ApiKey::from_env("HONE_LM_TEST_SURELY_UNSET_VAR_93817").unwrap_err();
        assert!(
            err.to_string()
                .contains("HONE_LM_TEST_SURELY_UNSET_VAR_93817")
        );
    }
}
