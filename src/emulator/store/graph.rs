//! The simulated Microsoft Graph in the store: change-notification subscriptions (Graph's
//! semantics: one application sees only its own, they expire on the emulator clock) and the
//! partner side of Event Grid: once a subscription exists, "Graph" creates the partner topic its
//! `EventGrid:?` URL names after the LRO delay (`tick_graph`), only while the group's partner
//! configuration authorizes `MicrosoftGraphAPI`, and never over another source's topic.
//!
//! Errors are `GraphError` (statuses and Graph's error body are `emulator::error`'s). Lifecycle
//! events are returned to the caller to deliver; no HTTP here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::graph_rules::{self, EventGridTarget, REAUTHORIZE_WITHIN_MINUTES};
use super::{Ctx, EVENT_GRID, Kind, Store, rows};
use crate::emulator::infra::clock::format_time;
use crate::model::id::ResourceId;

/// Microsoft Graph's partner registration immutable id (from third-party setups; see
/// docs/emulator.md).
pub const GRAPH_PARTNER_ID: &str = "c02e0126-707c-436d-b6a1-175d2748fb58";
/// Microsoft Graph's partner name.
pub const GRAPH_PARTNER_NAME: &str = "MicrosoftGraphAPI";
/// The lifecycle event type Graph sends through Event Grid.
pub const REAUTHORIZATION_REQUIRED: &str = "Microsoft.Graph.SubscriptionReauthorizationRequired";

/// The fields a create may carry (besides `@odata.*` annotations).
const CREATE_FIELDS: &[&str] = &[
    "changeType",
    "resource",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "expirationDateTime",
    "clientState",
    "includeResourceData",
    "encryptionCertificate",
    "encryptionCertificateId",
    "latestSupportedTlsVersion",
    "notificationUrlAppId",
    "notificationQueryOptions",
];
/// The fields a PATCH may change.
const PATCH_FIELDS: &[&str] = &["expirationDateTime", "notificationUrl"];

/// A Graph API failure (mapped to Graph's error body in `error.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// 404: no such subscription for this application (or it expired).
    #[error("The object was not found.")]
    NotFound,
    /// 400 with Graph's error code.
    #[error("{message}")]
    BadRequest {
        /// `InvalidRequest`, `ExtensionError`, `BadRequest`.
        code: &'static str,
        /// Human message.
        message: String,
    },
}

/// Who calls: the token's tenant and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCaller {
    /// `tid`.
    pub tenant: String,
    /// `appid` (or `azp`).
    pub app: String,
}

impl GraphCaller {
    /// The partner topic `source` Graph stamps for this application.
    pub fn source(&self) -> String {
        format!("/tenants/{}/applications/{}", self.tenant, self.app)
    }
}

/// One Graph subscription as stored (one row of the `graph_subscriptions` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GraphSubscription {
    /// What Graph answers (including `clientState`).
    pub body: Value,
    /// The owning tenant.
    pub tenant: String,
    /// The owning application.
    pub app: String,
    /// The partner topic its notification URL names.
    pub target: EventGridTarget,
    /// When "Graph" creates that partner topic (`None`: done).
    pub topic_due: Option<DateTime<Utc>>,
    /// When it is gone.
    pub expires: DateTime<Utc>,
}

impl GraphSubscription {
    /// The partner topic `source` of its application.
    pub fn source(&self) -> String {
        format!("/tenants/{}/applications/{}", self.tenant, self.app)
    }

    /// Its partner topic's ARM id.
    pub fn topic_id(&self) -> ResourceId {
        ResourceId::resource_group(&self.target.subscription, &self.target.group).provider_resource(
            EVENT_GRID,
            "partnerTopics",
            &self.target.topic,
        )
    }

    fn owned_by(&self, caller: &GraphCaller) -> bool {
        self.app.eq_ignore_ascii_case(&caller.app)
            && self.tenant.eq_ignore_ascii_case(&caller.tenant)
    }
}

/// Events "Graph" sends to a partner topic (lifecycle notifications), for the caller to deliver.
pub type PartnerEvents = Vec<(String, Value)>;

fn bad(code: &'static str, message: String) -> GraphError {
    GraphError::BadRequest { code, message }
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

/// `body` as an object with no field outside `allowed` (nulls and `@odata.*` annotations
/// pass); `why` starts the refusal naming the field.
fn object_with_only<'a>(
    body: &'a Value,
    allowed: &[&str],
    why: &str,
) -> Result<&'a Map<String, Value>, GraphError> {
    let Some(req) = body.as_object() else {
        let why = "The request body must be a JSON object.";
        return Err(bad("BadRequest", why.into()));
    };
    match req
        .iter()
        .find(|(k, v)| !v.is_null() && !k.starts_with("@odata.") && !allowed.contains(&k.as_str()))
    {
        Some((k, _)) => Err(bad("BadRequest", format!("{why}: '{k}'."))),
        None => Ok(req),
    }
}

