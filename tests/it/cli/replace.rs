//! Replacements with the real binary against the emulator: an immutable field plans `-/+` with
//! `# forces replacement` (and the emulator refuses the same change in place, as Azure does), a
//! replaced topic takes its subscriptions with it and the same apply recreates them,
//! `--replace KIND/NAME` forces a replacement; after each apply the next plan is empty.

use std::path::Path;

use gridform::model::ResourceId;
use serde_json::json;

use crate::support::{World, texts};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const API: &str = "api-version=2025-02-15";

const STACK: &str = "apiVersion: gridform/v1
kind: Stack
metadata: {name: repl}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: repl, location: westeurope}
---
apiVersion: gridform/v1
kind: ProviderRegistration
metadata: {name: Microsoft.EventGrid}
---
apiVersion: gridform/v1
kind: ResourceGroup
metadata: {name: repl}
";

const TOPIC: &str = "---
apiVersion: gridform/v1
kind: Topic
metadata: {name: orders}
";

fn subscription(name: &str, parent: &str, hook: &str) -> String {
    format!(
        "---\napiVersion: gridform/v1\nkind: EventSubscription\nmetadata: {{name: {name}}}\nspec:\n  topic: {parent}\n  destination: {{endpointType: WebHook, endpointUrl: '{hook}/{name}'}}\n"
    )
}

fn topic_id() -> ResourceId {
    ResourceId::resource_group(SUB, "repl").provider_resource(
        "Microsoft.EventGrid",
        "topics",
        "orders",
    )
}

struct Run<'a> {
    w: &'a World,
    dir: &'a Path,
}

impl Run<'_> {
    fn write(&self, text: &str) {
        std::fs::write(self.dir.join("m.yaml"), text).unwrap();
    }

    /// Runs and checks the exit code; stdout and stderr.
    fn ok(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self.w.run(self.dir, args);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\n{stdout}\n{stderr}"
        );
        (stdout, stderr)
    }

    fn apply(&self, extra: &[&str]) -> String {
        let mut args = vec!["apply", "--auto-approve", "m.yaml"];
        args.extend(extra);
        self.ok(&args, 0).0
    }

    fn plan_is_empty(&self) {
        let (out, _) = self.ok(&["plan", "--detailed-exitcode", "m.yaml"], 0);
        assert!(out.contains("No changes."), "{out}");
    }

    /// The `-/+` lines of a plan, trimmed, without the ARM id after the name.
    fn replacements(&self, plan: &str) -> Vec<String> {
        plan.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("-/+ "))
            .map(|l| match l.find(" (/subscriptions/") {
                Some(start) => {
                    let end = l[start..].find(')').map_or(l.len(), |e| start + e + 1);
                    format!("{}{}", &l[..start], &l[end..])
                }
                None => l.to_string(),
            })
            .collect()
    }
}

#[test]
fn adding_event_delivery_schema_plans_a_replacement_that_applies_and_converges() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Run {
        w: &w,
        dir: dir.path(),
    };
    // The emulator's own sink answers the CloudEvents handshake (OPTIONS) too.
    let hook = format!("{}/_emulator/sink", w.base_url);
    let parent = "{kind: Topic, name: orders}";
    let base = format!("{STACK}{TOPIC}{}", subscription("hook", parent, &hook));
    r.write(&base);
    r.apply(&[]);
    // The emulator refuses the change in place, as Azure does.
    let sub = topic_id().child("eventSubscriptions", "hook");
    let in_place = json!({"properties": {
        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": format!("{hook}/hook")}},
        "eventDeliverySchema": "CloudEventSchemaV1_0"}});
    assert_eq!(w.arm_put(&format!("{sub}?{API}"), &in_place).as_u16(), 400);

    r.write(&format!(
        "{base}  eventDeliverySchema: CloudEventSchemaV1_0\n"
    ));
    let (plan, _) = r.ok(&["plan", "--detailed-exitcode", "m.yaml"], 2);
    assert_eq!(
        r.replacements(&plan),
        ["-/+ replace EventSubscription `hook`"],
        "{plan}"
    );
    let schema_line = plan
        .lines()
        .find(|l| l.contains("properties.eventDeliverySchema"))
        .unwrap_or_default();
    assert!(
        schema_line.ends_with("# forces replacement"),
        "{schema_line}\n{plan}"
    );
    r.apply(&[]);
    r.plan_is_empty();
    let live = w.arm_get(&format!("{sub}?{API}"));
    assert_eq!(
        live["properties"]["eventDeliverySchema"], "CloudEventSchemaV1_0",
        "{live}"
    );
}

