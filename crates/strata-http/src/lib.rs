//! The HTTP client setup strata's registry and package-index clients share. Besides the user
//! agent and timeouts, host names are resolved once per process and the answer shared: many
//! concurrent requests to one host would otherwise each ask the system resolver, and some
//! resolvers drop a burst of identical queries (here each dropped one cost glibc's 5 s
//! timeout).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;

/// A resolver that asks the system once per host; concurrent askers wait for that answer.
/// Failures are not remembered, so a later request asks again.
#[derive(Default)]
struct SharedResolver {
    hosts: Mutex<HashMap<String, Arc<OnceCell<Vec<SocketAddr>>>>>,
}

impl Resolve for SharedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let cell = {
            let mut hosts = self
                .hosts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(hosts.entry(host.clone()).or_default())
        };
        Box::pin(async move {
            let addresses = cell
                .get_or_try_init(|| async {
                    tokio::net::lookup_host((host.as_str(), 0))
                        .await
                        .map(Iterator::collect::<Vec<SocketAddr>>)
                })
                .await
                .map_err(|error| -> Box<dyn std::error::Error + Send + Sync> {
                    if names_no_host(&error) {
                        Box::new(UnknownHost { host: host.clone() })
                    } else {
                        Box::new(error)
                    }
                })?;
            let addresses: Addrs = Box::new(addresses.clone().into_iter());
            Ok(addresses)
        })
    }
}

/// A host name the resolver says does not exist: asking again cannot help, so clients do not
/// retry it.
#[derive(Debug)]
pub struct UnknownHost {
    pub host: String,
}

impl std::fmt::Display for UnknownHost {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "no host is named `{}` (the resolver knows no such name)",
            self.host
        )
    }
}

impl std::error::Error for UnknownHost {}

/// Whether the system resolver said the name does not exist (`EAI_NONAME`), rather than that
/// it could not answer now (`EAI_AGAIN`, worth a retry). The standard library reports
/// `getaddrinfo` failures as text only, so the text is what there is to read: glibc's and
/// musl's wordings.
fn names_no_host(error: &std::io::Error) -> bool {
    let text = error.to_string();
    [
        "Name or service not known",
        "No address associated with hostname",
        "Name does not resolve",
    ]
    .iter()
    .any(|wording| text.contains(wording))
}

/// Whether a request failed because its host does not exist: not worth trying again.
pub fn is_unknown_host(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<UnknownHost>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// A client builder with strata's user agent, a 30 s connect timeout and the shared resolver;
/// callers add their own read or total timeouts.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("strata/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .dns_resolver(Arc::new(SharedResolver::default()))
}
