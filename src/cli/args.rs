//! The command line, as clap derive types. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::model::ResourceKind;
use crate::model::duration::parse_flag_duration;

/// Declarative Azure Event Grid partner setups: validate, plan and apply YAML manifests.
#[derive(Debug, Parser)]
#[command(name = "gridform", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output on stderr (repeat for more: -v info, -vv debug, -vvv trace).
    #[arg(global = true, short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less output on stderr (no progress).
    #[arg(global = true, short, long, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// When to use color on stderr/stdout; `NO_COLOR` set means never unless `always`.
    #[arg(global = true, long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// ARM endpoint to talk to instead of the cloud's (e.g. a running emulator).
    #[arg(global = true, long, env = "GRIDFORM_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Azure cloud whose ARM endpoint and authority to use.
    #[arg(global = true, long, value_enum, env = "GRIDFORM_CLOUD", default_value_t = Cloud::AzureCloud)]
    pub cloud: Cloud,
    /// How to get Azure credentials.
    #[arg(global = true, long, value_enum, env = "GRIDFORM_AUTH", default_value_t = AuthFlag::Auto)]
    pub auth: AuthFlag,
    /// Use a running emulator (ARM, token endpoint and Auth0 API) at this base URL.
    #[arg(
        global = true,
        long,
        env = "GRIDFORM_EMULATOR_URL",
        value_name = "URL",
        conflicts_with = "emulator"
    )]
    pub emulator_url: Option<String>,
    /// Use the embedded emulator, with its state kept under `.gridform/`.
    #[arg(global = true, long)]
    pub emulator: bool,
    /// How long to wait for another run's stack lease or emulator state lock (e.g. `30s`,
    /// `10m`); 0 fails at once, naming the holder (see docs/locking.md).
    #[arg(global = true, long, value_name = "DUR", default_value = "0s", value_parser = parse_flag_duration)]
    pub lock_timeout: std::time::Duration,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when the output is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// `--cloud`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "verbatim")]
#[allow(clippy::enum_variant_names)] // The values are Azure's cloud names, as `az cloud list` spells them.
pub enum Cloud {
    /// Azure public cloud (`https://management.azure.com`).
    AzureCloud,
    /// Azure US Government.
    AzureUSGovernment,
    /// Azure China (21Vianet).
    AzureChinaCloud,
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthFlag {
    /// Client secret, workload identity, managed identity or the az CLI, from the environment.
    Auto,
    /// The az CLI's signed-in account.
    Cli,
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `AZURE_FEDERATED_TOKEN_FILE` (GitHub Actions / Kubernetes OIDC).
    WorkloadIdentity,
    /// The managed identity of the machine or app service.
    ManagedIdentity,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text.
    Human,
    /// Versioned JSON (see docs/plan-json.md).
    Json,
    /// Markdown for pull-request comments.
    Markdown,
}

/// Output formats of `validate` (and of manifest problems under `plan --format json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// `path:line:col: error: message` lines on stderr.
    Human,
    /// One JSON document on stdout (see docs/validate-json.md), the lines on stderr too.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline and report every problem (no credentials needed).
    Validate(ValidateArgs),
    /// Compare manifests with the live state and print what apply would change.
    Plan(PlanArgs),
    /// Apply manifests (plans first and asks), or apply a saved plan file.
    Apply(ApplyArgs),
    /// Delete everything this stack owns, in reverse dependency order.
    Destroy(DestroyArgs),
    /// Report every difference between manifests and live state that plan would act on or
    /// refuse over (exit 2 when there is drift).
    Drift(DriftArgs),
    /// Show a saved plan (`show FILE`), or the stack's live resources (`show [PATH...]`).
    Show(ShowArgs),
    /// Write manifests for existing resources.
    Export(ExportArgs),
    /// Publish a test event to a topic.
    Publish(PublishArgs),
    /// Check end to end that events flow to each subscription.
    Verify(VerifyArgs),
    /// Remove a stale stack lease left by a crashed apply or destroy (asks first).
    Unlock(UnlockArgs),
    /// Print the JSON Schema (draft 2020-12) of the manifest format.
    Schema,
    /// Run or drive the local emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
}

