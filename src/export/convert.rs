//! Turning one live ARM or Auth0 body into the `spec` of its manifest document: read-only fields
//! and Azure's defaults left out (through the planner's own normalization, so that what it
//! fills in is exactly what is dropped), tags and labels split into the declared ones and the
//! ones gridform leaves alone (docs/ownership.md), and a partner's authorization expiry turned
//! into `validFor`/`renewBefore` (docs/export.md).
//!
//! Pure: values in, values out. It must not choose which resources are exported (`build` does).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::model::{Duration, ResourceKind};
use crate::plan::normalize::{display_form, flatten, normalize, prune_empty};
use crate::plan::ownership::{MANAGED_LABELS, MANAGED_TAGS, PROTECT};
use crate::plan::wire::MARKER;

/// Prefix of every tag key and label gridform writes for itself.
const RECORD_PREFIX: &str = "gridform-";

/// `${` in a value from Azure is written `$${`, so the manifest loader reads it back verbatim.
pub fn escaped(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("${", "$${")),
        Value::Array(items) => Value::Array(items.iter().map(escaped).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, child)| (k.clone(), escaped(child)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn remove_path(v: &mut Value, path: &str) {
    let parts: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut cur = v;
    for p in parents {
        let Some(next) = cur.as_object_mut().and_then(|m| m.get_mut(*p)) else {
            return;
        };
        cur = next;
    }
    if let Some(obj) = cur.as_object_mut() {
        obj.remove(*last);
    }
}

/// `body` in display form (read-only fields gone, enum spelling kept) without the fields whose
/// value is what the planner's normalization fills into `skeleton`, an otherwise empty body of
/// the same shape: those are Azure's defaults.
pub fn without_defaults(kind: ResourceKind, body: &Value, skeleton: &Value) -> Value {
    let mut shown = display_form(kind, body);
    let live = flatten(&normalize(kind, body));
    // What the skeleton states itself (a destination's type) is not a default.
    let stated = flatten(skeleton);
    for (path, default) in flatten(&normalize(kind, skeleton)) {
        if !path.contains('[') && !stated.contains_key(&path) && live.get(&path) == Some(&default) {
            remove_path(&mut shown, &path);
        }
    }
    prune_empty(&mut shown);
    shown
}

/// The owning stack recorded on a live resource (tag, or label for event subscriptions).
pub fn owner_of(kind: ResourceKind, body: &Value) -> Option<String> {
    if kind == ResourceKind::EventSubscription {
        let prefix = format!("{MARKER}=");
        return labels_of(body)
            .into_iter()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string));
    }
    body.get("tags")
        .and_then(Value::as_object)?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(MARKER))
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string)
}

fn labels_of(body: &Value) -> Vec<&str> {
    body.pointer("/properties/labels")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn split_list(text: &str) -> BTreeSet<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect()
}

/// The tags a document declares: for a resource the stack owns, the keys recorded in
/// `gridform-managed-tags` (the others are someone else's and stay untouched); for one it
/// adopts, every tag but gridform's records.
pub fn declared_tags(body: &Value, owned: bool) -> Option<Value> {
    let tags = body.get("tags").and_then(Value::as_object)?;
    let managed: Option<BTreeSet<String>> = tags
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(MANAGED_TAGS))
        .and_then(|(_, v)| v.as_str())
        .map(|list| {
            split_list(list)
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect()
        });
    let kept: Map<String, Value> = tags
        .iter()
        .filter(|(k, _)| !k.to_ascii_lowercase().starts_with(RECORD_PREFIX))
        .filter(|(k, _)| {
            !owned
                || managed
                    .as_ref()
                    .is_some_and(|m| m.contains(&k.to_ascii_lowercase()))
        })
        .map(|(k, v)| (k.clone(), escaped(v)))
        .collect();
    (!kept.is_empty()).then_some(Value::Object(kept))
}

/// The labels a document declares, by the same rule as [`declared_tags`].
pub fn declared_labels(body: &Value, owned: bool) -> Option<Value> {
    let labels = labels_of(body);
    let prefix = format!("{MANAGED_LABELS}=");
    let managed = labels
        .iter()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(split_list);
    let kept: Vec<Value> = labels
        .iter()
        .filter(|l| !l.starts_with(RECORD_PREFIX))
        .filter(|l| !owned || managed.as_ref().is_some_and(|m| m.contains(**l)))
        .map(|l| Value::String(l.replace("${", "$${")))
        .collect();
    (!kept.is_empty()).then_some(Value::Array(kept))
}

/// Whether the live resource carries the protection record.
pub fn protected(kind: ResourceKind, body: &Value) -> bool {
    if kind == ResourceKind::EventSubscription {
        return labels_of(body).contains(&PROTECT);
    }
    crate::plan::ownership::is_protected(kind, body)
}

