//! The stack lease: who may apply or destroy a stack right now, recorded on Azure itself as
//! tags on the stack's resource group (`gridform-lease`, `-holder`, `-since`, `-expires`), so
//! two runs on different machines never interleave. See docs/locking.md.
//!
//! Resource groups have no etag and ARM offers no If-Match on them, so a lease is taken by
//! reading the tags, writing ours with a PATCH and reading them back; a background task renews
//! the expiry (and re-writes tags an apply replaced) while the run works.
//!
//! It owns the tag format, the pure "may I take it" decision and the ARM calls (through `arm`
//! only). It must not print (waits are traced) or decide which commands take a lease.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::holder::Identity;
use crate::arm::{ArmApi, ArmClient, ArmError};
use crate::model::DesiredState;
use crate::model::id::ResourceId;
use crate::plan::wire::LEASE_TAG;

/// The holder: user, host, pid and command.
pub const HOLDER_TAG: &str = "gridform-lease-holder";
/// When the holder took the lease (RFC 3339).
pub const SINCE_TAG: &str = "gridform-lease-since";
/// When the lease lapses unless renewed (RFC 3339).
pub const EXPIRES_TAG: &str = "gridform-lease-expires";
/// How long a lease lasts without renewal.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// A lease as recorded in a resource group's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// A random id per run (`gridform-lease`).
    pub id: String,
    /// Who and where (`gridform-lease-holder`).
    pub holder: String,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// Until when.
    pub expires: Option<DateTime<Utc>>,
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = v?.as_str()?;
    Some(DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc))
}

impl LeaseRecord {
    /// A new lease for `me`, lasting `ttl` from `now`.
    pub fn new(me: &Identity, now: DateTime<Utc>, ttl: Duration) -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
            holder: me.holder_line(),
            since: Some(now),
            expires: Some(expires_at(now, ttl)),
        }
    }

    /// The lease in a resource group's `tags`, if there is one.
    pub fn from_tags(tags: &Value) -> Option<Self> {
        let id = tags.get(LEASE_TAG)?.as_str()?.to_string();
        Some(Self {
            id,
            holder: tags
                .get(HOLDER_TAG)
                .and_then(Value::as_str)
                .unwrap_or("an unknown holder")
                .to_string(),
            since: parse_time(tags.get(SINCE_TAG)),
            expires: parse_time(tags.get(EXPIRES_TAG)),
        })
    }

    /// `tags` with this lease written into them (other tags kept).
    pub fn merged_into(&self, tags: &Value) -> Value {
        let mut map = without_lease(tags);
        map.insert(LEASE_TAG.into(), json!(self.id));
        map.insert(HOLDER_TAG.into(), json!(self.holder));
        if let Some(t) = &self.since {
            map.insert(SINCE_TAG.into(), json!(rfc3339(t)));
        }
        if let Some(t) = &self.expires {
            map.insert(EXPIRES_TAG.into(), json!(rfc3339(t)));
        }
        Value::Object(map)
    }

    /// `user@host pid 1 (gridform apply), since …, expires …` for messages.
    pub fn describe(&self) -> String {
        let time = |t: &Option<DateTime<Utc>>| t.as_ref().map_or("?".into(), rfc3339);
        format!(
            "{}, since {}, expires {}",
            self.holder,
            time(&self.since),
            time(&self.expires)
        )
    }
}

/// `now + ttl`, saturating.
pub fn expires_at(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A resource group's tags without any lease tag.
pub fn without_lease(tags: &Value) -> Map<String, Value> {
    tags.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with(LEASE_TAG))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// What a run may do with the lease it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Nobody holds it.
    Free,
    /// It is this run's.
    Ours,
    /// Someone held it, but it lapsed: it may be taken over.
    Expired(LeaseRecord),
    /// Someone holds it.
    Held(LeaseRecord),
}

/// Decides, from the lease `found` on the group, whether the run with lease id `mine` may take it
/// at `now`. A lease without a readable expiry counts as held (remove it with `gridform unlock`).
pub fn standing(found: Option<&LeaseRecord>, mine: &str, now: DateTime<Utc>) -> Standing {
    match found {
        None => Standing::Free,
        Some(r) if r.id == mine => Standing::Ours,
        Some(r) if r.expires.is_some_and(|e| e <= now) => Standing::Expired(r.clone()),
        Some(r) => Standing::Held(r.clone()),
    }
}

