//! Microsoft.Resources in the store: resource provider registrations and resource groups.
//!
//! Subscriptions exist implicitly (created on first use). Registration settles after `ctx.delay`
//! through `Store::tick`. Deleting a group is a long-running operation that removes everything
//! inside it. No HTTP here.

use serde_json::{Value, json};

use super::{Ctx, EVENT_GRID, Kind, OpAction, OpRef, Registration, Resource, Store, tags_field};
use crate::emulator::store::StoreError;
use crate::model::id::ResourceId;

/// Namespaces the emulator knows: (namespace, registered from the start, resource types).
const CATALOG: &[(&str, bool, &[&str])] = &[
    (
        EVENT_GRID,
        false,
        &[
            "topics",
            "systemTopics",
            "partnerConfigurations",
            "partnerTopics",
            "eventSubscriptions",
            "operationsStatus",
            "operationResults",
        ],
    ),
    (
        "Microsoft.Resources",
        true,
        &["resourceGroups", "deployments"],
    ),
    ("Microsoft.Storage", false, &["storageAccounts"]),
    ("Microsoft.Web", false, &["sites"]),
    ("Microsoft.ServiceBus", false, &["namespaces"]),
    ("Microsoft.EventHub", false, &["namespaces"]),
    ("Microsoft.Relay", false, &["namespaces"]),
    ("Microsoft.SignalRService", false, &["SignalR"]),
    ("Microsoft.Insights", false, &["actionGroups"]),
];

const LOCATIONS: &[&str] = &[
    "East US",
    "West US 2",
    "West Europe",
    "North Europe",
    "Central US",
];

fn catalog(namespace: &str) -> Option<&'static (&'static str, bool, &'static [&'static str])> {
    CATALOG
        .iter()
        .find(|(ns, _, _)| ns.eq_ignore_ascii_case(namespace))
}

impl Store {
    fn registration(&mut self, subscription: &str, namespace: &str) -> Option<&mut Registration> {
        let (ns, registered, _) = catalog(namespace)?;
        self.mark(
            super::rows::REGISTRATIONS,
            &subscription.to_ascii_lowercase(),
        );
        let regs = self
            .registrations
            .entry(subscription.to_ascii_lowercase())
            .or_default();
        Some(regs.entry(ns.to_ascii_lowercase()).or_insert_with(|| {
            Registration {
                namespace: ns.to_string(),
                state: if *registered {
                    "Registered"
                } else {
                    "NotRegistered"
                }
                .into(),
                settles_at: None,
            }
        }))
    }

    fn provider_body(subscription: &str, reg: &Registration) -> Value {
        let types: Vec<Value> = catalog(&reg.namespace)
            .map(|(_, _, types)| *types)
            .unwrap_or_default()
            .iter()
            .map(|t| {
                let api = if reg.namespace == EVENT_GRID {
                    vec!["2025-02-15"]
                } else {
                    vec![
                        "2025-04-01",
                        "2024-11-01",
                        "2024-03-01",
                        "2023-07-01",
                        "2021-04-01",
                    ]
                };
                json!({"resourceType": t, "locations": LOCATIONS, "apiVersions": api,
                       "locationMappings": [], "capabilities": "None"})
            })
            .collect();
        json!({
            "id": ResourceId::provider(subscription, &reg.namespace).as_str(),
            "namespace": reg.namespace,
            "registrationState": reg.state,
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": types,
        })
    }

    /// Subscriptions the emulator has seen (registrations or resources), lowercase.
    pub fn known_subscriptions(&self) -> Vec<String> {
        let mut subs: Vec<String> = self.registrations.keys().cloned().collect();
        for r in self.resources.values() {
            if let Ok(id) = ResourceId::parse(&r.id) {
                subs.push(id.subscription_id().to_ascii_lowercase());
            }
        }
        subs.sort();
        subs.dedup();
        subs
    }

    /// `GET /subscriptions/{s}/providers`.
    pub fn list_providers(&mut self, subscription: &str) -> Vec<Value> {
        CATALOG
            .iter()
            .filter_map(|(ns, _, _)| {
                let reg = self.registration(subscription, ns)?.clone();
                Some(Self::provider_body(subscription, &reg))
            })
            .collect()
    }

    /// `GET /subscriptions/{s}/providers/{ns}`.
    pub fn get_provider(
        &mut self,
        subscription: &str,
        namespace: &str,
    ) -> Result<Value, StoreError> {
        let reg = self
            .registration(subscription, namespace)
            .ok_or_else(|| StoreError::InvalidNamespace(namespace.to_string()))?
            .clone();
        Ok(Self::provider_body(subscription, &reg))
    }