#[test]
fn changing_a_topic_input_schema_replaces_it_and_both_subscriptions() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Run {
        w: &w,
        dir: dir.path(),
    };
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let parent = "{kind: Topic, name: orders}";
    let subs = format!(
        "{}{}",
        subscription("first", parent, &hook),
        subscription("second", parent, &hook)
    );
    r.write(&format!("{STACK}{TOPIC}{subs}"));
    r.apply(&[]);
    let custom = format!("{TOPIC}spec: {{inputSchema: CustomEventSchema}}\n");
    r.write(&format!("{STACK}{custom}{subs}"));
    let (plan, _) = r.ok(&["plan", "--detailed-exitcode", "m.yaml"], 2);
    assert_eq!(
        r.replacements(&plan),
        [
            "-/+ replace Topic `orders`",
            "-/+ replace EventSubscription `first`  # replaced with its topic",
            "-/+ replace EventSubscription `second`  # replaced with its topic",
        ],
        "{plan}"
    );
    assert!(
        plan.lines()
            .any(|l| l.contains("properties.inputSchema") && l.ends_with("# forces replacement")),
        "{plan}"
    );
    r.apply(&[]);
    r.plan_is_empty();
    let topic = w.arm_get(&format!("{}?{API}", topic_id()));
    assert_eq!(topic["properties"]["inputSchema"], "CustomEventSchema");
    let listed = w.arm_get(&format!("{}/eventSubscriptions?{API}", topic_id()));
    let mut names: Vec<&str> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"], "{listed}");
}

#[test]
fn replace_flag_replaces_a_topic_and_its_subscriptions_and_names_unknown_targets() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Run {
        w: &w,
        dir: dir.path(),
    };
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let parent = "{kind: Topic, name: orders}";
    r.write(&format!(
        "{STACK}{TOPIC}{}{}",
        subscription("first", parent, &hook),
        subscription("second", parent, &hook)
    ));
    r.apply(&[]);
    let (plan, _) = r.ok(
        &[
            "plan",
            "--detailed-exitcode",
            "--replace",
            "Topic/orders",
            "m.yaml",
        ],
        2,
    );
    assert_eq!(
        r.replacements(&plan),
        [
            "-/+ replace Topic `orders`  # replacement requested",
            "-/+ replace EventSubscription `first`  # replaced with its topic",
            "-/+ replace EventSubscription `second`  # replaced with its topic",
        ],
        "{plan}"
    );
    let applied = r.apply(&["--replace", "Topic/orders"]);
    assert!(applied.contains("3 succeeded, 0 failed"), "{applied}");
    r.plan_is_empty();
    let listed = w.arm_get(&format!("{}/eventSubscriptions?{API}", topic_id()));
    assert_eq!(listed["value"].as_array().unwrap().len(), 2, "{listed}");

    // A name the manifests do not have is a usage error with the closest name.
    let (_, err) = r.ok(&["plan", "--replace", "Topic/ordrs", "m.yaml"], 64);
    assert!(err.contains("no Topic named `ordrs`"), "{err}");
    assert!(
        err.contains("did you mean `--replace Topic/orders`?"),
        "{err}"
    );
    let (_, err) = r.ok(&["apply", "--replace", "Topc/orders", "m.yaml"], 64);
    assert!(err.contains("did you mean `Topic`?"), "{err}");
}

