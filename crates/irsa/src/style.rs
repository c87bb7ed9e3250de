//! Plain-English human output: counts with the right plural ("1 policy", "2 policies") and
//! colour for the marks a person scans for (`+`, `~`, `-`, `!`, ok/FAIL), only when
//! [`crate::settings`] says so.

pub use irsa_core::text::{count, counted};

/// The colours used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Green,
    Yellow,
    Red,
}

/// A plan item's mark (`+ ~ - = !`), coloured as terraform colours its plan.
pub fn mark(mark: irsa_core::plan::Mark) -> String {
    use irsa_core::plan::Mark;
    let symbol = mark.symbol().to_string();
    match mark {
        Mark::Create => paint(&symbol, Colour::Green),
        Mark::Update => paint(&symbol, Colour::Yellow),
        Mark::Delete | Mark::Conflict => paint(&symbol, Colour::Red),
        Mark::Unchanged => symbol,
    }
}

/// `good` in green when `ok`, else `bad` in red.
pub fn verdict(ok: bool, good: &str, bad: &str) -> String {
    if ok {
        paint(good, Colour::Green)
    } else {
        paint(bad, Colour::Red)
    }
}

/// `text` in `colour` (ANSI SGR) when colour is on, else as it is.
pub fn paint(text: &str, colour: Colour) -> String {
    paint_if(crate::settings::get().color, text, colour)
}

fn paint_if(on: bool, text: &str, colour: Colour) -> String {
    if !on {
        return text.to_string();
    }
    let code = match colour {
        Colour::Green => 32,
        Colour::Yellow => 33,
        Colour::Red => 31,
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_in_sgr_only_when_on() {
        assert_eq!(paint_if(false, "+", Colour::Green), "+");
        assert_eq!(paint_if(true, "+", Colour::Green), "\x1b[32m+\x1b[0m");
    }
}
