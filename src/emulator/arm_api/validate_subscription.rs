//! What Azure refuses in an event subscription PUT (fields under `properties`) or PATCH (fields
//! at the top level) before the store sees it: advanced filters (known operators, values of the
//! operator's type, at most 25 values in total, string values of at most 512 characters),
//! batching limits (`maxEventsPerBatch` 1–5000, `preferredBatchSizeInKilobytes` 1–1024), at most
//! 10 delivery attributes, a MonitorAlert destination without `severity`, a StorageQueue time to
//! live of 0, and a dead-letter destination that is not a `StorageBlob` container.
//!
//! Pure: the request body in, a `StoreError` out; it must not change anything. Codes and
//! messages follow Azure where known (docs/emulator.md lists them).

use serde_json::Value;

use crate::emulator::store::StoreError;

/// Azure's limit of filter values across all advanced filters of a subscription.
pub const MAX_FILTER_VALUES: usize = 25;
/// Azure's limit on one string value of an advanced filter.
pub const MAX_FILTER_STRING: usize = 512;
/// Azure's limit of delivery attributes (custom headers) per subscription.
pub const MAX_DELIVERY_ATTRIBUTES: usize = 10;

/// How an operator's values are typed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// `values`: numbers.
    Numbers,
    /// `values`: `[low, high]` number pairs.
    Ranges,
    /// `value`: one number.
    Number,
    /// `value`: one boolean.
    Bool,
    /// `values`: strings.
    Strings,
    /// No value.
    None,
}

const OPERATORS: &[(&str, Values)] = &[
    ("NumberIn", Values::Numbers),
    ("NumberNotIn", Values::Numbers),
    ("NumberLessThan", Values::Number),
    ("NumberGreaterThan", Values::Number),
    ("NumberLessThanOrEquals", Values::Number),
    ("NumberGreaterThanOrEquals", Values::Number),
    ("NumberInRange", Values::Ranges),
    ("NumberNotInRange", Values::Ranges),
    ("BoolEquals", Values::Bool),
    ("StringIn", Values::Strings),
    ("StringNotIn", Values::Strings),
    ("StringBeginsWith", Values::Strings),
    ("StringNotBeginsWith", Values::Strings),
    ("StringEndsWith", Values::Strings),
    ("StringNotEndsWith", Values::Strings),
    ("StringContains", Values::Strings),
    ("StringNotContains", Values::Strings),
    ("IsNullOrUndefined", Values::None),
    ("IsNotNull", Values::None),
];

/// Checks an event subscription PUT (`patch = false`) or PATCH body.
pub fn check_write(body: &Value, patch: bool) -> Result<(), StoreError> {
    let fields = if patch { body } else { &body["properties"] };
    check_advanced_filters(&fields["filter"]["advancedFilters"])?;
    for dest in [
        &fields["destination"],
        &fields["deliveryWithResourceIdentity"]["destination"],
    ] {
        if dest.is_object() {
            check_destination(dest)?;
        }
    }
    for dead_letter in [
        &fields["deadLetterDestination"],
        &fields["deadLetterWithResourceIdentity"]["deadLetterDestination"],
    ] {
        if dead_letter.is_object() {
            check_dead_letter_kind(dead_letter)?;
        }
    }
    Ok(())
}

fn not_deserializable(path: &str, why: &str) -> StoreError {
    StoreError::bad(
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: '{why} Path '{path}'.'."
        ),
    )
}

