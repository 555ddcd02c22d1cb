//! Planning partner configurations (authorize, renew), Auth0 log streams and partner topics
//! (wait for the partner, check its source, activate).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::spec::*;
use crate::model::{DesiredResource, ResourceSpec};
use crate::plan::build::auth0_streams;

impl Builder<'_> {
    /// The `PartnerConfiguration` document of resource group `rg`, if the manifests declare it.
    pub(super) fn declared_config_in(&self, rg: &str) -> Option<&DesiredResource> {
        self.desired.resources.iter().find(|d| {
            d.kind == ResourceKind::PartnerConfiguration
                && d.resource_group
                    .as_deref()
                    .is_some_and(|g| g.eq_ignore_ascii_case(rg))
        })
    }

    /// The planned action on the declared partner configuration of `rg`, if any.
    pub(super) fn config_action_in(&self, rg: &str) -> Option<usize> {
        self.declared_config_in(rg)
            .and_then(|d| self.dep(d.kind, &d.name))
    }

    pub(super) fn partner_configuration(
        &mut self,
        r: &DesiredResource,
        s: &PartnerConfigurationSpec,
    ) {
        let Some(id) = r.id.clone() else { return };
        let live = self.live.get(&id);
        let live_list: Vec<Value> = live
            .and_then(|l| l.pointer("/properties/partnerAuthorization/authorizedPartnersList"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut expiries = Vec::new();
        let mut auth_changes = Vec::new();
        let mut kind = ActionKind::Update;
        let mut reasons = Vec::new();
        for p in &s.partner_authorization.authorized_partners_list {
            // By immutable id when the manifest gives one, else by partner name.
            let live_entry =
                live_list
                    .iter()
                    .find(|e| match &p.partner_registration_immutable_id {
                        Some(id) => e["partnerRegistrationImmutableId"]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case(id)),
                        None => e["partnerName"]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case(&p.partner_name)),
                    });
            let live_expiry = live_entry
                .and_then(|e| e["authorizationExpirationTimeInUtc"].as_str())
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let (expiry, change): (DateTime<Utc>, Option<&str>) =
                match (&p.authorization_expiration_time_in_utc, p.valid_for) {
                    (Some(abs), _) => {
                        let want = DateTime::parse_from_rfc3339(abs)
                            .map(|t| t.with_timezone(&Utc))
                            .unwrap_or(self.opts.now);
                        (
                            want,
                            if live_expiry == Some(want) {
                                None
                            } else if live_entry.is_some() {
                                Some("renew")
                            } else {
                                Some("authorize")
                            },
                        )
                    }
                    (None, valid) => {
                        let valid = valid.map(|v| v.as_secs()).unwrap_or(7 * 86_400);
                        let renew = p.renew_before.map(|v| v.as_secs()).unwrap_or(valid / 4);
                        let fresh = self.opts.now + chrono::Duration::seconds(valid as i64);
                        match live_expiry {
                            None => (fresh, Some("authorize")),
                            Some(t)
                                if t - self.opts.now <= chrono::Duration::seconds(renew as i64) =>
                            {
                                (fresh, Some("renew"))
                            }
                            Some(t) => (t, None),
                        }
                    }
                };
            let text = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if let Some(what) = change {
                if what == "authorize" {
                    kind = ActionKind::Authorize;
                } else if kind != ActionKind::Authorize {
                    kind = ActionKind::Renew;
                }
                let left = live_expiry.map(|t| humanize(t - self.opts.now));
                reasons.push(match left {
                    Some(l) => format!("{} authorization expires in {l}", p.partner_name),
                    None => format!("{} is not authorized", p.partner_name),
                });
                auth_changes.push(Change {
                    path: format!(
                        "authorization[{}].authorizationExpirationTimeInUtc",
                        p.partner_name
                    ),
                    before: live_entry
                        .and_then(|e| e.get("authorizationExpirationTimeInUtc").cloned()),
                    after: Some(json!(text.clone())),
                    sensitive: false,
                    forces_replacement: false,
                });
            }
            expiries.push(text);
        }
        let rg = r.resource_group.as_deref().unwrap_or_default();
        let mut record = self.record_tags(&id, rg);
        record.extend(self.graph_record_tags(rg));
        let protect = ownership::protection_wanted(r.metadata.protect, r.kind, live);
        let owned = self.with_owned_tags(
            r,
            wire::partner_configuration(s, &expiries, self.stack),
            live,
            protect,
        );
        let body = auth0_streams::with_record_tags(owned, record);
        self.claimed.insert(id.clone());
        let deps = self.group_deps(r.resource_group.as_deref());
        let at = Locator::Id(id.clone());
        let (action_kind, mut changes) = match live {
            None => (ActionKind::Create, diff(r.kind, None, &body)),
            Some(l) => {
                let Some(adopting) = self.check_owner(r, l) else {
                    return;
                };
                let changes = diff(r.kind, Some(l), &body);
                let k = if adopting {
                    ActionKind::Adopt
                } else if changes.is_empty() {
                    kind
                } else {
                    ActionKind::Update
                };
                (k, changes)
            }
        };
        if live.is_some() {
            changes.extend(auth_changes);
        }
        if changes.is_empty() && live.is_some() {
            return;
        }
        let body = RequestBody::from(body);
        let i = self.push(
            action_kind,
            r,
            Some(id),
            changes,
            deps,
            Operation::Put { at, body },
        );
        if !reasons.is_empty() {
            self.actions[i].reason = Some(reasons.join("; "));
        }
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    pub(super) fn auth0_stream(&mut self, r: &DesiredResource, s: &Auth0LogStreamSpec) {
        let rg = r.resource_group.clone().unwrap_or_default();
        let body = wire::auth0_stream(&r.name, s, &self.desired.stack.spec.subscription_id, &rg);
        // The partner must be authorized before the stream asks it to create the topic.
        let mut deps: Vec<usize> = self
            .desired
            .resources
            .iter()
            .filter(|d| {
                d.kind == ResourceKind::PartnerConfiguration
                    && d.resource_group
                        .as_deref()
                        .is_some_and(|g| g.eq_ignore_ascii_case(&rg))
            })
            .filter_map(|d| self.dep(d.kind, &d.name))
            .collect();
        deps.extend(self.group_deps(Some(&rg)));
        let record = self.record_of(r);
        let Ok(live) = self.live_stream_of(r) else {
            return;
        };
        let Some(live) = live else {
            let changes = diff(r.kind, None, &body);
            let i = self.push(
                ActionKind::CreateLogStream,
                r,
                None,
                changes,
                deps,
                Operation::CreateLogStream { body, record },
            );
            self.ready.insert((r.kind, r.name.clone()), i);
            return;
        };
        let stream_id = live["id"].as_str().unwrap_or_default().to_string();
        let changes = stream_changes(live, &body);
        let requested = self.replace_requested(r);
        if changes.is_empty() && !requested {
            return;
        }
        let immutable = changes.iter().any(|c| c.forces_replacement);
        let (kind, op) = if immutable || requested {
            if r.metadata.protected() {
                self.error(r, format!("Auth0LogStream `{}` is protected but would be replaced (its type and sink are immutable in Auth0)", r.name), Some("revert the sink fields or drop `--replace`, or remove `metadata.protect`"));
                return;
            }
            (
                ActionKind::Replace,
                Operation::ReplaceLogStream {
                    stream_id,
                    body,
                    record,
                },
            )
        } else {
            let mut patch = stream_view(&body);
            if let Some(m) = patch.as_object_mut() {
                m.remove("sink");
                m.retain(|_, v| !v.is_null());
            }
            (
                ActionKind::Update,
                Operation::UpdateLogStream {
                    stream_id,
                    body: patch,
                },
            )
        };
        let i = self.push(kind, r, None, changes, deps, op);
        if requested && !immutable {
            self.actions[i].reason = Some(super::replace::REQUESTED.into());
        }
        self.ready.insert((r.kind, r.name.clone()), i);
    }

    /// The expected `source` of a partner topic: as declared, the Auth0 tenant, or the
    /// source Microsoft Graph stamps for the connected Graph application.
    pub(super) fn expected_source(&self, s: &PartnerTopicSpec) -> Option<String> {
        if let Some(e) = &s.expected_source {
            return Some(e.clone());
        }
        if s.from_graph_subscription.is_some() {
            return self.live.graph_source.clone();
        }
        let stream = self.desired.find(
            ResourceKind::Auth0LogStream,
            s.from_auth0_log_stream.as_deref()?,
        )?;
        let ResourceSpec::Auth0LogStream(st) = &stream.spec else {
            return None;
        };
        st.tenant_domain.clone().or_else(|| {
            self.desired
                .stack
                .spec
                .auth0
                .as_ref()
                .map(|a| a.tenant_domain.clone())
        })
    }

    pub(super) fn partner_topic(&mut self, r: &DesiredResource, s: &PartnerTopicSpec) {
        let rg = r.resource_group.clone().unwrap_or_default();
        let Some(expected) = self
            .expected_source(s)
            .or_else(|| s.from_graph_subscription.is_none().then(String::new))
        else {
            self.error(r, "the partner topic's expected source is unknown: no Microsoft Graph application is connected (it names the tenant and application Graph stamps as `source`)".into(),
                Some("give gridform Microsoft Graph credentials, or set `spec.expectedSource: /tenants/TENANT/applications/APPLICATION`"));
            return;
        };
        // Resolve the live topic: by name, or through the stream's sink; a Graph
        // subscription's topic has a known name and waits for the subscription's action.
        let (id, stream_dep) = match &s.from_auth0_log_stream {
            None => (
                r.id.clone(),
                s.from_graph_subscription
                    .as_deref()
                    .and_then(|g| self.dep(ResourceKind::GraphSubscription, g)),
            ),
            Some(stream) => {
                let topic_name = self
                    .live
                    .auth0_streams
                    .get(stream)
                    .and_then(|b| b.pointer("/sink/azurePartnerTopic"))
                    .and_then(Value::as_str);
                let stream_action = self.dep(ResourceKind::Auth0LogStream, stream);
                let replaced =
                    stream_action.is_some_and(|i| self.actions[i].kind == ActionKind::Replace);
                let id = topic_name.filter(|_| !replaced).map(|n| {
                    ResourceId::resource_group(&self.desired.stack.spec.subscription_id, &rg)
                        .provider_resource(EG, "partnerTopics", n)
                });
                (id, stream_action)
            }
        };
        let live = id.as_ref().and_then(|i| self.live.get(i));
        let at = match (&id, &s.from_auth0_log_stream) {
            (Some(i), _) => Locator::Id(i.clone()),
            (None, Some(stream)) => Locator::PartnerTopicOf {
                subscription_id: self.desired.stack.spec.subscription_id.clone(),
                stream: stream.clone(),
                resource_group: rg.clone(),
                child: None,
            },
            (None, None) => return,
        };
        if let Some(i) = &id {
            self.claimed.insert(i.clone());
        }
        let protect = ownership::protection_wanted(r.metadata.protect, r.kind, live);
        let tags = self.with_owned_tags(r, wire::partner_topic_tags(s, self.stack), live, protect);
        let want_active = s.activation_state == ActivationState::Activated;
        let Some(live) = live else {
            let mut deps: Vec<usize> = stream_dep.into_iter().collect();
            deps.extend(self.group_deps(Some(&rg)));
            deps.extend(self.config_action_in(&rg));
            let timeout_secs = s.wait_for_partner.map(|d| d.as_secs()).unwrap_or(600);
            let wait = self.push(
                ActionKind::WaitForPartner,
                r,
                id.clone(),
                vec![],
                deps,
                Operation::WaitForPartner {
                    at: at.clone(),
                    timeout_secs,
                    expected_source: expected.clone(),
                },
            );
            let mut last = wait;
            if want_active {
                last = self.push(
                    ActionKind::Activate,
                    r,
                    id.clone(),
                    vec![],
                    vec![wait],
                    Operation::SetActivation {
                        at,
                        activate: true,
                        expected_source: expected,
                        tags,
                    },
                );
            }
            self.ready.insert((r.kind, r.name.clone()), last);
            return;
        };
        let source = live
            .pointer("/properties/source")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !source.eq_ignore_ascii_case(&expected) {
            let hint = if s.from_graph_subscription.is_some() {
                "gridform activates a partner topic only when its source is the expected partner: another Microsoft Graph application (or tenant) created this one; give the GraphSubscription another `partnerTopic` (and the PartnerTopic that name), or check the Graph credentials (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`)"
            } else {
                "gridform activates a partner topic only when its source is the expected partner; check `spec.expectedSource` and the Auth0 tenant"
            };
            self.error(
                r,
                format!(
                    "partner topic `{}` has source `{source}`, expected `{expected}`",
                    id.as_ref().map(|i| i.name()).unwrap_or_default()
                ),
                Some(hint),
            );
            return;
        }
        let state = live
            .pointer("/properties/activationState")
            .and_then(Value::as_str)
            .unwrap_or("NeverActivated");
        let active = state.eq_ignore_ascii_case("Activated");
        let topic_name = id.as_ref().map(|i| i.name()).unwrap_or_default();
        let activating = want_active && !active;
        if let Some(w) = unactivated_expiry_warning(topic_name, live, self.opts.now, activating) {
            self.warnings.push(w);
        }
        let mut last = None;
        let deps: Vec<usize> = stream_dep.into_iter().collect();
        let tag_changes = diff(r.kind, Some(live), &tags);
        if active != want_active {
            let kind = if want_active {
                ActionKind::Activate
            } else {
                ActionKind::Deactivate
            };
            let changes = vec![Change {
                path: "properties.activationState".into(),
                before: Some(json!(state)),
                after: Some(json!(s.activation_state)),
                sensitive: false,
                forces_replacement: false,
            }]
            .into_iter()
            .chain(tag_changes)
            .collect();
            last = Some(self.push(
                kind,
                r,
                id.clone(),
                changes,
                deps,
                Operation::SetActivation {
                    at,
                    activate: want_active,
                    expected_source: expected,
                    tags,
                },
            ));
        } else if !tag_changes.is_empty() {
            // Taking over a topic someone else's partner flow created is an adopt, not an edit.
            let adopting = r.metadata.adopt
                && matches!(ownership_of(r.kind, live, self.stack), Ownership::Unmarked);
            let kind = if adopting {
                ActionKind::Adopt
            } else {
                ActionKind::Update
            };
            let tags = RequestBody::from(tags);
            last = Some(self.push(
                kind,
                r,
                id.clone(),
                tag_changes,
                deps,
                Operation::Patch { at, body: tags },
            ));
        }
        if let Some(l) = last {
            self.ready.insert((r.kind, r.name.clone()), l);
        }
    }
}

