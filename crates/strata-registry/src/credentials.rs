//! Credentials for a registry, as `docker login` left them: `auths` entries in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), `credHelpers` and
//! `credsStore` helpers, then Podman's `auth.json`.

use std::path::{Path, PathBuf};

use crate::error::RegistryError;

/// A registry credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    UsernamePassword { username: String, password: String },
    IdentityToken(String),
}

/// The registry host of an image reference: the first path component when it looks like a
/// host (has a `.` or `:`, or is `localhost`), else Docker Hub.
pub fn registry_host(reference: &str) -> &str {
    strata_dockerfile::ImageReference::parse(reference).registry()
}

/// The credentials configured for the registry of `reference`, if any.
pub fn credentials_for(reference: &str) -> Result<Option<Credentials>, RegistryError> {
    credentials_for_host(registry_host(reference))
}

/// The credentials configured for a registry (`docker.io`, `127.0.0.1:5556`), if any.
pub fn credentials_for_host(host: &str) -> Result<Option<Credentials>, RegistryError> {
    use docker_credential::{CredentialRetrievalError as Failure, DockerCredential};
    let host = if host == "index.docker.io" {
        "docker.io"
    } else {
        host
    };
    // Docker Hub's credentials are stored under its v1 index URL.
    let server = if host == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        host
    };
    // A missing config file is reported as a read error; it only means there are no credentials.
    let docker_config = docker_config_file();
    let docker = if docker_config.as_deref().is_some_and(Path::exists) {
        docker_credential::get_credential(server)
    } else {
        Err(Failure::ConfigNotFound)
    };
    let found = match docker {
        Ok(credential) => Some(credential),
        Err(Failure::NoCredentialConfigured | Failure::ConfigNotFound) => {
            match docker_credential::get_podman_credential(server) {
                Ok(credential) => Some(credential),
                Err(
                    Failure::NoCredentialConfigured
                    | Failure::ConfigNotFound
                    | Failure::ConfigReadError,
                ) => None,
                Err(error) => return Err(failure(host, &error)),
            }
        }
        Err(error) => return Err(failure(host, &error)),
    };
    Ok(found.map(|credential| match credential {
        DockerCredential::UsernamePassword(username, password) => {
            Credentials::UsernamePassword { username, password }
        }
        DockerCredential::IdentityToken(token) => Credentials::IdentityToken(token),
    }))
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_file() -> Option<PathBuf> {
    let directory = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker")))?;
    Some(directory.join("config.json"))
}

fn failure(host: &str, error: &docker_credential::CredentialRetrievalError) -> RegistryError {
    RegistryError::Credentials {
        registry: host.to_string(),
        message: error
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::registry_host;

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("127.0.0.1:5555/a/b:1"), "127.0.0.1:5555");
        assert_eq!(registry_host("quay.io/jupyter/base"), "quay.io");
        assert_eq!(registry_host("localhost/x"), "localhost");
        assert_eq!(registry_host("jupyter/base"), "docker.io");
        assert_eq!(registry_host("debian"), "docker.io");
    }
}
