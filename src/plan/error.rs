//! Bad user input: one error type whose message names the value at fault,
//! so the command line can exit with code 2 and say what to fix.

use std::fmt;

/// Bad user input; the message names the value at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

pub(super) fn err<T>(msg: String) -> Result<T, ConfigError> {
    Err(ConfigError(msg))
}
