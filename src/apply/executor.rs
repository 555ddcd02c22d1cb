//! Runs a plan: every action starts as soon as its own dependencies succeeded, at most
//! `parallelism` at once, never two on one resource; failures skip their dependents; an
//! interruption stops new starts, ends every wait (domain waits here, long-running operations
//! through the backend's own stop signal) and lets requests in flight finish.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::backend::{Backend, BackendError, BackendResult};
use super::failure::{Failure, PARTNER_HINT, check_source, fail, interrupted, provisioned};
use super::graph_record::{create_recorded_graph, delete_recorded_graph, replace_recorded_graph};
use super::scheduler::{NodeState, Scheduler};
use super::stream_record::{create_recorded_stream, forget_stream, record_stream};
use crate::model::ResourceId;
use crate::plan::auth0_record::CREATING;
use crate::plan::{Action, Locator, Operation, Plan};

/// Executor settings.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Actions running at once.
    pub parallelism: usize,
    /// Pause between polls of domain waits (provider registration, partner topic).
    pub poll_interval: Duration,
    /// Longest wait for a provider to become `Registered`.
    pub provider_timeout: Duration,
    /// Attempts per action when it fails transiently (every action is idempotent).
    pub attempts: u32,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            parallelism: 10,
            poll_interval: Duration::from_secs(5),
            provider_timeout: Duration::from_secs(600),
            attempts: 3,
        }
    }
}

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Succeeded,
    /// Failed.
    Failed(Failure),
    /// Not run: blocked by a failed action, or interrupted (`None`).
    Skipped {
        /// The failed action that blocked it.
        blocked_by: Option<usize>,
    },
}

/// Progress, as the executor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyEvent {
    /// Action `index` started.
    Started(usize),
    /// The partner of Auth0 stream `stream` named its partner topic: what was "known after
    /// apply" is known now.
    Learned {
        /// The Auth0 stream.
        stream: String,
        /// The partner topic's name.
        partner_topic: String,
    },
    /// Action `index` ended.
    Finished {
        /// Which.
        index: usize,
        /// How.
        outcome: Outcome,
        /// How long it ran.
        elapsed: Duration,
    },
}

/// The result of every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// `outcomes[i]` is the outcome of action `i`.
    pub outcomes: Vec<Outcome>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Partner topic names learned during the run (Auth0 stream → partner topic).
    pub partner_topics: BTreeMap<String, String>,
}

impl ApplyReport {
    /// Whether every action succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcomes.iter().all(|o| *o == Outcome::Succeeded)
    }
}

/// Partner topic names learned during the run (stream name → topic name).
pub(super) type Learned = Arc<Mutex<HashMap<String, String>>>;

