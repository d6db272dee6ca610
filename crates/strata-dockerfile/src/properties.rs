//! Property tests: the parser never panics, every span it reports lies on character
//! boundaries inside the text, and a word's span holds the word as written whenever no
//! continuation splits it.

use proptest::prelude::*;

use crate::syntax::parse;

proptest! {
    #[test]
    fn spans_are_inside_the_text_and_words_read_back(text in "[ -~\n\t\\\\$`<'\"]{0,400}") {
        let Ok(dockerfile) = parse(&text) else {
            return Ok(());
        };
        for instruction in &dockerfile.instructions {
            for span in [instruction.span, instruction.keyword_span] {
                prop_assert!(span.start <= span.end && span.end <= text.len());
                prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
            for word in instruction.words() {
                prop_assert!(word.span.end <= text.len() && word.span.start <= word.span.end);
                let written = &text[word.span.start..word.span.end];
                if !written.contains('\n') {
                    prop_assert_eq!(written, word.text.as_str());
                }
            }
            for declaration in instruction.arg_declarations() {
                if let Some(span) = declaration.default_span {
                    prop_assert!(span.start <= span.end && span.end <= text.len());
                }
            }
        }
        prop_assert_eq!(crate::edits::apply_edits(&text, &[]), text.clone());
    }
}
