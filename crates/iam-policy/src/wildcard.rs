//! Wildcard matching as IAM does it: `*` matches any run of characters (including none), `?`
//! matches exactly one character, everything else matches itself.
//!
//! The matcher is iterative (one backtrack point, the last `*`), so it runs in O(n·m) at worst
//! and never recurses: adversarial patterns such as `*a*a*a*…` cannot blow the stack. `?` consumes
//! one whole UTF-8 character, not one byte. Case folding is ASCII-only, which is what IAM does
//! for action names (service prefixes and action names are ASCII).

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
    /// A byte that matches itself (including a literal `*`, `?` or `$` from `${*}`, `${?}`, `${$}`).
    Byte(u8),
}

/// Compiles `pattern`, reading `*` and `?` as wildcards.
pub fn compile(pattern: &str) -> Vec<Elem> {
    pattern
        .bytes()
        .map(|b| match b {
            b'*' => Elem::Star,
            b'?' => Elem::One,
            b => Elem::Byte(b),
        })
        .collect()
}

/// Compiles `text` as a literal: every byte matches only itself.
pub fn literal(text: &str) -> impl Iterator<Item = Elem> + '_ {
    text.bytes().map(Elem::Byte)
}

/// Does `text` match `pattern`? Case-sensitive (resources, condition values).
pub fn matches(pattern: &str, text: &str) -> bool {
    matches_elems(&compile(pattern), text, false)
}

/// Does `text` match `pattern`, ignoring ASCII case (actions)?
pub fn matches_ignore_case(pattern: &str, text: &str) -> bool {
    matches_elems(&compile(pattern), text, true)
}

/// True when `s` contains a wildcard character.
pub fn has_wildcard(s: &str) -> bool {
    s.bytes().any(|b| b == b'*' || b == b'?')
}

/// Length in bytes of the UTF-8 character starting at `text[i]`.
fn char_len(text: &[u8], i: usize) -> usize {
    let b = text[i];
    let len = if b < 0x80 {
        1
    } else if b >= 0xF0 {
        4
    } else if b >= 0xE0 {
        3
    } else {
        2
    };
    len.min(text.len() - i)
}

/// Matches a compiled pattern against `text`.
pub fn matches_elems(pattern: &[Elem], text: &str, ignore_case: bool) -> bool {
    let text = text.as_bytes();
    let (mut p, mut t) = (0usize, 0usize);
    // Position in the pattern just after the last `*`, and the text position it is tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                Elem::Star => {
                    star = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Elem::One => {
                    p += 1;
                    t += char_len(text, t);
                    continue;
                }
                Elem::Byte(c) => {
                    let same = if ignore_case {
                        c.eq_ignore_ascii_case(&text[t])
                    } else {
                        c == text[t]
                    };
                    if same {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        match star {
            Some((after_star, tried_at)) => {
                let next = tried_at + char_len(text, tried_at);
                star = Some((after_star, next));
                p = after_star;
                t = next;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&e| e == Elem::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    // ("You can use wildcards (* or ?) as part of the action name"; action names are case-insensitive).
    #[test]
    fn action_wildcards_ignore_case() {
        assert!(matches_ignore_case(
            "iam:*AccessKey*",
            "iam:CreateAccessKey"
        ));
        assert!(matches_ignore_case("S3:getobject", "s3:GetObject"));
        assert!(matches_ignore_case(
            "ec2:Describe*",
            "ec2:DescribeInstances"
        ));
        assert!(!matches_ignore_case("ec2:Describe*", "ec2:RunInstances"));
        assert!(matches_ignore_case("*", "anything:AtAll"));
    }

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    // (`*` any combination of characters, `?` any single character; resources are case-sensitive).
    #[test]
    fn resource_wildcards_case_sensitive() {
        assert!(matches(
            "arn:aws:s3:::bucket/*",
            "arn:aws:s3:::bucket/a/b/c"
        ));
        assert!(!matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a"));
        assert!(matches(
            "arn:aws:iam::123456789012:user/B?b",
            "arn:aws:iam::123456789012:user/Bob"
        ));
        assert!(!matches(
            "arn:aws:iam::123456789012:user/B?b",
            "arn:aws:iam::123456789012:user/Bb"
        ));
    }

    #[test]
    fn question_mark_takes_one_character_not_one_byte() {
        assert!(matches("caf?", "café"));
        assert!(matches("?", "é"));
        assert!(!matches("??", "é"));
    }

    #[test]
    fn stars_backtrack() {
        assert!(matches("*a*b*c", "xxaxxbxxc"));
        assert!(!matches("*a*b*c", "xxaxxcxxb"));
        assert!(matches("a**b", "ab"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        assert!(matches("*", ""));
    }

    #[test]
    fn literal_elements_do_not_expand() {
        let pattern: Vec<Elem> = literal("a*").collect();
        assert!(matches_elems(&pattern, "a*", false));
        assert!(!matches_elems(&pattern, "ab", false));
    }

    #[test]
    fn adversarial_pattern_is_fast() {
        let pattern = "*a".repeat(200) + "b";
        let text = "a".repeat(5000);
        assert!(!matches(&pattern, &text));
    }
}
