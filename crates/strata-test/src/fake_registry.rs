//! An in-process OCI registry for what the real one will not do on demand: the bearer-token
//! flow, `500`s and dropped connections at chosen requests, declined mounts, and a record of
//! every request (so a test can assert that nothing was uploaded). It listens on loopback only.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// What to do to matching requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status.
    Status(u16),
    /// Close the connection without answering.
    Drop,
}

/// A fault: the next `times` requests with this method whose path contains `path` fail.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path: String,
    pub times: usize,
    pub kind: FaultKind,
}

/// One request as the registry saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    blobs: HashMap<(String, String), Bytes>,
    manifests: HashMap<(String, String), (String, Bytes)>,
    tags: HashMap<(String, String), String>,
    uploads: HashMap<String, (String, Vec<u8>)>,
    next_upload: usize,
    requests: Vec<RecordedRequest>,
    faults: Vec<Fault>,
    /// `Some((user, password))`: the token flow is required.
    token_auth: Option<(String, String)>,
    /// Issued tokens and the scopes they grant.
    tokens: HashMap<String, HashSet<String>>,
    decline_mounts: bool,
    address: String,
}

/// A registry on `127.0.0.1:<random port>`, served by its own thread until dropped.
pub struct FakeRegistry {
    state: Arc<Mutex<State>>,
    address: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

impl FakeRegistry {
    /// A registry anyone may read and write.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A registry that answers `401` with a `Bearer` challenge, and issues tokens at `/token`
    /// to `user`/`password` (Basic) for the scopes asked.
    pub fn with_token_auth(user: &str, password: &str) -> Self {
        Self::start_with(Some((user.to_string(), password.to_string())))
    }

    fn start_with(token_auth: Option<(String, String)>) -> Self {
        let state = Arc::new(Mutex::new(State {
            token_auth,
            ..State::default()
        }));
        let served = Arc::clone(&state);
        let (address, shutdown) = crate::loopback::spawn("fake registry", move |request| {
            let state = Arc::clone(&served);
            async move { handle(&state, request).await }
        });
        // Set before anyone knows the address, so before any request.
        lock(&state).address = address.to_string();
        Self {
            state,
            address,
            _shutdown: shutdown,
        }
    }

    /// `127.0.0.1:<port>`, as image references name it.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Fail matching requests from now on.
    pub fn inject(&self, fault: Fault) {
        lock(&self.state).faults.push(fault);
    }

