//! Partner configurations and partner topics in the store: authorizing partners (with their
//! expiry), the checks the simulated partner relies on, activation, and the expiry of partner
//! topics that were never activated.
//!
//! No HTTP here; statuses are chosen in `emulator::error`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::eventgrid::{check_same_location, key, required_location};
use super::{Ctx, EVENT_GRID, Kind, OpAction, OpRef, Resource, Store, object_field, tags_field};
use crate::emulator::infra::clock::{format_time, parse_time};
use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

impl Store {
    /// `PUT .../partnerConfigurations/default`, long-running: `(created, body, operation)`.
    pub fn put_partner_configuration(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(bool, Value, OpRef), StoreError> {
        self.require_group(id)?;
        require_default_name(id)?;
        let tags = tags_field(body)?;
        let props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        let auth = props
            .get("partnerAuthorization")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let days = expiration_days(auth.get("defaultMaximumExpirationTimeInDays"))?;
        let partners = match auth.get("authorizedPartnersList") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(_) => {
                return Err(StoreError::invalid(
                    "authorizedPartnersList must be an array.",
                ));
            }
        };
        let partners = partners
            .iter()
            .map(|p| normalize_partner(ctx.now, days, p))
            .collect::<Result<Vec<_>, _>>()?;
        let created = self.resource(&key(id)).is_none();
        let new = json!({
            "id": id.as_str(), "name": "default", "type": Kind::PartnerConfiguration.type_name(),
            "location": "global", "tags": tags.unwrap_or_else(|| json!({})),
            "properties": {
                "partnerAuthorization": {"defaultMaximumExpirationTimeInDays": days, "authorizedPartnersList": partners},
                "provisioningState": provisioning_state(ctx, created),
            },
        });
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::PartnerConfiguration,
            body: new,
            hidden: Value::Null,
        });
        let op = self.provision_partner_configuration(ctx, id);
        Ok((created, self.eg_get(Kind::PartnerConfiguration, id)?, op))
    }

    fn provision_partner_configuration(&mut self, ctx: &Ctx, id: &ResourceId) -> OpRef {
        let sub = id.subscription_id().to_string();
        self.start_operation(
            ctx,
            &sub,
            EVENT_GRID,
            "global",
            &key(id),
            OpAction::Provision,
        )
    }

    /// `PATCH .../partnerConfigurations/default` (tags and
    /// `properties.defaultMaximumExpirationTimeInDays`), long-running: `(body, operation)`.
    pub fn patch_partner_configuration(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(Value, OpRef), StoreError> {
        let props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        let days = match props.get("defaultMaximumExpirationTimeInDays") {
            None | Some(Value::Null) => None,
            v => Some(expiration_days(v)?),
        };
        let state = provisioning_state(ctx, false);
        self.patch_common(Kind::PartnerConfiguration, id, body, |p| {
            if let Some(days) = days {
                p.entry("partnerAuthorization").or_insert_with(|| json!({}))["defaultMaximumExpirationTimeInDays"] = json!(days);
            }
            p.insert("provisioningState".into(), json!(state));
        })?;
        let op = self.provision_partner_configuration(ctx, id);
        Ok((self.eg_get(Kind::PartnerConfiguration, id)?, op))
    }

    /// `POST .../partnerConfigurations/default/authorizePartner` (`authorize`) or `unauthorizePartner`.
    pub fn authorize_partner(
        &mut self,
        ctx: &Ctx,
        id: &ResourceId,
        partner: &Value,
        authorize: bool,
    ) -> Result<Value, StoreError> {
        let body = self.eg_get(Kind::PartnerConfiguration, id)?;
        let days = body["properties"]["partnerAuthorization"]["defaultMaximumExpirationTimeInDays"]
            .as_i64()
            .unwrap_or(7);
        let partner = normalize_partner(ctx.now, days, partner)?;
        let mut list: Vec<Value> =
            body["properties"]["partnerAuthorization"]["authorizedPartnersList"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        list.retain(|p| !same_partner(p, &partner));
        if authorize {
            list.push(partner);
        }
        if let Some(res) = self.resource_mut(&key(id)) {
            res.body["properties"]["partnerAuthorization"]["authorizedPartnersList"] =
                Value::Array(list);
        }
        self.eg_get(Kind::PartnerConfiguration, id)
    }

    /// Whether the resource group's partner configuration authorizes the partner at `now`.
    pub fn partner_authorized(
        &self,
        group: &ResourceId,
        name: &str,
        immutable_id: &str,
        now: DateTime<Utc>,
    ) -> bool {
        let cfg = group.provider_resource(EVENT_GRID, "partnerConfigurations", "default");
        let Some(res) = self.resource(&key(&cfg)) else {
            return false;
        };
        let wanted = json!({"partnerName": name, "partnerRegistrationImmutableId": immutable_id});
        res.body["properties"]["partnerAuthorization"]["authorizedPartnersList"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                same_partner(p, &wanted)
                    && p["authorizationExpirationTimeInUtc"]
                        .as_str()
                        .and_then(parse_time)
                        .is_some_and(|t| t > now)
            })
    }

    /// `PUT .../partnerTopics/{name}` (also used by the simulated partner).
    pub fn put_partner_topic(
        &mut self,
        id: &ResourceId,
        body: &Value,
    ) -> Result<(bool, Value), StoreError> {
        self.require_group(id)?;
        let location = required_location(body)?;
        let tags = tags_field(body)?;
        let mut props = object_field(body, "properties")?
            .cloned()
            .unwrap_or_default();
        let k = key(id);
        let activation = match self.resource(&k) {
            Some(existing) => {
                check_same_location(&existing.body, &location)?;
                existing.body["properties"]["activationState"].clone()
            }
            None => json!("NeverActivated"),
        };
        props.insert("activationState".into(), activation);
        props.insert("provisioningState".into(), json!("Succeeded"));
        let created = self.resource(&k).is_none();
        let mut new = json!({
            "id": id.as_str(), "name": id.name(), "type": Kind::PartnerTopic.type_name(),
            "location": location, "tags": tags.unwrap_or(Value::Null), "properties": props,
        });
        if let Some(identity) = body.get("identity") {
            new["identity"] = identity.clone();
        }
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::PartnerTopic,
            body: new.clone(),
            hidden: Value::Null,
        });
        Ok((created, new))
    }

    /// `POST .../partnerTopics/{name}/activate` or `/deactivate`.
    pub fn set_activation(&mut self, id: &ResourceId, activate: bool) -> Result<Value, StoreError> {
        self.eg_get(Kind::PartnerTopic, id)?;
        if let Some(res) = self.resource_mut(&key(id)) {
            res.body["properties"]["activationState"] =
                json!(if activate { "Activated" } else { "Deactivated" });
        }
        self.eg_get(Kind::PartnerTopic, id)
    }

    /// Deletes never-activated partner topics whose activation deadline passed.
    pub(crate) fn expire_partner_topics(&mut self, now: DateTime<Utc>) {
        let expired: Vec<String> = self
            .resources_of(Kind::PartnerTopic, |r| {
                let p = &r.body["properties"];
                p["activationState"] == "NeverActivated"
                    && p["expirationTimeIfNotActivatedUtc"]
                        .as_str()
                        .and_then(parse_time)
                        .is_some_and(|t| t <= now)
            })
            .map(|r| r.id.to_ascii_lowercase())
            .collect();
        for k in expired {
            tracing::info!(partner_topic = %k, "partner topic expired before activation");
            self.remove_tree(&k);
        }
    }
}

