//! What a provider is told to change: the names of the attributes that differ.

use std::collections::BTreeSet;

/// The attributes of one resource an update must change (the plan keeps the before and after
/// values; a provider needs only the names, and reads the values from the desired resource).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delta {
    names: BTreeSet<String>,
}

impl Delta {
    /// A delta of these attribute names.
    #[must_use]
    pub fn new<I, S>(names: I) -> Delta
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Delta {
            names: names.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the attribute `name` changes.
    #[must_use]
    pub fn touches(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether any of `names` changes.
    #[must_use]
    pub fn touches_any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.touches(name))
    }

    /// Whether nothing changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The changing attribute names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}
