//! `--since DURATION`: how far back `irsa usage` looks. A positive whole number with a unit,
//! `m` minutes, `h` hours, `d` days or `w` weeks (`90m`, `24h`, `7d`, `2w`). CloudTrail's event
//! history (LookupEvents) keeps 90 days, so a longer window is refused rather than silently
//! cut short.

/// CloudTrail's event history: 90 days.
pub const MAX_SINCE_SECONDS: u64 = 90 * 24 * 3600;

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinceError {
    #[error(
        "`{0}` is not a duration: use a whole number and a unit m, h, d or w (e.g. 90m, 24h, 7d, 2w)"
    )]
    Malformed(String),
    #[error("`{0}` is not a positive duration")]
    Zero(String),
    #[error(
        "`{0}` is longer than the 90 days CloudTrail's event history (LookupEvents) keeps; for older events query a trail's logs in S3 or CloudTrail Lake"
    )]
    BeyondHistory(String),
}

/// The window in seconds.
pub fn parse_since(text: &str) -> Result<u64, SinceError> {
    let trimmed = text.trim();
    let malformed = || SinceError::Malformed(text.to_string());
    let unit = trimmed.chars().last().ok_or_else(malformed)?;
    let seconds_per_unit: u64 = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(malformed()),
    };
    let digits = &trimmed[..trimmed.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let count: u64 = digits
        .parse()
        .map_err(|_| SinceError::BeyondHistory(text.to_string()))?;
    if count == 0 {
        return Err(SinceError::Zero(text.to_string()));
    }
    let seconds = count
        .checked_mul(seconds_per_unit)
        .filter(|s| *s <= MAX_SINCE_SECONDS)
        .ok_or_else(|| SinceError::BeyondHistory(text.to_string()))?;
    Ok(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_since("90m"), Ok(5400));
        assert_eq!(parse_since("24h"), Ok(86_400));
        assert_eq!(parse_since("7d"), Ok(604_800));
        assert_eq!(parse_since("2w"), Ok(1_209_600));
        assert_eq!(parse_since("90d"), Ok(MAX_SINCE_SECONDS));
    }

    #[test]
    fn refusals() {
        for bad in ["", "d", "7", "7s", "-1d", "1.5h", "7 d", "h7", "７d"] {
            assert!(
                matches!(parse_since(bad), Err(SinceError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(parse_since("0h"), Err(SinceError::Zero(_))));
        for long in ["91d", "13w", "2161h", "99999999999999999999999d"] {
            let err = parse_since(long).unwrap_err();
            assert!(matches!(err, SinceError::BeyondHistory(_)), "{long}");
            assert!(err.to_string().contains("90 days"), "{err}");
        }
    }
}
