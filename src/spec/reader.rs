//! Walks the span-preserving TOML tree (`toml::de::DeTable`) by hand, recording every unknown
//! key, wrong type and missing key with its exact span.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::NamedSource;
use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{SpecError, SpecErrorKind};
use super::rules::{self, Problem};

/// A value with the byte range it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct At<T> {
    /// The value.
    pub value: T,
    /// Its span in the file.
    pub span: Range<usize>,
}

/// `value`, read from the TOML item `from` (a key or a value), with its span.
fn at<T, U>(from: &Spanned<U>, value: T) -> At<T> {
    At {
        value,
        span: from.span(),
    }
}

/// A table of the document being read.
pub(super) struct Table<'a, 'i> {
    /// Dotted name, empty for the root (e.g. `data.documents_table`).
    pub name: String,
    /// Span of its header (`[vpc]`), or of its key for inline and dotted tables.
    pub span: Range<usize>,
    table: &'a DeTable<'i>,
}

impl Table<'_, '_> {
    /// `[name]`, or "the top level".
    fn display(&self) -> String {
        if self.name.is_empty() {
            "the top level".to_string()
        } else {
            format!("[{}]", self.name)
        }
    }

    fn full_key(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    /// Whether `key` is present.
    pub(super) fn has(&self, key: &str) -> bool {
        self.table.get(key).is_some()
    }

    /// Every key of the table, in file order.
    pub(super) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<(String, usize)> = self
            .table
            .iter()
            .map(|(k, _)| (k.get_ref().to_string(), k.span().start))
            .collect();
        keys.sort_by_key(|(_, start)| *start);
        keys.into_iter().map(|(key, _)| key).collect()
    }

    /// The span of `key` itself (not its value), when present.
    pub(super) fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }
}

/// The TOML type a key must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    String,
    Integer,
    Bool,
    Table,
    Array,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Expect::String => "string",
            Expect::Integer => "integer",
            Expect::Bool => "boolean",
            Expect::Table => "table",
            Expect::Array => "array",
        }
    }

    fn placeholder(self) -> &'static str {
        match self {
            Expect::String => "\"...\"",
            Expect::Integer => "<integer>",
            Expect::Bool => "true|false",
            Expect::Table => "{ ... }",
            Expect::Array => "[ ... ]",
        }
    }
}

/// Collects errors while the builder reads the document.
pub(super) struct Reader {
    path: PathBuf,
    source: Arc<NamedSource<String>>,
    /// The values of `${name}` spec variables.
    variables: super::Variables,
    /// Every problem found so far.
    pub errors: Vec<SpecError>,
    /// The line of every key read so far (see [`super::Provenance`]).
    pub provenance: super::Provenance,
}

impl Reader {
    /// A reader for `text`, the contents of `path`, without spec variables.
    pub(super) fn new(path: &Path, text: &str) -> Reader {
        Reader::with_variables(path, text, super::Variables::new())
    }

    /// A reader for `text`, the contents of `path`, with the values of its spec variables.
    pub(super) fn with_variables(path: &Path, text: &str, variables: super::Variables) -> Reader {
        let source = Arc::new(NamedSource::new(
            path.display().to_string(),
            text.to_string(),
        ));
        Reader {
            path: path.to_path_buf(),
            source,
            variables,
            errors: Vec::new(),
            provenance: super::Provenance::new(path.display().to_string()),
        }
    }

    /// The file's text.
    pub(super) fn text(&self) -> &str {
        self.source.inner()
    }

    /// Records that the key `key` (a dotted path) is written at `span`.
    fn located(&mut self, key: String, span: Range<usize>) {
        let line = super::error::Location::of(self.text(), span).line;
        self.provenance.record(key, line);
    }

    /// Records an error at `span`.
    pub(super) fn error(
        &mut self,
        kind: SpecErrorKind,
        span: Range<usize>,
        label: impl Into<String>,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let error = SpecError::at(
            &self.source,
            &self.path,
            span,
            kind,
            label.into(),
            message.into(),
            hint,
        );
        self.errors.push(error);
    }

    /// Records `problem` as an invalid value at `span`.
    pub(super) fn problem(&mut self, span: Range<usize>, problem: Problem) {
        self.error(
            SpecErrorKind::InvalidValue,
            span,
            "invalid value",
            problem.message,
            problem.hint,
        );
    }

