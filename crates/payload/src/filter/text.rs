//! The word tokenizer of full-text matching: split on anything that is not
//! a letter or a digit, lower-case each token, as Qdrant's default `word`
//! tokenizer does.

/// Options of the text index; the defaults are what an unindexed text match
/// uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TokenizerOptions {
    /// Lower-case tokens (default true).
    pub lowercase: bool,
    /// Drop tokens shorter than this (in characters).
    pub min_token_len: Option<usize>,
    /// Drop tokens longer than this (in characters).
    pub max_token_len: Option<usize>,
    /// Tokens never indexed or matched.
    pub stopwords: Vec<String>,
}

impl TokenizerOptions {
    /// Qdrant's defaults: lower-case, no length limits, no stopwords.
    pub fn word() -> Self {
        TokenizerOptions {
            lowercase: true,
            ..Default::default()
        }
    }

    /// The tokens of `text`, in order.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| {
                if self.lowercase {
                    t.to_lowercase()
                } else {
                    t.to_string()
                }
            })
            .filter(|t| {
                let n = t.chars().count();
                self.min_token_len.is_none_or(|m| n >= m)
                    && self.max_token_len.is_none_or(|m| n <= m)
            })
            .filter(|t| !self.stopwords.iter().any(|s| s == t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_lowercases() {
        let w = TokenizerOptions::word();
        assert_eq!(
            w.tokens("Long-lasting Matte_finish, café!"),
            vec!["long", "lasting", "matte", "finish", "café"]
        );
        let short = TokenizerOptions {
            min_token_len: Some(3),
            stopwords: vec!["the".into()],
            ..TokenizerOptions::word()
        };
        assert_eq!(short.tokens("a the big ox"), vec!["big"]);
    }
}
