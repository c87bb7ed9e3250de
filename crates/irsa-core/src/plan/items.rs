//! Plan items: one line per resource for people and for `--output json`, with a mark
//! (`+` create, `~` update, `-` delete, `=` unchanged, `!` conflict) and detail lines (diffs).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Create,
    Update,
    Delete,
    Unchanged,
    Conflict,
}

impl Mark {
    pub fn symbol(self) -> char {
        match self {
            Mark::Create => '+',
            Mark::Update => '~',
            Mark::Delete => '-',
            Mark::Unchanged => '=',
            Mark::Conflict => '!',
        }
    }
}

/// One resource in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub mark: Mark,
    /// `oidc-provider`, `role`, `policy`, `attachment`, `namespace`, `service-account`,
    /// `eks-addon`, `helm-values`.
    pub kind: &'static str,
    pub name: String,
    pub details: Vec<String>,
}

impl Item {
    pub fn new(mark: Mark, kind: &'static str, name: &str) -> Item {
        Item {
            mark,
            kind,
            name: name.to_string(),
            details: Vec::new(),
        }
    }

    pub fn detail(mut self, line: String) -> Item {
        self.details.push(line);
        self
    }

    pub fn details(mut self, lines: Vec<String>) -> Item {
        self.details.extend(lines);
        self
    }
}
