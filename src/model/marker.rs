//! Ownership of alarms, which carry a marker in their description instead of tags the tool
//! reads, and the text form of an alarm threshold that desired and observed compare by.

use super::{MANAGER, Owner};

/// The ownership marker at the end of every alarm description of environment `env`.
#[must_use]
pub fn alarm_owner_marker(env: &str) -> String {
    format!("[{MANAGER}:{env}]")
}

impl Owner {
    /// Reads ownership from the marker at the end of an alarm's description (alarms carry
    /// no tags the tool reads: the marker spares a tag read per alarm).
    #[must_use]
    pub fn from_marker(description: &str, env: &str) -> Owner {
        if description.ends_with(&alarm_owner_marker(env)) {
            return Owner::Ours;
        }
        let prefix = format!("[{MANAGER}:");
        match description.rfind(&prefix) {
            Some(start) => Owner::OtherEnv(
                description[start + prefix.len()..]
                    .trim_end_matches(']')
                    .to_string(),
            ),
            None => Owner::Foreign,
        }
    }
}

/// Normalises a threshold so that desired and observed compare as text.
#[must_use]
pub fn alarm_threshold_text(value: f64) -> String {
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_environment_that_owns_an_alarm() {
        assert_eq!(
            Owner::from_marker("x [nc-provision:stg]", "stg"),
            Owner::Ours
        );
        assert_eq!(
            Owner::from_marker("x [nc-provision:prod]", "stg"),
            Owner::OtherEnv("prod".into())
        );
        assert_eq!(Owner::from_marker("someone else's", "stg"), Owner::Foreign);
        assert_eq!(alarm_threshold_text(5.0), "5");
        assert_eq!(alarm_threshold_text(0.01), "0.01");
    }
}