fn check_advanced_filters(filters: &Value) -> Result<(), StoreError> {
    let Some(filters) = filters.as_array() else {
        return Ok(());
    };
    let mut total = 0;
    for (i, f) in filters.iter().enumerate() {
        let path = format!("properties.filter.advancedFilters[{i}]");
        let Some(op) = f["operatorType"].as_str() else {
            continue; // the store refuses a filter without an operator
        };
        let Some((name, kind)) = OPERATORS.iter().find(|(n, _)| n.eq_ignore_ascii_case(op)) else {
            return Err(StoreError::invalid(format!(
                "Invalid advanced filter at {path}: the operator type '{op}' is not supported. Supported operator types are {}.",
                OPERATORS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        total += check_filter_values(f, *kind, name, &path)?;
    }
    if total > MAX_FILTER_VALUES {
        return Err(StoreError::invalid(format!(
            "The maximum number of values allowed across all advanced filters is {MAX_FILTER_VALUES}; this request has {total}."
        )));
    }
    Ok(())
}

/// Checks one filter's values against its operator; returns how many values it has.
fn check_filter_values(f: &Value, kind: Values, op: &str, path: &str) -> Result<usize, StoreError> {
    let values = f["values"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let wrong = |i: usize, expected: &str| {
        not_deserializable(
            &format!("{path}.values[{i}]"),
            &format!("{op} expects {expected}, got {}.", values[i]),
        )
    };
    match kind {
        Values::Numbers => {
            if let Some(i) = values.iter().position(|v| !v.is_number()) {
                return Err(wrong(i, "numbers"));
            }
        }
        Values::Ranges => {
            let pair = |v: &Value| {
                v.as_array()
                    .is_some_and(|p| p.len() == 2 && p.iter().all(Value::is_number))
            };
            if let Some(i) = values.iter().position(|v| !pair(v)) {
                return Err(wrong(i, "[low, high] number pairs"));
            }
        }
        Values::Strings => {
            if let Some(i) = values.iter().position(|v| !v.is_string()) {
                return Err(wrong(i, "strings"));
            }
            if let Some(long) = values
                .iter()
                .filter_map(Value::as_str)
                .find(|s| s.chars().count() > MAX_FILTER_STRING)
            {
                return Err(StoreError::invalid(format!(
                    "Invalid advanced filter at {path}: a string value is {} characters long; the maximum length of a string value is {MAX_FILTER_STRING}.",
                    long.chars().count()
                )));
            }
        }
        Values::Number | Values::Bool => {
            let v = &f["value"];
            let ok = if kind == Values::Number {
                v.is_number() || v.is_null()
            } else {
                v.is_boolean() || v.is_null()
            };
            if !ok {
                let expected = if kind == Values::Number {
                    "a number"
                } else {
                    "a boolean"
                };
                return Err(not_deserializable(
                    &format!("{path}.value"),
                    &format!("{op} expects {expected}, got {v}."),
                ));
            }
            return Ok(1);
        }
        Values::None => return Ok(0),
    }
    Ok(values.len())
}

fn check_destination(dest: &Value) -> Result<(), StoreError> {
    let kind = dest["endpointType"].as_str().unwrap_or_default();
    let props = &dest["properties"];
    for (field, max) in [
        ("maxEventsPerBatch", 5000),
        ("preferredBatchSizeInKilobytes", 1024),
    ] {
        let v = &props[field];
        if !v.is_null() && !v.as_i64().is_some_and(|n| (1..=max).contains(&n)) {
            return Err(StoreError::invalid(format!(
                "Invalid event subscription request: {field} must be between 1 and {max} (got {v})."
            )));
        }
    }
    let attributes = props["deliveryAttributeMappings"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    if attributes > MAX_DELIVERY_ATTRIBUTES {
        return Err(StoreError::invalid(format!(
            "Invalid event subscription request: at most {MAX_DELIVERY_ATTRIBUTES} delivery attribute mappings are allowed; this request has {attributes}."
        )));
    }
    if kind.eq_ignore_ascii_case("MonitorAlert") && props["severity"].as_str().is_none() {
        return Err(StoreError::invalid(
            "Invalid event subscription request: the severity of a MonitorAlert destination is required (Sev0 to Sev4).",
        ));
    }
    if kind.eq_ignore_ascii_case("StorageQueue") {
        let ttl = &props["queueMessageTimeToLiveInSeconds"];
        if !ttl.is_null() && !ttl.as_i64().is_some_and(|n| n == -1 || n > 0) {
            return Err(StoreError::invalid(format!(
                "Invalid event subscription request: queueMessageTimeToLiveInSeconds cannot be zero or negative, except -1 for an infinite time to live (got {ttl})."
            )));
        }
    }
    Ok(())
}

/// A dead-letter destination is a `StorageBlob` container: endpoint type and container name
/// (the store checks the account id and the names' rules).
fn check_dead_letter_kind(dest: &Value) -> Result<(), StoreError> {
    let kind = dest["endpointType"].as_str().unwrap_or_default();
    if !kind.eq_ignore_ascii_case("StorageBlob") {
        return Err(StoreError::invalid(format!(
            "Invalid dead letter destination: endpoint type '{kind}' is not supported. The only supported dead letter endpoint type is 'StorageBlob'."
        )));
    }
    if dest["properties"]["blobContainerName"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return Err(StoreError::invalid(
            "Invalid dead letter destination: blobContainerName is required.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters(list: Value) -> Result<(), StoreError> {
        check_write(
            &json!({"properties": {"filter": {"advancedFilters": list}}}),
            false,
        )
    }

    #[test]
    fn filter_values_are_typed_and_counted() {
        let strings: Vec<String> = (0..25).map(|i| format!("v{i}")).collect();
        let ok = json!([{"operatorType": "StringIn", "key": "subject", "values": strings}]);
        assert!(filters(ok).is_ok());
        let range = json!([{"operatorType": "NumberInRange", "key": "data.n", "values": [[1, 2]]}]);
        assert!(filters(range).is_ok());
        let mixed = json!([
            {"operatorType": "NumberLessThan", "key": "data.n", "value": 3},
            {"operatorType": "IsNotNull", "key": "data.x"}
        ]);
        assert!(filters(mixed).is_ok());
        let bad_range = json!([{"operatorType": "NumberInRange", "key": "k", "values": [1]}]);
        assert!(filters(bad_range).is_err());
        let bool_string = json!([{"operatorType": "BoolEquals", "key": "k", "value": "yes"}]);
        assert!(filters(bool_string).is_err());
    }

    #[test]
    fn patch_bodies_are_read_at_the_top_level() {
        let patch = json!({"destination": {"endpointType": "WebHook", "properties": {"maxEventsPerBatch": 0}}});
        assert!(check_write(&patch, true).is_err());
        assert!(check_write(&patch, false).is_ok());
    }
}