/// `Creating`/`Updating` while a long-running write is under way, `Succeeded` without delay.
fn provisioning_state(ctx: &Ctx, created: bool) -> &'static str {
    match (ctx.delay > chrono::Duration::zero(), created) {
        (false, _) => "Succeeded",
        (true, true) => "Creating",
        (true, false) => "Updating",
    }
}

fn require_default_name(id: &ResourceId) -> Result<(), StoreError> {
    if id.name().eq_ignore_ascii_case("default") {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "The name of a partner configuration must be 'default'.",
        ))
    }
}

fn expiration_days(value: Option<&Value>) -> Result<i64, StoreError> {
    match value {
        None | Some(Value::Null) => Ok(7),
        Some(v) => match v.as_i64() {
            Some(d) if (1..=365).contains(&d) => Ok(d),
            _ => Err(StoreError::invalid(format!(
                "defaultMaximumExpirationTimeInDays must be an integer between 1 and 365, got {v}."
            ))),
        },
    }
}

fn normalize_partner(now: DateTime<Utc>, days: i64, partner: &Value) -> Result<Value, StoreError> {
    let Some(obj) = partner.as_object() else {
        return Err(StoreError::invalid("A partner must be an object."));
    };
    let name = obj
        .get("partnerName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let immutable = obj
        .get("partnerRegistrationImmutableId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() && immutable.is_empty() {
        return Err(StoreError::invalid(
            "A partner needs partnerRegistrationImmutableId or partnerName.",
        ));
    }
    if !immutable.is_empty() && uuid::Uuid::parse_str(immutable).is_err() {
        return Err(StoreError::invalid(format!(
            "partnerRegistrationImmutableId '{immutable}' is not a GUID."
        )));
    }
    let max = now + chrono::Duration::days(days);
    let expiry = match obj.get("authorizationExpirationTimeInUtc") {
        None | Some(Value::Null) => max,
        Some(Value::String(s)) => {
            let t = parse_time(s)
                .ok_or_else(|| StoreError::invalid(format!("'{s}' is not a valid date-time.")))?;
            // A minute of slack for clients computing "now + N days" themselves.
            if t <= now || t > max + chrono::Duration::minutes(1) {
                return Err(StoreError::invalid(format!(
                    "authorizationExpirationTimeInUtc must be in the future and at most {days} days from now."
                )));
            }
            t
        }
        Some(_) => {
            return Err(StoreError::invalid(
                "authorizationExpirationTimeInUtc must be a date-time string.",
            ));
        }
    };
    let mut out = json!({"authorizationExpirationTimeInUtc": format_time(expiry)});
    if !immutable.is_empty() {
        out["partnerRegistrationImmutableId"] = json!(immutable);
    }
    if !name.is_empty() {
        out["partnerName"] = json!(name);
    }
    Ok(out)
}

/// Partners match by immutable id when both have one, else by name (case-insensitive).
fn same_partner(a: &Value, b: &Value) -> bool {
    let field = |v: &Value, f: &str| v[f].as_str().unwrap_or_default().to_ascii_lowercase();
    let (ia, ib) = (
        field(a, "partnerRegistrationImmutableId"),
        field(b, "partnerRegistrationImmutableId"),
    );
    if !ia.is_empty() && ia == ib {
        return true;
    }
    let (na, nb) = (field(a, "partnerName"), field(b, "partnerName"));
    !na.is_empty() && na == nb
}
