//! `FakeArm`: an in-memory [`ArmApi`] for tests of `apply`, `read` and the CLI wiring.
//!
//! Stores bodies by id, records every call, counts requests per class like the real client,
//! and can be told to fail the next call on an id. It is deliberately simple (PUT replaces, PATCH
//! merges top-level and `properties` keys, actions set `activationState`) and is no substitute
//! for the emulator, which is the faithful one. It must never be used outside tests.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::client::RequestCounts;
use super::error::{ArmError, RequestIds, Target};
use super::ops::{ArmApi, Deleted, Observed, ProviderInfo};
use super::request::Collection;
use crate::model::ResourceId;

/// One recorded call: method and path (`{id}` or `{id}/{action}` or a collection path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// `GET`, `PUT`, `PATCH`, `DELETE`, `POST`.
    pub method: String,
    /// The path.
    pub path: String,
}

#[derive(Debug, Default)]
struct Inner {
    resources: BTreeMap<ResourceId, Value>,
    providers: BTreeMap<String, String>,
    calls: Vec<FakeCall>,
    failures: VecDeque<(String, ArmErrorSpec)>,
    counts: RequestCounts,
}

/// An error to inject: status, code, message.
#[derive(Debug, Clone)]
pub struct ArmErrorSpec {
    /// HTTP status.
    pub status: u16,
    /// ARM error code.
    pub code: String,
    /// Message.
    pub message: String,
}

/// The in-memory ARM (cheap to clone; clones share state).
#[derive(Debug, Clone, Default)]
pub struct FakeArm {
    inner: Arc<Mutex<Inner>>,
}

impl FakeArm {
    /// An empty fake.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seeds a resource (its `id` is filled in).
    pub fn insert(&self, id: &ResourceId, mut body: Value) {
        body["id"] = json!(id.to_string());
        if body.get("name").is_none() {
            body["name"] = json!(id.name());
        }
        self.lock().resources.insert(id.clone(), body);
    }

    /// Sets a provider's registration state.
    pub fn set_provider(&self, namespace: &str, state: &str) {
        self.lock()
            .providers
            .insert(namespace.to_ascii_lowercase(), state.into());
    }

