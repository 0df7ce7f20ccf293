//! Issue 15 item 7 — the JSON Schema of the spec for editors, `docs/spec.schema.json`: the
//! shipped specs validate against it, broken ones do not, and it knows exactly the keys the
//! spec reader accepts (asked from the reader itself: an unknown key's error lists the valid
//! keys of its table). No AWS call.
//!
//! The validator is a small one for the subset of JSON Schema (2020-12) the schema uses:
//! `type`, `properties`, `required`, `additionalProperties`, `propertyNames`, `enum`, `const`,
//! `minimum`, `maximum`, `pattern` (regex-lite), `items`, `minItems`, `uniqueItems`, `anyOf`,
//! `oneOf`, and `$ref` to `#/$defs/…`; `$schema`, `title` and `description` are annotations. Any
//! other keyword fails the test, so the schema cannot use one that is not checked here. (The
//! `jsonschema` crate would pull an HTTP client and a regex engine for this one test.)

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

const ANNOTATIONS: [&str; 3] = ["$schema", "title", "description"];
const KEYWORDS: [&str; 17] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "enum",
    "const",
    "minimum",
    "maximum",
    "pattern",
    "items",
    "minItems",
    "uniqueItems",
    "anyOf",
    "oneOf",
    "$ref",
    "$defs",
];

