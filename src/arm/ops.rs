//! The `ArmApi` trait and its implementation for `ArmClient`: typed operations and pagination
//! (following long-running operations is `lro_follow`).
//!
//! `ArmApi` is what `apply` and `read` call; tests of those can implement it with a fake. Every
//! future is `Send` so callers can spawn them. This module must not decide what to change, and it
//! never follows a `nextLink` or polling URL to a host other than the ARM endpoint (the bearer
//! token would go with it).

use std::future::Future;

use serde_json::Value;

use super::client::{ArmClient, Call, RequestCounts, Response};
use super::error::{ArmError, RequestTarget};
use super::lro;
use super::request::{self, Collection, api_version_for, build_url};
use super::retry;
use crate::model::ResourceId;

/// A resource as ARM returned it: its id and the whole JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The id (from the body's `id`, else the id that was asked for).
    pub id: ResourceId,
    /// The body as returned (read-only fields included; `plan` normalizes).
    pub body: Value,
}

impl Observed {
    /// Builds one from a body, taking the id from `body.id` or `fallback`.
    pub fn from_body(body: Value, fallback: Option<&ResourceId>) -> Result<Self, String> {
        let wrong = |field: &str, want: &str| format!("`{field}` is not {want}");
        match (body.get("name"), body.get("properties")) {
            (Some(n), _) if !n.is_string() && !n.is_null() => {
                return Err(wrong("name", "a string"));
            }
            (_, Some(p)) if !p.is_object() && !p.is_null() => {
                return Err(wrong("properties", "an object"));
            }
            _ => {}
        }
        let id = match body.get("id").filter(|v| !v.is_null()) {
            Some(Value::String(text)) => ResourceId::parse(text).map_err(|e| e.to_string())?,
            Some(_) => return Err(wrong("id", "a string")),
            None => fallback
                .cloned()
                .ok_or_else(|| "the resource has no `id`".to_string())?,
        };
        if !body.is_object() {
            return Err("the resource body is not a JSON object".into());
        }
        Ok(Self { id, body })
    }

    /// `properties`, if present.
    pub fn properties(&self) -> Option<&Value> {
        self.body.get("properties")
    }

    /// `properties.provisioningState`, if present.
    pub fn provisioning_state(&self) -> Option<&str> {
        lro::provisioning_state(&self.body)
    }

    /// A string property under `properties`.
    pub fn property_str(&self, name: &str) -> Option<&str> {
        self.properties()?.get(name)?.as_str()
    }
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The resource existed and is gone now.
    Deleted,
    /// It did not exist (404, or ARM's 204 for a delete of nothing); nothing was done.
    NotFound,
}

/// A resource provider's registration in a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The namespace, e.g. `Microsoft.EventGrid`.
    pub namespace: String,
    /// `NotRegistered`, `Registering`, `Registered`, `Unregistering`.
    pub registration_state: String,
}

impl ProviderInfo {
    /// Whether the provider is registered.
    pub fn is_registered(&self) -> bool {
        self.registration_state.eq_ignore_ascii_case("Registered")
    }
}

/// The operations `apply` and `read` need from ARM. All futures are `Send`.
pub trait ArmApi: Send + Sync {
    /// GET a resource; `None` when it does not exist (404).
    fn get(
        &self,
        id: &ResourceId,
    ) -> impl Future<Output = Result<Option<Observed>, ArmError>> + Send;
    /// PUT (create or replace) and wait for the long-running operation; returns the final state.
    fn put(
        &self,
        id: &ResourceId,
        body: &Value,
    ) -> impl Future<Output = Result<Observed, ArmError>> + Send;
    /// PATCH and wait; returns the final state (re-read when PATCH answers without a body).
    fn patch(
        &self,
        id: &ResourceId,
        body: &Value,
    ) -> impl Future<Output = Result<Observed, ArmError>> + Send;
    /// DELETE and wait until it is gone.
    fn delete(&self, id: &ResourceId) -> impl Future<Output = Result<Deleted, ArmError>> + Send;
    /// POST `{id}/{action}` (e.g. `activate`, `authorizePartner`, `getFullUrl`); returns the body.
    fn post_action(
        &self,
        id: &ResourceId,
        action: &str,
        body: Option<&Value>,
    ) -> impl Future<Output = Result<Option<Value>, ArmError>> + Send;
    /// Lists a collection, following every `nextLink`.
    fn list(
        &self,
        collection: &Collection,
    ) -> impl Future<Output = Result<Vec<Observed>, ArmError>> + Send;
    /// Reads a provider's registration state.
    fn get_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> impl Future<Output = Result<ProviderInfo, ArmError>> + Send;
    /// Registers a provider (returns at once; poll `get_provider` until `Registered`).
    fn register_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> impl Future<Output = Result<ProviderInfo, ArmError>> + Send;
    /// Requests sent so far, per class.
    fn request_counts(&self) -> RequestCounts;
}

