//! `nc-provision completions SHELL` and `nc-provision man`: generated from the clap definition
//! ([`Cli`]), so they never fall behind the commands (clap_complete, clap_mangen).

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::Cli;

/// The binary's name, as completions and the man page call it.
const BIN: &str = "nc-provision";

/// The completion script of `shell` for every command and flag.
#[must_use]
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    script
}

/// The man page (roff): name, synopsis, description, options, every subcommand, version.
///
/// # Errors
/// The page could not be rendered (an I/O error writing to memory: not expected).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

/// Writes `nc-provision.1` and one page per subcommand (`nc-provision-plan.1`,
/// `nc-provision-dr-rebuild.1`, …, the pages the main page refers to) into `dir`; returns
/// the files written.
///
/// # Errors
/// A page could not be written.
pub fn man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut command = Cli::command();
    // Building names each subcommand after its parents (`nc-provision-plan`), as the main
    // page's SUBCOMMANDS section refers to them.
    command.build();
    let mut written = Vec::new();
    write_pages(&command, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    command: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let name = command
        .get_display_name()
        .unwrap_or_else(|| command.get_name());
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in command.get_subcommands() {
        if sub.get_name() != "help" && !sub.is_hide_set() {
            write_pages(sub, dir, written)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// Every subcommand's name, nested ones (`dr rebuild`) included.
    fn subcommands(command: &clap::Command, names: &mut Vec<String>) {
        for sub in command.get_subcommands() {
            names.push(sub.get_name().to_string());
            subcommands(sub, names);
        }
    }

    #[test]
    fn every_shells_completions_name_every_subcommand() {
        let mut names = Vec::new();
        subcommands(&Cli::command(), &mut names);
        assert!(names.len() >= 14, "{names:?}");
        for shell in clap_complete::Shell::value_variants() {
            let script = String::from_utf8(completions(*shell)).expect("utf-8");
            assert!(!script.trim().is_empty(), "{shell}");
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell} completes {name}");
            }
            assert!(
                script.contains("--watch"),
                "{shell} completes apply --watch"
            );
        }
    }

    #[test]
    fn the_man_page_is_roff_and_names_every_subcommand() {
        let page = String::from_utf8(man_page().expect("renders")).expect("utf-8");
        assert!(
            page.starts_with(".ie"),
            "roff: {}",
            &page[..40.min(page.len())]
        );
        assert!(page.contains(".TH nc-provision 1"), "{page}");
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name().replace('-', "\\-");
            assert!(
                page.contains(&format!("nc\\-provision\\-{name}(1)")),
                "the man page names {name}:\n{page}"
            );
        }
    }

    #[test]
    fn every_page_the_main_page_refers_to_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = man_pages(dir.path()).expect("pages written");
        let mut names = vec!["nc-provision".to_string()];
        let mut subs = Vec::new();
        subcommands(&Cli::command(), &mut subs);
        names.extend(
            Cli::command()
                .get_subcommands()
                .map(|sub| format!("nc-provision-{}", sub.get_name())),
        );
        names.push("nc-provision-dr-rebuild".to_string());
        for name in &names {
            let path = dir.path().join(format!("{name}.1"));
            assert!(written.contains(&path), "{name}.1 written: {written:?}");
            let page = std::fs::read_to_string(&path).expect("read page");
            assert!(page.contains(&format!(".TH {name} 1")), "{name}: {page}");
        }
        assert_eq!(written.len(), subs.len() + 1, "{written:?}");
    }
}
