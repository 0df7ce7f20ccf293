//! `kms_key_policy`: the default policy of a key the spec makes elsewhere, read from the
//! key's own observation (the same GetKeyPolicy answer) and put with PutKeyPolicy. A key
//! always has a policy, so dropping this resource from the spec leaves the key's as it is.
//!
//! Props: `key_id` (a reference to the key), `policy` (Policy). Outputs `key_id`.

use super::{KmsProvider, policy_text, put_policy};
use crate::model::{Kind, Observed, Outputs, Props, Resource, Value};
use crate::providers::ProviderError;
use crate::providers::aws::{Live, outputs_of};

/// The observation of `resource` from its key's (already observed) one.
pub(super) fn observe(resource: &Resource, key: &Observed) -> Observed {
    let mut props = Props::new();
    props.insert("key_id".to_string(), Value::str(key.physical_id.clone()));
    if let Some(policy) = key.props.get("policy") {
        props.insert("policy".to_string(), policy.clone());
    }
    Live::new(Kind::KmsKeyPolicy, &key.physical_id, &key.physical_id)
        .props(props)
        .outputs(outputs_of([("key_id", &key.physical_id)]))
        .owned_by(resource.id.clone(), key.owner.clone())
}

impl KmsProvider {
    /// Puts the policy on the key its `key_id` names (create and update alike).
    pub(super) async fn apply_policy(&self, resource: &Resource) -> Result<Outputs, ProviderError> {
        let missing = |what| ProviderError::local("kms:PutKeyPolicy", resource.id.as_str(), what);
        let key_id = resource
            .str_prop("key_id")
            .ok_or_else(|| missing("no key_id"))?;
        let policy = policy_text(&resource.props).ok_or_else(|| missing("no policy"))?;
        put_policy(&self.client, key_id, policy).await?;
        Ok(outputs_of([("key_id", key_id)]))
    }
}
