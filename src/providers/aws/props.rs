//! Reading a desired or observed attribute the way the SDK calls take it.

use crate::model::{Resource, Value};

/// The strings of a list value, in order (nothing for an absent value or another kind).
#[must_use]
pub fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A string attribute of `resource` as an optional SDK setting: `None` when it is unset or
/// empty (the call then leaves the setting out).
#[must_use]
pub fn non_empty_prop(resource: &Resource, name: &str) -> Option<String> {
    resource
        .str_prop(name)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// A list-of-strings attribute of `resource` (empty when unset).
#[must_use]
pub fn list_prop(resource: &Resource, name: &str) -> Vec<String> {
    list_of(resource.props.get(name))
}