/// Copies the keys of `from` named in `keys` (when present) into `to`.
pub fn copy_keys(from: &Value, keys: &[&str], to: &mut Map<String, Value>) {
    for k in keys {
        if let Some(v) = from.get(*k) {
            to.insert((*k).to_string(), escaped(v));
        }
    }
}

/// `"West Europe"` and `"westeurope"` are the same location.
pub fn same_location(a: &str, b: &str) -> bool {
    a.replace(' ', "").eq_ignore_ascii_case(&b.replace(' ', ""))
}

fn location_unless(body: &Value, stack_location: &str, spec: &mut Map<String, Value>) {
    if let Some(loc) = body.get("location").and_then(Value::as_str)
        && !same_location(loc, stack_location)
    {
        spec.insert("location".into(), json!(loc));
    }
}

fn identity(body: &Value, spec: &mut Map<String, Value>) {
    let Some(id) = body.get("identity").filter(|i| i.is_object()) else {
        return;
    };
    let mut out = Map::new();
    copy_keys(id, &["type"], &mut out);
    if let Some(ua) = id.get("userAssignedIdentities").and_then(Value::as_object) {
        let keys: Vec<Value> = ua.keys().map(|k| json!(k)).collect();
        if !keys.is_empty() {
            out.insert("userAssignedIdentities".into(), Value::Array(keys));
        }
    }
    if !out.is_empty() {
        spec.insert("identity".into(), Value::Object(out));
    }
}

/// A custom topic's spec.
pub fn topic_spec(body: &Value, stack_location: &str, owned: bool) -> Value {
    let shown = without_defaults(ResourceKind::Topic, body, &json!({}));
    let mut spec = Map::new();
    location_unless(body, stack_location, &mut spec);
    let props = shown.get("properties").cloned().unwrap_or(Value::Null);
    copy_keys(
        &props,
        &[
            "inputSchema",
            "publicNetworkAccess",
            "inboundIpRules",
            "disableLocalAuth",
            "minimumTlsVersionAllowed",
            "dataResidencyBoundary",
        ],
        &mut spec,
    );
    identity(&shown, &mut spec);
    if let Some(t) = declared_tags(body, owned) {
        spec.insert("tags".into(), t);
    }
    Value::Object(spec)
}

/// A system topic's spec.
pub fn system_topic_spec(body: &Value, stack_location: &str, owned: bool) -> Value {
    let shown = without_defaults(ResourceKind::SystemTopic, body, &json!({}));
    let mut spec = Map::new();
    location_unless(body, stack_location, &mut spec);
    let props = shown.get("properties").cloned().unwrap_or(Value::Null);
    copy_keys(&props, &["source", "topicType"], &mut spec);
    identity(&shown, &mut spec);
    if let Some(t) = declared_tags(body, owned) {
        spec.insert("tags".into(), t);
    }
    Value::Object(spec)
}

/// A resource group's spec (its location is the Stack's, so only tags).
pub fn resource_group_spec(body: &Value, owned: bool) -> Value {
    let mut spec = Map::new();
    if let Some(t) = declared_tags(body, owned) {
        spec.insert("tags".into(), t);
    }
    Value::Object(spec)
}

/// Azure's default of `defaultMaximumExpirationTimeInDays`.
const DEFAULT_MAX_DAYS: u64 = 7;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// `validFor` and `renewBefore` for an authorization that expires at `expiry`, seen at `now`
/// (docs/export.md): `validFor` is the configuration's longest authorization (`max_days`);
/// `renewBefore` is a quarter of it in whole days (at least a day) — the planner's own default
/// rule — unless less than that remains, when it is half of what remains (whole hours, else
/// whole minutes), so that a plan right after the export renews nothing.
pub fn rolling_authorization(
    expiry: DateTime<Utc>,
    now: DateTime<Utc>,
    max_days: u64,
) -> (Duration, Duration) {
    let valid_for = Duration::from_secs(max_days.saturating_mul(DAY as u64));
    let quarter_days = (max_days / 4).max(1) as i64;
    let left = (expiry - now).num_seconds();
    let renew = if left > quarter_days.saturating_mul(DAY).saturating_add(HOUR) {
        quarter_days.saturating_mul(DAY)
    } else if left / 2 >= HOUR {
        (left / 2) / HOUR * HOUR
    } else {
        ((left / 2) / 60 * 60).max(60)
    };
    (valid_for, Duration::from_secs(renew.max(0) as u64))
}