    /// `POST .../register` (`register = true`) or `.../unregister`.
    pub fn set_registration(
        &mut self,
        ctx: &Ctx,
        subscription: &str,
        namespace: &str,
        register: bool,
    ) -> Result<Value, StoreError> {
        let canonical = self
            .registration(subscription, namespace)
            .ok_or_else(|| StoreError::InvalidNamespace(namespace.to_string()))?
            .namespace
            .clone();
        if !register {
            let sub = ResourceId::subscription(subscription);
            let prefix = format!("{}/", canonical.to_ascii_lowercase());
            let in_use = self
                .resources
                .values()
                .filter(|r| r.kind != Kind::ResourceGroup)
                .filter_map(|r| ResourceId::parse(&r.id).ok())
                .any(|id| {
                    id.is_within(&sub)
                        && id.resource_type().to_ascii_lowercase().starts_with(&prefix)
                });
            if in_use {
                return Err(StoreError::Conflict {
                    code: "Conflict".into(),
                    message: format!(
                        "Unregistration of namespace '{canonical}' is not allowed while resources of this namespace exist in subscription '{subscription}'."
                    ),
                });
            }
        }
        let reg = self
            .registration(subscription, namespace)
            .ok_or_else(|| StoreError::InvalidNamespace(namespace.to_string()))?;
        let settled: &[&str] = if register {
            &["Registered"]
        } else {
            &["NotRegistered", "Unregistered"]
        };
        if !settled.contains(&reg.state.as_str()) {
            reg.state = if register {
                "Registering"
            } else {
                "Unregistering"
            }
            .into();
            reg.settles_at = Some(ctx.now + ctx.delay);
        }
        let reg = reg.clone();
        self.touch();
        Ok(Self::provider_body(subscription, &reg))
    }

    /// Errors with `MissingSubscriptionRegistration` unless `namespace` is `Registered`.
    pub fn require_registered(
        &mut self,
        subscription: &str,
        namespace: &str,
    ) -> Result<(), StoreError> {
        match self.registration(subscription, namespace) {
            Some(reg) if reg.state == "Registered" => Ok(()),
            Some(reg) => Err(StoreError::MissingRegistration(reg.namespace.clone())),
            None => Err(StoreError::InvalidNamespace(namespace.to_string())),
        }
    }

    /// `PUT /subscriptions/{s}/resourcegroups/{rg}`: `(created, body)`.
    pub fn put_group(
        &mut self,
        subscription: &str,
        name: &str,
        body: &Value,
    ) -> Result<(bool, Value), StoreError> {
        validate_group_name(name)?;
        let location = match body.get("location") {
            Some(Value::String(l)) if !l.trim().is_empty() => l.clone(),
            _ => {
                return Err(StoreError::bad(
                    "LocationRequired",
                    "The location property is required for this definition.",
                ));
            }
        };
        let tags = tags_field(body)?;
        let id = ResourceId::resource_group(subscription, name);
        let key = id.as_str().to_ascii_lowercase();
        if let Some(existing) = self.resource_mut(&key) {
            let old = existing.body["location"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !same_location(&old, &location) {
                return Err(StoreError::Conflict {
                    code: "InvalidResourceGroupLocation".into(),
                    message: format!(
                        "Invalid resource group location '{location}'. The Resource group already exists in location '{old}'."
                    ),
                });
            }
            if existing.body["properties"]["provisioningState"] == "Deleting" {
                return Err(StoreError::Conflict {
                    code: "ResourceGroupBeingDeleted".into(),
                    message: format!(
                        "The resource group '{name}' is in deprovisioning state and cannot perform this operation."
                    ),
                });
            }
            existing.body["tags"] = tags.unwrap_or_else(|| json!({}));
            if let Some(m) = body.get("managedBy") {
                existing.body["managedBy"] = m.clone();
            }
            return Ok((false, existing.body.clone()));
        }
        let mut new = json!({
            "id": id.as_str(),
            "name": name,
            "type": Kind::ResourceGroup.type_name(),
            "location": location,
            "properties": {"provisioningState": "Succeeded"},
        });
        if let Some(tags) = tags {
            new["tags"] = tags;
        }
        if let Some(m) = body.get("managedBy") {
            new["managedBy"] = m.clone();
        }
        self.insert(Resource {
            id: id.as_str().to_string(),
            kind: Kind::ResourceGroup,
            body: new.clone(),
            hidden: Value::Null,
        });
        Ok((true, new))
    }

    fn group_key(subscription: &str, name: &str) -> String {
        ResourceId::resource_group(subscription, name)
            .as_str()
            .to_ascii_lowercase()
    }

    /// `GET` (and `HEAD`) of a resource group.
    pub fn get_group(&self, subscription: &str, name: &str) -> Result<Value, StoreError> {
        self.resource(&Self::group_key(subscription, name))
            .map(|r| r.body.clone())
            .ok_or_else(|| StoreError::ResourceGroupNotFound(name.to_string()))
    }

    /// `PATCH` of a resource group: tags and managedBy.
    pub fn patch_group(
        &mut self,
        subscription: &str,
        name: &str,
        body: &Value,
    ) -> Result<Value, StoreError> {
        let tags = tags_field(body)?;
        let res = self
            .resource_mut(&Self::group_key(subscription, name))
            .ok_or_else(|| StoreError::ResourceGroupNotFound(name.to_string()))?;
        if let Some(tags) = tags {
            res.body["tags"] = tags;
        }
        if let Some(m) = body.get("managedBy") {
            res.body["managedBy"] = m.clone();
        }
        Ok(res.body.clone())
    }

    /// `DELETE` of a resource group: a long-running operation removing its contents.
    pub fn delete_group(
        &mut self,
        ctx: &Ctx,
        subscription: &str,
        name: &str,
    ) -> Result<OpRef, StoreError> {
        let key = Self::group_key(subscription, name);
        let res = self
            .resource_mut(&key)
            .ok_or_else(|| StoreError::ResourceGroupNotFound(name.to_string()))?;
        res.body["properties"]["provisioningState"] = json!("Deleting");
        let location = res.body["location"]
            .as_str()
            .unwrap_or("global")
            .to_string();
        Ok(self.start_operation(
            ctx,
            subscription,
            "Microsoft.Resources",
            &location,
            &key,
            OpAction::Delete,
        ))
    }

    /// `GET /subscriptions/{s}/resourcegroups`.
    pub fn list_groups(&self, subscription: &str) -> Vec<Value> {
        let sub = ResourceId::subscription(subscription);
        self.resources_of(Kind::ResourceGroup, |r| {
            ResourceId::parse(&r.id).is_ok_and(|id| id.is_within(&sub))
        })
        .map(|r| r.body.clone())
        .collect()
    }
}

/// ARM compares locations ignoring case and spaces (`West US 2` = `westus2`).
pub(crate) fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    norm(a) == norm(b)
}