/// Manifest paths (files or directories); the current directory when none are given.
#[derive(Debug, Args)]
pub struct PathsArgs {
    /// Manifest files or directories (every `*.yaml`/`*.yml` below them).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// `gridform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (every `*.yaml`/`*.yml` below them).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: `json` also prints every problem as JSON on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

/// `gridform drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format (`json` is the JSON plan of docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
}

/// `gridform plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Save the plan to this file for `gridform apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read webhook URLs and secret delivery attributes to catch out-of-band changes.
    #[arg(long)]
    pub refresh_secrets: bool,
    /// Replace this resource even though nothing forces it (repeatable), e.g. `Topic/orders`.
    #[arg(long, value_name = "KIND/NAME", value_parser = parse_replace_address)]
    pub replace: Vec<(ResourceKind, String)>,
}

/// `gridform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifest files or directories, or one saved plan file.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// How many operations run at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Replace this resource even though nothing forces it (repeatable), e.g. `Topic/orders`.
    #[arg(long, value_name = "KIND/NAME", value_parser = parse_replace_address)]
    pub replace: Vec<(ResourceKind, String)>,
}

/// `gridform show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// One saved plan file, or manifest files or directories.
    #[arg(value_name = "FILE|PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format on stdout (markdown only for saved plans).
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
}

/// `gridform destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Manifest files or directories (they name the stack).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

/// `gridform unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The stack's name (`metadata.name` of its `Stack` document), to confirm which lease goes.
    #[arg(value_name = "STACK")]
    pub stack: String,
    /// Manifest files or directories (they name the stack's resource group).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// `gridform export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Resource group to export.
    #[arg(long, value_name = "NAME")]
    pub resource_group: String,
    /// Azure subscription id.
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID", value_name = "ID")]
    pub subscription: Option<String>,
    /// The stack name the manifests get; with several stacks in the group, the one to export
    /// (with the unowned resources). Default: the group's only stack, else the group's name.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
    /// Directory to write the manifests (and `.env`, `.gitignore`) into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write into a non-empty directory (files an earlier export wrote are replaced).
    #[arg(long)]
    pub force: bool,
}

/// `gridform publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The `Topic` document (metadata.name) to publish to.
    #[arg(long)]
    pub topic: Option<String>,
    /// A JSON file with the event(s) to send as they are (an array, or one object).
    #[arg(long, value_name = "EVENTS.json", conflicts_with_all = ["data", "event_type", "subject"])]
    pub file: Option<PathBuf>,
    /// The `data` of a single generated event (JSON).
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
    /// The event type of the generated event.
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// The subject of the generated event.
    #[arg(long, value_name = "SUBJECT")]
    pub subject: Option<String>,
}

/// `gridform verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Manifest files or directories.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How long to wait for each canary to be delivered (e.g. `10s`).
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_flag_duration)]
    pub timeout: std::time::Duration,
}

/// `gridform emulator emit ...`.
#[derive(Debug, Subcommand)]
pub enum EmitCommand {
    /// Make the simulated Auth0 publish a log event to the stream's activated partner topic.
    Auth0(EmitAuth0Args),
    /// Make a SignalR service emit a ClientConnection event to its system topic(s).
    Signalr(EmitSignalrArgs),
    /// Make Microsoft Graph send a change notification (or the reauthorization lifecycle
    /// event) of a Graph subscription to its activated partner topic.
    Graph(EmitGraphArgs),
}

/// `gridform emulator emit graph`.
#[derive(Debug, Args)]
pub struct EmitGraphArgs {
    /// The Graph subscription id.
    #[arg(long, value_name = "GRAPH_ID")]
    pub subscription: String,
    /// The change: `created`, `updated` or `deleted`.
    #[arg(long, value_name = "CHANGE", default_value = "updated",
          value_parser = ["created", "updated", "deleted"], conflicts_with = "reauthorization_required")]
    pub change_type: String,
    /// The changed resource (default `Users/<a new GUID>`).
    #[arg(
        long,
        value_name = "RESOURCE",
        conflicts_with = "reauthorization_required"
    )]
    pub resource: Option<String>,
    /// Send `Microsoft.Graph.SubscriptionReauthorizationRequired` instead of a change.
    #[arg(long)]
    pub reauthorization_required: bool,
}

/// `gridform emulator emit auth0`.
#[derive(Debug, Args)]
pub struct EmitAuth0Args {
    /// The log stream (name or id).
    #[arg(long, value_name = "NAME")]
    pub stream: String,
    /// Auth0 log event type code (e.g. `s`, `f`, `slo`).
    #[arg(long = "type", value_name = "CODE", default_value = "s")]
    pub code: String,
}