impl Store {
    /// `POST /subscriptions`: `(body, lifecycle events)`.
    pub fn graph_create(
        &mut self,
        ctx: &Ctx,
        caller: &GraphCaller,
        body: &Value,
    ) -> Result<(Value, PartnerEvents), GraphError> {
        let req = object_with_only(
            body,
            CREATE_FIELDS,
            "The property does not exist on type 'microsoft.graph.subscription'",
        )?;
        let change_type = graph_rules::change_type(text(req, "changeType"))?;
        let resource = text(req, "resource").map(str::trim).unwrap_or_default();
        if resource.is_empty() {
            let why = "resource is a required property for subscription creation.";
            return Err(bad("InvalidRequest", why.into()));
        }
        let url = text(req, "notificationUrl").unwrap_or_default();
        let target = graph_rules::event_grid_target("notificationUrl", url)?;
        let lifecycle = text(req, "lifecycleNotificationUrl");
        if let Some(l) = lifecycle {
            let other = graph_rules::event_grid_target("lifecycleNotificationUrl", l)?;
            if !other.same_topic(&target) {
                let why =
                    "lifecycleNotificationUrl must name the same partner topic as notificationUrl.";
                return Err(bad("InvalidRequest", why.into()));
            }
        }
        let with_data = req.get("includeResourceData").and_then(Value::as_bool) == Some(true);
        if with_data && text(req, "encryptionCertificate").is_none_or(str::is_empty) {
            let why = "encryptionCertificate is required when includeResourceData is true.";
            return Err(bad("InvalidRequest", why.into()));
        }
        let client_state = graph_rules::client_state(req.get("clientState"))?;
        let max = graph_rules::max_lifetime_minutes(resource, with_data);
        let expires = graph_rules::granted_expiry(text(req, "expirationDateTime"), ctx.now, max)?;
        self.graph_may_create_topic(ctx.now, caller, &target)?;
        let id = self.ids.uuid();
        let field = |f: &str| req.get(f).cloned().unwrap_or(Value::Null);
        let out = json!({
            "id": id, "resource": resource, "applicationId": caller.app, "changeType": change_type,
            "clientState": client_state, "notificationUrl": url,
            "notificationQueryOptions": field("notificationQueryOptions"),
            "lifecycleNotificationUrl": lifecycle, "expirationDateTime": format_time(expires),
            "creatorId": caller.app, "includeResourceData": with_data,
            "latestSupportedTlsVersion": req.get("latestSupportedTlsVersion").cloned().unwrap_or(json!("v1_2")),
            "encryptionCertificate": field("encryptionCertificate"),
            "encryptionCertificateId": field("encryptionCertificateId"),
            "notificationUrlAppId": field("notificationUrlAppId"),
        });
        let sub = GraphSubscription {
            body: out.clone(),
            tenant: caller.tenant.clone(),
            app: caller.app.clone(),
            target,
            topic_due: Some(ctx.now + ctx.delay),
            expires,
        };
        let events = self.reauthorization_if_near(ctx.now, &sub);
        self.graph_put(&id, sub);
        self.tick(ctx.now);
        Ok((out, events))
    }

