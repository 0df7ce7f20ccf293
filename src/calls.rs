//! AWS API call statistics: what the SDK interceptor counted, per service and operation.
//!
//! Every HTTP request the SDK sends (each retry attempt included) is one call. This number is
//! the project's headline performance figure.

use std::collections::BTreeMap;

use serde::Serialize;

/// Operation name prefixes that only read.
const READ_PREFIXES: [&str; 5] = ["Describe", "Get", "List", "Head", "Lookup"];

/// A snapshot of the calls made so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Calls per (service, operation).
    pub by_operation: BTreeMap<(String, String), u64>,
}

impl CallStats {
    /// Total calls.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }

    /// Calls that change something (every operation that is not a Describe/Get/List/Head).
    #[must_use]
    pub fn writes(&self) -> u64 {
        self.by_operation
            .iter()
            .filter(|((_, operation), _)| !is_read(operation))
            .map(|(_, count)| count)
            .sum()
    }

    /// Calls per service.
    #[must_use]
    pub fn by_service(&self) -> BTreeMap<&str, u64> {
        let mut services = BTreeMap::new();
        for ((service, _), count) in &self.by_operation {
            *services.entry(service.as_str()).or_insert(0) += count;
        }
        services
    }

    /// Calls made since `earlier` was taken.
    #[must_use]
    pub fn since(&self, earlier: &CallStats) -> CallStats {
        let by_operation = self
            .by_operation
            .iter()
            .filter_map(|(key, count)| {
                let before = earlier.by_operation.get(key).copied().unwrap_or(0);
                (count > &before).then(|| (key.clone(), count - before))
            })
            .collect();
        CallStats { by_operation }
    }

    /// The JSON form: `{"total": n, "writes": n, "by_operation": {"KMS.ListAliases": n, ...}}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        let by_operation: BTreeMap<String, u64> = self
            .by_operation
            .iter()
            .map(|((service, operation), count)| (format!("{service}.{operation}"), *count))
            .collect();
        serde_json::json!({
            "total": self.total(),
            "writes": self.writes(),
            "by_operation": by_operation,
        })
    }
}

impl Serialize for CallStats {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

/// Whether an operation only reads.
#[must_use]
pub fn is_read(operation: &str) -> bool {
    READ_PREFIXES
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_writes_and_differences() {
        let mut stats = CallStats::default();
        for (service, operation, count) in [
            ("KMS", "ListAliases", 2),
            ("KMS", "CreateKey", 1),
            ("S3", "PutBucketVersioning", 3),
            ("S3", "HeadBucket", 1),
        ] {
            stats
                .by_operation
                .insert((service.into(), operation.into()), count);
        }
        assert_eq!(stats.total(), 7);
        assert_eq!(stats.writes(), 4);
        let mut earlier = CallStats::default();
        earlier
            .by_operation
            .insert(("KMS".into(), "ListAliases".into()), 1);
        assert_eq!(stats.since(&earlier).total(), 6);
        assert_eq!(stats.by_service().get("S3"), Some(&4));
    }
}
