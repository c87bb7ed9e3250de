//! The request context: the condition keys of one request and their values.
//!
//! Keys are case-insensitive (IAM documents condition key names as not case-sensitive); values
//! are kept as strings, as IAM compares them, and a key may carry several values (multivalued
//! keys such as `aws:TagKeys`). A key with an empty list of values counts as absent.

/// Condition keys and their values for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// (lower-cased key, values). A short vector beats a hash map for the handful of keys a
    /// request carries.
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// Adds `value` to `key` (a second value makes the key multivalued).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        let lower = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(k, _)| *k == lower) {
            Some((_, values)) => values.push(value.into()),
            None => self.entries.push((lower, vec![value.into()])),
        }
    }

    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Context {
        self.insert(key, value);
        self
    }

    /// Replaces every value of `key`.
    pub fn set(&mut self, key: &str, values: Vec<String>) {
        let lower = key.to_ascii_lowercase();
        self.entries.retain(|(k, _)| *k != lower);
        self.entries.push((lower, values));
    }

    /// The values of `key` (any case); `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
            .filter(|v| !v.is_empty())
    }

    /// The single value of `key`; `None` when absent, empty or multivalued.
    pub fn single(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }

    /// Every key (lower-cased) and its values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    // ("Condition key names are not case-sensitive").
    #[test]
    fn keys_are_case_insensitive_and_multivalued() {
        let ctx = Context::new()
            .with("aws:TagKeys", "a")
            .with("AWS:tagkeys", "b")
            .with("aws:username", "bob");
        assert_eq!(ctx.get("AWS:TAGKEYS").unwrap(), ["a", "b"]);
        assert_eq!(ctx.single("aws:UserName"), Some("bob"));
        assert_eq!(ctx.single("aws:TagKeys"), None);
        let mut ctx = ctx;
        ctx.set("aws:TagKeys", vec![]);
        assert_eq!(ctx.get("aws:tagkeys"), None);
    }
}