/// What gridform compares of a stream: status, filters, priority and the sink (without the
/// partner topic name Auth0 adds).
fn stream_view(b: &Value) -> Value {
    let mut sink = b["sink"].clone();
    if let Some(m) = sink.as_object_mut() {
        m.remove("azurePartnerTopic");
    }
    json!({
        "status": b["status"],
        "filters": b.get("filters").cloned().unwrap_or(json!([])),
        "isPriority": b.get("isPriority").cloned().unwrap_or(json!(false)),
        "sink": sink,
    })
}

/// The changes from a live stream to the desired body; `plan::immutable` marks those that
/// force a replacement (`type` is compared here: normalization drops envelope `type`s).
fn stream_changes(live: &Value, body: &Value) -> Vec<Change> {
    let kind = ResourceKind::Auth0LogStream;
    let mut changes = diff(kind, Some(&stream_view(live)), &stream_view(body));
    if let (Some(was), Some(want)) = (live["type"].as_str(), body["type"].as_str())
        && was != want
    {
        changes.insert(
            0,
            Change {
                path: "type".into(),
                before: Some(json!(was)),
                after: Some(json!(want)),
                sensitive: false,
                forces_replacement: super::super::immutable::forces_replacement(kind, "type"),
            },
        );
    }
    changes
}

