//! URLs with secrets in them: [`redact_url`] for anything written or logged, and
//! [`endpoint`] to join an API path onto a base URL that may carry a query.
//!
//! Some providers take the key in the URL: as userinfo (`https://user:KEY@host/v1`) or as a
//! query parameter (`?api-key=KEY`, `?key=`, `?token=`, a signed URL's `sig=`). Such a URL
//! is a secret; only its redacted form may reach a log, an error or a file.

/// Query parameter names whose values are secrets (compared without case, `-` and `_`
/// treated alike).
pub const SECRET_PARAMS: &[&str] = &[
    "key",
    "apikey",
    "api-key",
    "token",
    "accesstoken",
    "access-token",
    "authtoken",
    "auth",
    "authorization",
    "sig",
    "signature",
    "secret",
    "clientsecret",
    "password",
    "pass",
    "code",
    "xamzsignature",
    "xamzcredential",
    "xamzsecuritytoken",
    "xgoogsignature",
    "xgoogcredential",
];

/// Whether a query parameter's value is a secret by its name.
pub fn is_secret_param(name: &str) -> bool {
    let norm: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_PARAMS.iter().any(|p| p.replace('-', "") == norm)
        || norm.ends_with("key")
        || norm.ends_with("token")
        || norm.ends_with("secret")
}

/// `url` with its userinfo and the values of secret query parameters replaced by `REDACTED`.
/// Text that does not parse as a URL is returned with anything between `//` and `@` replaced
/// and its query cut, so a secret never survives a parse failure.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_username("REDACTED");
                let _ = parsed.set_password(None);
            }
            if parsed.query().is_some() {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_param(&k) {
                            "REDACTED".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            let text = parsed.to_string();
            // Keep the caller's form of a base URL (no trailing slash added by the parser).
            if !url.ends_with('/') && parsed.path() == "/" && parsed.query().is_none() {
                text.trim_end_matches('/').to_owned()
            } else {
                text
            }
        }
        Err(_) => {
            let mut text = url.split(['?', '#']).next().unwrap_or_default().to_owned();
            if let Some(scheme_end) = text.find("//")
                && let Some(at) = text[scheme_end + 2..].find('@')
            {
                text.replace_range(scheme_end + 2..scheme_end + 2 + at, "REDACTED");
            }
            text
        }
    }
}

/// The URL of `path` (e.g. `chat/completions`) under `base`, with `base`'s query kept after
/// the joined path: `https://h/v1?api-version=2` gives `https://h/v1/chat/completions?api-version=2`.
pub fn endpoint(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url.set_fragment(None);
    url
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_key_like_parameters_are_redacted() {
        let cases = [
            (
                "http://user:SECRET@host:8080/v1",
                "http://REDACTED@host:8080/v1",
            ),
            ("http://SECRET@host/v1", "http://REDACTED@host/v1"),
            (
                "https://h/v1?api-key=SECRET&api-version=2024-06-01",
                "https://h/v1?api-key=REDACTED&api-version=2024-06-01",
            ),
            ("https://h/v1?key=SECRET", "https://h/v1?key=REDACTED"),
            (
                "https://h/v1?api_key=SECRET",
                "https://h/v1?api_key=REDACTED",
            ),
            ("https://h/v1?token=SECRET", "https://h/v1?token=REDACTED"),
            (
                "https://h/v1?access_token=SECRET",
                "https://h/v1?access_token=REDACTED",
            ),
            (
                "https://h/v1?sig=SECRET&se=2030",
                "https://h/v1?sig=REDACTED&se=2030",
            ),
            (
                "https://h/v1?X-Amz-Signature=SECRET",
                "https://h/v1?X-Amz-Signature=REDACTED",
            ),
            (
                "https://h/v1?myServiceKey=SECRET",
                "https://h/v1?myServiceKey=REDACTED",
            ),
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            (
                "redis://:SECRET@127.0.0.1:6379/0",
                "redis://REDACTED@127.0.0.1:6379/0",
            ),
        ];
        for (url, want) in cases {
            let got = redact_url(url);
            assert_eq!(got, want, "{url}");
            assert!(!got.contains("SECRET"), "{got}");
        }
    }

    #[test]
    fn text_that_is_not_a_url_loses_its_secret_parts() {
        let got = redact_url("not a url://user:SECRET@x?key=SECRET");
        assert!(!got.contains("SECRET"), "{got}");
    }

    #[test]
    fn the_path_is_joined_before_the_query() {
        let base =
            reqwest::Url::parse("https://h/openai/v1/?api-version=2024-06-01&api-key=K").unwrap();
        assert_eq!(
            endpoint(&base, "chat/completions").as_str(),
            "https://h/openai/v1/chat/completions?api-version=2024-06-01&api-key=K"
        );
        let plain = reqwest::Url::parse("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(
            endpoint(&plain, "embeddings").as_str(),
            "http://127.0.0.1:8080/v1/embeddings"
        );
    }
}
