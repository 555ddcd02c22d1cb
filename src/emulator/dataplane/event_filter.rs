//! Event subscription filters as Event Grid evaluates them: `includedEventTypes` (`All` means
//! every type), `subjectBeginsWith`/`subjectEndsWith` with `isSubjectCaseSensitive`, and the 19
//! advanced-filter operators — case-insensitive strings, OR across one filter's values, AND
//! across filters, Azure's missing-key rules, `[low, high]` inclusive ranges and
//! `enableAdvancedFilteringOnArrays` (positive operators match when any element hits, negative
//! ones fail when any element hits; elements of another type are ignored).
//!
//! Pure: `matches(filter, event)` on JSON values; no store, no HTTP.

use serde_json::Value;

/// Whether `event` (Event Grid or CloudEvents schema) passes the subscription `filter`.
pub fn matches(filter: &Value, event: &Value) -> bool {
    event_type_ok(filter, event) && subject_ok(filter, event) && advanced_ok(filter, event)
}

fn event_type_ok(filter: &Value, event: &Value) -> bool {
    let Some(types) = filter["includedEventTypes"].as_array() else {
        return true;
    };
    let event_type = event["eventType"]
        .as_str()
        .or_else(|| event["type"].as_str())
        .unwrap_or_default();
    types.is_empty()
        || types
            .iter()
            .filter_map(Value::as_str)
            .any(|t| t.eq_ignore_ascii_case("all") || t.to_lowercase() == event_type.to_lowercase())
}

fn subject_ok(filter: &Value, event: &Value) -> bool {
    let case = filter["isSubjectCaseSensitive"] == true;
    let norm = |s: &str| {
        if case {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let subject = norm(event["subject"].as_str().unwrap_or_default());
    let begins = norm(filter["subjectBeginsWith"].as_str().unwrap_or_default());
    let ends = norm(filter["subjectEndsWith"].as_str().unwrap_or_default());
    subject.starts_with(&begins) && subject.ends_with(&ends)
}

fn advanced_ok(filter: &Value, event: &Value) -> bool {
    let arrays = filter["enableAdvancedFilteringOnArrays"] == true;
    filter["advancedFilters"]
        .as_array()
        .is_none_or(|list| list.iter().all(|f| advanced_one(f, event, arrays)))
}

/// Looks up a dotted key; property names are matched case-insensitively.
fn lookup<'a>(event: &'a Value, key: &str) -> Option<&'a Value> {
    let mut cur = event;
    for part in key.split('.') {
        let obj = cur.as_object()?;
        cur = match obj.get(part) {
            Some(v) => v,
            None => obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)?,
        };
    }
    Some(cur)
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_lowercase)
}

fn range(v: &Value) -> Option<(f64, f64)> {
    let pair = v.as_array()?;
    Some((num(pair.first()?)?, num(pair.get(1)?)?))
}