/// A partner configuration's spec; authorizations become rolling ones (see
/// [`rolling_authorization`]), or keep their absolute expiry when it cannot be read.
pub fn partner_configuration_spec(body: &Value, now: DateTime<Utc>, owned: bool) -> Value {
    let auth = body
        .pointer("/properties/partnerAuthorization")
        .cloned()
        .unwrap_or(Value::Null);
    let max_days = auth["defaultMaximumExpirationTimeInDays"]
        .as_u64()
        .unwrap_or(DEFAULT_MAX_DAYS);
    let mut out_auth = Map::new();
    if max_days != DEFAULT_MAX_DAYS {
        out_auth.insert("defaultMaximumExpirationTimeInDays".into(), json!(max_days));
    }
    let mut partners: Vec<Value> = Vec::new();
    for p in auth["authorizedPartnersList"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let mut entry = Map::new();
        copy_keys(
            p,
            &["partnerName", "partnerRegistrationImmutableId"],
            &mut entry,
        );
        let text = p["authorizationExpirationTimeInUtc"].as_str();
        match text.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
            Some(expiry) => {
                let (valid, renew) =
                    rolling_authorization(expiry.with_timezone(&Utc), now, max_days);
                entry.insert("validFor".into(), json!(valid.to_string()));
                entry.insert("renewBefore".into(), json!(renew.to_string()));
            }
            None => copy_keys(p, &["authorizationExpirationTimeInUtc"], &mut entry),
        }
        partners.push(Value::Object(entry));
    }
    partners.sort_by_key(|p| {
        p["partnerRegistrationImmutableId"]
            .to_string()
            .to_lowercase()
    });
    out_auth.insert("authorizedPartnersList".into(), Value::Array(partners));
    let mut spec = Map::new();
    spec.insert("partnerAuthorization".into(), Value::Object(out_auth));
    if let Some(t) = declared_tags(body, owned) {
        spec.insert("tags".into(), t);
    }
    Value::Object(spec)
}

/// The partner that created a partner topic, as the topic's document names it.
#[derive(Debug, Clone, Copy)]
pub enum TopicCreator<'a> {
    /// `fromAuth0LogStream: NAME`.
    Auth0Stream(&'a str),
    /// `fromGraphSubscription: NAME`.
    GraphSubscription(&'a str),
}

/// A partner topic's spec: `fromAuth0LogStream` / `fromGraphSubscription` when a stream or a
/// Graph subscription created it, otherwise found by name with its `expectedSource`; the source
/// is written whenever it is not what the creator implies (`implied`: the stream's tenant, the
/// source Graph stamps for the connected application).
pub fn partner_topic_spec(
    body: &Value,
    creator: Option<TopicCreator<'_>>,
    implied: Option<&str>,
    owned: bool,
) -> Value {
    let mut spec = Map::new();
    let props = body.get("properties").cloned().unwrap_or(Value::Null);
    let source = props["source"].as_str().unwrap_or_default();
    match creator {
        Some(TopicCreator::Auth0Stream(s)) => {
            spec.insert("fromAuth0LogStream".into(), json!(s));
        }
        Some(TopicCreator::GraphSubscription(g)) => {
            spec.insert("fromGraphSubscription".into(), json!(g));
        }
        None => {}
    }
    let implied = creator.and(implied);
    if !implied.is_some_and(|t| t.eq_ignore_ascii_case(source)) {
        spec.insert("expectedSource".into(), json!(source.replace("${", "$${")));
    }
    let state = props["activationState"]
        .as_str()
        .unwrap_or("NeverActivated");
    if !state.eq_ignore_ascii_case("Activated") {
        // `NeverActivated` and `Deactivated` both mean "not activated": gridform leaves it so.
        spec.insert("activationState".into(), json!("Deactivated"));
    }
    copy_keys(&props, &["partnerTopicFriendlyDescription"], &mut spec);
    if let Some(t) = declared_tags(body, owned) {
        spec.insert("tags".into(), t);
    }
    Value::Object(spec)
}

/// An Auth0 log stream's spec (tenant and resource group are the Stack's).
pub fn stream_spec(body: &Value) -> Value {
    let mut spec = Map::new();
    if let Some(region) = body.pointer("/sink/azureRegion").and_then(Value::as_str) {
        spec.insert("azureRegion".into(), json!(region.to_ascii_lowercase()));
    }
    if body["status"].as_str() == Some("paused") {
        spec.insert("status".into(), json!("paused"));
    }
    if let Some(filters) = body["filters"].as_array().filter(|f| !f.is_empty()) {
        let list: Vec<Value> = filters
            .iter()
            .map(|f| json!({"type": f["type"], "name": escaped(&f["name"])}))
            .collect();
        spec.insert("filters".into(), Value::Array(list));
    }
    copy_keys(body, &["isPriority"], &mut spec);
    Value::Object(spec)
}
