//! The one error type of this crate: bad configuration given to the builder.
//!
//! Detection itself never fails: any `&str` or `serde_json::Value` is a valid
//! input. Only [`DetectorsBuilder::build`](crate::DetectorsBuilder::build) returns
//! errors, and each message names the offending setting and how to fix it.

/// A configuration error from [`DetectorsBuilder::build`](crate::DetectorsBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A phone region is not a region the phone metadata knows.
    #[error(
        "unknown phone region {region:?}: use an ISO 3166-1 alpha-2 code known to libphonenumber, \
         in upper case, such as \"US\", \"GB\", \"DE\" or \"IN\""
    )]
    UnknownRegion {
        /// The region as given.
        region: String,
    },
    /// The list of phone regions is empty while phone detection is enabled.
    #[error(
        "no phone regions configured: give at least one region (e.g. \"US\") or disable phone \
         detection with `phones(false)`"
    )]
    NoRegions,
    /// A custom kind name is not UPPER_SNAKE_CASE or clashes with a built-in kind.
    #[error(
        "invalid kind name {name:?}: {reason}; kind names are UPPER_SNAKE_CASE \
         (A-Z, 0-9 and _, starting with a letter, at most 64 characters), e.g. \"EMPLOYEE_ID\""
    )]
    BadKindName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two custom kinds share one name.
    #[error("custom kind {name} is defined twice: give each custom kind a distinct name")]
    DuplicateKind {
        /// The repeated name.
        name: String,
    },
    /// A custom regex does not compile.
    #[error("invalid regex for custom kind {kind}: {message}")]
    InvalidRegex {
        /// The custom kind whose pattern failed.
        kind: String,
        /// The regex compiler's explanation.
        message: String,
    },
    /// A custom regex matches the empty string, which would flag every position.
    #[error(
        "regex for custom kind {kind} matches the empty string: make it require at least one \
         character (e.g. use `+` instead of `*`)"
    )]
    EmptyMatch {
        /// The custom kind whose pattern matches "".
        kind: String,
    },
    /// A custom word list has no usable word.
    #[error("custom kind {kind} has no non-empty word: give at least one word")]
    EmptyWordList {
        /// The custom kind with the empty list.
        kind: String,
    },
    /// The custom word lists could not be compiled into an automaton.
    #[error("custom word lists could not be compiled: {message}; use fewer or shorter words")]
    WordList {
        /// The automaton builder's explanation.
        message: String,
    },
    /// A secret prefix is too short to be specific (or does not compile).
    #[error(
        "invalid secret prefix {prefix:?}: a prefix must be at least 3 characters and specific to \
         the token format (e.g. \"acme_live_\"), or it would flag ordinary words"
    )]
    BadSecretPrefix {
        /// The prefix as given.
        prefix: String,
    },
    /// A field-hint path pattern cannot be parsed.
    #[error(
        "invalid field path {pattern:?}: {reason}; write keys separated by dots, `[]` for any \
         array element, `*` for any one key and `**` for any depth, e.g. \"leads[].owner\""
    )]
    BadFieldPath {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Field hints have too many path segments in total.
    #[error(
        "too many field-hint path segments ({count}, at most {max}): declare fewer paths, or use \
         key hints (`FieldHints::key`) for keys that may appear anywhere"
    )]
    TooManyFieldPaths {
        /// Segments declared.
        count: usize,
        /// The limit.
        max: usize,
    },
}