/// One advanced filter.
pub fn advanced_one(f: &Value, event: &Value, arrays: bool) -> bool {
    let op = f["operatorType"].as_str().unwrap_or_default();
    let key = f["key"].as_str().unwrap_or_default();
    let found = lookup(event, key).filter(|v| !v.is_null());
    match op {
        "IsNullOrUndefined" => return found.is_none(),
        "IsNotNull" => return found.is_some(),
        _ => {}
    }
    let negative = matches!(
        op,
        "NumberNotIn"
            | "StringNotIn"
            | "StringNotContains"
            | "StringNotBeginsWith"
            | "StringNotEndsWith"
            | "NumberNotInRange"
    );
    let Some(found) = found else {
        // Azure: a missing key matches only NumberNotIn, StringNotIn (and, by analogy,
        // NumberNotInRange).
        return matches!(op, "NumberNotIn" | "StringNotIn" | "NumberNotInRange");
    };
    let elements: Vec<&Value> = match found {
        Value::Array(items) if arrays => items.iter().collect(),
        Value::Array(_) => Vec::new(),
        other => vec![other],
    };
    let values: Vec<&Value> = match f["values"].as_array() {
        Some(vs) => vs.iter().collect(),
        None => vec![&f["value"]],
    };
    let hit = |e: &Value, v: &Value| -> bool {
        match op {
            "NumberIn" | "NumberNotIn" => num(e).zip(num(v)).is_some_and(|(a, b)| a == b),
            "NumberLessThan" => num(e).zip(num(v)).is_some_and(|(a, b)| a < b),
            "NumberGreaterThan" => num(e).zip(num(v)).is_some_and(|(a, b)| a > b),
            "NumberLessThanOrEquals" => num(e).zip(num(v)).is_some_and(|(a, b)| a <= b),
            "NumberGreaterThanOrEquals" => num(e).zip(num(v)).is_some_and(|(a, b)| a >= b),
            "NumberInRange" | "NumberNotInRange" => num(e)
                .zip(range(v))
                .is_some_and(|(a, (lo, hi))| lo <= a && a <= hi),
            "BoolEquals" => e.as_bool().zip(v.as_bool()).is_some_and(|(a, b)| a == b),
            "StringContains" | "StringNotContains" => {
                text(e).zip(text(v)).is_some_and(|(a, b)| a.contains(&b))
            }
            "StringBeginsWith" | "StringNotBeginsWith" => {
                text(e).zip(text(v)).is_some_and(|(a, b)| a.starts_with(&b))
            }
            "StringEndsWith" | "StringNotEndsWith" => {
                text(e).zip(text(v)).is_some_and(|(a, b)| a.ends_with(&b))
            }
            "StringIn" | "StringNotIn" => text(e).zip(text(v)).is_some_and(|(a, b)| a == b),
            _ => false,
        }
    };
    let any_hit = elements.iter().any(|e| values.iter().any(|v| hit(e, v)));
    if negative { !any_hit } else { any_hit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "id": "1", "subject": "/Orders/42", "eventType": "Order.Created",
            "data": {"n": 5, "color": "Blue", "ok": true, "tags": ["Red", "green"], "nums": [1, 9], "nothing": null}
        })
    }

    #[test]
    fn every_operator_table() {
        // (operator, key, value-or-values, arrays flag, expected)
        let cases: Vec<(&str, &str, Value, bool, bool)> = vec![
            ("NumberIn", "data.n", json!([1, 5]), false, true),
            ("NumberIn", "data.n", json!([1, 2]), false, false),
            ("NumberIn", "data.missing", json!([1]), false, false),
            ("NumberNotIn", "data.n", json!([1, 2]), false, true),
            ("NumberNotIn", "data.n", json!([5]), false, false),
            ("NumberNotIn", "data.missing", json!([5]), false, true),
            ("NumberLessThan", "data.n", json!(6), false, true),
            ("NumberLessThan", "data.n", json!(5), false, false),
            ("NumberLessThan", "data.missing", json!(5), false, false),
            ("NumberGreaterThan", "data.n", json!(4), false, true),
            ("NumberGreaterThan", "data.n", json!(5), false, false),
            ("NumberLessThanOrEquals", "data.n", json!(5), false, true),
            ("NumberLessThanOrEquals", "data.n", json!(4.9), false, false),
            ("NumberGreaterThanOrEquals", "data.n", json!(5), false, true),
            (
                "NumberGreaterThanOrEquals",
                "data.n",
                json!(5.1),
                false,
                false,
            ),
            (
                "NumberInRange",
                "data.n",
                json!([[0, 1], [5, 9]]),
                false,
                true,
            ),
            ("NumberInRange", "data.n", json!([[6, 9]]), false, false),
            ("NumberNotInRange", "data.n", json!([[6, 9]]), false, true),
            ("NumberNotInRange", "data.n", json!([[1, 5]]), false, false),
            ("BoolEquals", "data.ok", json!(true), false, true),
            ("BoolEquals", "data.ok", json!(false), false, false),
            ("BoolEquals", "data.missing", json!(true), false, false),
            ("StringContains", "data.color", json!(["LU"]), false, true),
            ("StringContains", "data.color", json!(["x"]), false, false),
            ("StringContains", "data.missing", json!(["x"]), false, false),
            ("StringNotContains", "data.color", json!(["x"]), false, true),
            (
                "StringNotContains",
                "data.color",
                json!(["lu"]),
                false,
                false,
            ),
            (
                "StringNotContains",
                "data.missing",
                json!(["x"]),
                false,
                false,
            ),
            (
                "StringBeginsWith",
                "subject",
                json!(["/orders"]),
                false,
                true,
            ),
            (
                "StringBeginsWith",
                "subject",
                json!(["/carts"]),
                false,
                false,
            ),
            (
                "StringNotBeginsWith",
                "subject",
                json!(["/carts"]),
                false,
                true,
            ),
            (
                "StringNotBeginsWith",
                "subject",
                json!(["/ORDERS"]),
                false,
                false,
            ),
            ("StringEndsWith", "Subject", json!(["/42"]), false, true),
            ("StringEndsWith", "subject", json!(["/43"]), false, false),
            ("StringNotEndsWith", "subject", json!(["/43"]), false, true),
            ("StringNotEndsWith", "subject", json!(["42"]), false, false),
            (
                "StringIn",
                "eventType",
                json!(["a", "order.created"]),
                false,
                true,
            ),
            ("StringIn", "data.color", json!(["red"]), false, false),
            ("StringNotIn", "data.color", json!(["red"]), false, true),
            ("StringNotIn", "data.color", json!(["BLUE"]), false, false),
            ("StringNotIn", "data.missing", json!(["x"]), false, true),
            (
                "IsNullOrUndefined",
                "data.missing",
                Value::Null,
                false,
                true,
            ),
            (
                "IsNullOrUndefined",
                "data.nothing",
                Value::Null,
                false,
                true,
            ),
            ("IsNullOrUndefined", "data.n", Value::Null, false, false),
            ("IsNotNull", "data.n", Value::Null, false, true),
            ("IsNotNull", "data.nothing", Value::Null, false, false),
            // Arrays: ignored unless enabled; any element for positive, none for negative.
            ("StringIn", "data.tags", json!(["green"]), false, false),
            ("StringIn", "data.tags", json!(["green"]), true, true),
            ("StringNotIn", "data.tags", json!(["red"]), true, false),
            ("StringNotIn", "data.tags", json!(["blue"]), true, true),
            ("NumberGreaterThan", "data.nums", json!(8), true, true),
            (
                "NumberNotInRange",
                "data.nums",
                json!([[8, 10]]),
                true,
                false,
            ),
        ];
        for (op, key, v, arrays, want) in cases {
            let f = if v.is_array() {
                json!({"operatorType": op, "key": key, "values": v})
            } else {
                json!({"operatorType": op, "key": key, "value": v})
            };
            assert_eq!(
                advanced_one(&f, &event(), arrays),
                want,
                "{op} {key} {v} arrays={arrays}"
            );
        }
    }

    #[test]
    fn basic_filters_and_and_across_filters() {
        let e = event();
        assert!(matches(&json!({}), &e));
        assert!(matches(&json!({"includedEventTypes": ["All"]}), &e));
        assert!(!matches(
            &json!({"includedEventTypes": ["Order.Deleted"]}),
            &e
        ));
        assert!(matches(
            &json!({"subjectBeginsWith": "/orders/", "subjectEndsWith": "42"}),
            &e
        ));
        assert!(!matches(
            &json!({"subjectBeginsWith": "/orders/", "isSubjectCaseSensitive": true}),
            &e
        ));
        let two = json!({"advancedFilters": [
            {"operatorType": "NumberIn", "key": "data.n", "values": [5]},
            {"operatorType": "StringIn", "key": "data.color", "values": ["red"]}
        ]});
        assert!(!matches(&two, &e));
        let ce = json!({"type": "Order.Created", "source": "/s", "subject": "x"});
        assert!(matches(
            &json!({"includedEventTypes": ["order.created"]}),
            &ce
        ));
    }
}
