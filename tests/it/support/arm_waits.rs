//! Test-side waits over `ArmApi` (the product's waits live in the executor, over
//! `apply::Backend`): register a provider and wait for it, wait for a resource to appear.
//! A timeout panics: in a test it is a failure.

use std::time::{Duration, Instant};

use gridform::arm::{ArmApi, ArmError, Observed, ProviderInfo};
use gridform::model::ResourceId;

/// Registers a provider if needed and polls every `interval` until it is `Registered`.
pub async fn ensure_registered<A: ArmApi>(
    api: &A,
    subscription_id: &str,
    namespace: &str,
    interval: Duration,
    timeout: Duration,
) -> Result<ProviderInfo, ArmError> {
    let started = Instant::now();
    let mut info = api.get_provider(subscription_id, namespace).await?;
    if !info.is_registered() && !info.registration_state.eq_ignore_ascii_case("Registering") {
        info = api.register_provider(subscription_id, namespace).await?;
    }
    while !info.is_registered() {
        assert!(
            started.elapsed() < timeout,
            "`{namespace}` still `{}` after {timeout:?}",
            info.registration_state
        );
        tokio::time::sleep(interval).await;
        info = api.get_provider(subscription_id, namespace).await?;
    }
    Ok(info)
}

/// Polls `id` every `interval` until it exists; `None` when it did not within `timeout`.
pub async fn wait_for_resource<A: ArmApi>(
    api: &A,
    id: &ResourceId,
    interval: Duration,
    timeout: Duration,
) -> Result<Option<Observed>, ArmError> {
    let started = Instant::now();
    loop {
        if let Some(o) = api.get(id).await? {
            return Ok(Some(o));
        }
        if started.elapsed().saturating_add(interval) > timeout {
            return Ok(None);
        }
        tokio::time::sleep(interval).await;
    }
}