pub(super) fn malformed(
    target: &RequestTarget,
    resp: &Response,
    reason: impl Into<String>,
) -> ArmError {
    ArmError::Malformed {
        target: target.clone(),
        status: resp.status,
        reason: reason.into(),
        ids: resp.ids.clone(),
    }
}

impl ArmClient {
    pub(super) fn url_for(
        &self,
        path: &str,
        api_version: &str,
        extra: &[(&str, &str)],
    ) -> Result<url::Url, ArmError> {
        build_url(&self.base, path, api_version, extra)
            .map_err(|e| ArmError::Config(format!("cannot build a URL for `{path}`: {e}")))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        id: &ResourceId,
        suffix: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<(RequestTarget, Response), ArmError> {
        let path = format!("{id}{suffix}");
        let url = self.url_for(&path, api_version_for(id), &[])?;
        let target = RequestTarget {
            method: method.to_string(),
            resource: path,
        };
        let resp = self
            .send(Call {
                method,
                url,
                subscription: id.subscription_id(),
                target: target.clone(),
                body,
                idempotent,
            })
            .await?;
        Ok((target, resp))
    }

    async fn write(
        &self,
        method: reqwest::Method,
        id: &ResourceId,
        body: &Value,
    ) -> Result<Observed, ArmError> {
        let (target, resp) = self.call(method, id, "", Some(body), true).await?;
        if !(200..300).contains(&resp.status) {
            return Err(resp.to_error(&target));
        }
        let initial_body = resp.json(&target)?;
        let final_body = self.follow(id, &target, resp.clone(), initial_body).await?;
        let final_body =
            match final_body.filter(|b| b.get("id").is_some() && lro::is_settled_body(b)) {
                Some(b) => b,
                // Async-operation result, empty PATCH 200, or a Location result without the
                // resource: read the final state.
                None => match self.get(id).await? {
                    Some(o) => return Ok(o),
                    None => {
                        return Err(malformed(
                            &target,
                            &resp,
                            "the operation succeeded but the resource cannot be read (404)",
                        ));
                    }
                },
            };
        Observed::from_body(final_body, Some(id))
            .map_err(|reason| malformed(&target, &resp, reason))
    }

    fn list_query(&self, collection: &Collection) -> Option<String> {
        let paged = match &collection.namespace {
            Some(ns) => {
                ns.eq_ignore_ascii_case(request::EVENT_GRID_NAMESPACE)
                    && !collection
                        .resource_type
                        .eq_ignore_ascii_case("partnerConfigurations")
            }
            None => request::namespace_of(&collection.parent)
                .eq_ignore_ascii_case(request::EVENT_GRID_NAMESPACE),
        };
        paged.then(|| self.options.page_size.clamp(1, 100).to_string())
    }
}

/// Guard against a server that keeps returning `nextLink`s.
const MAX_PAGES: usize = 10_000;

/// The most page bytes one list reads (32 MiB, about 100,000 subscriptions): a server that
/// keeps sending pages cannot make us hold gigabytes.
pub const MAX_LIST_BYTES: usize = 32 * 1024 * 1024;

impl ArmApi for ArmClient {
    async fn get(&self, id: &ResourceId) -> Result<Option<Observed>, ArmError> {
        let (target, resp) = self.call(reqwest::Method::GET, id, "", None, true).await?;
        match resp.status {
            404 => Ok(None),
            200 => {
                let body = resp
                    .json(&target)?
                    .ok_or_else(|| malformed(&target, &resp, "empty body"))?;
                Observed::from_body(body, Some(id))
                    .map(Some)
                    .map_err(|reason| malformed(&target, &resp, reason))
            }
            _ => Err(resp.to_error(&target)),
        }
    }

    async fn put(&self, id: &ResourceId, body: &Value) -> Result<Observed, ArmError> {
        self.write(reqwest::Method::PUT, id, body).await
    }

    async fn patch(&self, id: &ResourceId, body: &Value) -> Result<Observed, ArmError> {
        self.write(reqwest::Method::PATCH, id, body).await
    }

