//! Output discipline: data (plans, JSON) on stdout, messages and logs on stderr.

use std::io::{IsTerminal, Write};

use crate::calls::CallStats;

/// Writes data to stdout.
pub fn data(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

/// Writes a JSON document to stdout, pretty-printed.
pub fn json(document: &serde_json::Value) {
    data(&serde_json::to_string_pretty(document).unwrap_or_else(|_| document.to_string()));
}

/// Writes one compact JSON line to stdout.
pub fn json_line(document: &serde_json::Value) {
    data(&document.to_string());
}

/// A message for the user on stderr (suppressed by `-q`).
pub fn note(quiet: bool, text: &str) {
    if !quiet {
        eprintln!("{text}");
    }
}

/// Prints an error and its causes on stderr. Spec errors also get a source snippet on a terminal.
pub fn error(error: &anyhow::Error) {
    if let Some(spec_errors) = error.downcast_ref::<crate::spec::SpecErrors>() {
        eprintln!("error: {spec_errors}");
        if std::io::stderr().is_terminal() {
            let mut rendered = String::new();
            if miette::GraphicalReportHandler::new()
                .render_report(&mut rendered, spec_errors)
                .is_ok()
            {
                eprintln!("{rendered}");
            }
        }
        return;
    }
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// The AWS call table printed by `-v`.
pub fn call_table(calls: &CallStats) -> String {
    let mut table = String::from("AWS API calls by operation:\n");
    for ((service, operation), count) in &calls.by_operation {
        table.push_str(&format!("  {count:>5}  {service}.{operation}\n"));
    }
    table.push_str(&format!(
        "  {:>5}  total ({} writes)\n",
        calls.total(),
        calls.writes()
    ));
    table
}