/// The resource group that carries a stack's lease: the Stack's `spec.resourceGroup`, else the
/// first resource group (by name) a document names; `None` for a stack with none.
pub fn lease_group(desired: &DesiredState) -> Option<ResourceId> {
    let sub = &desired.stack.spec.subscription_id;
    let name = desired.stack.spec.resource_group.clone().or_else(|| {
        desired
            .resources
            .iter()
            .filter_map(|r| r.resource_group.clone())
            .min()
    })?;
    Some(ResourceId::resource_group(sub, &name))
}

/// Why a lease could not be taken, renewed, released or removed.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it.
    #[error("stack `{stack}` is locked: resource group {group} has a lease held by {}{waited}", record.describe())]
    Held {
        /// The stack.
        stack: String,
        /// The resource group's name.
        group: String,
        /// The lease found.
        record: LeaseRecord,
        /// `" (waited 30s)"`, or empty.
        waited: String,
    },
    /// ARM failed.
    #[error("cannot {what} on resource group {group}")]
    Arm {
        /// What was being done.
        what: &'static str,
        /// The resource group's name.
        group: String,
        /// The client's error.
        #[source]
        source: Box<ArmError>,
    },
}

/// How long a lease lasts and how long to wait for one.
#[derive(Debug, Clone, Copy)]
pub struct LeaseSettings {
    /// Lease duration without renewal.
    pub ttl: Duration,
    /// How long to wait for a held lease (`--lock-timeout`).
    pub timeout: Duration,
    /// How often to look again while waiting.
    pub poll: Duration,
}

impl LeaseSettings {
    /// Ten-minute leases, waiting up to `timeout`, looking again every two seconds.
    pub fn waiting(timeout: Duration) -> Self {
        Self {
            ttl: DEFAULT_TTL,
            timeout,
            poll: Duration::from_secs(2),
        }
    }
}

fn arm_err<'a>(
    what: &'static str,
    group: &'a ResourceId,
) -> impl FnOnce(ArmError) -> LeaseError + 'a {
    move |e| LeaseError::Arm {
        what,
        group: group.name().to_string(),
        source: Box::new(e),
    }
}

/// The group's tags; `None` when the group does not exist.
async fn read_tags(arm: &ArmClient, group: &ResourceId) -> Result<Option<Value>, LeaseError> {
    let found = arm
        .get(group)
        .await
        .map_err(arm_err("read the lease", group))?;
    Ok(found.map(|o| o.body.get("tags").cloned().unwrap_or(Value::Null)))
}

async fn write_tags(arm: &ArmClient, group: &ResourceId, tags: Value) -> Result<(), LeaseError> {
    arm.patch(group, &json!({ "tags": tags }))
        .await
        .map_err(arm_err("write the lease", group))?;
    Ok(())
}

/// The lease currently recorded on `group` (`None` when there is none or no group).
pub async fn read(arm: &ArmClient, group: &ResourceId) -> Result<Option<LeaseRecord>, LeaseError> {
    Ok(read_tags(arm, group)
        .await?
        .as_ref()
        .and_then(LeaseRecord::from_tags))
}

/// Removes whatever lease `group` carries (for `gridform unlock`); returns the one removed.
pub async fn remove(
    arm: &ArmClient,
    group: &ResourceId,
) -> Result<Option<LeaseRecord>, LeaseError> {
    let Some(tags) = read_tags(arm, group).await? else {
        return Ok(None);
    };
    let Some(found) = LeaseRecord::from_tags(&tags) else {
        return Ok(None);
    };
    write_tags(arm, group, Value::Object(without_lease(&tags))).await?;
    Ok(Some(found))
}

/// The outcome of [`acquire`].
pub enum Acquired {
    /// The lease is ours until released.
    Leased(Lease),
    /// The resource group does not exist yet (a first apply creates it): no lease was taken.
    NoGroup(ResourceId),
}

