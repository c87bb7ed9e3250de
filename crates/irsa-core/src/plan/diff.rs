//! A small line diff (longest common subsequence) for showing how a trust policy or policy
//! document would change. Documents are a few dozen lines, so the quadratic table is fine.

/// Lines of `new` against `old`: `- ` removed, `+ ` added, `  ` kept (only the kept lines next
/// to a change, so the diff stays short).
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', b[j]));
            j += 1;
        } else {
            ops.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(1)..(k + 2).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    ops.iter()
        .enumerate()
        .filter(|(k, (op, _))| *op != ' ' || near_change(*k))
        .map(|(_, (op, line))| format!("{op} {line}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne";
        let new = "a\nb\nX\nd\ne";
        assert_eq!(line_diff(old, new), vec!["  b", "+ X", "- c", "  d"]);
        assert!(line_diff("same", "same").is_empty());
    }
}