    /// Remove every fault not yet used up.
    pub fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Answer cross-repository mount requests with an upload (`202`), as registries may.
    pub fn decline_mounts(&self) {
        lock(&self.state).decline_mounts = true;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Requests that carried blob bytes: upload chunks and upload completions.
    pub fn blob_uploads(&self) -> usize {
        self.requests()
            .iter()
            .filter(|request| {
                request.path.contains("/blobs/uploads/")
                    && (request.method == "PATCH" || request.method == "PUT")
            })
            .count()
    }

    /// The digest `repository:tag` points at.
    pub fn tag(&self, repository: &str, tag: &str) -> Option<String> {
        lock(&self.state)
            .tags
            .get(&(repository.to_string(), tag.to_string()))
            .cloned()
    }

    /// Store a single-platform image made of `layers` (any bytes) under `repository:tag`.
    /// Returns the manifest digest.
    pub fn put_image(&self, repository: &str, tag: &str, layers: &[&[u8]]) -> String {
        self.put_labelled_image(repository, tag, layers, &serde_json::json!({"fake": "yes"}))
    }

    /// [`FakeRegistry::put_image`] with these config labels (a JSON object).
    pub fn put_labelled_image(
        &self,
        repository: &str,
        tag: &str,
        layers: &[&[u8]],
        labels: &serde_json::Value,
    ) -> String {
        let (digest, media_type, manifest) = self.store_image(repository, layers, "amd64", labels);
        self.set_manifest(repository, tag, &digest, &media_type, manifest);
        digest
    }

    /// Store a two-platform index (`linux/amd64`, `linux/arm64`) under `repository:tag`.
    /// Returns the index digest.
    pub fn put_index(&self, repository: &str, tag: &str, layers: &[&[u8]]) -> String {
        let mut entries = Vec::new();
        for architecture in ["amd64", "arm64"] {
            let mut platform_layers: Vec<Vec<u8>> =
                layers.iter().map(|layer| layer.to_vec()).collect();
            platform_layers.push(architecture.as_bytes().to_vec());
            let borrowed: Vec<&[u8]> = platform_layers.iter().map(Vec::as_slice).collect();
            let (digest, media_type, manifest) = self.store_image(
                repository,
                &borrowed,
                architecture,
                &serde_json::json!({"fake": "yes"}),
            );
            self.set_manifest(repository, &digest, &digest, &media_type, manifest.clone());
            entries.push(serde_json::json!({
                "mediaType": media_type,
                "digest": digest,
                "size": manifest.len(),
                "platform": {"os": "linux", "architecture": architecture},
            }));
        }
        let index = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": INDEX_TYPE,
                "manifests": entries,
            }))
            .expect("an index serialises"),
        );
        let digest = digest_of(&index);
        self.set_manifest(repository, tag, &digest, INDEX_TYPE, index);
        digest
    }

    fn store_image(
        &self,
        repository: &str,
        layers: &[&[u8]],
        architecture: &str,
        labels: &serde_json::Value,
    ) -> (String, String, Bytes) {
        let mut state = lock(&self.state);
        let mut layer_descriptors = Vec::new();
        let mut diff_ids = Vec::new();
        for layer in layers {
            let digest = digest_of(layer);
            state.blobs.insert(
                (repository.to_string(), digest.clone()),
                Bytes::copy_from_slice(layer),
            );
            diff_ids.push(digest.clone());
            layer_descriptors.push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest,
                "size": layer.len(),
            }));
        }
        let config = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "architecture": architecture,
                "os": "linux",
                "config": {"Labels": labels},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            }))
            .expect("a config serialises"),
        );
        let config_digest = digest_of(&config);
        let config_size = config.len();
        state
            .blobs
            .insert((repository.to_string(), config_digest.clone()), config);
        let manifest = Bytes::from(
            serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": layer_descriptors,
            }))
            .expect("a manifest serialises"),
        );
        (digest_of(&manifest), MANIFEST_TYPE.to_string(), manifest)
    }

    fn set_manifest(
        &self,
        repository: &str,
        reference: &str,
        digest: &str,
        media_type: &str,
        bytes: Bytes,
    ) {
        let mut state = lock(&self.state);
        state.manifests.insert(
            (repository.to_string(), digest.to_string()),
            (media_type.to_string(), bytes),
        );
        if !reference.starts_with("sha256:") {
            state.tags.insert(
                (repository.to_string(), reference.to_string()),
                digest.to_string(),
            );
        }
    }
}

/// The error a handler returns to drop the connection.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for Dropped {}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

fn error_body(code: &str, message: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"errors":[{{"code":"{code}","message":"{message}"}}]}}"#
    ))
}

async fn handle(state: &Mutex<State>, request: Request<Incoming>) -> Result<Answer, Dropped> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let headers = request.headers().clone();
    let fault = {
        let mut state = lock(state);
        let found = state.faults.iter_mut().find(|fault| {
            fault.times > 0 && fault.method == method.as_str() && path.contains(&fault.path)
        });
        found.map(|fault| {
            fault.times -= 1;
            fault.kind
        })
    };
    // Read the body before failing, as a real server would have.
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let record = |status: u16| {
        lock(state).requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            status,
        });
    };
    match fault {
        Some(FaultKind::Drop) => {
            record(0);
            return Err(Dropped);
        }
        Some(FaultKind::Status(status)) => {
            record(status);
            return Ok(answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error_body("UNKNOWN", "injected failure"),
            ));
        }
        None => {}
    }
    let response = route(state, &method, &path, &query, &headers, body);
    record(response.status().as_u16());
    Ok(response)
}

fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

fn query_values(query: &str, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
        .collect()
}

/// Check a request's token for the scopes it needs; `Some(response)` refuses it.
fn authorize(state: &State, headers: &hyper::HeaderMap, needed: &[String]) -> Option<Answer> {
    state.token_auth.as_ref()?;
    let granted = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| state.tokens.get(token));
    let allowed = granted.is_some_and(|granted| {
        needed.iter().all(|scope| {
            let (repository_scope, action) = scope.rsplit_once(':').unwrap_or((scope, "pull"));
            granted.iter().any(|grant| {
                grant
                    .strip_prefix(repository_scope)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|actions| actions.split(',').any(|granted| granted == action))
            })
        })
    });
    if allowed {
        return None;
    }
    let mut response = answer(
        StatusCode::UNAUTHORIZED,
        error_body("UNAUTHORIZED", "authentication required"),
    );
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="fake-registry",scope="{}""#,
        state.address,
        needed.join(" ")
    );
    if let Ok(value) = challenge.parse() {
        response.headers_mut().insert("www-authenticate", value);
    }
    Some(response)
}

fn issue_token(state: &mut State, headers: &hyper::HeaderMap, query: &str) -> Answer {
    let Some((user, password)) = state.token_auth.clone() else {
        return answer(StatusCode::NOT_FOUND, "");
    };
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let given = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if given != Some(expected.as_str()) {
        return answer(
            StatusCode::UNAUTHORIZED,
            error_body("UNAUTHORIZED", "bad credentials"),
        );
    }
    let scopes: HashSet<String> = query_values(query, "scope")
        .iter()
        .flat_map(|scope| scope.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    let token = format!("token-{}", state.tokens.len() + 1);
    state.tokens.insert(token.clone(), scopes);
    answer(StatusCode::OK, format!(r#"{{"token":"{token}"}}"#))
}

/// Split `/v2/<name>/<rest>` at the first of the API's path words.
fn split_name(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/v2/")?;
    for marker in ["/manifests/", "/blobs/uploads", "/blobs/", "/tags/list"] {
        if let Some(index) = rest.find(marker) {
            return Some((rest[..index].to_string(), rest[index..].to_string()));
        }
    }
    None
}

fn route(
    state: &Mutex<State>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: Bytes,
) -> Answer {
    let mut state = lock(state);
    if path == "/token" {
        return issue_token(&mut state, headers, query);
    }
    if path == "/v2/" || path == "/v2" {
        return authorize(&state, headers, &[]).unwrap_or_else(|| answer(StatusCode::OK, "{}"));
    }
    let Some((name, rest)) = split_name(path) else {
        return answer(
            StatusCode::NOT_FOUND,
            error_body("NOT_FOUND", "unknown path"),
        );
    };
    let pull = format!("repository:{name}:pull");
    let push = format!("repository:{name}:push");
    let needed = match *method {
        Method::GET | Method::HEAD => vec![pull],
        _ => {
            let mut needed = vec![push];
            if let Some(from) = query_value(query, "from") {
                needed.push(format!("repository:{from}:pull"));
            }
            needed
        }
    };
    if let Some(refused) = authorize(&state, headers, &needed) {
        return refused;
    }
    if let Some(reference) = rest.strip_prefix("/manifests/") {
        return manifests(&mut state, method, &name, reference, headers, body);
    }
    if let Some(upload) = rest.strip_prefix("/blobs/uploads") {
        return uploads(
            &mut state,
            method,
            &name,
            upload.trim_start_matches('/'),
            query,
            &body,
        );
    }
    if let Some(digest) = rest.strip_prefix("/blobs/") {
        return match state.blobs.get(&(name.clone(), digest.to_string())) {
            Some(blob) => {
                let mut response = answer(
                    StatusCode::OK,
                    if *method == Method::HEAD {
                        Bytes::new()
                    } else {
                        blob.clone()
                    },
                );
                response
                    .headers_mut()
                    .insert("content-length", blob.len().into());
                response
            }
            None => answer(
                StatusCode::NOT_FOUND,
                error_body("BLOB_UNKNOWN", "blob unknown"),
            ),
        };
    }
    if rest.starts_with("/tags/list") {
        let mut tags: Vec<&String> = state
            .tags
            .keys()
            .filter(|(repository, _)| *repository == name)
            .map(|(_, tag)| tag)
            .collect();
        tags.sort();
        return answer(
            StatusCode::OK,
            serde_json::to_vec(&serde_json::json!({"name": name, "tags": tags}))
                .unwrap_or_default(),
        );
    }
    answer(StatusCode::NOT_FOUND, "")
}

fn manifests(
    state: &mut State,
    method: &Method,
    name: &str,
    reference: &str,
    headers: &hyper::HeaderMap,
    body: Bytes,
) -> Answer {
    let digest = if reference.starts_with("sha256:") {
        Some(reference.to_string())
    } else {
        state
            .tags
            .get(&(name.to_string(), reference.to_string()))
            .cloned()
    };
    match *method {
        // As the reference registry: by digest only; the tags pointing at it go with it.
        Method::DELETE => {
            if !reference.starts_with("sha256:") {
                return answer(
                    StatusCode::BAD_REQUEST,
                    error_body("UNSUPPORTED", "delete a manifest by its digest"),
                );
            }
            if state
                .manifests
                .remove(&(name.to_string(), reference.to_string()))
                .is_none()
            {
                return answer(
                    StatusCode::NOT_FOUND,
                    error_body("MANIFEST_UNKNOWN", "manifest unknown"),
                );
            }
            state
                .tags
                .retain(|(repository, _), digest| repository != name || digest != reference);
            answer(StatusCode::ACCEPTED, "")
        }
        Method::GET | Method::HEAD => {
            let Some((media_type, bytes)) = digest
                .as_ref()
                .and_then(|digest| state.manifests.get(&(name.to_string(), digest.clone())))
            else {
                return answer(
                    StatusCode::NOT_FOUND,
                    error_body("MANIFEST_UNKNOWN", "manifest unknown"),
                );
            };
            let mut response = answer(
                StatusCode::OK,
                if *method == Method::HEAD {
                    Bytes::new()
                } else {
                    bytes.clone()
                },
            );
            let headers = response.headers_mut();
            headers.insert("content-length", bytes.len().into());
            if let Ok(value) = media_type.parse() {
                headers.insert("content-type", value);
            }
            if let Some(Ok(value)) = digest.map(|digest| digest.parse()) {
                headers.insert("docker-content-digest", value);
            }
            response
        }
        Method::PUT => {
            let media_type = headers
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or(MANIFEST_TYPE)
                .to_string();
            let parsed: serde_json::Value = match serde_json::from_slice(&body) {
                Ok(parsed) => parsed,
                Err(_) => {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        error_body("MANIFEST_INVALID", "not JSON"),
                    )
                }
            };
            // As a real registry does: everything the manifest names must be here already.
            let named: Vec<String> = parsed["config"]["digest"]
                .as_str()
                .into_iter()
                .chain(
                    parsed["layers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|layer| layer["digest"].as_str()),
                )
                .map(str::to_string)
                .collect();
            for digest in &named {
                if !state
                    .blobs
                    .contains_key(&(name.to_string(), digest.clone()))
                {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        error_body("BLOB_UNKNOWN", "blob unknown to registry"),
                    );
                }
            }
            let children: Vec<String> = parsed["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|child| child["digest"].as_str().map(str::to_string))
                .collect();
            for child in &children {
                if !state
                    .manifests
                    .contains_key(&(name.to_string(), child.clone()))
                {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        error_body("MANIFEST_UNKNOWN", "child manifest unknown"),
                    );
                }
            }
            let digest = digest_of(&body);
            state
                .manifests
                .insert((name.to_string(), digest.clone()), (media_type, body));
            if !reference.starts_with("sha256:") {
                state
                    .tags
                    .insert((name.to_string(), reference.to_string()), digest.clone());
            }
            let mut response = answer(StatusCode::CREATED, "");
            if let Ok(value) = digest.parse() {
                response
                    .headers_mut()
                    .insert("docker-content-digest", value);
            }
            if let Ok(value) = format!("/v2/{name}/manifests/{digest}").parse() {
                response.headers_mut().insert("location", value);
            }
            response
        }
        _ => answer(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

fn uploads(
    state: &mut State,
    method: &Method,
    name: &str,
    upload: &str,
    query: &str,
    body: &[u8],
) -> Answer {
    let location = |id: &str| format!("/v2/{name}/blobs/uploads/{id}");
    match (method, upload) {
        (&Method::POST, "") => {
            if let (Some(digest), Some(from)) =
                (query_value(query, "mount"), query_value(query, "from"))
            {
                let source = state.blobs.get(&(from, digest.clone())).cloned();
                if let (Some(blob), false) = (source, state.decline_mounts) {
                    state.blobs.insert((name.to_string(), digest.clone()), blob);
                    let mut response = answer(StatusCode::CREATED, "");
                    if let Ok(value) = format!("/v2/{name}/blobs/{digest}").parse() {
                        response.headers_mut().insert("location", value);
                    }
                    return response;
                }
            }
            state.next_upload += 1;
            let id = format!("upload-{}", state.next_upload);
            state
                .uploads
                .insert(id.clone(), (name.to_string(), Vec::new()));
            let mut response = answer(StatusCode::ACCEPTED, "");
            if let Ok(value) = location(&id).parse() {
                response.headers_mut().insert("location", value);
            }
            response
        }
        (&Method::PATCH, id) => match state.uploads.get_mut(id) {
            Some((_, data)) => {
                data.extend_from_slice(body);
                let mut response = answer(StatusCode::ACCEPTED, "");
                if let Ok(value) = location(id).parse() {
                    response.headers_mut().insert("location", value);
                }
                response
            }
            None => answer(
                StatusCode::NOT_FOUND,
                error_body("BLOB_UPLOAD_UNKNOWN", "upload unknown"),
            ),
        },
        (&Method::PUT, id) => {
            let Some((_, mut data)) = state.uploads.remove(id) else {
                return answer(
                    StatusCode::NOT_FOUND,
                    error_body("BLOB_UPLOAD_UNKNOWN", "upload unknown"),
                );
            };
            data.extend_from_slice(body);
            let Some(digest) = query_value(query, "digest") else {
                return answer(
                    StatusCode::BAD_REQUEST,
                    error_body("DIGEST_INVALID", "no digest"),
                );
            };
            if digest_of(&data) != digest {
                return answer(
                    StatusCode::BAD_REQUEST,
                    error_body("DIGEST_INVALID", "digest mismatch"),
                );
            }
            state
                .blobs
                .insert((name.to_string(), digest.clone()), Bytes::from(data));
            answer(StatusCode::CREATED, "")
        }
        (&Method::DELETE, id) => {
            state.uploads.remove(id);
            answer(StatusCode::NO_CONTENT, "")
        }
        _ => answer(StatusCode::METHOD_NOT_ALLOWED, ""),
    }
}

/// A sorted view of tags for assertions: `repository:tag` → digest.
pub fn tags_of(registry: &FakeRegistry) -> BTreeMap<String, String> {
    lock(&registry.state)
        .tags
        .iter()
        .map(|((repository, tag), digest)| (format!("{repository}:{tag}"), digest.clone()))
        .collect()
}