/// Takes the lease on `group` for `stack`, waiting up to `settings.timeout` for a holder to
/// release it or for its lease to expire; renewal starts at once.
pub async fn acquire(
    arm: &ArmClient,
    group: &ResourceId,
    stack: &str,
    me: &Identity,
    settings: LeaseSettings,
) -> Result<Acquired, LeaseError> {
    let started = tokio::time::Instant::now();
    let mut told = false;
    loop {
        let Some(tags) = read_tags(arm, group).await? else {
            return Ok(Acquired::NoGroup(group.clone()));
        };
        let now = Utc::now();
        let mine = LeaseRecord::new(me, now, settings.ttl);
        let held = match standing(LeaseRecord::from_tags(&tags).as_ref(), &mine.id, now) {
            Standing::Held(r) => Some(r),
            Standing::Free | Standing::Ours | Standing::Expired(_) => {
                write_tags(arm, group, mine.merged_into(&tags)).await?;
                // No If-Match on resource groups: read back to see whose write won.
                let back = read(arm, group).await?;
                if back.as_ref().is_some_and(|r| r.id == mine.id) {
                    return Ok(Acquired::Leased(Lease::start(
                        arm,
                        group,
                        mine,
                        settings.ttl,
                    )));
                }
                back
            }
        };
        let waited = started.elapsed();
        let Some(record) = held else { continue };
        if waited >= settings.timeout {
            return Err(LeaseError::Held {
                stack: stack.to_string(),
                group: group.name().to_string(),
                record,
                waited: if settings.timeout.is_zero() {
                    String::new()
                } else {
                    format!(" (waited {}s)", waited.as_secs())
                },
            });
        }
        if !std::mem::replace(&mut told, true) {
            tracing::warn!(
                "waiting up to {}s for the lease on resource group {}, held by {}",
                settings.timeout.as_secs(),
                group.name(),
                record.describe()
            );
        }
        tokio::time::sleep(settings.poll.min(settings.timeout.saturating_sub(waited))).await;
    }
}

/// What [`crate::session::Session::take_lease`] did.
pub enum Taken {
    /// The lease is held; the handle releases it from an interrupt handler.
    Held(Releaser),
    /// No lease was taken, and why (for a warning).
    Skipped(String),
}

/// A held lease: renewed in the background until [`Lease::release`].
pub struct Lease {
    shared: Arc<Shared>,
    renewer: tokio::task::JoinHandle<()>,
}

struct Shared {
    arm: ArmClient,
    group: ResourceId,
    record: LeaseRecord,
    released: AtomicBool,
}

impl Lease {
    fn start(arm: &ArmClient, group: &ResourceId, record: LeaseRecord, ttl: Duration) -> Self {
        let shared = Arc::new(Shared {
            arm: arm.clone(),
            group: group.clone(),
            record,
            released: AtomicBool::new(false),
        });
        let renewer = tokio::spawn(renew_until_released(shared.clone(), ttl));
        Self { shared, renewer }
    }

    /// A handle that can release the lease from elsewhere (an interrupt handler).
    pub fn releaser(&self) -> Releaser {
        Releaser(self.shared.clone())
    }

    /// Stops renewing and removes the lease tags if they are still ours.
    pub async fn release(self) -> Result<(), LeaseError> {
        self.renewer.abort();
        self.releaser().release().await
    }
}

/// Releases a lease from another task; releasing twice is harmless.
#[derive(Clone)]
pub struct Releaser(Arc<Shared>);

impl Releaser {
    /// Removes the lease tags if they are still ours.
    pub async fn release(&self) -> Result<(), LeaseError> {
        let s = &self.0;
        if s.released.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let Some(tags) = read_tags(&s.arm, &s.group).await? else {
            return Ok(());
        };
        match LeaseRecord::from_tags(&tags) {
            Some(r) if r.id == s.record.id => {
                write_tags(&s.arm, &s.group, Value::Object(without_lease(&tags))).await
            }
            _ => Ok(()),
        }
    }
}

