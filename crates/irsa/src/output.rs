//! Output helpers: the `--output` switch, JSON printing and the yes/no question shared by every
//! command.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;

use crate::exit::CliError;

/// `--output`: human text (default) or stable JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        // Serializing plain data structures cannot fail; say so loudly if it ever does.
        Err(e) => eprintln!("irsa: internal error while writing JSON: {e}"),
    }
}

/// Asks `question` on the terminal unless `yes`; refuses to guess on a non-interactive input.
pub fn confirm(question: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::input(
            "not asking on a non-interactive input: rerun with --yes to apply",
        ));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::failed(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CliError::failed("cancelled: nothing was changed"))
    }
}