fn validate_group_name(name: &str) -> Result<(), StoreError> {
    let ok_char = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')');
    if name.is_empty()
        || name.chars().count() > 90
        || !name.chars().all(ok_char)
        || name.ends_with('.')
    {
        return Err(StoreError::bad(
            "InvalidResourceGroup",
            format!(
                "The provided resource group name '{name}' has these invalid characters or length. The name can only be a letter, digit, '-', '.', '(', ')' or '_', at most 90 characters, and cannot end with '.'."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::infra::clock::parse_time;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    #[test]
    fn registration_settles_on_tick_and_groups_round_trip() {
        let now = parse_time("2026-01-01T00:00:00Z").unwrap();
        let mut ctx = Ctx::at(now);
        ctx.delay = chrono::Duration::seconds(5);
        let mut store = Store::new(1);
        assert!(matches!(
            store.require_registered(SUB, EVENT_GRID),
            Err(StoreError::MissingRegistration(_))
        ));
        let body = store
            .set_registration(&ctx, SUB, "microsoft.eventgrid", true)
            .unwrap();
        assert_eq!(body["registrationState"], "Registering");
        store.tick(now + chrono::Duration::seconds(4));
        assert!(store.require_registered(SUB, EVENT_GRID).is_err());
        store.tick(now + chrono::Duration::seconds(5));
        assert!(store.require_registered(SUB, EVENT_GRID).is_ok());
        assert!(matches!(
            store.get_provider(SUB, "Nope.Nope"),
            Err(StoreError::InvalidNamespace(_))
        ));

        let (created, _) = store
            .put_group(SUB, "rg1", &json!({"location": "westus2"}))
            .unwrap();
        assert!(created);
        let (created, _) = store
            .put_group(
                SUB,
                "RG1",
                &json!({"location": "West US 2", "tags": {"a": "b"}}),
            )
            .unwrap();
        assert!(!created);
        assert_eq!(store.get_group(SUB, "rg1").unwrap()["tags"]["a"], "b");
        assert!(
            store
                .put_group(SUB, "rg1", &json!({"location": "eastus"}))
                .is_err()
        );
        assert!(
            store
                .put_group(SUB, "bad/name", &json!({"location": "eastus"}))
                .is_err()
        );
        assert!(store.put_group(SUB, "rg2", &json!({})).is_err());
        assert_eq!(store.list_groups(SUB).len(), 1);
    }
}