    /// The stored body of a resource.
    pub fn body(&self, id: &ResourceId) -> Option<Value> {
        self.lock().resources.get(id).cloned()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    /// Makes the next call whose path ends with `path_suffix` fail with `error`.
    pub fn fail_next(&self, path_suffix: &str, error: ArmErrorSpec) {
        self.lock()
            .failures
            .push_back((path_suffix.to_ascii_lowercase(), error));
    }

    fn record(&self, method: &str, path: String) -> Result<(), ArmError> {
        let mut inner = self.lock();
        match method {
            "GET" => inner.counts.reads += 1,
            "DELETE" => inner.counts.deletes += 1,
            _ => inner.counts.writes += 1,
        }
        inner.calls.push(FakeCall {
            method: method.into(),
            path: path.clone(),
        });
        let lower = path.to_ascii_lowercase();
        if let Some(pos) = inner.failures.iter().position(|(s, _)| lower.ends_with(s)) {
            if let Some((_, spec)) = inner.failures.remove(pos) {
                return Err(ArmError::Http {
                    target: Target {
                        method: method.into(),
                        resource: path,
                    },
                    status: spec.status,
                    code: spec.code,
                    message: spec.message,
                    ids: RequestIds {
                        client_request_id: "fake".into(),
                        ..Default::default()
                    },
                });
            }
        }
        Ok(())
    }

    fn observed(id: &ResourceId, body: &Value) -> Observed {
        Observed {
            id: id.clone(),
            body: body.clone(),
        }
    }
}

fn merge(target: &mut Value, patch: &Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if k == "properties" && t.get(k).is_some_and(Value::is_object) {
                if let Some(tp) = t.get_mut(k) {
                    merge(tp, v);
                }
            } else {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

impl ArmApi for FakeArm {
    async fn get(&self, id: &ResourceId) -> Result<Option<Observed>, ArmError> {
        self.record("GET", id.to_string())?;
        Ok(self.lock().resources.get(id).map(|b| Self::observed(id, b)))
    }

    async fn put(&self, id: &ResourceId, body: &Value) -> Result<Observed, ArmError> {
        self.record("PUT", id.to_string())?;
        let mut stored = body.clone();
        stored["id"] = json!(id.to_string());
        stored["name"] = json!(id.name());
        stored["type"] = json!(id.resource_type());
        if !stored["properties"].is_object() {
            stored["properties"] = json!({});
        }
        stored["properties"]["provisioningState"] = json!("Succeeded");
        self.lock().resources.insert(id.clone(), stored.clone());
        Ok(Self::observed(id, &stored))
    }

    async fn patch(&self, id: &ResourceId, body: &Value) -> Result<Observed, ArmError> {
        self.record("PATCH", id.to_string())?;
        let mut inner = self.lock();
        let Some(stored) = inner.resources.get_mut(id) else {
            return Err(ArmError::Http {
                target: Target {
                    method: "PATCH".into(),
                    resource: id.to_string(),
                },
                status: 404,
                code: "ResourceNotFound".into(),
                message: "not found".into(),
                ids: RequestIds::default(),
            });
        };
        merge(stored, body);
        Ok(Self::observed(id, stored))
    }

    async fn delete(&self, id: &ResourceId) -> Result<Deleted, ArmError> {
        self.record("DELETE", id.to_string())?;
        let mut inner = self.lock();
        let existed = inner.resources.remove(id).is_some();
        inner.resources.retain(|k, _| !k.is_within(id));
        Ok(if existed {
            Deleted::Deleted
        } else {
            Deleted::NotFound
        })
    }

    async fn post_action(
        &self,
        id: &ResourceId,
        action: &str,
        _body: Option<&Value>,
    ) -> Result<Option<Value>, ArmError> {
        self.record("POST", format!("{id}/{action}"))?;
        let mut inner = self.lock();
        let Some(stored) = inner.resources.get_mut(id) else {
            return Ok(None);
        };
        match action {
            "activate" => stored["properties"]["activationState"] = json!("Activated"),
            "deactivate" => stored["properties"]["activationState"] = json!("Deactivated"),
            _ => {}
        }
        Ok(Some(stored.clone()))
    }

    async fn list(&self, collection: &Collection) -> Result<Vec<Observed>, ArmError> {
        self.record("GET", collection.path())?;
        let prefix = format!("{}/", collection.path().to_ascii_lowercase());
        Ok(self
            .lock()
            .resources
            .iter()
            .filter(|(id, _)| {
                let lower = id.to_string().to_ascii_lowercase();
                lower
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains('/'))
            })
            .map(|(id, b)| Self::observed(id, b))
            .collect())
    }

    async fn get_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> Result<ProviderInfo, ArmError> {
        self.record(
            "GET",
            ResourceId::provider(subscription_id, namespace).to_string(),
        )?;
        let state = self
            .lock()
            .providers
            .get(&namespace.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| "NotRegistered".into());
        Ok(ProviderInfo {
            namespace: namespace.into(),
            registration_state: state,
        })
    }

    async fn register_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> Result<ProviderInfo, ArmError> {
        self.record(
            "POST",
            format!(
                "{}/register",
                ResourceId::provider(subscription_id, namespace)
            ),
        )?;
        self.set_provider(namespace, "Registered");
        Ok(ProviderInfo {
            namespace: namespace.into(),
            registration_state: "Registered".into(),
        })
    }

    fn request_counts(&self) -> RequestCounts {
        self.lock().counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::read::{LiveScope, read_live};

    #[tokio::test]
    async fn fake_supports_read_live_and_records_calls() {
        let arm = FakeArm::new();
        arm.set_provider("Microsoft.EventGrid", "Registered");
        let rg = ResourceId::resource_group("s", "rg");
        arm.insert(&rg, json!({"location": "westeurope"}));
        let pt = rg.provider_resource("Microsoft.EventGrid", "partnerTopics", "auth0");
        arm.insert(
            &pt,
            json!({"properties": {"activationState": "NeverActivated"}}),
        );
        let sub = pt.child("eventSubscriptions", "hook");
        arm.put(&sub, &json!({"properties": {"destination": {}}}))
            .await
            .unwrap();
        let live = read_live(
            &arm,
            &LiveScope {
                subscription_id: "s".into(),
                providers: vec!["Microsoft.EventGrid".into()],
                resource_groups: vec!["rg".into()],
                extra_scopes: vec![],
            },
        )
        .await
        .unwrap();
        assert_eq!(live.resources.len(), 2);
        assert_eq!(live.requests.writes, 0);
        let out = arm
            .post_action(&pt, "activate", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(out["properties"]["activationState"], "Activated");
        arm.fail_next(
            "/hook",
            ArmErrorSpec {
                status: 409,
                code: "Conflict".into(),
                message: "busy".into(),
            },
        );
        assert_eq!(arm.delete(&sub).await.unwrap_err().status(), Some(409));
        assert_eq!(arm.delete(&pt).await.unwrap(), Deleted::Deleted);
        assert!(arm.body(&sub).is_none(), "children go with their parent");
        assert_eq!(
            arm.calls().last().map(|c| c.method.as_str()),
            Some("DELETE")
        );
    }
}
