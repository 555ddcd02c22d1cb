//! Following a long-running operation to its end: the polling URL (never on another origin: the
//! bearer token would go with it), the pauses between polls (the server's `Retry-After`, the
//! stop signal), and reading the final state (`lro` classifies each answer). Part of
//! `ArmClient`'s `ArmApi` implementation (`ops`); it must not decide what to change.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{ArmClient, Call, Response};
use super::error::{ArmError, RequestTarget};
use super::lro::{self, Poll};
use super::ops::malformed;
use super::request::{api_version_for, same_origin};
use crate::model::ResourceId;
use crate::remote_http::retry::server_delay;

impl ArmClient {
    pub(super) fn poll_url(
        &self,
        raw: &str,
        target: &RequestTarget,
        resp: &Response,
    ) -> Result<url::Url, ArmError> {
        let url = self
            .base
            .join(raw)
            .map_err(|e| malformed(target, resp, format!("bad polling URL: {e}")))?;
        if !same_origin(&self.base, &url) {
            return Err(malformed(
                target,
                resp,
                format!(
                    "polling URL points at another host ({}); refusing to send the token there",
                    url.host_str().unwrap_or("?")
                ),
            ));
        }
        Ok(url)
    }

    pub(super) async fn get_raw(
        &self,
        url: url::Url,
        subscription: &str,
        target: &RequestTarget,
    ) -> Result<Response, ArmError> {
        self.send(Call {
            method: reqwest::Method::GET,
            url,
            subscription,
            target: target.clone(),
            body: None,
            idempotent: true,
        })
        .await
    }

    /// Sleeps `delay` between polls, or fails with `ArmError::Interrupted` as soon as the stop
    /// signal (`ArmClient::with_stop`) turns true.
    pub(super) async fn pause(
        &self,
        delay: Duration,
        target: &RequestTarget,
        status: &str,
    ) -> Result<(), ArmError> {
        let interrupted = || ArmError::Interrupted {
            target: target.clone(),
            status: status.to_string(),
        };
        let Some(mut stop) = self.stop.clone() else {
            tokio::time::sleep(delay).await;
            return Ok(());
        };
        if *stop.borrow() {
            return Err(interrupted());
        }
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        let signalled = tokio::select! {
            () = &mut sleep => return Ok(()),
            signalled = stop.wait_for(|s| *s) => signalled.is_ok(),
        };
        if signalled {
            return Err(interrupted());
        }
        // Nobody can signal any more: just wait.
        sleep.await;
        Ok(())
    }

    /// Follows a long-running operation started by `initial`. Returns the final body the
    /// operation produced, if it produced one (callers re-read the resource when they need it).
    pub(super) async fn follow(
        &self,
        id: &ResourceId,
        target: &RequestTarget,
        initial: Response,
        body: Option<Value>,
    ) -> Result<Option<Value>, ArmError> {
        let started = Instant::now();
        let cfg = &self.options.lro;
        let mut delay = cfg.interval(server_delay(&initial.headers, chrono::Utc::now()));
        let mut last_status = String::from("InProgress");
        let timeout = |status: &str| ArmError::OperationTimeout {
            target: target.clone(),
            status: status.to_string(),
            waited: started.elapsed(),
            ids: initial.ids.clone(),
        };
        match lro::classify(initial.status, &initial.headers, body.as_ref()) {
            Poll::Done => Ok(body),
            Poll::AsyncOperation(raw) => {
                let url = self.poll_url(&raw, target, &initial)?;
                loop {
                    if started.elapsed() + delay > cfg.deadline {
                        return Err(timeout(&last_status));
                    }
                    self.pause(delay, target, &last_status).await?;
                    let resp = self
                        .get_raw(url.clone(), id.subscription_id(), target)
                        .await?;
                    if !(200..300).contains(&resp.status) {
                        return Err(resp.to_error(target));
                    }
                    let op = lro::parse_operation_status(&resp.body)
                        .map_err(|reason| malformed(target, &resp, reason))?;
                    if lro::is_terminal(&op.status) {
                        if lro::is_success(&op.status) {
                            return Ok(None);
                        }
                        let err = op.error.unwrap_or(lro::OperationError {
                            code: None,
                            message: None,
                        });
                        return Err(ArmError::OperationFailed {
                            target: target.clone(),
                            status: op.status,
                            code: err.code.unwrap_or_else(|| "OperationFailed".into()),
                            message: err.message.unwrap_or_else(|| "(no message)".into()),
                            ids: initial.ids.clone(),
                        });
                    }
                    last_status = op.status;
                    delay = cfg.interval(server_delay(&resp.headers, chrono::Utc::now()));
                }
            }
            Poll::Location(raw) => {
                let url = self.poll_url(&raw, target, &initial)?;
                loop {
                    if started.elapsed() + delay > cfg.deadline {
                        return Err(timeout(&last_status));
                    }
                    self.pause(delay, target, &last_status).await?;
                    let resp = self
                        .get_raw(url.clone(), id.subscription_id(), target)
                        .await?;
                    match resp.status {
                        202 => {
                            last_status = "Accepted".into();
                            delay = cfg.interval(server_delay(&resp.headers, chrono::Utc::now()));
                        }
                        200..=299 => return resp.json(target),
                        _ => {
                            let env = crate::remote_http::parse_arm_error(resp.status, &resp.body);
                            return Err(ArmError::OperationFailed {
                                target: target.clone(),
                                status: "Failed".into(),
                                code: env.code,
                                message: env.message,
                                ids: resp.ids,
                            });
                        }
                    }
                }
            }
            Poll::ProvisioningState => loop {
                if started.elapsed() + delay > cfg.deadline {
                    return Err(timeout(&last_status));
                }
                self.pause(delay, target, &last_status).await?;
                let url = self.url_for(id.as_str(), api_version_for(id), &[])?;
                let resp = self.get_raw(url, id.subscription_id(), target).await?;
                if resp.status != 200 {
                    return Err(resp.to_error(target));
                }
                let body = resp
                    .json(target)?
                    .ok_or_else(|| malformed(target, &resp, "empty body"))?;
                match lro::provisioning_state(&body) {
                    Some(s) if lro::awaits_manual_action(s) => return Ok(Some(body)),
                    Some(s) if !lro::is_terminal(s) => {
                        last_status = s.to_string();
                        delay = cfg.interval(server_delay(&resp.headers, chrono::Utc::now()));
                    }
                    Some(s) if !lro::is_success(s) => {
                        let (code, message) = lro::failure_of_body(&body);
                        return Err(ArmError::OperationFailed {
                            target: target.clone(),
                            status: s.to_string(),
                            code,
                            message,
                            ids: initial.ids.clone(),
                        });
                    }
                    _ => return Ok(Some(body)),
                }
            },
        }
    }
}
