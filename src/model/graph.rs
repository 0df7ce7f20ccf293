//! The desired graph: resources with explicit dependencies, checked for dangling edges and
//! cycles.

use std::collections::{BTreeMap, BTreeSet};

use super::{LogicalId, Resource};

/// Why a desired graph is malformed (a bug in a module expander, never user input).
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Two resources share one logical id.
    #[error("duplicate logical id {0}")]
    Duplicate(LogicalId),
    /// A dependency or reference names a resource that is not in the graph.
    #[error("{from} depends on {to}, which is not in the graph")]
    Dangling {
        /// The dependent resource.
        from: LogicalId,
        /// The missing resource.
        to: LogicalId,
    },
    /// The dependencies form a cycle through this resource.
    #[error("dependency cycle through {0}")]
    Cycle(LogicalId),
}

/// Every desired resource of an environment, in a deterministic dependency order.
#[derive(Debug, Clone, Default)]
pub struct DesiredGraph {
    resources: Vec<Resource>,
    index: BTreeMap<LogicalId, usize>,
}

impl DesiredGraph {
    /// Builds the graph: references in attributes become dependencies too. Resources are kept
    /// in topological order (ties broken by logical id).
    ///
    /// # Errors
    /// A duplicate id, a dependency on a missing resource, or a cycle.
    pub fn new(resources: Vec<Resource>) -> Result<DesiredGraph, GraphError> {
        let mut by_id: BTreeMap<LogicalId, Resource> = BTreeMap::new();
        for mut resource in resources {
            for reference in references(&resource) {
                if reference != resource.id && !resource.depends_on.contains(&reference) {
                    resource.depends_on.push(reference);
                }
            }
            if by_id.contains_key(&resource.id) {
                return Err(GraphError::Duplicate(resource.id));
            }
            by_id.insert(resource.id.clone(), resource);
        }
        for resource in by_id.values() {
            for dependency in &resource.depends_on {
                if !by_id.contains_key(dependency) {
                    return Err(GraphError::Dangling {
                        from: resource.id.clone(),
                        to: dependency.clone(),
                    });
                }
            }
        }
        let order = topological_order(&by_id)?;
        let mut resources = Vec::with_capacity(order.len());
        let mut index = BTreeMap::new();
        for id in order {
            if let Some(resource) = by_id.remove(&id) {
                index.insert(id, resources.len());
                resources.push(resource);
            }
        }
        Ok(DesiredGraph { resources, index })
    }

    /// Resources in dependency order.
    #[must_use]
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// One resource by id.
    #[must_use]
    pub fn get(&self, id: &LogicalId) -> Option<&Resource> {
        self.index
            .get(id)
            .map(|&position| &self.resources[position])
    }

    /// Number of resources.
    #[must_use]
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether the graph is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// Every resource referenced from a resource's attributes.
fn references(resource: &Resource) -> BTreeSet<LogicalId> {
    let mut found = BTreeSet::new();
    for value in resource
        .props
        .values()
        .chain(resource.create_inputs.values())
    {
        value.referenced_ids(&mut found);
    }
    found
}

/// Kahn's algorithm over ids; deterministic because ready ids are kept sorted.
fn topological_order(by_id: &BTreeMap<LogicalId, Resource>) -> Result<Vec<LogicalId>, GraphError> {
    let mut remaining: BTreeMap<&LogicalId, usize> = by_id
        .iter()
        .map(|(id, resource)| (id, resource.depends_on.len()))
        .collect();
    let mut ready: BTreeSet<&LogicalId> = remaining
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(by_id.len());
    while let Some(id) = ready.pop_first() {
        remaining.remove(id);
        order.push(id.clone());
        for (other_id, resource) in by_id {
            if resource.depends_on.contains(id)
                && let Some(count) = remaining.get_mut(other_id)
            {
                *count -= 1;
                if *count == 0 {
                    ready.insert(other_id);
                }
            }
        }
    }
    match remaining.keys().next() {
        Some(id) => Err(GraphError::Cycle((*id).clone())),
        None => Ok(order),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, Value};

    fn resource(id: &str, deps: &[&str]) -> Resource {
        let mut resource = Resource::new(id, Kind::S3Bucket, id);
        for dep in deps {
            resource = resource.after(&LogicalId::new(*dep));
        }
        resource
    }

    #[test]
    fn orders_dependencies_first_and_ties_by_id() {
        let graph = DesiredGraph::new(vec![
            resource("c", &["a"]),
            resource("b", &[]),
            resource("a", &[]),
        ])
        .unwrap();
        let ids: Vec<&str> = graph.resources().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[test]
    fn references_become_dependencies() {
        let key = resource("key", &[]);
        let bucket = Resource::new("bucket", Kind::S3Bucket, "b")
            .prop("kms", Value::reference(&key.id, "arn"));
        let graph = DesiredGraph::new(vec![bucket, key]).unwrap();
        let bucket = graph.get(&LogicalId::new("bucket")).unwrap();
        assert_eq!(bucket.depends_on, vec![LogicalId::new("key")]);
        assert_eq!(graph.resources()[0].id.as_str(), "key");
    }

    #[test]
    fn rejects_cycles_dangling_and_duplicates() {
        let cases = [
            (
                "cycle",
                vec![resource("a", &["b"]), resource("b", &["a"])],
                "cycle",
            ),
            ("dangling", vec![resource("a", &["zz"])], "not in the graph"),
            (
                "duplicate",
                vec![resource("a", &[]), resource("a", &[])],
                "duplicate",
            ),
        ];
        for (reason, resources, expected) in cases {
            let error = DesiredGraph::new(resources).unwrap_err().to_string();
            assert!(error.contains(expected), "{reason}: {error}");
        }
    }
}
