//! Golden checks against the official example bodies in `../shared/azure-spec` (read at run time,
//! never copied; `GRIDFORM_AZURE_SPEC_DIR` overrides the path, and without the folder the tests
//! say on stderr that they were skipped and pass): for every example of an operation the emulator covers, the emulator's response
//! has the example response's fields with the same JSON types (ids, names, times, keys and other
//! values may differ). Resources a GET/list/action example expects are first created from the
//! example's own response body.

use std::path::PathBuf;

use crate::support::azure_spec_dir;
use crate::support::router::{self, Harness};
use axum::http::{Method, StatusCode};
use gridform::emulator::{Clock, Config, Emulator};
use serde_json::{Map, Value, json};

fn load(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Fields of `example` missing from `ours` or of another JSON type (`null` in the example matches anything).
fn shape_diff(example: &Value, ours: &Value, at: &str, out: &mut Vec<String>) {
    match (example, ours) {
        (Value::Null, _) => {}
        (Value::Object(e), Value::Object(o)) => {
            for (k, v) in e {
                // Tag keys are data, not fields: only the type of `tags` is compared.
                if k == "tags" {
                    if let Some(ov) = o.get(k).filter(|ov| !v.is_null() && !ov.is_null())
                        && kind(v) != kind(ov)
                    {
                        out.push(format!(
                            "{at}.tags: example {} vs emulator {}",
                            kind(v),
                            kind(ov)
                        ));
                    }
                    continue;
                }
                match o.get(k) {
                    None if !v.is_null() => out.push(format!("{at}.{k} missing")),
                    None => {}
                    Some(ov) => shape_diff(v, ov, &format!("{at}.{k}"), out),
                }
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if let (Some(e0), Some(o0)) = (e.first(), o.first()) {
                shape_diff(e0, o0, &format!("{at}[0]"), out);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (e, o) => out.push(format!("{at}: example {} vs emulator {}", kind(e), kind(o))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Example dates are from 2022; authorization times are moved to one day after the emulator clock.
fn refresh_dates(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "authorizationExpirationTimeInUtc" {
                    *x = json!("2022-01-21T00:00:00Z");
                } else {
                    refresh_dates(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(refresh_dates),
        _ => {}
    }
}

/// A response body turned into a PUT body (read-only fields out, webhook base URL back to a URL).
fn as_request(resp: &Value) -> Value {
    let mut props = resp["properties"].as_object().cloned().unwrap_or_default();
    for f in [
        "provisioningState",
        "endpoint",
        "metricResourceId",
        "topic",
        "activationState",
        "privateEndpointConnections",
    ] {
        props.remove(f);
    }
    if let Some(p) = props
        .get_mut("destination")
        .and_then(|d| d["properties"].as_object_mut())
        && let Some(base) = p.remove("endpointBaseUrl")
    {
        p.insert("endpointUrl".into(), base);
    }
    let mut out = json!({"properties": props});
    for f in ["location", "tags", "identity"] {
        if let Some(v) = resp.get(f).filter(|v| !v.is_null()) {
            out[f] = v.clone();
        }
    }
    if out.get("location").is_none() {
        out["location"] = json!("westus2");
    }
    refresh_dates(&mut out);
    out
}

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Value,
    /// The resource path to seed from the expected body, for reads and actions.
    seed: Vec<(String, Value)>,
    /// The status codes the example declares.
    allowed: Vec<u16>,
}

fn case_for(file: &str, example: &Value) -> Option<Case> {
    let p = &example["parameters"];
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    let op = file.trim_end_matches(".json");
    let (group, verb) = op.split_once('_')?;
    let rg = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventGrid",
        s("subscriptionId"),
        s("resourceGroupName")
    );
    let resource = match group {
        "Topics" => format!("{rg}/topics/{}", s("topicName")),
        "SystemTopics" => format!("{rg}/systemTopics/{}", s("systemTopicName")),
        "PartnerTopics" => format!("{rg}/partnerTopics/{}", s("partnerTopicName")),
        "PartnerConfigurations" => format!("{rg}/partnerConfigurations/default"),
        "TopicEventSubscriptions" => format!(
            "{rg}/topics/{}/eventSubscriptions/{}",
            s("topicName"),
            s("eventSubscriptionName")
        ),
        "SystemTopicEventSubscriptions" => format!(
            "{rg}/systemTopics/{}/eventSubscriptions/{}",
            s("systemTopicName"),
            s("eventSubscriptionName")
        ),
        "PartnerTopicEventSubscriptions" => format!(
            "{rg}/partnerTopics/{}/eventSubscriptions/{}",
            s("partnerTopicName"),
            s("eventSubscriptionName")
        ),
        "EventSubscriptions" if s("scope").starts_with("subscriptions/") => {
            format!(
                "/{}/providers/Microsoft.EventGrid/eventSubscriptions/{}",
                s("scope"),
                s("eventSubscriptionName")
            )
        }
        _ => return None,
    };
    let collection = resource
        .rsplit_once('/')
        .map(|(c, _)| c.to_string())
        .unwrap_or_default();
    let mut body = p
        .as_object()?
        .iter()
        .find(|(k, v)| v.is_object() && *k != "tags")
        .map(|(_, v)| v.clone());
    if let (Some(b), Some(tags)) = (body.as_mut(), p.get("tags")) {
        b["tags"] = tags.clone();
    }
    if let Some(b) = body.as_mut() {
        refresh_dates(b);
    }
    let responses = &example["responses"];
    let expect = responses
        .get("201")
        .or_else(|| responses.get("200"))
        .and_then(|r| r.get("body"))
        .cloned()
        .unwrap_or(Value::Null);
    let (method, path, seed) = if verb.starts_with("CreateOrUpdate") {
        (Method::PUT, resource.clone(), vec![])
    } else if verb.starts_with("Update") {
        (
            Method::PATCH,
            resource.clone(),
            vec![(resource.clone(), expect.clone())],
        )
    } else if verb.starts_with("List") && verb != "ListSharedAccessKeys" {
        let seeds = expect["value"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                (
                    format!("{collection}/{}", item["name"].as_str().unwrap_or("x")),
                    item.clone(),
                )
            });
        (Method::GET, collection.clone(), seeds.collect())
    } else if verb.starts_with("Delete") {
        let seed_body = if resource.contains("/partnerConfigurations/") {
            json!({"properties": {}})
        } else {
            json!({})
        };
        (
            Method::DELETE,
            resource.clone(),
            vec![(resource.clone(), seed_body)],
        )
    } else if verb.starts_with("GetFullUrl") || verb.starts_with("GetDeliveryAttributes") {
        let action = if verb.starts_with("GetFullUrl") {
            "getFullUrl"
        } else {
            "getDeliveryAttributes"
        };
        (
            Method::POST,
            format!("{resource}/{action}"),
            vec![(resource.clone(), json!({}))],
        )
    } else if verb.starts_with("Get") {
        (
            Method::GET,
            resource.clone(),
            vec![(resource.clone(), expect.clone())],
        )
    } else {
        // For these actions the response is the resource itself, so it seeds the world.
        let (action, seed_body) = match verb {
            "ListSharedAccessKeys" => ("listKeys", json!({})),
            "RegenerateKey" => ("regenerateKey", json!({})),
            "AuthorizePartner" => ("authorizePartner", expect.clone()),
            "UnauthorizePartner" => ("unauthorizePartner", expect.clone()),
            "Activate" => ("activate", expect.clone()),
            "Deactivate" => ("deactivate", expect.clone()),
            _ => return None,
        };
        (
            Method::POST,
            format!("{resource}/{action}"),
            vec![(resource.clone(), seed_body)],
        )
    };
    let allowed = responses
        .as_object()?
        .keys()
        .filter_map(|k| k.parse().ok())
        .collect();
    let expect = if method == Method::DELETE {
        Value::Null
    } else {
        expect
    };
    Some(Case {
        method,
        path,
        body,
        expect,
        seed,
        allowed,
    })
}

/// Parents (topics etc.) every example may need, plus the seed resources of the case.
async fn seed(h: &Harness, case: &Case) {
    let q = "api-version=2025-02-15";
    for (path, resp) in &case.seed {
        let mut req = as_request(resp);
        let parts: Vec<&str> = path.split('/').collect();
        // Create parents of nested subscriptions first.
        if let Some(i) = parts
            .iter()
            .position(|p| p.eq_ignore_ascii_case("eventSubscriptions"))
        {
            let parent = parts[..i].join("/");
            let parent = parent.trim_end_matches("/providers/Microsoft.EventGrid");
            ensure_parent(h, parent).await;
            if req["properties"].get("destination").is_none() {
                req = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://example.com/hook?code=1"}}}});
            }
            // Partner topics deliver CloudEvents only (docs/emulator.md); the examples' responses
            // still show the Event Grid schema.
            if parent.contains("/partnerTopics/") {
                req["properties"]["eventDeliverySchema"] = json!("CloudEventSchemaV1_0");
            }
        }
        if path.contains("/systemTopics/")
            && !path.contains("/eventSubscriptions/")
            && req["properties"].get("source").is_none()
        {
            req["properties"]["source"] = json!(format!(
                "/subscriptions/5b4b650e-28b9-4790-b3ab-ddbd88d727c4/resourceGroups/examplerg/providers/Microsoft.Storage/storageAccounts/{}",
                parts.last().unwrap()
            ));
            req["properties"]["topicType"] = json!("Microsoft.Storage.StorageAccounts");
        }
        if path.contains("/partnerConfigurations/") {
            req.as_object_mut().unwrap().remove("location");
        }
        let (s, _, b) = h.put(&format!("{path}?{q}"), req).await;
        assert!(s.is_success(), "seeding {path}: {s} {b}");
    }
}

async fn ensure_parent(h: &Harness, parent: &str) {
    let q = "api-version=2025-02-15";
    let body = if parent.contains("/systemTopics/") {
        let name = parent.rsplit('/').next().unwrap();
        json!({"location": "westus2", "properties": {"source": format!("/subscriptions/5b4b650e-28b9-4790-b3ab-ddbd88d727c4/resourceGroups/examplerg/providers/Microsoft.Storage/storageAccounts/{name}"), "topicType": "Microsoft.Storage.StorageAccounts"}})
    } else {
        json!({"location": "westus2"})
    };
    let (s, _, b) = h
        .put(&format!("/{}?{q}", parent.trim_start_matches('/')), body)
        .await;
    assert!(s.is_success(), "parent {parent}: {s} {b}");
}

async fn harness() -> Harness {
    let start = chrono::DateTime::parse_from_rfc3339("2022-01-20T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut h = Harness::new().await;
    h.emu = Emulator::new(
        Config {
            require_auth: false,
            ..Config::default()
        },
        Clock::fixed(start),
    );
    let sub = "5b4b650e-28b9-4790-b3ab-ddbd88d727c4";
    let (s, _) = h
        .post(
            &format!(
                "/subscriptions/{sub}/providers/Microsoft.EventGrid/register?api-version=2021-04-01"
            ),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = h
        .put(
            &format!("/subscriptions/{sub}/resourcegroups/examplerg?api-version=2021-04-01"),
            json!({"location": "westus2"}),
        )
        .await;
    assert!(s.is_success());
    h
}

#[tokio::test]
async fn event_grid_examples_have_the_same_shape() {
    let Some(spec) = azure_spec_dir("emulator::golden::event_grid_examples_have_the_same_shape")
    else {
        return;
    };
    let dir = spec.join("eventgrid/2025-02-15/examples");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (the spec folder is incomplete)", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    files.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let example = load(dir.join(file));
        let Some(case) = case_for(file, &example) else {
            continue;
        };
        let h = harness().await;
        // Nested subscription PUTs need their parent.
        if case.method == Method::PUT {
            let parts: Vec<&str> = case.path.split('/').collect();
            if let Some(i) = parts
                .iter()
                .position(|p| p.eq_ignore_ascii_case("eventSubscriptions"))
            {
                ensure_parent(
                    &h,
                    parts[..i]
                        .join("/")
                        .trim_end_matches("/providers/Microsoft.EventGrid"),
                )
                .await;
            }
        }
        seed(&h, &case).await;
        let (status, _, ours) = h
            .call(
                case.method.clone(),
                &format!("{}?api-version=2025-02-15", case.path),
                case.body.clone(),
            )
            .await;
        if !case.allowed.contains(&status.as_u16()) {
            failures.push(format!(
                "{file}: status {status} not in {:?}: {ours}",
                case.allowed
            ));
            continue;
        }
        let mut diff = Vec::new();
        shape_diff(&case.expect, &ours, "$", &mut diff);
        if !diff.is_empty() {
            failures.push(format!("{file}: {}", diff.join("; ")));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples differ:\n{}",
        failures.len(),
        checked + failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 45, "only {checked} examples were checked");
}

#[tokio::test]
async fn resources_examples_have_the_same_shape() {
    let Some(spec) = azure_spec_dir("emulator::golden::resources_examples_have_the_same_shape")
    else {
        return;
    };
    let h = harness().await;
    let example = load(spec.join("resources/2025-03-01/examples/CreateResourceGroup.json"));
    let body = example["parameters"]["parameters"].clone();
    let (s, _, ours) = h
        .put(
            &format!(
                "/subscriptions/{}/resourcegroups/my-resource-group?api-version=2025-04-01",
                router::SUB
            ),
            body,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut diff = Vec::new();
    shape_diff(&example["responses"]["201"]["body"], &ours, "$", &mut diff);
    assert!(diff.is_empty(), "{diff:?}");

    let example =
        load(spec.join("resources/2025-04-01/examples/ForceDeleteVMsInResourceGroup.json"));
    let p = &example["parameters"];
    let group = format!(
        "/subscriptions/{}/resourcegroups/{}",
        p["subscriptionId"].as_str().unwrap(),
        p["resourceGroupName"].as_str().unwrap()
    );
    h.put(
        &format!("{group}?api-version=2025-04-01"),
        json!({"location": "westus2"}),
    )
    .await;
    let (s, headers, _) = h
        .call(
            Method::DELETE,
            &format!(
                "{group}?api-version=2025-04-01&forceDeletionTypes={}",
                p["forceDeletionTypes"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert!(example["responses"].get(s.as_str()).is_some(), "status {s}");
    for name in example["responses"][s.as_str()]["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        let value = headers[name.as_str()].to_str().unwrap();
        assert!(value.contains("/operationresults/"), "{name}: {value}");
    }

    let example = load(spec.join("resources/2025-03-01/examples/GetProvider.json"));
    let (s, ours) = h
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.EventGrid?api-version=2025-04-01",
            router::SUB
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut expect = example["responses"]["200"]["body"].clone();
    // locationMappings items describe edge zones the emulator has none of.
    expect["resourceTypes"][0]
        .as_object_mut()
        .map(|m: &mut Map<String, Value>| m.remove("locationMappings"));
    let mut diff = Vec::new();
    shape_diff(&expect, &ours, "$", &mut diff);
    assert!(diff.is_empty(), "{diff:?}");
}
