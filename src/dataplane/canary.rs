//! Canary events for `verify`: given a subscription's filter (its ARM JSON form), make an event
//! that the filter accepts, and check it with the client's own reading of Event Grid's filter
//! rules (documented semantics: case-insensitive strings, OR within one filter's values, AND
//! across filters, missing keys match only the `Not…In` operators). Pure; independent of the
//! emulator's evaluator on purpose, so a mistake in one cannot hide in the other.

use serde_json::{Value, json};

/// Sets a dotted `key` in `event` (objects created on the way; keys match case-insensitively).
fn set_key(event: &mut Value, key: &str, value: Value) {
    let mut cur = event;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        let name = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case(part))
            .cloned()
            .unwrap_or_else(|| (*part).to_string());
        if i + 1 == parts.len() {
            obj.insert(name, value);
            return;
        }
        let next = obj.entry(name).or_insert_with(|| json!({}));
        if !next.is_object() {
            *next = json!({});
        }
        cur = next;
    }
}

fn remove_key(event: &mut Value, key: &str) {
    let (parent, last) = key.rsplit_once('.').unwrap_or(("", key));
    let mut cur = event;
    for part in parent.split('.').filter(|p| !p.is_empty()) {
        cur = &mut cur[part];
    }
    if let Some(obj) = cur.as_object_mut() {
        obj.retain(|k, _| !k.eq_ignore_ascii_case(last));
    }
}

