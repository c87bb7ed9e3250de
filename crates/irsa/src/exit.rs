//! Exit codes and the error type every command returns.
//!
//! The codes are part of irsa's interface (CI pipelines branch on them), so they live in one place.

use std::fmt;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Success: allowed, healthy, nothing to change.
    Ok = 0,
    /// A negative answer: denied, not trusted, findings at or above the failing severity.
    Negative = 1,
    /// Bad input: unreadable files, invalid documents, names or ARNs.
    BadInput = 2,
    /// `irsa plan`: changes are pending.
    Pending = 3,
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}

/// An error that ends the command, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: Code,
    /// The message is an answer about this command (a denial): printed as `irsa COMMAND: …`.
    about_command: bool,
}

impl CliError {
    /// Bad input: a file, document, name or value the user gave is wrong.
    pub fn input(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: Code::BadInput,
            about_command: false,
        }
    }

    /// A failure talking to AWS or Kubernetes, or a plan that cannot be carried out.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: Code::Negative,
            about_command: false,
        }
    }

    /// A permission the caller lacks (exit 1), said as `irsa COMMAND: …`.
    pub fn denied(message: impl Into<String>) -> CliError {
        CliError {
            about_command: true,
            ..CliError::failed(message)
        }
    }

    /// How the message is introduced: `irsa` or, for a denial, `irsa COMMAND`.
    pub fn prefix(&self) -> String {
        match self.about_command {
            true => format!("irsa {}", crate::actionable::command()),
            false => "irsa".to_string(),
        }
    }

    pub fn code(&self) -> Code {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Turns an adapter error into a failure saying what was being done (`"listing pods: …"`),
/// or, for the failures anyone can meet (no credentials, an endpoint out of reach), what to do
/// (see [`crate::actionable`]).
pub fn failed_while<E: std::error::Error + 'static>(what: &str) -> impl Fn(E) -> CliError + '_ {
    move |e| match crate::actionable::denial(&e) {
        Some(_) => CliError::denied(crate::actionable::explain(what, &e)),
        None => CliError::failed(crate::actionable::explain(what, &e)),
    }
}

/// Reads a file the user named, with the path in the error.
/// A leading UTF-8 byte-order mark (editors on Windows write one) is dropped, for JSON and YAML
/// alike.
pub fn read_input_file(path: &std::path::Path) -> Result<String, CliError> {
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}
