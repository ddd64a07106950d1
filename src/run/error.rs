//! Why a run could not happen, as opposed to a run that saw errors.

use crate::plan::error::ConfigError;

/// Why a run could not happen (as opposed to a run that saw errors).
#[derive(Debug)]
pub enum RunError {
    /// Bad input: exit code 2.
    Config(ConfigError),
    /// The machine refused (threads, runtime, files): exit code 1.
    Io(String),
    /// A thread of rwg failed (a bug, not the target's fault): exit code 70.
    Internal(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Io(e) | RunError::Internal(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for RunError {}

/// A bad-input error with this message.
pub fn config_error(msg: String) -> RunError {
    RunError::Config(ConfigError(msg))
}
