//! Engine errors to gRPC status codes, in one exhaustive match, and the
//! statuses the conversions refuse requests with.

use tonic::{Code, Status};
use vicinity::ErrorKind;

/// The gRPC code of an engine error kind.
pub fn code_of(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::BadInput => Code::InvalidArgument,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::Corrupted => Code::DataLoss,
        ErrorKind::Io => Code::Internal,
        ErrorKind::Cancelled => Code::Cancelled,
        ErrorKind::Timeout => Code::DeadlineExceeded,
    }
}

/// An engine error as a status; the message is the engine's, which
/// follows Qdrant's wording ("Not found: Collection `x` doesn't exist!").
pub fn from_engine(e: vicinity::Error) -> Status {
    Status::new(code_of(e.kind()), e.to_string())
}

/// A malformed request, in Qdrant's "Wrong input: ..." form.
pub(crate) fn invalid(msg: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Wrong input: {msg}"))
}

/// A request field that fails validation, in Qdrant's validation form.
pub(crate) fn validation(field: &str, msg: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("Validation error in body: [{field}: {msg}]"))
}

/// A request that is well formed but asks for something Vicinity does not
/// do (yet).
pub(crate) fn unsupported(what: impl std::fmt::Display) -> Status {
    Status::unimplemented(format!("Vicinity does not support {what} yet"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_code() {
        for (kind, code) in [
            (ErrorKind::BadInput, Code::InvalidArgument),
            (ErrorKind::NotFound, Code::NotFound),
            (ErrorKind::AlreadyExists, Code::AlreadyExists),
            (ErrorKind::Corrupted, Code::DataLoss),
            (ErrorKind::Io, Code::Internal),
            (ErrorKind::Cancelled, Code::Cancelled),
            (ErrorKind::Timeout, Code::DeadlineExceeded),
        ] {
            assert_eq!(code_of(kind), code);
        }
    }

    #[test]
    fn engine_messages_pass_through() {
        let s = from_engine(vicinity::Error::CollectionNotFound { name: "x".into() });
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(s.message(), "Not found: Collection `x` doesn't exist!");
    }
}