    /// Errors unless "Graph" could create `target`: the group's partner configuration
    /// authorizes `MicrosoftGraphAPI` now, and no other source owns a topic of that name.
    fn graph_may_create_topic(
        &self,
        now: DateTime<Utc>,
        caller: &GraphCaller,
        target: &EventGridTarget,
    ) -> Result<(), GraphError> {
        let group = ResourceId::resource_group(&target.subscription, &target.group);
        if !self.partner_authorized(&group, GRAPH_PARTNER_NAME, GRAPH_PARTNER_ID, now) {
            return Err(bad(
                "ExtensionError",
                format!(
                    "Operation: Create; Exception: [Status Code: Forbidden; Reason: The partner '{GRAPH_PARTNER_NAME}' is not authorized to create partner topics in resource group '{}' of Azure subscription '{}' (no partner configuration authorizing it, or the authorization expired).]",
                    target.group, target.subscription
                ),
            ));
        }
        let topic_id = group.provider_resource(EVENT_GRID, "partnerTopics", &target.topic);
        match self.resource(&topic_id.as_str().to_ascii_lowercase()) {
            Some(r) if r.body["properties"]["source"] != json!(caller.source()) => Err(bad(
                "ExtensionError",
                format!(
                    "Operation: Create; Exception: [Status Code: Conflict; Reason: The partner topic '{}' already exists with another source.]",
                    target.topic
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `GET /subscriptions`: the caller's subscriptions, in id order.
    pub fn graph_list(&mut self, now: DateTime<Utc>, caller: &GraphCaller) -> Vec<Value> {
        self.tick(now);
        self.graph
            .values()
            .filter(|s| s.owned_by(caller))
            .map(|s| s.body.clone())
            .collect()
    }

    /// `GET /subscriptions/{id}`.
    pub fn graph_get(
        &mut self,
        now: DateTime<Utc>,
        caller: &GraphCaller,
        id: &str,
    ) -> Result<Value, GraphError> {
        self.tick(now);
        self.graph_owned(caller, id).map(|s| s.body.clone())
    }

    fn graph_owned(
        &self,
        caller: &GraphCaller,
        id: &str,
    ) -> Result<&GraphSubscription, GraphError> {
        self.graph
            .get(&id.to_ascii_lowercase())
            .filter(|s| s.owned_by(caller))
            .ok_or(GraphError::NotFound)
    }

    /// `PATCH /subscriptions/{id}`: only `expirationDateTime` and `notificationUrl` change.
    pub fn graph_patch(
        &mut self,
        ctx: &Ctx,
        caller: &GraphCaller,
        id: &str,
        body: &Value,
    ) -> Result<(Value, PartnerEvents), GraphError> {
        self.tick(ctx.now);
        let mut sub = self.graph_owned(caller, id)?.clone();
        let req = object_with_only(
            body,
            PATCH_FIELDS,
            "Only expirationDateTime and notificationUrl can be updated; delete and create the subscription to change",
        )?;
        if let Some(url) = text(req, "notificationUrl") {
            let target = graph_rules::event_grid_target("notificationUrl", url)?;
            if !target.same_topic(&sub.target) {
                self.graph_may_create_topic(ctx.now, caller, &target)?;
                sub.topic_due = Some(ctx.now + ctx.delay);
            }
            sub.target = target;
            sub.body["notificationUrl"] = json!(url);
        }
        let mut events = Vec::new();
        if let Some(requested) = text(req, "expirationDateTime") {
            let resource = sub.body["resource"].as_str().unwrap_or_default();
            let with_data = sub.body["includeResourceData"] == json!(true);
            let max = graph_rules::max_lifetime_minutes(resource, with_data);
            sub.expires = graph_rules::granted_expiry(Some(requested), ctx.now, max)?;
            sub.body["expirationDateTime"] = json!(format_time(sub.expires));
            events = self.reauthorization_if_near(ctx.now, &sub);
        }
        let out = sub.body.clone();
        self.graph_put(out["id"].as_str().unwrap_or(id), sub);
        self.tick(ctx.now);
        Ok((out, events))
    }

    /// `POST /subscriptions/{id}/reauthorize`.
    pub fn graph_reauthorize(
        &mut self,
        now: DateTime<Utc>,
        caller: &GraphCaller,
        id: &str,
    ) -> Result<(), GraphError> {
        self.tick(now);
        self.graph_owned(caller, id).map(|_| ())
    }

    /// `DELETE /subscriptions/{id}`: the partner topic stays (it is an ARM resource).
    pub fn graph_delete(
        &mut self,
        now: DateTime<Utc>,
        caller: &GraphCaller,
        id: &str,
    ) -> Result<(), GraphError> {
        self.tick(now);
        let key = self.graph_owned(caller, id)?.body["id"]
            .as_str()
            .unwrap_or(id)
            .to_ascii_lowercase();
        self.graph.remove(&key);
        self.mark(rows::GRAPH, &key);
        Ok(())
    }

    /// A live subscription by id, whoever owns it (the emulator's controls).
    pub fn graph_subscription(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
    ) -> Option<GraphSubscription> {
        self.tick(now);
        self.graph.get(&id.to_ascii_lowercase()).cloned()
    }

    fn graph_put(&mut self, id: &str, sub: GraphSubscription) {
        let key = id.to_ascii_lowercase();
        let next = sub.topic_due.map_or(sub.expires, |t| t.min(sub.expires));
        self.deadlines.graph_at(next);
        self.graph.insert(key.clone(), sub);
        self.mark(rows::GRAPH, &key);
    }

    /// The `SubscriptionReauthorizationRequired` event when `sub` expires within 3 hours of
    /// `now` and has a lifecycle URL, addressed to its partner topic if that is activated.
    fn reauthorization_if_near(
        &self,
        now: DateTime<Utc>,
        sub: &GraphSubscription,
    ) -> PartnerEvents {
        let near = sub.expires < now + chrono::Duration::minutes(REAUTHORIZE_WITHIN_MINUTES);
        if !near || sub.body["lifecycleNotificationUrl"].is_null() {
            return Vec::new();
        }
        let Some(topic) = self.activated_partner_topic(&sub.topic_id()) else {
            tracing::info!(subscription = %sub.body["id"], "reauthorizationRequired dropped: the partner topic is not activated");
            return Vec::new();
        };
        let event = json!({
            "specversion": "1.0", "id": uuid::Uuid::new_v4().to_string(),
            "type": REAUTHORIZATION_REQUIRED, "source": sub.source(),
            "subject": format!("Subscriptions/{}", sub.body["id"].as_str().unwrap_or_default()),
            "time": format_time(now), "datacontenttype": "application/json",
            "data": {"lifecycleEvent": "reauthorizationRequired"},
        });
        vec![(topic, stamp_subscription(event, sub))]
    }

    /// The id of `topic_id` when it exists and is `Activated` (Graph drops events otherwise).
    pub fn activated_partner_topic(&self, topic_id: &ResourceId) -> Option<String> {
        self.eg_get(Kind::PartnerTopic, topic_id)
            .ok()
            .filter(|t| t["properties"]["activationState"] == "Activated")
            .map(|_| topic_id.as_str().to_string())
    }

    /// Removes expired subscriptions and creates the due partner topics.
    pub(crate) fn tick_graph(&mut self, now: DateTime<Utc>) {
        let expired: Vec<String> = self
            .graph
            .iter()
            .filter(|(_, s)| s.expires <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            tracing::info!(graph_subscription = %key, "Graph subscription expired");
            self.graph.remove(&key);
            self.mark(rows::GRAPH, &key);
        }
        let due: Vec<String> = self
            .graph
            .iter()
            .filter(|(_, s)| s.topic_due.is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(sub) = self.graph.get_mut(&key) else {
                continue;
            };
            sub.topic_due = None;
            let sub = sub.clone();
            self.mark(rows::GRAPH, &key);
            if let Err(reason) = self.graph_creates_topic(now, &sub) {
                tracing::info!(graph_subscription = %key, %reason, "Graph could not create the partner topic");
            }
        }
        let next = self
            .graph
            .values()
            .map(|s| s.topic_due.map_or(s.expires, |t| t.min(s.expires)))
            .min();
        self.deadlines.graph_next(next);
    }

    fn graph_creates_topic(
        &mut self,
        now: DateTime<Utc>,
        sub: &GraphSubscription,
    ) -> Result<(), String> {
        let t = &sub.target;
        let group = ResourceId::resource_group(&t.subscription, &t.group);
        self.require_group(&group).map_err(|e| e.to_string())?;
        self.require_registered(&t.subscription, EVENT_GRID)
            .map_err(|e| e.to_string())?;
        if !self.partner_authorized(&group, GRAPH_PARTNER_NAME, GRAPH_PARTNER_ID, now) {
            return Err(format!(
                "partner {GRAPH_PARTNER_NAME} is not authorized in resource group '{}'",
                t.group
            ));
        }
        let id = sub.topic_id();
        if let Some(existing) = self.resource(&id.as_str().to_ascii_lowercase()) {
            return if existing.body["properties"]["source"] == json!(sub.source()) {
                Ok(())
            } else {
                Err(format!(
                    "partner topic '{}' exists with another source",
                    t.topic
                ))
            };
        }
        let body = json!({
            "location": t.location,
            "properties": {
                "partnerRegistrationImmutableId": GRAPH_PARTNER_ID,
                "source": sub.source(),
                "expirationTimeIfNotActivatedUtc": format_time(now + chrono::Duration::days(7)),
                "partnerTopicFriendlyDescription": format!("Microsoft Graph change notifications for '{}'", sub.body["resource"].as_str().unwrap_or_default()),
                "messageForActivation": "Activate this partner topic to receive Microsoft Graph change notifications.",
            }
        });
        self.put_partner_topic(&id, &body)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Stamps what Graph fills in every event of `sub`: `source` and the subscription's `data`
/// fields (`subscriptionId`, `clientState`, `tenantId`, `subscriptionExpirationDateTime`,
/// `resourceData.organizationId`).
pub fn stamp_subscription(mut event: Value, sub: &GraphSubscription) -> Value {
    event["source"] = json!(sub.source());
    if !event["data"].is_object() {
        event["data"] = json!({});
    }
    let data = &mut event["data"];
    data["subscriptionId"] = sub.body["id"].clone();
    data["clientState"] = sub.body["clientState"].clone();
    data["tenantId"] = json!(sub.tenant);
    data["subscriptionExpirationDateTime"] = sub.body["expirationDateTime"].clone();
    if data["resourceData"].is_object() {
        data["resourceData"]["organizationId"] = json!(sub.tenant);
    }
    event
}
