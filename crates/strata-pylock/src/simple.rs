//! The simple repository API: PEP 503 HTML pages (with PEP 592 yanks, PEP 658/714 metadata
//! flags and `data-requires-python`) and PEP 691 JSON (with PEP 700 upload times and sizes).

use serde::{Deserialize, Serialize};
use url::Url;

/// One file of a project on an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    pub filename: String,
    /// Absolute URL, without the hash fragment.
    pub url: String,
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    pub yanked: bool,
    /// RFC 3339, when the index says (JSON API).
    pub upload_time: Option<String>,
    /// The index serves `<url>.metadata` (PEP 658/714).
    pub core_metadata: bool,
}

/// A project page: its files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectPage {
    pub files: Vec<IndexFile>,
}

/// Parse a project page served as `content_type` from `page_url`.
pub fn parse_page(body: &str, content_type: &str, page_url: &Url) -> Result<ProjectPage, String> {
    if content_type.contains("json") {
        parse_json(body, page_url)
    } else {
        Ok(parse_html(body, page_url))
    }
}

fn split_hash(url: &Url) -> (String, Option<String>) {
    let sha256 = url
        .fragment()
        .and_then(|fragment| fragment.strip_prefix("sha256="))
        .map(str::to_string);
    let mut clean = url.clone();
    clean.set_fragment(None);
    (clean.to_string(), sha256)
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The attributes of a tag's text (`a href="..." data-yanked`).
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let mut attributes = Vec::new();
    let mut rest = tag.trim();
    while !rest.is_empty() {
        let name_end = rest
            .find(|character: char| character.is_whitespace() || character == '=')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        if let Some(after_equals) = rest.strip_prefix('=') {
            let after_equals = after_equals.trim_start();
            let quote = after_equals
                .chars()
                .next()
                .filter(|character| *character == '"' || *character == '\'');
            let (value, remaining) = if let Some(quote) = quote {
                let inner = &after_equals[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            } else {
                let end = after_equals
                    .find(char::is_whitespace)
                    .unwrap_or(after_equals.len());
                (&after_equals[..end], &after_equals[end..])
            };
            attributes.push((name, Some(decode_entities(value))));
            rest = remaining.trim_start();
        } else if !name.is_empty() {
            attributes.push((name, None));
        } else {
            break;
        }
    }
    attributes
}

fn parse_html(body: &str, page_url: &Url) -> ProjectPage {
    let mut files = Vec::new();
    let lower = body.to_ascii_lowercase();
    let mut position = 0;
    while let Some(start) = lower[position..]
        .find("<a ")
        .map(|offset| position + offset)
    {
        let Some(tag_end) = body[start..].find('>').map(|offset| start + offset) else {
            break;
        };
        let close = lower[tag_end..]
            .find("</a>")
            .map_or(body.len(), |offset| tag_end + offset);
        let tag_attributes = attributes(body[start + 2..tag_end].trim_end_matches('/'));
        let text = decode_entities(body[tag_end + 1..close].trim());
        position = close;
        let get = |name: &str| {
            tag_attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let Some(Some(href)) = get("href") else {
            continue;
        };
        let Ok(url) = page_url.join(&href) else {
            continue;
        };
        let (url, sha256) = split_hash(&url);
        let filename = if text.is_empty() {
            url.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            text
        };
        let metadata_flag = get("data-core-metadata").or_else(|| get("data-dist-info-metadata"));
        files.push(IndexFile {
            filename,
            url,
            sha256,
            requires_python: get("data-requires-python")
                .flatten()
                .filter(|value| !value.is_empty()),
            yanked: get("data-yanked").is_some(),
            upload_time: None,
            core_metadata: metadata_flag.is_some_and(|value| value.as_deref() != Some("false")),
        });
    }
    ProjectPage { files }
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    #[serde(default)]
    yanked: serde_json::Value,
    #[serde(rename = "upload-time")]
    upload_time: Option<String>,
    #[serde(rename = "core-metadata", default)]
    core_metadata: serde_json::Value,
    #[serde(rename = "dist-info-metadata", default)]
    dist_info_metadata: serde_json::Value,
}

fn truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Bool(flag) => *flag,
        serde_json::Value::Null => false,
        _ => true,
    }
}

fn parse_json(body: &str, page_url: &Url) -> Result<ProjectPage, String> {
    let page: JsonPage = serde_json::from_str(body).map_err(|error| error.to_string())?;
    let files = page
        .files
        .into_iter()
        .filter_map(|file| {
            let url = page_url.join(&file.url).ok()?;
            let (url, fragment_hash) = split_hash(&url);
            Some(IndexFile {
                filename: file.filename,
                url,
                sha256: file.hashes.get("sha256").cloned().or(fragment_hash),
                requires_python: file.requires_python.filter(|value| !value.is_empty()),
                yanked: truthy(&file.yanked),
                upload_time: file.upload_time,
                core_metadata: truthy(&file.core_metadata) || truthy(&file.dist_info_metadata),
            })
        })
        .collect();
    Ok(ProjectPage { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_pages() {
        let url = Url::parse("https://pypi.org/simple/six/").unwrap();
        let page = parse_page(
            r#"<html><body><a href="https://files.example/six-1.16.0-py2.py3-none-any.whl#sha256=8abb" data-requires-python="&gt;=2.7, !=3.0.*">six-1.16.0-py2.py3-none-any.whl</a><br/>
            <A HREF="../../packages/six-1.0.tar.gz#sha256=00" data-yanked="broken" data-dist-info-metadata="sha256=11">six-1.0.tar.gz</A>"#,
            "text/html",
            &url,
        )
        .unwrap();
        assert_eq!(page.files.len(), 2);
        assert_eq!(
            page.files[0].requires_python.as_deref(),
            Some(">=2.7, !=3.0.*")
        );
        assert_eq!(page.files[0].sha256.as_deref(), Some("8abb"));
        assert!(!page.files[0].yanked && !page.files[0].core_metadata);
        assert_eq!(
            page.files[1].url,
            "https://pypi.org/packages/six-1.0.tar.gz"
        );
        assert!(page.files[1].yanked && page.files[1].core_metadata);
    }

    #[test]
    fn json_pages() {
        let url = Url::parse("https://pypi.org/simple/six/").unwrap();
        let page = parse_page(
            r#"{"meta": {"api-version": "1.1"}, "files": [{"filename": "six-1.0.tar.gz", "url": "https://f/six-1.0.tar.gz", "hashes": {"sha256": "ab"}, "requires-python": null, "yanked": "reason", "upload-time": "2010-06-29T19:56:36Z", "core-metadata": {"sha256": "cd"}}]}"#,
            "application/vnd.pypi.simple.v1+json",
            &url,
        )
        .unwrap();
        let file = &page.files[0];
        assert!(file.yanked && file.core_metadata);
        assert_eq!(file.upload_time.as_deref(), Some("2010-06-29T19:56:36Z"));
    }
}
