//! The client's error type: one enum that says what failed and on which PV.

use std::sync::Arc;
use std::time::Duration;

use caproto_core::circuit::RemoteError;
use caproto_core::config::ConfigError;
use caproto_core::{EcaStatus, ProtocolError, UsageError};

/// What went wrong with a client operation.
///
/// Every variant that concerns a channel names it. The three kinds of
/// DESIGN.md section 4 stay apart: a status the server reported is
/// [`Error::Server`] (or one of the access / disconnection variants it maps
/// to), a malformed reply is [`Error::Protocol`], and a request that could not
/// be sent as asked is [`Error::Usage`], [`Error::BadCount`] or
/// [`Error::BadType`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No server answered the search for the channel within the timeout.
    #[error("{name}: not found (no server answered the search within {timeout:?})")]
    NotFound {
        /// The channel name.
        name: String,
        /// How long the client waited.
        timeout: Duration,
    },
    /// The channel was connected but its server went away (or the circuit is
    /// unresponsive) and it did not come back within the timeout; or the
    /// request was lost with the circuit (`ECA_DISCONN`).
    #[error("{name}: disconnected from its server")]
    Disconnected {
        /// The channel name.
        name: String,
    },
    /// The channel is connected but the server did not complete the
    /// operation within the timeout.
    #[error("{name}: {operation} timed out after {timeout:?}")]
    Timeout {
        /// The channel name.
        name: String,
        /// `"read"`, `"write"`, `"connect"`...
        operation: &'static str,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// No read access (`ECA_NORDACCESS`).
    #[error("{name}: no read access (ECA_NORDACCESS)")]
    NoReadAccess {
        /// The channel name.
        name: String,
    },
    /// No write access (`ECA_NOWTACCESS`).
    #[error("{name}: no write access (ECA_NOWTACCESS)")]
    NoWriteAccess {
        /// The channel name.
        name: String,
    },
    /// More elements requested than the channel has (`ECA_BADCOUNT`).
    #[error("{name}: {requested} elements requested, the channel has {native} (ECA_BADCOUNT)")]
    BadCount {
        /// The channel name.
        name: String,
        /// Requested count.
        requested: u32,
        /// The channel's native count.
        native: u32,
    },
    /// A value could not be converted to or from the requested type.
    #[error("{name}: bad type: {reason}")]
    BadType {
        /// The channel name.
        name: String,
        /// What did not fit.
        reason: String,
    },
    /// The server refused or failed the operation with this CA status.
    #[error("{name}: server reported {}: {}{}", status_name(*.status), .status.message(), context_suffix(.message))]
    Server {
        /// The channel name.
        name: String,
        /// The ECA status.
        status: EcaStatus,
        /// The server's context text (from an ERROR message), may be empty.
        message: String,
    },
    /// The request is not allowed (empty name, payload above
    /// `EPICS_CA_MAX_ARRAY_BYTES`...). Nothing was sent.
    #[error("{name}: {error}")]
    Usage {
        /// The channel name.
        name: String,
        /// What the core refused.
        error: UsageError,
    },
    /// The server sent a payload that does not decode.
    #[error("{name}: malformed reply from the server: {error}")]
    Protocol {
        /// The channel name.
        name: String,
        /// The decoding error.
        error: ProtocolError,
    },
    /// An `EPICS_CA_*` variable has an unusable value.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A socket could not be set up.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: Arc<std::io::Error>,
    },
    /// The client context has shut down (its runtime is gone).
    #[error("the client context has shut down")]
    ContextClosed,
}

fn status_name(s: EcaStatus) -> String {
    match s.name() {
        Some(n) => n.to_owned(),
        None => format!("status {}", s.0),
    }
}