/// Executes `plan` against `backend`. `stop` turning true stops new starts.
pub async fn execute<B: Backend>(
    plan: &Plan,
    backend: Arc<B>,
    opts: &ApplyOptions,
    mut stop: watch::Receiver<bool>,
    mut on_event: impl FnMut(&ApplyEvent),
) -> ApplyReport {
    let keys = plan.actions.iter().map(resource_key).collect();
    let mut sched = Scheduler::new(
        plan.actions.iter().map(|a| a.depends_on.clone()).collect(),
        keys,
    );
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.actions.len()];
    let learned: Learned = Arc::default();
    let mut running: JoinSet<(usize, Result<(), Failure>, Duration)> = JoinSet::new();
    let mut interrupted = false;
    let mut announced = BTreeMap::new();
    // A dropped sender means nobody can interrupt any more; stop watching it.
    let mut stop_closed = false;
    loop {
        if !interrupted && *stop.borrow() {
            interrupted = true;
            for i in sched.skip_pending() {
                outcomes[i] = Some(Outcome::Skipped { blocked_by: None });
                on_event(&ApplyEvent::Finished {
                    index: i,
                    outcome: Outcome::Skipped { blocked_by: None },
                    elapsed: Duration::ZERO,
                });
            }
        }
        if !interrupted {
            let free = opts.parallelism.max(1).saturating_sub(running.len());
            for i in sched.ready(free) {
                sched.start(i);
                on_event(&ApplyEvent::Started(i));
                let action = plan.actions[i].clone();
                let (backend, learned, opts) = (backend.clone(), learned.clone(), opts.clone());
                let ctx = RunCtx {
                    learned,
                    opts,
                    stop: stop.clone(),
                };
                running.spawn(run_with_retries(i, action, backend, ctx));
            }
        }
        if sched.done() {
            break;
        }
        let joined = tokio::select! {
            j = running.join_next() => j,
            changed = stop.changed(), if !interrupted && !stop_closed => {
                stop_closed = changed.is_err();
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (i, result, elapsed) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking task is a bug; find which action it was by elimination.
                let i = (0..outcomes.len())
                    .find(|i| *sched.state(*i) == NodeState::Running)
                    .unwrap_or(0);
                (
                    i,
                    Err(Failure {
                        message: format!("internal error: {e}"),
                        hint: None,
                        retryable: false,
                    }),
                    Duration::ZERO,
                )
            }
        };
        announce_learned(&learned, &mut announced, &mut on_event);
        let outcome = match result {
            Ok(()) => Outcome::Succeeded,
            Err(f) => Outcome::Failed(f),
        };
        for j in sched.finish(i, outcome == Outcome::Succeeded) {
            outcomes[j] = Some(Outcome::Skipped {
                blocked_by: Some(i),
            });
            on_event(&ApplyEvent::Finished {
                index: j,
                outcome: Outcome::Skipped {
                    blocked_by: Some(i),
                },
                elapsed: Duration::ZERO,
            });
        }
        on_event(&ApplyEvent::Finished {
            index: i,
            outcome: outcome.clone(),
            elapsed,
        });
        outcomes[i] = Some(outcome);
    }
    ApplyReport {
        outcomes: outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Skipped { blocked_by: None }))
            .collect(),
        interrupted,
        partner_topics: announced,
    }
}

/// Emits `ApplyEvent::Learned` for names learned since the last call (`announced` keeps them).
fn announce_learned(
    learned: &Learned,
    announced: &mut BTreeMap<String, String>,
    on_event: &mut impl FnMut(&ApplyEvent),
) {
    let now: Vec<(String, String)> = match learned.lock() {
        Ok(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Err(_) => return,
    };
    for (stream, partner_topic) in now {
        if announced.get(&stream) != Some(&partner_topic) {
            announced.insert(stream.clone(), partner_topic.clone());
            on_event(&ApplyEvent::Learned {
                stream,
                partner_topic,
            });
        }
    }
}

/// What a running action shares with the run.
struct RunCtx {
    learned: Learned,
    opts: ApplyOptions,
    stop: watch::Receiver<bool>,
}

/// Runs action `i`, again after transient failures (every action is idempotent), waiting a
/// little longer each time.
async fn run_with_retries<B: Backend>(
    i: usize,
    action: Action,
    backend: Arc<B>,
    mut ctx: RunCtx,
) -> (usize, Result<(), Failure>, Duration) {
    let t = Instant::now();
    let mut attempt = 1u32;
    let result = loop {
        match run_action(&action, backend.as_ref(), &mut ctx).await {
            Err(f) if f.retryable && attempt < ctx.opts.attempts.max(1) => {
                tracing::warn!(
                    action = i, attempt, error = %f.message,
                    "transient failure; trying the action again"
                );
                let wait = ctx.opts.poll_interval.saturating_mul(attempt);
                if pause(&mut ctx.stop, wait).await {
                    break Err(interrupted(&format!(
                        "waiting to try again after: {}",
                        f.message
                    )));
                }
                attempt += 1;
            }
            other => break other,
        }
    };
    (i, result, t.elapsed())
}

/// Sleeps `wait`; `true` (at once) when the stop signal is or turns true meanwhile.
pub(super) async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    let signalled = tokio::select! {
        () = &mut sleep => return false,
        signalled = stop.wait_for(|s| *s) => signalled.is_ok(),
    };
    if !signalled {
        // Nobody can signal any more: just wait.
        sleep.await;
    }
    signalled
}

