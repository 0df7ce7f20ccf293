//! Spec errors: located (`file:line:col`), with a hint, renderable by miette.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// What kind of problem a [`SpecError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecErrorKind {
    /// The `--env` name is not dev, stg or prod.
    UnknownEnvironment,
    /// The spec file could not be read (missing, unreadable, not UTF-8).
    Io,
    /// The file is not valid TOML.
    Syntax,
    /// A key or table that the spec does not define.
    UnknownKey,
    /// A value of the wrong TOML type (e.g. a string where an integer is expected).
    WrongType,
    /// A required key or table is absent.
    MissingKey,
    /// A value of the right type that fails a check (range, syntax, allowed set, consistency).
    InvalidValue,
    /// A `${name}` spec variable without a value (`--var name=value` or
    /// `NC_PROVISION_VAR_<name>`).
    MissingVariable,
}

impl SpecErrorKind {
    /// A short, stable code, e.g. `spec::unknown_key` (shown by miette).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            SpecErrorKind::UnknownEnvironment => "spec::unknown_environment",
            SpecErrorKind::Io => "spec::io",
            SpecErrorKind::Syntax => "spec::syntax",
            SpecErrorKind::UnknownKey => "spec::unknown_key",
            SpecErrorKind::WrongType => "spec::wrong_type",
            SpecErrorKind::MissingKey => "spec::missing_key",
            SpecErrorKind::InvalidValue => "spec::invalid_value",
            SpecErrorKind::MissingVariable => "spec::missing_variable",
        }
    }
}

/// A position in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (not bytes).
    pub col: usize,
    /// The byte range the error is about (may be empty).
    pub span: Range<usize>,
}

impl Location {
    /// The location of byte range `span` in `text` (clamped to the text).
    #[must_use]
    pub fn of(text: &str, span: Range<usize>) -> Location {
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let before = &text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        let end = span.end.clamp(start, text.len());
        Location {
            line,
            col,
            span: start..end,
        }
    }
}

/// One problem in a spec: where (file, line, column), what was found and expected, and a hint.
///
/// `Display` is `{path}:{line}:{col}: {message}`, then `\n  hint: {hint}` when there is one.
/// Errors without a file position (unknown environment, unreadable file) omit the parts they
/// do not have.
#[derive(Clone)]
pub struct SpecError {
    /// What kind of problem this is.
    pub kind: SpecErrorKind,
    /// The spec file, when there is one.
    pub path: Option<PathBuf>,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What was found and what was expected.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
    /// Short text under the snippet's underline.
    label: String,
    /// The file's text, for miette's snippet.
    source: Option<Arc<NamedSource<String>>>,
}

impl SpecError {
    /// An error with no file at all (e.g. an unknown `--env`).
    pub(super) fn bare(kind: SpecErrorKind, message: String, hint: Option<String>) -> SpecError {
        SpecError {
            kind,
            path: None,
            location: None,
            message,
            hint,
            label: String::new(),
            source: None,
        }
    }

    /// An error about a file as a whole (missing, unreadable).
    pub(super) fn file(
        kind: SpecErrorKind,
        path: &Path,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        SpecError {
            path: Some(path.to_path_buf()),
            ..SpecError::bare(kind, message, hint)
        }
    }

    /// An error at `span` of the file `source` (whose name is `path`).
    pub(super) fn at(
        source: &Arc<NamedSource<String>>,
        path: &Path,
        span: Range<usize>,
        kind: SpecErrorKind,
        label: String,
        message: String,
        hint: Option<String>,
    ) -> SpecError {
        SpecError {
            kind,
            path: Some(path.to_path_buf()),
            location: Some(Location::of(source.inner(), span)),
            message,
            hint,
            label,
            source: Some(Arc::clone(source)),
        }
    }

    /// 1-based line, when known.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.line)
    }

    /// 1-based column, when known.
    #[must_use]
    pub fn col(&self) -> Option<usize> {
        self.location.as_ref().map(|l| l.col)
    }

    fn sort_key(&self) -> (usize, usize) {
        self.location
            .as_ref()
            .map_or((0, 0), |l| (l.span.start, l.span.end))
    }
}

impl fmt::Debug for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpecError")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("location", &self.location)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .finish()
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}:", path.display())?;
            if let Some(loc) = &self.location {
                write!(f, "{}:{}:", loc.line, loc.col)?;
            }
            f.write_str(" ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

impl Diagnostic for SpecError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    // The hint is already part of the message (`Display`), so `help` stays empty to avoid
    // printing it twice.

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let loc = self.location.as_ref()?;
        self.source.as_ref()?;
        let label = (!self.label.is_empty()).then(|| self.label.clone());
        let span = LabeledSpan::new_primary_with_span(label, loc.span.clone());
        Some(Box::new(std::iter::once(span)))
    }
}

/// Every problem found in one spec (at least one), in file order.
///
/// `Display` prints each [`SpecError`] on its own line(s). As a miette [`Diagnostic`] each error
/// is a related diagnostic with its own source snippet; [`SpecErrors::render`] renders them.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    errors: Vec<SpecError>,
}