/// Azure deletes a partner topic (and its channel) that is still `NeverActivated` at its
/// `expirationTimeIfNotActivatedUtc`; warn when that is within a day of `now` (server time).
pub(super) fn unactivated_expiry_warning(
    name: &str,
    live: &Value,
    now: DateTime<Utc>,
    activating: bool,
) -> Option<String> {
    let state = live
        .pointer("/properties/activationState")
        .and_then(Value::as_str)
        .unwrap_or("NeverActivated");
    if !state.eq_ignore_ascii_case("NeverActivated") {
        return None;
    }
    let expiry = live
        .pointer("/properties/expirationTimeIfNotActivatedUtc")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
        .with_timezone(&Utc);
    let left = expiry.signed_duration_since(now);
    if left > chrono::Duration::days(1) {
        return None;
    }
    let when = expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let what = if activating {
        "this plan activates it; apply before then"
    } else {
        "Azure deletes it and its channel then unless it is activated"
    };
    Some(format!(
        "partner topic `{name}` was never activated and expires at {when} (in {}): {what}",
        humanize(left)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    fn topic(state: &str, expiry: &str) -> Value {
        json!({"properties": {"activationState": state, "expirationTimeIfNotActivatedUtc": expiry}})
    }

    #[test]
    fn a_never_activated_topic_expiring_within_a_day_is_warned_about() {
        let now = at("2026-11-01T12:00:00Z");
        let soon = topic("NeverActivated", "2026-11-02T06:00:00Z");
        let w = unactivated_expiry_warning("t1", &soon, now, false).unwrap();
        assert!(w.contains("`t1`") && w.contains("in 18h"), "{w}");
        assert!(w.contains("unless it is activated"), "{w}");
        let w = unactivated_expiry_warning("t1", &soon, now, true).unwrap();
        assert!(w.contains("this plan activates it"), "{w}");
        let gone = topic("NeverActivated", "2026-11-01T11:00:00Z");
        let w = unactivated_expiry_warning("t1", &gone, now, false).unwrap();
        assert!(w.contains("expired"), "{w}");
    }

    #[test]
    fn no_warning_when_activated_or_far_off_or_unknown() {
        let now = at("2026-11-01T12:00:00Z");
        let later = topic("NeverActivated", "2026-11-02T12:00:01Z");
        assert_eq!(unactivated_expiry_warning("t", &later, now, false), None);
        let active = topic("Activated", "2026-11-01T13:00:00Z");
        assert_eq!(unactivated_expiry_warning("t", &active, now, false), None);
        let unknown = json!({"properties": {"activationState": "NeverActivated"}});
        assert_eq!(unactivated_expiry_warning("t", &unknown, now, false), None);
    }
}