fn context_suffix(m: &str) -> String {
    if m.is_empty() {
        String::new()
    } else {
        format!(" ({m})")
    }
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, e: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source: Arc::new(e),
        }
    }

    /// The channel name the error is about, if any.
    pub fn channel_name(&self) -> Option<&str> {
        match self {
            Error::NotFound { name, .. }
            | Error::Disconnected { name }
            | Error::Timeout { name, .. }
            | Error::NoReadAccess { name }
            | Error::NoWriteAccess { name }
            | Error::BadCount { name, .. }
            | Error::BadType { name, .. }
            | Error::Server { name, .. }
            | Error::Usage { name, .. }
            | Error::Protocol { name, .. } => Some(name),
            Error::Config(_) | Error::Io { .. } | Error::ContextClosed => None,
        }
    }

    /// The CA status this error corresponds to, as libca would report it.
    pub fn eca_status(&self) -> Option<EcaStatus> {
        Some(match self {
            Error::Server { status, .. } => *status,
            Error::NoReadAccess { .. } => EcaStatus::ECA_NORDACCESS,
            Error::NoWriteAccess { .. } => EcaStatus::ECA_NOWTACCESS,
            Error::BadCount { .. } => EcaStatus::ECA_BADCOUNT,
            Error::Disconnected { .. } => EcaStatus::ECA_DISCONN,
            Error::Timeout { .. } | Error::NotFound { .. } => EcaStatus::ECA_TIMEOUT,
            Error::BadType { .. } => EcaStatus::ECA_BADTYPE,
            _ => return None,
        })
    }
}

/// A failure inside the I/O tasks, before it is tied to a channel name.
#[derive(Debug, Clone)]
pub(crate) enum OpError {
    Usage(UsageError),
    Remote(RemoteError),
    Disconnected,
}

impl OpError {
    pub(crate) fn named(self, name: &str) -> Error {
        let name = name.to_owned();
        match self {
            OpError::Disconnected => Error::Disconnected { name },
            OpError::Usage(error) => usage(name, error),
            OpError::Remote(RemoteError { status, message }) => match status {
                EcaStatus::ECA_NORDACCESS => Error::NoReadAccess { name },
                EcaStatus::ECA_NOWTACCESS => Error::NoWriteAccess { name },
                EcaStatus::ECA_DISCONN => Error::Disconnected { name },
                _ => Error::Server {
                    name,
                    status,
                    message,
                },
            },
        }
    }
}

/// Maps a core usage error to the most specific client error.
pub(crate) fn usage(name: String, error: UsageError) -> Error {
    match error {
        UsageError::NoReadAccess => Error::NoReadAccess { name },
        UsageError::NoWriteAccess => Error::NoWriteAccess { name },
        UsageError::BadCount { requested, native } => Error::BadCount {
            name,
            requested,
            native,
        },
        UsageError::NotConnected | UsageError::CircuitClosed => Error::Disconnected { name },
        UsageError::Conversion(e) => Error::BadType {
            name,
            reason: e.to_string(),
        },
        UsageError::StringTooLong { len } => Error::BadType {
            name,
            reason: format!("string value is {len} bytes, the limit is 39 (ECA_STRTOBIG)"),
        },
        error => Error::Usage { name, error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_error_names_status_and_text() {
        let e = OpError::Remote(RemoteError {
            status: EcaStatus::ECA_PUTFAIL,
            message: String::new(),
        })
        .named("pv:x");
        let text = e.to_string();
        assert!(
            text.starts_with("pv:x: server reported ECA_PUTFAIL: "),
            "{text}"
        );
        assert_eq!(e.eca_status(), Some(EcaStatus::ECA_PUTFAIL));
    }

    #[test]
    fn access_statuses_map_to_their_variants() {
        let e = OpError::Remote(RemoteError {
            status: EcaStatus::ECA_NOWTACCESS,
            message: String::new(),
        })
        .named("a");
        assert!(matches!(e, Error::NoWriteAccess { .. }));
        assert!(matches!(
            usage("b".into(), UsageError::NotConnected),
            Error::Disconnected { .. }
        ));
    }
}
