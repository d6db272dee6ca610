//! Registry authentication as Docker does it: try without credentials, and on `401` follow the
//! `WWW-Authenticate` challenge — `Basic` with the stored username and password, or `Bearer`
//! with a token from the challenge's realm for the service and the scopes the operation needs.

use std::fmt::Write;

use base64::Engine as _;

use crate::credentials::Credentials;

/// What a registry asked for in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Access to one repository: `repository:<name>:pull` or `:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub repository: String,
    pub push: bool,
}

impl Scope {
    pub fn pull(repository: &str) -> Self {
        Self {
            repository: repository.to_string(),
            push: false,
        }
    }

    pub fn push(repository: &str) -> Self {
        Self {
            repository: repository.to_string(),
            push: true,
        }
    }

    pub(crate) fn token_scope(&self) -> String {
        let actions = if self.push { "pull,push" } else { "pull" };
        format!("repository:{}:{actions}", self.repository)
    }
}

/// The key tokens are cached under: the registry and the scopes they were issued for.
pub(crate) fn cache_key(host: &str, scopes: &[Scope]) -> String {
    let mut key = host.to_string();
    for scope in scopes {
        let _ = write!(key, " {}", scope.token_scope());
    }
    key
}

/// Parse a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"` or `Basic …`.
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let parameters = parse_parameters(rest);
    let get = |name: &str| {
        parameters
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// `key="value", key2=value2` with commas allowed inside quotes.
fn parse_parameters(text: &str) -> Vec<(String, String)> {
    let mut parameters = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut characters = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((index, character)) = characters.next() {
                match character {
                    '\\' => {
                        if let Some((_, escaped)) = characters.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = index + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        parameters.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    parameters
}

/// The `Authorization` value for HTTP Basic.
pub(crate) fn basic_header(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// The token endpoint's answer: Docker's `token` or OAuth's `access_token`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenResponse {
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|token| !token.is_empty())
            .or(self.access_token.filter(|token| !token.is_empty()))
    }
}

/// The token request: `GET realm?service=…&scope=…` (with Basic credentials when there are
/// any), or for an identity token the OAuth form `POST` Docker uses.
pub(crate) fn token_request(
    http: &reqwest::Client,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    credentials: Option<&Credentials>,
) -> reqwest::RequestBuilder {
    match credentials {
        Some(Credentials::IdentityToken(token)) => {
            let mut form: Vec<(&str, &str)> = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "strata"),
            ];
            if let Some(service) = service {
                form.push(("service", service));
            }
            let joined = scopes.join(" ");
            if !scopes.is_empty() {
                form.push(("scope", &joined));
            }
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&form)
                .finish();
            http.post(realm)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
        }
        other => {
            let mut query: Vec<(&str, &str)> = Vec::new();
            if let Some(service) = service {
                query.push(("service", service));
            }
            for scope in scopes {
                query.push(("scope", scope));
            }
            let request = http.get(realm).query(&query);
            match other {
                Some(Credentials::UsernamePassword { username, password }) => {
                    request.header("Authorization", basic_header(username, password))
                }
                _ => request,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_commas_inside_quotes() {
        let challenge = parse_challenge(
            r#"Bearer realm="https://auth.example.org/token",service="registry.example.org",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(
            challenge,
            Challenge::Bearer {
                realm: "https://auth.example.org/token".to_string(),
                service: Some("registry.example.org".to_string()),
                scope: Some("repository:a/b:pull,push".to_string()),
            }
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="strata-test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
    }

    #[test]
    fn scopes_and_basic_header() {
        assert_eq!(Scope::push("a/b").token_scope(), "repository:a/b:pull,push");
        assert_eq!(
            cache_key("r", &[Scope::pull("a"), Scope::push("b")]),
            "r repository:a:pull repository:b:pull,push"
        );
        assert_eq!(basic_header("strata", "pw"), "Basic c3RyYXRhOnB3");
    }
}
