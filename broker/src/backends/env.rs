//! `${VAR}` expansion in backend `env` and `headers` values, so secrets stay out of config.

/// Expands every `${NAME}` in `value` from `lookup`; `$$` is a literal `$`.
/// A missing variable is an error naming it.
pub fn expand(value: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(format!("unterminated ${{ in {value:?}"));
            };
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("invalid variable name ${{{name}}}"));
            }
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => return Err(format!("environment variable {name} is not set")),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "TOKEN").then(|| "s3cret".to_string())
    }

    #[test]
    fn expands_known_variables() {
        assert_eq!(expand("Bearer ${TOKEN}", env), Ok("Bearer s3cret".into()));
        assert_eq!(expand("a$$b $x", env), Ok("a$b $x".into()));
    }

    #[test]
    fn missing_variable_is_named() {
        let err = expand("${NOPE}", env).expect_err("missing");
        assert!(err.contains("NOPE"));
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(expand("${TOKEN", env).is_err());
        assert!(expand("${A-B}", env).is_err());
    }
}
