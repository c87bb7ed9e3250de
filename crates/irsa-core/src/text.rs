//! Plain-English wording shared by the decisions' messages and the binary's output: counts with
//! the right plural ("1 policy", "2 policies"), never "polic(ies)".

/// `n` and the noun, singular for one: `count(1, "policy", "policies")` is "1 policy".
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// [`count`] for nouns whose plural adds an `s`: `counted(2, "step")` is "2 steps".
pub fn counted(n: usize, noun: &str) -> String {
    count(n, noun, &format!("{noun}s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_plural_correct() {
        assert_eq!(count(1, "policy", "policies"), "1 policy");
        assert_eq!(count(0, "policy", "policies"), "0 policies");
        assert_eq!(count(2, "policy", "policies"), "2 policies");
        assert_eq!(counted(1, "step"), "1 step");
        assert_eq!(counted(3, "step"), "3 steps");
    }
}