fn schema() -> Value {
    let path = crate::common::repo().join("docs/spec.schema.json");
    let text = std::fs::read_to_string(&path).expect("read docs/spec.schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The problems of `value` against `schema` (empty: valid), each with its JSON path.
fn validate(root: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(keywords) = schema.as_object() else {
        return vec![format!("{path}: the schema is not an object")];
    };
    for keyword in keywords.keys() {
        assert!(
            KEYWORDS.contains(&keyword.as_str()) || ANNOTATIONS.contains(&keyword.as_str()),
            "the schema uses {keyword:?} at {path}, which this validator does not check"
        );
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
        let target = &root["$defs"][name];
        assert!(!target.is_null(), "{reference} is defined");
        problems.extend(validate(root, target, value, path));
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            other => panic!("unsupported type {other}"),
        };
        if !ok {
            return vec![format!("{path}: expected {kind}, found {value}")];
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        problems.push(format!("{path}: expected {constant}, found {value}"));
    }
    if let Some(number) = value.as_f64() {
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
            && number < minimum
        {
            problems.push(format!("{path}: {number} is below {minimum}"));
        }
        if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
            && number > maximum
        {
            problems.push(format!("{path}: {number} is above {maximum}"));
        }
    }
    if let (Some(pattern), Some(text)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) && !regex_lite::Regex::new(pattern)
        .expect("a valid pattern")
        .is_match(text)
    {
        problems.push(format!("{path}: {text:?} does not match {pattern}"));
    }
    if let Some(object) = value.as_object() {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                problems.push(format!("{path}: missing required key {name:?}"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in object {
            let inner = format!("{path}.{key}");
            if let Some(names) = schema.get("propertyNames") {
                problems.extend(validate(root, names, &Value::String(key.clone()), &inner));
            }
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => problems.extend(validate(root, property, item, &inner)),
                (None, Some(Value::Bool(false))) => {
                    problems.push(format!("{inner}: unknown key"));
                }
                (None, Some(additional)) if additional.is_object() => {
                    problems.extend(validate(root, additional, item, &inner));
                }
                (None, _) => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(minimum) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < minimum
        {
            problems.push(format!("{path}: fewer than {minimum} items"));
        }
        if schema.get("uniqueItems") == Some(&Value::Bool(true)) {
            let distinct: BTreeSet<String> = items.iter().map(Value::to_string).collect();
            if distinct.len() != items.len() {
                problems.push(format!("{path}: repeated items"));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter().enumerate() {
                problems.extend(validate(
                    root,
                    item_schema,
                    item,
                    &format!("{path}[{index}]"),
                ));
            }
        }
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array)
        && !options
            .iter()
            .any(|option| validate(root, option, value, path).is_empty())
    {
        problems.push(format!("{path}: {value} matches none of anyOf"));
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|option| validate(root, option, value, path).is_empty())
            .count();
        if matching != 1 {
            problems.push(format!(
                "{path}: matches {matching} of oneOf, expected exactly one"
            ));
        }
    }
    problems
}

fn toml_as_json(text: &str) -> Value {
    toml::from_str(text).expect("TOML")
}

fn shipped(env: &str) -> String {
    std::fs::read_to_string(crate::common::repo().join(format!("specs/{env}.toml")))
        .expect("read spec")
}

#[test]
fn the_shipped_specs_validate_against_the_schema() {
    let schema = schema();
    for env in ["dev", "stg", "prod"] {
        let problems = validate(&schema, &schema, &toml_as_json(&shipped(env)), env);
        assert!(problems.is_empty(), "specs/{env}.toml: {problems:#?}");
    }
}

#[test]
fn broken_specs_do_not_validate() {
    let schema = schema();
    let broken = [
        ("az_count = 2", "az_count = 9", "above 6"),
        (
            "region = \"us-east-1\"",
            "region = \"eu-west-1\"",
            "matches none",
        ),
        (
            "flow_logs_retention_days = 30",
            "flow_logs_retention_days = 31",
            "is not one of",
        ),
        ("[kms]", "[kms]\nrotation = true", "unknown key"),
        (
            "trail_retention_days = 30",
            "trail_retention_days = 30\ntrail_retention_years = 1",
            "oneOf",
        ),
        ("enable_key_rotation = true", "", "missing required key"),
        (
            "ManagedBy = \"nc-provision\"",
            "ManagedBy = \"terraform\"",
            "expected",
        ),
        (
            "buckets = [\"raw\", \"norm\"]",
            "buckets = [\"raw\", \"raw\"]",
            "repeated",
        ),
        (
            "platform-lead = [\"arn:aws:sts::",
            "platform-lead = [\"role/",
            "does not match",
        ),
    ];
    for (from, to, expected) in broken {
        // At the start of a line: the keys, not the comments that quote them.
        let (from_line, to_line) = (format!("\n{from}"), format!("\n{to}"));
        let text = shipped("stg");
        assert!(text.contains(&from_line), "stg.toml has {from}");
        let problems = validate(
            &schema,
            &schema,
            &toml_as_json(&text.replacen(&from_line, &to_line, 1)),
            "stg",
        );
        assert!(
            problems.iter().any(|problem| problem.contains(expected)),
            "{from} -> {to}: expected a problem with {expected:?}, got {problems:#?}"
        );
    }
}

/// The object schema at a table path (`""` the root, `data.documents_table`, …).
fn table_schema<'a>(schema: &'a Value, table: &str) -> &'a Value {
    table
        .split('.')
        .filter(|part| !part.is_empty())
        .fold(schema, |node, part| &node["properties"][part])
}

/// The keys the spec reader accepts in `table`, from the error of an unknown key put into it.
fn reader_keys(table: &str) -> BTreeSet<String> {
    let text = shipped("prod");
    let probe = "zz_probe = 1\n";
    let probed = if table.is_empty() {
        format!("{probe}{text}")
    } else {
        let header = format!("[{table}]\n");
        assert!(text.contains(&header), "prod.toml has {header}");
        text.replacen(&header, &format!("{header}{probe}"), 1)
    };
    let variables = nc_provision::spec::Variables::from([
        (
            "security_account_id".to_string(),
            "111111111111".to_string(),
        ),
        ("logs_account_id".to_string(), "222222222222".to_string()),
    ]);
    let errors = nc_provision::spec::parse_with(Path::new("specs/prod.toml"), &probed, &variables)
        .expect_err("an unknown key is an error");
    let error = errors
        .errors()
        .iter()
        .find(|error| error.message.contains("zz_probe"))
        .unwrap_or_else(|| panic!("an error names the probe in [{table}]: {errors}"));
    let hint = error.hint.as_deref().expect("a hint lists the valid keys");
    let list = hint
        .rsplit_once(": ")
        .map(|(_, list)| list)
        .expect("valid keys: …");
    list.split(", ")
        .map(|key| {
            key.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        })
        .collect()
}

#[test]
fn the_schema_knows_exactly_the_keys_the_reader_accepts() {
    let schema = schema();
    // Every closed table of the spec ([tags] and [change_control.approvers] take any key).
    let tables = [
        "",
        "environment",
        "vpc",
        "iam",
        "kms",
        "data",
        "data.documents_table",
        "observability",
        "change_control",
        "change_control.required_approvals",
    ];
    for table in tables {
        let node = table_schema(&schema, table);
        assert_eq!(
            node["additionalProperties"],
            Value::Bool(false),
            "[{table}] is closed in the schema"
        );
        let known: BTreeSet<String> = node["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            known,
            reader_keys(table),
            "the schema's keys of [{table}] (left) differ from the reader's (right): update docs/spec.schema.json"
        );
    }
}
