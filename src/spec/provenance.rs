//! Where each key of a spec is written: the dotted path of every key the reader accepted
//! (`observability.log_retention_days`, `data.buckets[1]`, `tags.Owner`, `data.backup`) and
//! the line it is on. Plans name these lines as the causes of their changes.

use std::collections::BTreeMap;

/// The line of every key a spec's reader accepted, with the file they are in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The spec file, as it was given (`specs/prod.toml`).
    pub file: String,
    /// Dotted key path → 1-based line of the key (of the item, for array entries; of the
    /// header, for tables).
    lines: BTreeMap<String, usize>,
}

impl Provenance {
    /// An empty map for `file`.
    #[must_use]
    pub fn new(file: impl Into<String>) -> Provenance {
        Provenance {
            file: file.into(),
            lines: BTreeMap::new(),
        }
    }

    /// Records that `key` is written on `line` (the first record of a key wins).
    pub fn record(&mut self, key: impl Into<String>, line: usize) {
        self.lines.entry(key.into()).or_insert(line);
    }

    /// The line `key` is written on, if the spec writes it.
    #[must_use]
    pub fn line(&self, key: &str) -> Option<usize> {
        self.lines.get(key).copied()
    }

    /// The key the spec writes for `key`, and its line: `key` itself, or else the nearest
    /// enclosing key that is written (an optional key left at its default is decided by its
    /// table: `iam.enable_access_analyzer` → `iam`; `data.buckets[5]` → `data.buckets`).
    #[must_use]
    pub fn locate(&self, key: &str) -> Option<(&str, usize)> {
        let mut current = key;
        loop {
            if let Some((found, line)) = self.lines.get_key_value(current) {
                return Some((found.as_str(), *line));
            }
            current = parent(current)?;
        }
    }

    /// Every recorded key with its line, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, usize)> {
        self.lines.iter().map(|(key, line)| (key.as_str(), *line))
    }
}

/// The enclosing key: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → none.
fn parent(key: &str) -> Option<&str> {
    if key.ends_with(']')
        && let Some(open) = key.rfind('[')
    {
        return Some(&key[..open]);
    }
    key.rfind('.').map(|dot| &key[..dot])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_left_out_is_located_at_its_nearest_written_parent() {
        let mut provenance = Provenance::new("specs/stg.toml");
        provenance.record("iam", 44);
        provenance.record("data.buckets", 71);
        provenance.record("data.buckets[1]", 72);
        provenance.record("data.buckets[1]", 99);
        let cases = [
            (
                "written key",
                "data.buckets[1]",
                Some(("data.buckets[1]", 72)),
            ),
            (
                "array entry not written",
                "data.buckets[5]",
                Some(("data.buckets", 71)),
            ),
            (
                "optional key at its default",
                "iam.enable_access_analyzer",
                Some(("iam", 44)),
            ),
            ("no written parent", "kms.deletion_window_days", None),
        ];
        for (reason, key, want) in cases {
            assert_eq!(provenance.locate(key), want, "{reason}");
        }
        assert_eq!(
            provenance.line("data.buckets[1]"),
            Some(72),
            "first record wins"
        );
    }
}
