//! Output helpers: the `--output` switch and JSON printing shared by every command.

use clap::ValueEnum;
use serde::Serialize;

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
