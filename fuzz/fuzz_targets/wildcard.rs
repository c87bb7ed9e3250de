//! Property: IAM wildcard and ARN matching never panic, whatever the pattern and text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Pattern and text are separated by the first NUL (or the whole input is the pattern).
    let (pattern, text) = input.split_once('\0').unwrap_or((input, ""));

    let _ = iam_policy::wildcard::matches(pattern, text);
    let _ = iam_policy::wildcard::matches_ignore_case(pattern, text);
    let _ = iam_policy::wildcard::has_wildcard(pattern);
    let _ = iam_policy::arn::arn_matches(pattern, text);
    let _ = iam_policy::arn::Arn::parse(pattern);
    let _ = iam_policy::arn::Arn::parse(text).map(|a| a.resource_type_and_name().map(|_| ()));
    // A few cheap invariants on top of "never panics".
    assert!(iam_policy::wildcard::matches("*", text));
    if iam_policy::wildcard::matches(pattern, text) {
        assert!(iam_policy::wildcard::matches_ignore_case(pattern, text));
    }
    if !iam_policy::wildcard::has_wildcard(pattern) {
        // A pattern without wildcards matches itself, and only itself.
        assert!(iam_policy::wildcard::matches(pattern, pattern));
        assert!(iam_policy::arn::arn_matches(pattern, pattern));
        assert_eq!(iam_policy::wildcard::matches(pattern, text), pattern == text);
    }
});