#[test]
fn saved_plan_with_replace_reproduces_the_replacement() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Run {
        w: &w,
        dir: dir.path(),
    };
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    r.write(&format!(
        "{STACK}{TOPIC}{}",
        subscription("first", "{kind: Topic, name: orders}", &hook)
    ));
    r.apply(&[]);
    r.ok(
        &[
            "plan",
            "--replace",
            "Topic/orders",
            "--out",
            "p.json",
            "m.yaml",
        ],
        0,
    );
    let (_, err) = r.ok(&["apply", "--replace", "Topic/orders", "p.json"], 64);
    assert!(err.contains("cannot change a saved plan"), "{err}");
    let (out, _) = r.ok(&["apply", "p.json"], 0);
    assert!(out.contains("2 succeeded, 0 failed"), "{out}");
    r.plan_is_empty();
}

#[test]
fn changing_a_system_topic_source_replaces_it_and_its_subscription() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let r = Run {
        w: &w,
        dir: dir.path(),
    };
    let hook = format!("{}/runtime/webhooks/EventGrid", w.hook());
    let system = |signalr: &str| {
        format!(
            "---\napiVersion: gridform/v1\nkind: SystemTopic\nmetadata: {{name: presence}}\nspec:\n  source: /subscriptions/{SUB}/resourceGroups/repl/providers/Microsoft.SignalRService/SignalR/{signalr}\n  topicType: Microsoft.SignalRService.SignalR\n"
        )
    };
    let sub = subscription("connected", "{kind: SystemTopic, name: presence}", &hook);
    r.write(&format!("{STACK}{}{sub}", system("chat")));
    r.apply(&[]);
    r.write(&format!("{STACK}{}{sub}", system("chat2")));
    let (plan, _) = r.ok(&["plan", "--detailed-exitcode", "m.yaml"], 2);
    assert_eq!(
        r.replacements(&plan),
        [
            "-/+ replace SystemTopic `presence`",
            "-/+ replace EventSubscription `connected`  # replaced with its topic",
        ],
        "{plan}"
    );
    r.apply(&[]);
    r.plan_is_empty();
}

#[test]
fn auth0_sink_change_replaces_the_stream_and_recreates_subscriptions_on_the_new_partner_topic() {
    let w = World::start();
    let dir = tempfile::tempdir().unwrap();
    let set = crate::support::repo().join("manifests/auth0-partner");
    for e in std::fs::read_dir(&set).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let run = |args: &[&str], code: i32| {
        let out = w.run(dir.path(), args);
        let (stdout, stderr) = texts(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\n{stdout}\n{stderr}"
        );
        stdout
    };
    run(&["apply", "--auto-approve", "."], 0);
    let stream_topic = |w: &World| {
        let streams = w.auth0_get("/auth0/api/v2/log-streams");
        streams[0]["sink"]["azurePartnerTopic"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old_topic = stream_topic(&w);
    let auth0 = dir.path().join("auth0.yaml");
    let text = std::fs::read_to_string(&auth0).unwrap();
    std::fs::write(
        &auth0,
        text.replace("azureRegion: westeurope", "azureRegion: northeurope"),
    )
    .unwrap();
    let plan = run(&["plan", "--detailed-exitcode", "."], 2);
    let with_topic: Vec<&str> = plan
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("-/+ replace EventSubscription")
                && l.ends_with("# replaced with its topic")
        })
        .collect();
    assert_eq!(with_topic.len(), 2, "{plan}");
    assert!(
        plan.contains("-/+ replace Auth0LogStream `azure-events`"),
        "{plan}"
    );
    assert!(
        plan.lines()
            .any(|l| l.contains("sink.azureRegion") && l.ends_with("# forces replacement")),
        "{plan}"
    );
    run(&["apply", "--auto-approve", "."], 0);
    let new_topic = stream_topic(&w);
    assert_ne!(new_topic, old_topic);
    let after = run(&["plan", "--detailed-exitcode", "."], 0);
    assert!(after.contains("No changes."), "{after}");
    let subs = w.arm_get(&format!(
        "/subscriptions/{SUB}/resourceGroups/identity-events/providers/Microsoft.EventGrid/partnerTopics/{new_topic}/eventSubscriptions?{API}"
    ));
    assert_eq!(subs["value"].as_array().map(Vec::len), Some(2), "{subs}");
}