fn get_key<'a>(event: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.')
        .try_fold(event, |cur, part| {
            let obj = cur.as_object()?;
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A value that satisfies one advanced filter (best effort; checked afterwards).
fn satisfying_value(f: &Value) -> Option<Value> {
    let numbers: Vec<f64> = f["values"]
        .as_array()
        .map(|v| v.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let first_text = || f["values"][0].as_str().map(str::to_string);
    let single = f["value"].as_f64();
    Some(match f["operatorType"].as_str()? {
        "NumberIn" => json!(numbers.first().copied()?),
        "NumberNotIn" => json!(numbers.iter().fold(0.0_f64, |a, b| a.max(*b)) + 1.0),
        "NumberLessThan" => json!(single? - 1.0),
        "NumberGreaterThan" => json!(single? + 1.0),
        "NumberLessThanOrEquals" | "NumberGreaterThanOrEquals" => json!(single?),
        "NumberInRange" => f["values"][0][0].clone(),
        "NumberNotInRange" => {
            let ranges = f["values"].as_array()?;
            let high = ranges
                .iter()
                .filter_map(|r| r[1].as_f64())
                .fold(0.0_f64, f64::max);
            json!(high + 1.0)
        }
        "BoolEquals" => f["value"].clone(),
        "StringIn" | "StringContains" => json!(first_text()?),
        "StringBeginsWith" => json!(format!("{}-gridform-canary", first_text()?)),
        "StringEndsWith" => json!(format!("gridform-canary-{}", first_text()?)),
        "StringNotIn"
        | "StringNotContains"
        | "StringNotBeginsWith"
        | "StringNotEndsWith"
        | "IsNotNull" => json!("zq-gridform-canary-zq"),
        _ => return None,
    })
}

fn compare(op: &str, found: &Value, wanted: &Value) -> bool {
    let lower = |v: &Value| match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let (a, b) = (found.as_f64(), wanted.as_f64());
    let (s, t) = (lower(found), lower(wanted));
    match op {
        "NumberIn" | "NumberNotIn" => a.zip(b).is_some_and(|(a, b)| a == b),
        "NumberLessThan" => a.zip(b).is_some_and(|(a, b)| a < b),
        "NumberGreaterThan" => a.zip(b).is_some_and(|(a, b)| a > b),
        "NumberLessThanOrEquals" => a.zip(b).is_some_and(|(a, b)| a <= b),
        "NumberGreaterThanOrEquals" => a.zip(b).is_some_and(|(a, b)| a >= b),
        "NumberInRange" | "NumberNotInRange" => {
            let (lo, hi) = (wanted[0].as_f64(), wanted[1].as_f64());
            a.zip(lo.zip(hi))
                .is_some_and(|(a, (lo, hi))| lo <= a && a <= hi)
        }
        "BoolEquals" => found.as_bool().is_some() && found.as_bool() == wanted.as_bool(),
        "StringIn" | "StringNotIn" => s.zip(t).is_some_and(|(s, t)| s == t),
        "StringContains" | "StringNotContains" => s.zip(t).is_some_and(|(s, t)| s.contains(&t)),
        "StringBeginsWith" | "StringNotBeginsWith" => {
            s.zip(t).is_some_and(|(s, t)| s.starts_with(&t))
        }
        "StringEndsWith" | "StringNotEndsWith" => s.zip(t).is_some_and(|(s, t)| s.ends_with(&t)),
        _ => false,
    }
}

/// Whether one advanced filter accepts `event`.
fn accepts_advanced(f: &Value, event: &Value, arrays: bool) -> bool {
    let op = f["operatorType"].as_str().unwrap_or_default();
    let found = get_key(event, f["key"].as_str().unwrap_or_default());
    let negated = op.contains("Not") && op != "IsNotNull";
    match (op, found) {
        ("IsNullOrUndefined", f) => return f.is_none(),
        ("IsNotNull", f) => return f.is_some(),
        (_, None) => return matches!(op, "NumberNotIn" | "StringNotIn" | "NumberNotInRange"),
        _ => {}
    }
    let elements: Vec<&Value> = match found {
        Some(Value::Array(items)) if arrays => items.iter().collect(),
        Some(Value::Array(_)) | None => vec![],
        Some(one) => vec![one],
    };
    let wanted: Vec<&Value> = match f["values"].as_array() {
        Some(list) => list.iter().collect(),
        None => vec![&f["value"]],
    };
    let hit = elements
        .iter()
        .any(|e| wanted.iter().any(|w| compare(op, e, w)));
    hit != negated
}

/// Whether `filter` accepts `event` (Event Grid or CloudEvents schema).
pub fn accepts(filter: &Value, event: &Value) -> bool {
    let event_type = event["eventType"]
        .as_str()
        .or_else(|| event["type"].as_str())
        .unwrap_or_default();
    let type_ok = filter["includedEventTypes"].as_array().is_none_or(|types| {
        types.is_empty()
            || types
                .iter()
                .filter_map(Value::as_str)
                .any(|t| t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case(event_type))
    });
    let fold = |s: &str| {
        if filter["isSubjectCaseSensitive"] == true {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let subject = fold(event["subject"].as_str().unwrap_or_default());
    let subject_ok = subject.starts_with(&fold(
        filter["subjectBeginsWith"].as_str().unwrap_or_default(),
    )) && subject.ends_with(&fold(
        filter["subjectEndsWith"].as_str().unwrap_or_default(),
    ));
    let arrays = filter["enableAdvancedFilteringOnArrays"] == true;
    let advanced_ok = filter["advancedFilters"]
        .as_array()
        .is_none_or(|fs| fs.iter().all(|f| accepts_advanced(f, event, arrays)));
    type_ok && subject_ok && advanced_ok
}

/// Makes `base` match `filter`; `None` when no event can (contradictory filters).
pub fn canary(base: Value, filter: &Value) -> Option<Value> {
    let mut event = base;
    let cloud_events = event["specversion"].is_string();
    if let Some(t) = filter["includedEventTypes"].as_array().and_then(|ts| {
        ts.iter()
            .filter_map(Value::as_str)
            .find(|t| !t.eq_ignore_ascii_case("all"))
    }) {
        event[if cloud_events { "type" } else { "eventType" }] = json!(t);
    }
    let begins = filter["subjectBeginsWith"].as_str().unwrap_or_default();
    let ends = filter["subjectEndsWith"].as_str().unwrap_or_default();
    if !begins.is_empty() || !ends.is_empty() {
        event["subject"] = json!(format!("{begins}gridform-canary{ends}"));
    }
    let arrays = filter["enableAdvancedFilteringOnArrays"] == true;
    for f in filter["advancedFilters"].as_array().into_iter().flatten() {
        if accepts_advanced(f, &event, arrays) {
            continue;
        }
        let key = f["key"].as_str().unwrap_or_default();
        if f["operatorType"] == "IsNullOrUndefined" {
            remove_key(&mut event, key);
        } else if let Some(v) = satisfying_value(f) {
            set_key(&mut event, key, v);
        }
    }
    accepts(filter, &event).then_some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canaries_satisfy_filters() {
        let base =
            json!({"id": "c", "subject": "/x", "eventType": "T", "eventTime": "t", "data": {}});
        let filter = json!({
            "includedEventTypes": ["Orders.Created"],
            "subjectBeginsWith": "/orders/", "subjectEndsWith": ".json",
            "advancedFilters": [
                {"operatorType": "NumberGreaterThan", "key": "data.total", "value": 100},
                {"operatorType": "StringIn", "key": "data.region", "values": ["eu", "us"]},
                {"operatorType": "StringNotContains", "key": "subject", "values": ["test"]},
                {"operatorType": "IsNullOrUndefined", "key": "data.deleted"},
                {"operatorType": "NumberNotInRange", "key": "data.n", "values": [[1, 5]]},
                {"operatorType": "BoolEquals", "key": "data.ok", "value": true}
            ]
        });
        let e = canary(base.clone(), &filter).unwrap();
        assert_eq!(e["eventType"], "Orders.Created");
        assert_eq!(e["data"]["region"], "eu");
        assert!(accepts(&filter, &e));
        let impossible = json!({"advancedFilters": [
            {"operatorType": "NumberLessThan", "key": "data.n", "value": 1},
            {"operatorType": "NumberGreaterThan", "key": "data.n", "value": 5}
        ]});
        assert!(canary(base, &impossible).is_none());
    }

    #[test]
    fn missing_keys_match_only_not_in_and_strings_ignore_case() {
        let e = json!({"data": {"region": "EU"}});
        let f = |op: &str| json!({"operatorType": op, "key": "data.x", "values": ["a"]});
        assert!(accepts_advanced(&f("StringNotIn"), &e, false));
        assert!(!accepts_advanced(&f("StringNotContains"), &e, false));
        let region = json!({"operatorType": "StringIn", "key": "data.region", "values": ["eu"]});
        assert!(accepts_advanced(&region, &e, false));
        let arr = json!({"data": {"tags": ["a", "b"]}});
        let has_b = json!({"operatorType": "StringIn", "key": "data.tags", "values": ["b"]});
        assert!(accepts_advanced(&has_b, &arr, true));
        assert!(!accepts_advanced(&has_b, &arr, false));
    }
}
