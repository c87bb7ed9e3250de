//! The run-wide settings of the global flags that reach past one command's arguments:
//! `--profile` (the AWS clients), `--debug` (error detail) and `--color` (with `NO_COLOR` and
//! whether stdout is a terminal). Set once at start ([`init`]), read anywhere ([`get`]).

use std::io::IsTerminal;
use std::sync::OnceLock;

use crate::cli::{ColorChoice, GlobalArgs};

/// What the global flags decided.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub profile: Option<String>,
    pub debug: bool,
    pub color: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Whether to colour: `always`, `never`, or on `auto` when stdout is a terminal and `NO_COLOR`
/// is unset or empty (no-color.org).
pub fn wants_color(choice: ColorChoice, no_color: Option<&str>, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(str::is_empty),
    }
}

/// Records the global flags; later calls keep the first.
pub fn init(global: &GlobalArgs) {
    let no_color = std::env::var("NO_COLOR").ok();
    let debug_log =
        std::env::var("RUST_LOG").is_ok_and(|l| l.contains("debug") || l.contains("trace"));
    let _ = SETTINGS.set(Settings {
        profile: global.profile.clone(),
        debug: global.debug || debug_log,
        color: wants_color(
            global.color,
            no_color.as_deref(),
            std::io::stdout().is_terminal(),
        ),
    });
}

/// The settings (defaults before [`init`], as in unit tests).
pub fn get() -> Settings {
    SETTINGS.get().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_turns_auto_off_but_not_always() {
        assert!(wants_color(ColorChoice::Auto, None, true));
        assert!(wants_color(ColorChoice::Auto, Some(""), true));
        assert!(!wants_color(ColorChoice::Auto, Some("1"), true));
        assert!(!wants_color(ColorChoice::Auto, None, false));
        assert!(wants_color(ColorChoice::Always, Some("1"), false));
        assert!(!wants_color(ColorChoice::Never, None, true));
    }
}