/// `now + wait`, or a year from now when that does not fit (a deadline nobody reaches).
fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Actions on one resource never overlap: the key is the id, or the stream for deferred topics;
/// stream actions that write a record share the key of the partner configuration holding it.
fn resource_key(a: &Action) -> String {
    let record = match &a.operation {
        Operation::CreateLogStream { record, .. }
        | Operation::ReplaceLogStream { record, .. }
        | Operation::DeleteLogStream { record, .. }
        | Operation::CreateGraphSubscription { record, .. }
        | Operation::ReplaceGraphSubscription { record, .. }
        | Operation::DeleteGraphSubscription { record, .. } => record.as_ref(),
        _ => None,
    };
    match record.or(a.target.id.as_ref()) {
        Some(id) => id.as_str().to_ascii_lowercase(),
        None => format!("{}/{}", a.target.kind, a.target.name),
    }
}

async fn resolve<B: Backend>(
    at: &Locator,
    backend: &B,
    learned: &Learned,
) -> BackendResult<ResourceId> {
    let Some(stream) = at.stream() else {
        return at
            .resolve(None)
            .ok_or_else(|| BackendError::new("unresolvable target"));
    };
    let known = learned.lock().ok().and_then(|m| m.get(stream).cloned());
    let name = match known {
        Some(n) => n,
        None => backend
            .auth0_stream(stream)
            .await?
            .and_then(|s| {
                s.pointer("/sink/azurePartnerTopic")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                BackendError::new(format!(
                    "Auth0 stream `{stream}` has not named its partner topic yet"
                ))
            })?,
    };
    if let Ok(mut m) = learned.lock() {
        m.insert(stream.to_string(), name.clone());
    }
    at.resolve(Some(&name))
        .ok_or_else(|| BackendError::new("unresolvable target"))
}

async fn run_action<B: Backend>(
    action: &Action,
    backend: &B,
    ctx: &mut RunCtx,
) -> Result<(), Failure> {
    let learned = &ctx.learned;
    match &action.operation {
        Operation::Register {
            subscription_id,
            namespace,
        } => {
            backend
                .register_provider(subscription_id, namespace)
                .await
                .map_err(fail)?;
            let deadline = deadline_after(ctx.opts.provider_timeout);
            loop {
                let state = backend
                    .provider_state(subscription_id, namespace)
                    .await
                    .map_err(fail)?;
                if state.eq_ignore_ascii_case("Registered") {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    return Err(Failure {
                        message: format!(
                            "provider `{namespace}` is still `{state}` after {}s",
                            ctx.opts.provider_timeout.as_secs()
                        ),
                        hint: Some("registration can take minutes; run apply again later".into()),
                        retryable: false,
                    });
                }
                if pause(&mut ctx.stop, ctx.opts.poll_interval).await {
                    return Err(interrupted(&format!(
                        "waiting for provider `{namespace}` to be registered (still `{state}`)"
                    )));
                }
            }
        }
        Operation::Put { at, body } => {
            let id = resolve(at, backend, learned).await.map_err(fail)?;
            let done = backend.put(&id, &body.as_value()).await.map_err(fail)?;
            provisioned(action, &done)
        }
        Operation::Patch { at, body } => {
            let id = resolve(at, backend, learned).await.map_err(fail)?;
            backend.patch(&id, &body.as_value()).await.map_err(fail)
        }
        Operation::Replace { at, body } => {
            let id = resolve(at, backend, learned).await.map_err(fail)?;
            backend.delete(&id).await.map_err(fail)?;
            let done = backend.put(&id, &body.as_value()).await.map_err(fail)?;
            provisioned(action, &done)
        }
        Operation::Delete { at } => {
            let id = resolve(at, backend, learned).await.map_err(fail)?;
            if action.target.kind == crate::model::ResourceKind::PartnerTopic {
                // Stop the partner's events first; a topic already gone or inactive is fine.
                let _ = backend.post_action(&id, "deactivate").await;
            }
            backend.delete(&id).await.map_err(fail)
        }
        Operation::DeleteLogStream {
            stream_id, record, ..
        } => {
            backend.auth0_delete(stream_id).await.map_err(fail)?;
            match record {
                Some(r) => forget_stream(backend, r, &action.target.name, stream_id).await,
                None => Ok(()),
            }
        }
        Operation::WaitForPartner {
            at,
            timeout_secs,
            expected_source,
        } => wait_for_partner(at, *timeout_secs, expected_source, backend, ctx).await,
        Operation::SetActivation {
            at,
            activate,
            expected_source,
            tags,
        } => {
            let id = resolve(at, backend, learned).await.map_err(fail)?;
            let topic = backend
                .get(&id)
                .await
                .map_err(fail)?
                .ok_or_else(|| Failure {
                    message: format!("partner topic `{id}` does not exist"),
                    hint: None,
                    retryable: false,
                })?;
            check_source(&id, &topic, expected_source)?;
            backend
                .post_action(&id, if *activate { "activate" } else { "deactivate" })
                .await
                .map_err(fail)?;
            backend.patch(&id, tags).await.map_err(fail)
        }
        Operation::CreateLogStream { body, record } => {
            create_recorded_stream(body, record.as_ref(), backend, learned).await
        }
        Operation::UpdateLogStream { stream_id, body } => {
            backend.auth0_patch(stream_id, body).await.map_err(fail)
        }
        Operation::ReplaceLogStream {
            stream_id,
            body,
            record,
        } => {
            let name = body["name"].as_str().unwrap_or_default();
            if let Some(r) = record {
                record_stream(backend, r, name, CREATING).await?;
            }
            backend.auth0_delete(stream_id).await.map_err(fail)?;
            create_recorded_stream(body, record.as_ref(), backend, learned).await
        }
        Operation::CreateGraphSubscription {
            handle,
            body,
            record,
        } => create_recorded_graph(handle, body, record.as_ref(), backend).await,
        Operation::PatchGraphSubscription { graph_id, body } => backend
            .graph_patch(graph_id, body)
            .await
            .map(|_| ())
            .map_err(fail),
        Operation::ReplaceGraphSubscription {
            handle,
            graph_id,
            body,
            record,
        } => replace_recorded_graph(handle, graph_id, body, record.as_ref(), backend).await,
        Operation::DeleteGraphSubscription {
            graph_id, record, ..
        } => delete_recorded_graph(graph_id, record.as_ref(), backend).await,
        Operation::Recorded { .. } => Err(Failure {
            message: "a plan read back from a file for display has no requests to make".into(),
            hint: Some(
                "apply a saved plan with `gridform apply FILE`: it re-plans and checks".into(),
            ),
            retryable: false,
        }),
    }
}

