//! One update's inputs in one value: the desired resource, the live one as observed, and the
//! attributes that differ.

use super::errors::ProviderError;
use super::tags::{TagApi, sync_touched_tags};
use crate::model::{Delta, Observed, Outputs, Resource};

/// What a kind's update is told: `resource` as the spec wants it, `observed` as it lives, and
/// the `delta` of attributes between them.
#[derive(Clone, Copy)]
pub struct Change<'a> {
    /// The desired resource (references resolved).
    pub resource: &'a Resource,
    /// The live resource.
    pub observed: &'a Observed,
    /// The attributes that differ.
    pub delta: &'a Delta,
}

impl<'a> Change<'a> {
    /// The change from `observed` to `resource` in the attributes of `delta`.
    #[must_use]
    pub fn new(resource: &'a Resource, observed: &'a Observed, delta: &'a Delta) -> Change<'a> {
        Change {
            resource,
            observed,
            delta,
        }
    }

    /// Whether attribute `name` differs.
    #[must_use]
    pub fn touches(&self, name: &str) -> bool {
        self.delta.touches(name)
    }

    /// The AWS identifier of the live resource.
    #[must_use]
    pub fn physical_id(&self) -> &'a str {
        &self.observed.physical_id
    }

    /// The last step of most updates: the tags synced through `api` when they differ, and
    /// the outputs as observed.
    ///
    /// # Errors
    /// The failing tag or untag call.
    pub async fn sync_tags(&self, api: &dyn TagApi) -> Result<Outputs, ProviderError> {
        sync_touched_tags(api, self.resource, self.observed, self.delta).await
    }

    /// Refuses a change of `attribute`, which AWS cannot change in place (an IAM path, say):
    /// the error names `action`, the live resource and `why`.
    ///
    /// # Errors
    /// This change touches `attribute`.
    pub fn fixed_in_place(
        &self,
        attribute: &str,
        action: &str,
        why: &str,
    ) -> Result<(), ProviderError> {
        if self.touches(attribute) {
            return Err(ProviderError::local(action, self.physical_id(), why));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kind, LogicalId, Owner};
    use crate::providers::aws::Live;

    /// A role's path change is refused by name (IAM has no UpdateRole path); any other
    /// change passes.
    #[test]
    fn fixed_in_place_refuses_only_the_fixed_attribute() {
        let resource = Resource::new("iam.role.app", Kind::IamRole, "nc-stg-app");
        let observed = Live::new(Kind::IamRole, "nc-stg-app", "nc-stg-app")
            .owned_by(LogicalId::new("iam.role.app"), Owner::Ours);
        let why = "a role's path cannot change in place";
        let path = Delta::new(["path"]);
        let refused = Change::new(&resource, &observed, &path)
            .fixed_in_place("path", "iam:UpdateRole", why)
            .expect_err("a path change is refused");
        assert_eq!(refused.action, "iam:UpdateRole");
        assert_eq!(refused.resource, "nc-stg-app");
        assert!(refused.message.contains(why), "{}", refused.message);
        let tags = Delta::new(["tags"]);
        Change::new(&resource, &observed, &tags)
            .fixed_in_place("path", "iam:UpdateRole", why)
            .expect("a tag change passes");
    }
}