/// Every third of `ttl`: push the expiry out, re-writing tags an apply replaced; stops when the
/// lease was released or someone else took it over.
async fn renew_until_released(s: Arc<Shared>, ttl: Duration) {
    let every = (ttl / 3).max(Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        if s.released.load(Ordering::SeqCst) {
            return;
        }
        let Ok(Some(tags)) = read_tags(&s.arm, &s.group).await else {
            tracing::warn!("could not read the lease on {} to renew it", s.group.name());
            continue;
        };
        match LeaseRecord::from_tags(&tags) {
            Some(r) if r.id != s.record.id => {
                tracing::warn!(
                    "the lease on resource group {} was taken over by {}",
                    s.group.name(),
                    r.describe()
                );
                return;
            }
            _ => {
                let renewed = LeaseRecord {
                    expires: Some(expires_at(Utc::now(), ttl)),
                    ..s.record.clone()
                };
                if write_tags(&s.arm, &s.group, renewed.merged_into(&tags))
                    .await
                    .is_err()
                {
                    tracing::warn!("could not renew the lease on {}", s.group.name());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn record(id: &str, expires: &str) -> LeaseRecord {
        LeaseRecord {
            id: id.into(),
            holder: "ana@ci pid 7 (gridform apply)".into(),
            since: Some(at("2030-01-01T00:00:00Z")),
            expires: Some(at(expires)),
        }
    }

    #[test]
    fn standing_decides_free_ours_expired_and_held() {
        let now = at("2030-01-01T00:05:00Z");
        assert_eq!(standing(None, "me", now), Standing::Free);
        let mine = record("me", "2030-01-01T00:10:00Z");
        assert_eq!(standing(Some(&mine), "me", now), Standing::Ours);
        let live = record("other", "2030-01-01T00:10:00Z");
        assert_eq!(
            standing(Some(&live), "me", now),
            Standing::Held(live.clone())
        );
        let lapsed = record("other", "2030-01-01T00:05:00Z");
        assert_eq!(
            standing(Some(&lapsed), "me", now),
            Standing::Expired(lapsed.clone())
        );
        let unreadable = LeaseRecord {
            expires: None,
            ..live
        };
        assert!(matches!(
            standing(Some(&unreadable), "me", now),
            Standing::Held(_)
        ));
    }

    #[test]
    fn lease_tags_round_trip_and_keep_other_tags() {
        let r = record("abc", "2030-01-01T00:10:00Z");
        let tags = r.merged_into(&json!({"team": "x", "gridform-lease": "old"}));
        assert_eq!(tags["team"], "x");
        assert_eq!(tags[LEASE_TAG], "abc");
        assert_eq!(tags[EXPIRES_TAG], "2030-01-01T00:10:00Z");
        assert_eq!(LeaseRecord::from_tags(&tags), Some(r.clone()));
        assert_eq!(Value::Object(without_lease(&tags)), json!({"team": "x"}));
        assert_eq!(LeaseRecord::from_tags(&json!({"team": "x"})), None);
        assert!(
            r.describe()
                .contains("ana@ci pid 7 (gridform apply), since 2030-01-01T00:00:00Z")
        );
    }

    #[test]
    fn the_lease_lives_on_the_stack_group_else_the_first_named_group() {
        let load = |yaml: &str| {
            let loaded =
                crate::manifest::parse_sources(&[("m.yaml".into(), yaml.to_string())], &|_| None);
            assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
            loaded.state.unwrap()
        };
        let head = "apiVersion: gridform/v1\nkind: Stack\nmetadata: {name: s1}\nspec: {subscriptionId: 00000000-0000-0000-0000-000000000001";
        let topic = "---\napiVersion: gridform/v1\nkind: Topic\nmetadata: {name: topic-t, resourceGroup: zz}\nspec: {location: westeurope}\n---\napiVersion: gridform/v1\nkind: Topic\nmetadata: {name: topic-u, resourceGroup: bb}\nspec: {location: westeurope}\n";
        let with_group = load(&format!("{head}, resourceGroup: main}}\n{topic}"));
        assert_eq!(
            lease_group(&with_group).unwrap().as_str(),
            "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/main"
        );
        let without = load(&format!("{head}}}\n{topic}"));
        assert_eq!(lease_group(&without).unwrap().name(), "bb");
    }

    #[test]
    fn expiry_saturates() {
        let now = at("2030-01-01T00:00:00Z");
        assert_eq!(
            expires_at(now, Duration::from_secs(600)),
            at("2030-01-01T00:10:00Z")
        );
        assert_eq!(expires_at(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