/// `gridform emulator emit signalr`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("state").required(true).args(["connected", "disconnected"])))]
pub struct EmitSignalrArgs {
    /// ARM id of the SignalR service (the system topic's source).
    #[arg(long, value_name = "ID")]
    pub source: String,
    /// Emit `Microsoft.SignalRService.ClientConnectionConnected`.
    #[arg(long)]
    pub connected: bool,
    /// Emit `Microsoft.SignalRService.ClientConnectionDisconnected`.
    #[arg(long)]
    pub disconnected: bool,
    /// Hub name (the subject is `/hub/{hub}`).
    #[arg(long, default_value = "chat")]
    pub hub: String,
}

/// `gridform emulator ...`.
#[derive(Debug, Subcommand)]
pub enum EmulatorCommand {
    /// Serve the emulator until SIGINT/SIGTERM; the first stdout line is its base URL.
    Serve(EmulatorServeArgs),
    /// Make a partner or an Azure source emit events (needs `--emulator-url` or `--emulator`).
    #[command(subcommand)]
    Emit(EmitCommand),
}

/// `gridform emulator serve`.
#[derive(Debug, Args)]
pub struct EmulatorServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: String,
    /// File that keeps the emulator's state between runs.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Latency added to every request (e.g. `50ms`, `1s`).
    #[arg(long, value_name = "DUR", value_parser = parse_flag_duration)]
    pub latency: Option<std::time::Duration>,
    /// How long long-running operations take.
    #[arg(long, value_name = "DUR", value_parser = parse_flag_duration)]
    pub lro_delay: Option<std::time::Duration>,
    /// ARM throttling: `arm` (ARM's limits), `off`, or `READS,WRITES,DELETES` per minute.
    #[arg(long, value_name = "MODE")]
    pub throttle: Option<String>,
    /// Fault injection spec (see docs/emulator.md).
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Seed for ids, keys and fault injection.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Serve HTTPS with a self-signed certificate.
    #[arg(long)]
    pub tls: bool,
    /// Divide Event Grid's delivery retry schedule and response timeout by this factor.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Folder for dead-lettered events (default: `deadletter/` next to `--state`).
    #[arg(long, value_name = "DIR")]
    pub dead_letter_dir: Option<PathBuf>,
}

/// Parses `--replace KIND/NAME`: a kind that can be replaced, a slash, a `metadata.name`.
pub fn parse_replace_address(text: &str) -> Result<(ResourceKind, String), String> {
    let replaceable = crate::plan::REPLACEABLE_KINDS.map(ResourceKind::as_str);
    let expected = format!(
        "expected KIND/NAME with KIND one of {}",
        replaceable.join(", ")
    );
    let Some((kind, name)) = text
        .split_once('/')
        .filter(|(k, n)| !k.is_empty() && !n.is_empty())
    else {
        return Err(expected);
    };
    match crate::plan::REPLACEABLE_KINDS
        .iter()
        .find(|k| k.as_str() == kind)
    {
        Some(k) => Ok((*k, name.to_string())),
        None => Err(match crate::manifest::did_you_mean(kind, &replaceable) {
            Some(m) => format!(
                "`{kind}` is not a kind that can be replaced (did you mean `{m}`?); {expected}"
            ),
            None => format!("`{kind}` is not a kind that can be replaced; {expected}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_address_is_a_replaceable_kind_and_a_name() {
        assert_eq!(
            parse_replace_address("Topic/orders"),
            Ok((ResourceKind::Topic, "orders".into()))
        );
        assert_eq!(
            parse_replace_address("EventSubscription/a/b"),
            Ok((ResourceKind::EventSubscription, "a/b".into()))
        );
        let typo = parse_replace_address("Topc/orders").unwrap_err();
        assert!(typo.contains("did you mean `Topic`?"), "{typo}");
        let group = parse_replace_address("ResourceGroup/rg").unwrap_err();
        assert!(group.contains("not a kind that can be replaced"), "{group}");
        for bad in ["orders", "Topic/", "/orders"] {
            assert!(
                parse_replace_address(bad)
                    .unwrap_err()
                    .starts_with("expected KIND/NAME")
            );
        }
    }
}