    async fn delete(&self, id: &ResourceId) -> Result<Deleted, ArmError> {
        let (target, resp) = self
            .call(reqwest::Method::DELETE, id, "", None, true)
            .await?;
        match resp.status {
            // ARM answers 204 to a DELETE of something that does not exist (RPC), 200 to a
            // synchronous delete and 202 to an asynchronous one.
            404 | 204 => Ok(Deleted::NotFound),
            200 => Ok(Deleted::Deleted),
            202 => {
                self.follow(id, &target, resp, None).await?;
                Ok(Deleted::Deleted)
            }
            _ => Err(resp.to_error(&target)),
        }
    }

    async fn post_action(
        &self,
        id: &ResourceId,
        action: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ArmError> {
        let idempotent = retry::is_repeatable_action(action);
        let (target, resp) = self
            .call(
                reqwest::Method::POST,
                id,
                &format!("/{action}"),
                body,
                idempotent,
            )
            .await?;
        if !(200..300).contains(&resp.status) {
            return Err(resp.to_error(&target));
        }
        let initial = resp.json(&target).map_err(|e| {
            // The body of these actions holds secrets: never quote it in an error.
            if retry::returns_secrets(action) {
                malformed(
                    &target,
                    &resp,
                    "invalid JSON (body withheld: it may hold secrets)",
                )
            } else {
                e
            }
        })?;
        if resp.status == 202 {
            return self.follow(id, &target, resp, initial).await;
        }
        Ok(initial)
    }

    async fn list(&self, collection: &Collection) -> Result<Vec<Observed>, ArmError> {
        let top = self.list_query(collection);
        let extra: Vec<(&str, &str)> = top.iter().map(|t| ("$top", t.as_str())).collect();
        let mut url = self.url_for(&collection.path(), collection.api_version(), &extra)?;
        let target = RequestTarget {
            method: "GET".into(),
            resource: collection.path(),
        };
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut bytes = 0usize;
        for _ in 0..MAX_PAGES {
            seen.insert(url.to_string());
            let resp = self
                .get_raw(url, collection.parent.subscription_id(), &target)
                .await?;
            if resp.status != 200 {
                return Err(resp.to_error(&target));
            }
            bytes = bytes.saturating_add(resp.body.len());
            if bytes > MAX_LIST_BYTES {
                let limit = MAX_LIST_BYTES / (1024 * 1024);
                return Err(malformed(
                    &target,
                    &resp,
                    format!("the list exceeds {limit} MiB"),
                ));
            }
            let page = resp
                .json(&target)?
                .ok_or_else(|| malformed(&target, &resp, "empty body"))?;
            let items = page
                .get("value")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(&target, &resp, "no `value` array in the list page"))?;
            for item in items {
                out.push(
                    Observed::from_body(item.clone(), None).map_err(|reason| {
                        malformed(&target, &resp, format!("list item: {reason}"))
                    })?,
                );
            }
            match page.get("nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    url = self.poll_url(next, &target, &resp)?;
                    if seen.contains(url.as_str()) {
                        let reason = "its nextLink leads back to a page seen before";
                        return Err(malformed(&target, &resp, reason));
                    }
                }
                _ => return Ok(out),
            }
        }
        Err(ArmError::Malformed {
            target,
            status: 200,
            reason: format!("more than {MAX_PAGES} pages"),
            ids: Default::default(),
        })
    }

    async fn get_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> Result<ProviderInfo, ArmError> {
        let id = ResourceId::provider(subscription_id, namespace);
        let (target, resp) = self.call(reqwest::Method::GET, &id, "", None, true).await?;
        if resp.status != 200 {
            return Err(resp.to_error(&target));
        }
        provider_info(&target, &resp, namespace)
    }

    async fn register_provider(
        &self,
        subscription_id: &str,
        namespace: &str,
    ) -> Result<ProviderInfo, ArmError> {
        let id = ResourceId::provider(subscription_id, namespace);
        let (target, resp) = self
            .call(reqwest::Method::POST, &id, "/register", None, true)
            .await?;
        if resp.status != 200 {
            return Err(resp.to_error(&target));
        }
        provider_info(&target, &resp, namespace)
    }

    fn request_counts(&self) -> RequestCounts {
        ArmClient::request_counts(self)
    }
}

fn provider_info(
    target: &RequestTarget,
    resp: &Response,
    namespace: &str,
) -> Result<ProviderInfo, ArmError> {
    let body = resp
        .json(target)?
        .ok_or_else(|| malformed(target, resp, "empty body"))?;
    let state = body
        .get("registrationState")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(target, resp, "no `registrationState`"))?;
    Ok(ProviderInfo {
        namespace: body
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or(namespace)
            .to_string(),
        registration_state: state.to_string(),
    })
}
