//! The order of a plan's steps: each change's destroy and build halves, and which halves wait
//! for which.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::LogicalId;
use crate::plan::{Action, ResourceChange};

/// The two halves of a change. Creating, updating and adopting only build; deleting only
/// destroys; replacing destroys, then builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// Delete the live resource.
    Destroy,
    /// Create or update the resource.
    Build,
}

/// One unit of scheduling: a change's destroy or build half.
pub(super) type Node = (LogicalId, Phase);

/// Which phases a change has.
pub(super) fn phases(action: Action) -> &'static [Phase] {
    match action {
        Action::Delete => &[Phase::Destroy],
        Action::Replace => &[Phase::Destroy, Phase::Build],
        Action::Create | Action::Update | Action::Adopt => &[Phase::Build],
        Action::NoOp | Action::Conflict | Action::Retain | Action::Skip => &[],
    }
}

/// The nodes each node waits for.
///
/// - A build waits for the builds of its dependencies, and for its own destroy (replace).
/// - A destroy waits for the destroys of everything that depends on it or names it live
///   (a VPC is deleted after its subnets, a subnet after its NAT gateway), and for the
///   updates of live resources that name it but no longer will (an endpoint moved out of a
///   subnet before the subnet goes). This is the reverse of the build order, so deletions —
///   of orphans as of the old halves of replacements — run in the order AWS requires.
pub(super) fn prerequisites(changes: &[&ResourceChange]) -> BTreeMap<Node, Vec<Node>> {
    let nodes: BTreeSet<Node> = changes
        .iter()
        .flat_map(|change| {
            phases(change.action)
                .iter()
                .map(|phase| (change.id.clone(), *phase))
        })
        .collect();
    let mut waits: BTreeMap<Node, Vec<Node>> = nodes
        .iter()
        .map(|node| (node.clone(), Vec::new()))
        .collect();
    let mut add = |node: Node, prerequisite: Node| {
        if node != prerequisite
            && nodes.contains(&prerequisite)
            && let Some(list) = waits.get_mut(&node)
            && !list.contains(&prerequisite)
        {
            list.push(prerequisite);
        }
    };
    for change in changes {
        let id = &change.id;
        let build = (id.clone(), Phase::Build);
        if nodes.contains(&build) {
            for dependency in &change.depends_on {
                add(build.clone(), (dependency.clone(), Phase::Build));
            }
            add(build.clone(), (id.clone(), Phase::Destroy));
        }
        let destroys = nodes.contains(&(id.clone(), Phase::Destroy));
        for named in change.depends_on.iter().chain(&change.live_references) {
            let target = (named.clone(), Phase::Destroy);
            if destroys {
                add(target, (id.clone(), Phase::Destroy));
            } else if nodes.contains(&build) && !change.depends_on.contains(named) {
                add(target, build.clone());
            }
        }
    }
    waits
}