    /// Records each item of `items` that repeats an earlier one, as `message(value)` with
    /// `hint`; whether all are distinct.
    pub(super) fn distinct(
        &mut self,
        items: &[At<String>],
        message: impl Fn(&str) -> String,
        hint: &str,
    ) -> bool {
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            if items[..i].iter().any(|earlier| earlier.value == item.value) {
                ok = false;
                let problem = Problem::new(message(&item.value), Some(hint.to_string()));
                self.problem(item.span.clone(), problem);
            }
        }
        ok
    }

    /// Runs `check` on `value`; records its problem at the value's span.
    pub(super) fn check<T, U>(
        &mut self,
        value: &At<T>,
        check: impl FnOnce(&T) -> Result<U, Problem>,
    ) -> Option<U> {
        match check(&value.value) {
            Ok(u) => Some(u),
            Err(p) => {
                self.problem(value.span.clone(), p);
                None
            }
        }
    }

    /// Records syntax errors from the TOML parser: the first on each line (the parser's
    /// recovery tends to report follow-on errors for the rest of a broken line).
    pub(super) fn syntax(&mut self, mut errors: Vec<toml::de::Error>) {
        errors.sort_by_key(|e| e.span().map_or(0, |s| s.start));
        let mut lines_seen = Vec::new();
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let line = super::error::Location::of(self.text(), span.clone()).line;
            if lines_seen.contains(&line) {
                continue;
            }
            lines_seen.push(line);
            let message = e.message().trim().to_string();
            let hint = if message.contains("duplicate key") {
                Some("each key may appear only once in a table".to_string())
            } else {
                Some("see https://toml.io for the syntax".to_string())
            };
            self.error(
                SpecErrorKind::Syntax,
                span,
                "here",
                format!("TOML syntax error: {message}"),
                hint,
            );
        }
    }

    /// The document's root table.
    pub(super) fn root<'a, 'i>(&self, root: &'a Spanned<DeTable<'i>>) -> Table<'a, 'i> {
        Table {
            name: String::new(),
            span: 0..0,
            table: root.get_ref(),
        }
    }

    /// Reports every key of `t` not in `allowed`, with a did-you-mean or the list of valid keys.
    pub(super) fn unknown_keys(&mut self, t: &Table<'_, '_>, allowed: &[&str]) {
        let mut found: Vec<(String, Range<usize>)> = t
            .table
            .iter()
            .filter(|(k, _)| !allowed.contains(&k.get_ref().as_ref()))
            .map(|(k, _)| (k.get_ref().to_string(), k.span()))
            .collect();
        found.sort_by_key(|(_, span)| span.start);
        for (key, span) in found {
            let what = if t.name.is_empty() {
                format!("unknown table or key {key:?} at the top level")
            } else {
                format!("unknown key {key:?} in {}", t.display())
            };
            let valid = if t.name.is_empty() {
                format!(
                    "valid tables: {}",
                    allowed
                        .iter()
                        .map(|k| format!("[{k}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                format!("valid keys in {}: {}", t.display(), allowed.join(", "))
            };
            let hint = match rules::did_you_mean(&key, allowed) {
                Some(close) => format!("did you mean {close:?}? {valid}"),
                None => valid,
            };
            self.error(
                SpecErrorKind::UnknownKey,
                span,
                "unknown key",
                what,
                Some(hint),
            );
        }
    }

    /// The value of `key` if it has type `expect`; records a missing (when `required`) or
    /// wrong-type error otherwise.
    fn get<'a, 'i>(
        &mut self,
        t: &Table<'a, 'i>,
        key: &str,
        expect: Expect,
        required: bool,
    ) -> Option<&'a Spanned<DeValue<'i>>> {
        let Some(v) = t.table.get(key) else {
            if required {
                let (what, hint) = if expect == Expect::Table {
                    let name = t.full_key(key);
                    (
                        format!("missing table [{name}]"),
                        format!("add a [{name}] table"),
                    )
                } else {
                    (
                        format!(
                            "missing required key {:?} ({}) in {}",
                            t.full_key(key),
                            expect.name(),
                            t.display()
                        ),
                        format!("add `{key} = {}` to {}", expect.placeholder(), t.display()),
                    )
                };
                self.error(
                    SpecErrorKind::MissingKey,
                    t.span.clone(),
                    format!("{key} is missing here"),
                    what,
                    Some(hint),
                );
            }
            return None;
        };
        if let Some((k, _)) = t.table.get_key_value(key) {
            self.located(t.full_key(key), k.span());
        }
        let ok = matches!(
            (expect, v.get_ref()),
            (Expect::String, DeValue::String(_))
                | (Expect::Integer, DeValue::Integer(_))
                | (Expect::Bool, DeValue::Boolean(_))
                | (Expect::Array, DeValue::Array(_))
                | (Expect::Table, DeValue::Table(_))
        );
        if ok {
            return Some(v);
        }
        self.wrong_type(&t.full_key(key), expect, v);
        None
    }

    fn wrong_type(&mut self, key: &str, expect: Expect, v: &Spanned<DeValue<'_>>) {
        let found = v.get_ref();
        let raw = self.text().get(v.span()).unwrap_or_default().trim();
        let shown = if raw.chars().count() > 40 {
            String::new()
        } else {
            format!(" {raw}")
        };
        let hint = match (expect, found) {
            (Expect::Integer, DeValue::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Some(format!("remove the quotes: {}", s.trim()))
            }
            (Expect::Bool, DeValue::String(s)) if matches!(s.as_ref(), "true" | "false") => {
                Some(format!("remove the quotes: {s}"))
            }
            (Expect::Bool, _) => Some("write true or false, without quotes".to_string()),
            (Expect::String, DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_)) => {
                Some(format!("quote it: \"{raw}\""))
            }
            (Expect::Integer, DeValue::Float(_)) => {
                Some("write a whole number without a decimal point".to_string())
            }
            (Expect::Table, DeValue::Array(_)) => Some(format!(
                "write a single [{key}] table, not an array of tables [[{key}]]"
            )),
            _ => None,
        };
        self.error(
            SpecErrorKind::WrongType,
            v.span(),
            format!("expected {}", expect.name()),
            format!(
                "wrong type for {key}: expected {}, found {}{shown}",
                expect.name(),
                found.type_str()
            ),
            hint,
        );
    }

    /// A sub-table (`[name.key]` or `key = { ... }`).
    pub(super) fn table<'a, 'i>(
        &mut self,
        t: &Table<'a, 'i>,
        key: &str,
        required: bool,
    ) -> Option<Table<'a, 'i>> {
        let v = self.get(t, key, Expect::Table, required)?;
        let DeValue::Table(table) = v.get_ref() else {
            return None;
        };
        Some(Table {
            name: t.full_key(key),
            span: v.span(),
            table,
        })
    }

    /// A string value.
    pub(super) fn string(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        required: bool,
    ) -> Option<At<String>> {
        let v = self.get(t, key, Expect::String, required)?;
        let DeValue::String(s) = v.get_ref() else {
            return None;
        };
        let value = match super::variable_name(s) {
            Some(name) => match self.variables.get(name) {
                Some(value) => value.clone(),
                None => {
                    self.error(
                        SpecErrorKind::MissingVariable,
                        v.span(),
                        "no value",
                        format!(
                            "{} is the spec variable {name}, which has no value",
                            t.full_key(key)
                        ),
                        Some(format!(
                            "pass --var {name}=VALUE or set {}{name}",
                            super::VARIABLE_ENV_PREFIX
                        )),
                    );
                    return None;
                }
            },
            None => s.to_string(),
        };
        Some(at(v, value))
    }

    /// A boolean value.
    pub(super) fn boolean(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        required: bool,
    ) -> Option<At<bool>> {
        let v = self.get(t, key, Expect::Bool, required)?;
        // `get` has checked the type: the value is `true` or `false`.
        Some(at(v, matches!(v.get_ref(), DeValue::Boolean(true))))
    }

    /// An integer value (any radix TOML allows), as i64.
    pub(super) fn integer(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        required: bool,
    ) -> Option<At<i64>> {
        let v = self.get(t, key, Expect::Integer, required)?;
        let DeValue::Integer(i) = v.get_ref() else {
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(value) => Some(at(v, value)),
            Err(_) => {
                self.error(
                    SpecErrorKind::InvalidValue,
                    v.span(),
                    "out of range",
                    format!("integer {} for {} is out of range", i, t.full_key(key)),
                    None,
                );
                None
            }
        }
    }

    /// An integer that must lie in `lo..=hi` (`hint`: where the limits come from), converted
    /// to `T`.
    pub(super) fn int_in<T: TryFrom<i64>>(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        required: bool,
        bounds: (i64, i64),
        hint: &str,
    ) -> Option<At<T>> {
        let v = self.integer(t, key, required)?;
        let what = t.full_key(key);
        self.check(&v, |&n| rules::in_range(&what, n, bounds, hint))?;
        let value = T::try_from(v.value).ok()?;
        Some(At {
            value,
            span: v.span,
        })
    }

    /// An array whose items are all strings.
    pub(super) fn string_array(
        &mut self,
        t: &Table<'_, '_>,
        key: &str,
        required: bool,
    ) -> Option<At<Vec<At<String>>>> {
        let v = self.get(t, key, Expect::Array, required)?;
        let DeValue::Array(items) = v.get_ref() else {
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        let name = t.full_key(key);
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => {
                    self.located(format!("{name}[{i}]"), item.span());
                    out.push(at(item, s.to_string()));
                }
                _ => {
                    self.wrong_type(&format!("{name}[{i}]"), Expect::String, item);
                    ok = false;
                }
            }
        }
        ok.then(|| at(v, out))
    }

    /// Every entry of a table whose values must be strings (e.g. `[tags]`), in file order.
    pub(super) fn string_entries(&mut self, t: &Table<'_, '_>) -> Vec<(At<String>, At<String>)> {
        let mut out = Vec::new();
        for (k, v) in t.table.iter() {
            let key = k.get_ref().to_string();
            match v.get_ref() {
                DeValue::String(s) => {
                    self.located(t.full_key(&key), k.span());
                    out.push((at(k, key), at(v, s.to_string())));
                }
                _ => self.wrong_type(&t.full_key(&key), Expect::String, v),
            }
        }
        out.sort_by_key(|(k, _)| k.span.start);
        out
    }
}

#[cfg(test)]
mod tests;
