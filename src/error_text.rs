//! Errors as one line of text with every cause: what the server answers and
//! the CLI prints when an error wraps the reason it failed.

/// `error` and each of its causes, joined by `: `.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their cause in their own text.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot extract `upload`")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn joins_every_cause() {
        let e = Outer(std::io::Error::other("entry `../x` has an unsafe path"));
        assert_eq!(
            with_causes(&e),
            "cannot extract `upload`: entry `../x` has an unsafe path"
        );
        let plain = std::io::Error::other("plain");
        assert_eq!(with_causes(&plain), "plain");
    }
}
