//! The runtime library's errors: each renders as one line a user can act on.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("container id {0:?} is invalid: use letters, digits, '_', '-', '.', at most 1024 characters")]
    InvalidId(String),
    #[error("container {0:?} does not exist")]
    NotFound(String),
    #[error("container {0:?} already exists")]
    Exists(String),
    #[error("container {id:?} is {status}, {wanted}")]
    WrongState {
        id: String,
        status: String,
        wanted: &'static str,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("bundle config {path}: {msg}")]
    Config { path: String, msg: String },
    #[error("{0}")]
    Sentry(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn errno(context: impl Into<String>, errno: nix::errno::Errno) -> Self {
        Error::io(context, io::Error::from_raw_os_error(errno as i32))
    }
}
