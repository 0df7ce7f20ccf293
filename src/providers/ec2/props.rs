//! Attribute helpers shared by the kinds: resolved values of the desired resource, what
//! differs from the live ones, lists of strings, and client tokens.

use sha2::{Digest, Sha256};

use crate::model::{Props, Resource, Value};
use crate::providers::ProviderError;
pub(super) use crate::providers::aws::{list_of, list_prop};

pub(super) fn strings<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::List(
        items
            .into_iter()
            .map(|item| Value::Str(item.into()))
            .collect(),
    )
}

pub(super) fn sorted_strings(mut items: Vec<String>) -> Value {
    items.sort();
    strings(items)
}

/// A client token (at most 64 ASCII characters, as EC2 requires): a hash of the run, the
/// environment, the logical id, and a generation counting earlier incarnations that died.
///
/// EC2 returns the original result to a retry with the same token, and a token stays bound
/// to its resource for a while, even after that resource is deleted ("You should not reuse
/// the same client token for other API requests", Amazon EC2 Developer Guide, *Ensuring
/// idempotency in Amazon EC2 API requests*). So the token is stable for the retries of one
/// step and new whenever a new resource is wanted: in a later run (a route table deleted and
/// made again), or after a NAT gateway of this run failed (it stays listed, and its token
/// would return the dead one).
pub(super) fn client_token(run: &str, env: &str, logical: &str, generation: usize) -> String {
    let digest =
        Sha256::digest(format!("nc-provision/{run}/{env}/{logical}/{generation}").as_bytes());
    format!("nc-{}", &hex::encode(digest)[..40])
}

/// A resolved string attribute.
pub(super) fn text(resource: &Resource, name: &str) -> Result<String, ProviderError> {
    match resource.props.get(name) {
        Some(Value::Str(text)) => Ok(text.clone()),
        other => Err(ProviderError::local(
            "resolve",
            resource.id.as_str(),
            format!("attribute {name} is {other:?}, expected a string"),
        )),
    }
}

/// Whether the live value differs from the desired one (a missing live value always does).
pub(super) fn differs(resource: &Resource, current: &Props, name: &str) -> bool {
    match (resource.props.get(name), current.get(name)) {
        (Some(desired), Some(live)) => !desired.equivalent(live),
        (Some(_), None) => true,
        (None, _) => false,
    }
}

pub(super) fn bad_input(resource: &Resource, why: String) -> ProviderError {
    ProviderError::local("validate", resource.id.as_str(), why)
}

/// String attributes as AWS returned them (an absent one is `""`), by name.
pub(super) fn text_props<'a>(
    values: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Props {
    values
        .into_iter()
        .map(|(name, value)| (name.to_string(), Value::str(value.unwrap_or_default())))
        .collect()
}

/// Parses each of a resource's typed values (routes, ACL entries, security group rules) from
/// its text form.
///
/// # Errors
/// The first value that does not parse, as bad input of `resource`.
pub(super) fn parse_all<T: std::str::FromStr<Err = String>>(
    resource: &Resource,
    items: &[String],
) -> Result<Vec<T>, ProviderError> {
    items
        .iter()
        .map(|item| item.parse::<T>().map_err(|why| bad_input(resource, why)))
        .collect()
}

/// The directions (`egress`, live, desired) of a network ACL's entries or a security group's
/// rules that differ from the desired ones.
pub(super) fn changed_directions(
    resource: &Resource,
    current: &Props,
) -> Vec<(bool, Vec<String>, Vec<String>)> {
    [(false, "ingress"), (true, "egress")]
        .into_iter()
        .filter(|(_, name)| differs(resource, current, name))
        .map(|(egress, name)| {
            (
                egress,
                list_of(current.get(name)),
                list_prop(resource, name),
            )
        })
        .collect()
}
