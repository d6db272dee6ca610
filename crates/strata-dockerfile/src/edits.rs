//! Replacing spans of a text and nothing else.

use crate::syntax::Span;

/// Replace `span` of the original text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub text: String,
}

/// Apply non-overlapping edits; every byte outside their spans is kept.
///
/// # Panics
///
/// When two edits overlap or a span lies outside the text or inside a character (a bug in the
/// caller, which takes spans from the parser).
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| edit.span.start);
    let mut output = String::with_capacity(text.len() + 128);
    let mut position = 0;
    for edit in sorted {
        assert!(
            edit.span.start >= position && edit.span.end <= text.len(),
            "edits overlap or leave the text: {edit:?}"
        );
        output.push_str(&text[position..edit.span.start]);
        output.push_str(&edit.text);
        position = edit.span.end;
    }
    output.push_str(&text[position..]);
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_replace_only_their_spans() {
        let text = "FROM a:1 # keep\nCOPY --from=b:2 x y\n";
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            Span {
                start,
                end: start + needle.len(),
            }
        };
        let edits = [
            Edit {
                span: at("b:2"),
                text: "b:2@sha256:1".to_string(),
            },
            Edit {
                span: at("a:1"),
                text: "a:1@sha256:0".to_string(),
            },
        ];
        assert_eq!(
            apply_edits(text, &edits),
            "FROM a:1@sha256:0 # keep\nCOPY --from=b:2@sha256:1 x y\n"
        );
    }
}