impl SpecErrors {
    /// A list of one error.
    #[must_use]
    pub fn single(error: SpecError) -> SpecErrors {
        SpecErrors {
            errors: vec![error],
        }
    }

    /// Sorts `errors` into file order; `None` when there are none.
    pub(super) fn from_vec(mut errors: Vec<SpecError>) -> Option<SpecErrors> {
        if errors.is_empty() {
            return None;
        }
        errors.sort_by_key(SpecError::sort_key);
        Some(SpecErrors { errors })
    }

    /// The errors, in file order (never empty).
    #[must_use]
    pub fn errors(&self) -> &[SpecError] {
        &self.errors
    }

    /// Number of errors (at least 1).
    #[must_use]
    pub fn count(&self) -> usize {
        self.errors.len()
    }

    /// Renders every error with a source snippet (miette's graphical handler), for a terminal
    /// (`color`) or a log.
    #[must_use]
    pub fn render(&self, color: bool) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme);
        let mut out = String::new();
        for error in &self.errors {
            if handler.render_report(&mut out, error).is_err() {
                out.push_str(&error.to_string());
                out.push('\n');
            }
        }
        out
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl Diagnostic for SpecErrors {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("spec::invalid"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

impl<'a> IntoIterator for &'a SpecErrors {
    type Item = &'a SpecError;
    type IntoIter = std::slice::Iter<'a, SpecError>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_of_offsets() {
        struct Case {
            reason: &'static str,
            text: &'static str,
            offset: usize,
            line: usize,
            col: usize,
        }
        let cases = [
            Case {
                reason: "start of file is 1:1",
                text: "a = 1\n",
                offset: 0,
                line: 1,
                col: 1,
            },
            Case {
                reason: "value on first line",
                text: "a = 1\n",
                offset: 4,
                line: 1,
                col: 5,
            },
            Case {
                reason: "second line",
                text: "a = 1\nbb = 2\n",
                offset: 11,
                line: 2,
                col: 6,
            },
            Case {
                reason: "columns count characters, not bytes",
                text: "# é\nk = \"é\" x",
                offset: "# é\nk = \"é\" ".len(),
                line: 2,
                col: 9,
            },
            Case {
                reason: "offset past the end is clamped",
                text: "a\nb",
                offset: 99,
                line: 2,
                col: 2,
            },
            Case {
                reason: "CRLF line endings",
                text: "a = 1\r\nb = 2",
                offset: 7,
                line: 2,
                col: 1,
            },
        ];
        for c in cases {
            let loc = Location::of(c.text, c.offset..c.offset);
            assert_eq!((loc.line, loc.col), (c.line, c.col), "{}", c.reason);
        }
    }

    #[test]
    fn display_formats() {
        let text = "[vpc]\ncidr = \"10.1.0.0/33\"\n".to_string();
        let source = Arc::new(NamedSource::new("specs/stg.toml", text));
        let path = Path::new("specs/stg.toml");
        struct Case {
            reason: &'static str,
            error: SpecError,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "located error with hint: file:line:col, message, hint line",
                error: SpecError::at(
                    &source,
                    path,
                    13..26,
                    SpecErrorKind::InvalidValue,
                    "here".into(),
                    "invalid CIDR \"10.1.0.0/33\": prefix length must be 0..=32".into(),
                    Some("use a.b.c.d/n".into()),
                ),
                want: "specs/stg.toml:2:8: invalid CIDR \"10.1.0.0/33\": prefix length must be \
                       0..=32\n  hint: use a.b.c.d/n",
            },
            Case {
                reason: "file-level error has path but no line:col",
                error: SpecError::file(SpecErrorKind::Io, path, "not found".into(), None),
                want: "specs/stg.toml: not found",
            },
            Case {
                reason: "bare error is just the message",
                error: SpecError::bare(SpecErrorKind::UnknownEnvironment, "unknown".into(), None),
                want: "unknown",
            },
        ];
        for c in cases {
            assert_eq!(c.error.to_string(), c.want, "{}", c.reason);
        }
    }

    #[test]
    fn errors_sorted_and_rendered() {
        let text = "a = 1\nb = 2\n".to_string();
        let source = Arc::new(NamedSource::new("x/stg.toml", text));
        let path = Path::new("x/stg.toml");
        let mk = |span: Range<usize>, msg: &str| {
            SpecError::at(
                &source,
                path,
                span,
                SpecErrorKind::UnknownKey,
                "unknown key".into(),
                msg.into(),
                None,
            )
        };
        let errs = SpecErrors::from_vec(vec![mk(6..7, "second"), mk(0..1, "first")]);
        let Some(errs) = errs else {
            panic!("non-empty list gives Some");
        };
        assert_eq!(errs.count(), 2);
        assert_eq!(errs.errors()[0].message, "first");
        assert_eq!(
            errs.to_string(),
            "x/stg.toml:1:1: first\nx/stg.toml:2:1: second"
        );
        let rendered = errs.render(false);
        assert!(rendered.contains("unknown key"), "{rendered}");
        assert!(rendered.contains("b = 2"), "{rendered}");
        assert!(SpecErrors::from_vec(Vec::new()).is_none());
    }
}
