/// Errors of the payload layer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// A key path could not be parsed.
    #[error("invalid key path {path:?}: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A point id that is neither an unsigned integer nor a UUID.
    #[error("Unable to parse point id {given:?}: expected an unsigned integer or a UUID")]
    BadPointId {
        /// The text given.
        given: String,
    },
    /// A filter is malformed.
    #[error("Format error in JSON body: {0}")]
    BadFilter(String),
    /// A payload was not a JSON object.
    #[error("payload must be a JSON object, got {got}")]
    NotAnObject {
        /// The JSON type that was given instead.
        got: &'static str,
    },
}
