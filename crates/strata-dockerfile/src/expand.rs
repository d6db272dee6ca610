//! `ARG` expansion as BuildKit does it: `$NAME`, `${NAME}`, `${NAME:-default}`,
//! `${NAME-default}`, `${NAME:+alt}` and `${NAME+alt}`; undefined names expand to nothing.

use std::collections::BTreeMap;

/// `$NAME` or `${NAME}` and nothing else.
pub fn whole_arg_reference(written: &str) -> Option<String> {
    let name = if let Some(inner) = written
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        inner
    } else {
        written.strip_prefix('$')?
    };
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '_');
    valid.then(|| name.to_string())
}

/// Expand `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:+alt}` and
/// `${NAME+alt}` with BuildKit's rules; undefined names expand to the empty string.
pub fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
    let mut output = String::with_capacity(text.len());
    let mut characters = text.char_indices().peekable();
    while let Some((position, character)) = characters.next() {
        if character == '\\' {
            if let Some(&(_, '$')) = characters.peek() {
                output.push('$');
                characters.next();
                continue;
            }
            output.push(character);
            continue;
        }
        if character != '$' {
            output.push(character);
            continue;
        }
        let rest = &text[position + 1..];
        if let Some(braced) = rest.strip_prefix('{') {
            let Some(end) = matching_brace(braced) else {
                output.push_str(&text[position..]);
                break;
            };
            let inner = &braced[..end];
            output.push_str(&expand_braced(inner, variables));
            let consumed = 1 + end + 1; // `{` + inner + `}`
            for _ in 0..rest[..consumed].chars().count() {
                characters.next();
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                output.push('$');
                continue;
            }
            output.push_str(variables.get(&name).map_or("", String::as_str));
            for _ in 0..name.len() {
                characters.next();
            }
        }
    }
    output
}

fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, character) in text.char_indices() {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(index),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand_braced(inner: &str, variables: &BTreeMap<String, String>) -> String {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, operator) = inner.split_at(name_end);
    let value = variables.get(name);
    let set_and_non_empty = value.is_some_and(|value| !value.is_empty());
    if let Some(word) = operator.strip_prefix(":-") {
        if set_and_non_empty {
            value.cloned().unwrap_or_default()
        } else {
            expand(word, variables)
        }
    } else if let Some(word) = operator.strip_prefix(":+") {
        if set_and_non_empty {
            expand(word, variables)
        } else {
            String::new()
        }
    } else if let Some(word) = operator.strip_prefix('-') {
        value.cloned().unwrap_or_else(|| expand(word, variables))
    } else if let Some(word) = operator.strip_prefix('+') {
        if value.is_some() {
            expand(word, variables)
        } else {
            String::new()
        }
    } else {
        value.cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_operators() {
        let mut variables = BTreeMap::new();
        variables.insert("SET".to_string(), "value".to_string());
        variables.insert("EMPTY".to_string(), String::new());
        assert_eq!(
            expand("${SET:-d}/${UNSET:-d}/${EMPTY:-d}", &variables),
            "value/d/d"
        );
        assert_eq!(
            expand("${SET:+a}/${UNSET:+a}/${EMPTY:+a}", &variables),
            "a//"
        );
        assert_eq!(
            expand("${EMPTY-d}/${UNSET-d}/${EMPTY+a}", &variables),
            "/d/a"
        );
        assert_eq!(expand("\\$SET $SET$ $", &variables), "$SET value$ $");
    }

    #[test]
    fn whole_arg_references() {
        assert_eq!(whole_arg_reference("$BASE").as_deref(), Some("BASE"));
        assert_eq!(whole_arg_reference("${BASE}").as_deref(), Some("BASE"));
        assert_eq!(whole_arg_reference("${BASE}-slim"), None);
        assert_eq!(whole_arg_reference("debian"), None);
    }
}
