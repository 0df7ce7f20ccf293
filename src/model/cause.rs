//! Where a desired resource comes from in the spec: the spec keys that make it exist and the
//! keys each attribute's value comes from. Module expanders name the keys
//! ([`super::Resource::from_spec`]); `modules::expand` then finds each key's line in the spec
//! file. Never part of the properties, so never diffed, sent to AWS or saved as state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of a spec file: `specs/prod.toml:41 observability.log_retention_days`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SpecLine {
    /// The spec file, as it was given (`specs/prod.toml`).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The dotted key written on that line (`observability.log_retention_days`,
    /// `data.buckets[1]`, `tags.Owner`; a table's name for its header line).
    pub key: String,
}

impl std::fmt::Display for SpecLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} {}", self.file, self.line, self.key)
    }
}

/// The spec keys behind one desired resource, and their lines once located.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    /// The keys that make the resource exist (its module's table, its list entry, the flag
    /// that turns it on): the cause of a create.
    pub resource: Vec<String>,
    /// Per attribute, the keys its desired value comes from.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Per map attribute (`tags`), per entry, the keys that entry comes from.
    pub entries: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The line of each key above, as located in the spec (`modules::expand` fills it). A key
    /// the spec leaves at its default is located at its table.
    pub lines: BTreeMap<String, SpecLine>,
}

impl Origins {
    /// Adds `key` to the keys that make the resource exist.
    pub fn declare(&mut self, key: &str) {
        push_key(&mut self.resource, key);
    }

    /// Adds `key` to the keys attribute `name` comes from.
    pub fn add_attribute(&mut self, name: &str, key: &str) {
        push_key(self.attributes.entry(name.to_string()).or_default(), key);
    }

    /// Adds `key` to the keys entry `entry` of map attribute `name` comes from.
    pub fn add_entry(&mut self, name: &str, entry: &str, key: &str) {
        let entries = self.entries.entry(name.to_string()).or_default();
        push_key(entries.entry(entry.to_string()).or_default(), key);
    }

    /// Every key named, resource-level first, without repeats.
    #[must_use]
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        let all = self
            .resource
            .iter()
            .chain(self.attributes.values().flatten())
            .chain(self.entries.values().flat_map(BTreeMap::values).flatten());
        for key in all {
            if !keys.contains(&key.as_str()) {
                keys.push(key);
            }
        }
        keys
    }

    /// The located lines of `keys`, in order, without repeats (keys not located are left out).
    #[must_use]
    pub fn lines_of<'a>(&self, keys: impl IntoIterator<Item = &'a String>) -> Vec<SpecLine> {
        let mut lines: Vec<SpecLine> = Vec::new();
        for key in keys {
            if let Some(line) = self.lines.get(key)
                && !lines.contains(line)
            {
                lines.push(line.clone());
            }
        }
        lines
    }

    /// The lines of the keys that make the resource exist.
    #[must_use]
    pub fn resource_lines(&self) -> Vec<SpecLine> {
        self.lines_of(&self.resource)
    }

    /// The lines attribute `name` comes from (empty: no spec key sets it).
    #[must_use]
    pub fn attribute_lines(&self, name: &str) -> Vec<SpecLine> {
        self.attributes
            .get(name)
            .map(|keys| self.lines_of(keys))
            .unwrap_or_default()
    }

    /// The lines entry `entry` of map attribute `name` comes from (empty: no spec key).
    #[must_use]
    pub fn entry_lines(&self, name: &str, entry: &str) -> Vec<SpecLine> {
        self.entries
            .get(name)
            .and_then(|entries| entries.get(entry))
            .map(|keys| self.lines_of(keys))
            .unwrap_or_default()
    }

    /// Whether map attribute `name` has per-entry keys.
    #[must_use]
    pub fn has_entries(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
}

/// Appends `key` to `keys` unless it is there.
fn push_key(keys: &mut Vec<String>, key: &str) {
    if !keys.iter().any(|known| known == key) {
        keys.push(key.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, line: usize) -> SpecLine {
        SpecLine {
            file: "specs/stg.toml".into(),
            line,
            key: key.into(),
        }
    }

    #[test]
    fn lines_follow_the_keys_and_skip_unlocated_ones() {
        let mut origins = Origins::default();
        origins.declare("observability");
        origins.declare("observability");
        origins.add_attribute("retention_days", "observability.log_retention_days");
        origins.add_attribute("retention_days", "nowhere");
        origins
            .lines
            .insert("observability".into(), line("observability", 90));
        origins.lines.insert(
            "observability.log_retention_days".into(),
            line("observability.log_retention_days", 92),
        );
        assert_eq!(origins.resource, vec!["observability".to_string()]);
        assert_eq!(origins.resource_lines(), vec![line("observability", 90)]);
        assert_eq!(
            origins.attribute_lines("retention_days"),
            vec![line("observability.log_retention_days", 92)]
        );
        assert!(origins.attribute_lines("kms_key").is_empty());
        assert_eq!(
            origins.keys(),
            vec![
                "observability",
                "observability.log_retention_days",
                "nowhere"
            ]
        );
        assert_eq!(
            line("tags.Owner", 25).to_string(),
            "specs/stg.toml:25 tags.Owner"
        );
    }
}