/// Polls until the partner has created its topic (and its source matches), the stop signal
/// ends the wait, or `timeout_secs` pass.
async fn wait_for_partner<B: Backend>(
    at: &Locator,
    timeout_secs: u64,
    expected: &str,
    backend: &B,
    ctx: &mut RunCtx,
) -> Result<(), Failure> {
    let learned = &ctx.learned;
    let deadline = deadline_after(Duration::from_secs(timeout_secs));
    tracing::info!(
        stream = at.stream().unwrap_or_default(),
        timeout_secs,
        "waiting for the partner to create its partner topic"
    );
    loop {
        let id = match at.stream() {
            None => at.resolve(None),
            Some(stream) => backend
                .auth0_stream(stream)
                .await
                .map_err(fail)?
                .and_then(|s| {
                    s.pointer("/sink/azurePartnerTopic")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .and_then(|name| {
                    if let Ok(mut m) = learned.lock() {
                        m.insert(stream.to_string(), name.clone());
                    }
                    at.resolve(Some(&name))
                }),
        };
        if let Some(id) = id
            && let Some(topic) = backend.get(&id).await.map_err(fail)?
        {
            return check_source(&id, &topic, expected);
        }
        if Instant::now() >= deadline {
            return Err(Failure {
                message: format!(
                    "the partner did not create the partner topic within {timeout_secs}s"
                ),
                hint: Some(PARTNER_HINT.into()),
                retryable: false,
            });
        }
        if pause(&mut ctx.stop, ctx.opts.poll_interval).await {
            let what = match at.stream() {
                Some(stream) => format!("the partner topic of Auth0 stream `{stream}`"),
                None => at
                    .resolve(None)
                    .map(|id| format!("the partner topic `{}`", id.name()))
                    .unwrap_or_else(|| "the partner topic".into()),
            };
            return Err(interrupted(&format!("waiting for {what}")));
        }
    }
}
