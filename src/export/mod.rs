//! `gridform export`: an existing resource group's Event Grid setup (and the Auth0 log streams
//! that feed it) written as manifests that plan empty (docs/export.md).
//!
//! Three steps: `read` lists the live state as `plan`'s refresh does (plus the secret parts
//! GET hides), `build` turns it into documents and file texts without I/O, `write` puts them in
//! the directory (secrets only in `DIR/.env`). It never writes to Azure or Auth0, takes no
//! stack lease and prints nothing.

mod build;
mod convert;
mod graph;
mod read;
mod subscription;
mod write;
mod yaml_out;

#[cfg(test)]
mod graph_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::apply::remote::Remote;
use crate::model::ResourceKind;
use crate::model::live::RequestCounts;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The Azure subscription id.
    pub subscription: String,
    /// The resource group.
    pub resource_group: String,
    /// `--stack`: the stack whose resources (and the unowned ones) to export.
    pub stack: Option<String>,
    /// The output directory.
    pub out: PathBuf,
    /// Write into a non-empty directory.
    pub force: bool,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The stack name the manifests carry.
    pub stack: String,
    /// The files written (names inside the directory), `.env` included when there are secrets.
    pub files: Vec<String>,
    /// Documents per kind.
    pub counts: BTreeMap<ResourceKind, usize>,
    /// Documents with `adopt: true`.
    pub adopted: usize,
    /// Resources left out because another stack owns them (ARM ids).
    pub skipped: Vec<String>,
    /// The names of the secret variables (values only in `.env`).
    pub secret_names: Vec<String>,
    /// ARM requests spent.
    pub requests: RequestCounts,
    /// Microsoft Graph requests spent (0 when Graph was not read).
    pub graph_requests: u64,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The output directory holds files already.
    #[error("the output directory `{dir}` is not empty")]
    NotEmpty {
        /// The directory.
        dir: String,
    },
    /// The resource group does not exist.
    #[error("resource group `{group}` does not exist in subscription `{subscription}`")]
    NoGroup {
        /// The group.
        group: String,
        /// The subscription.
        subscription: String,
    },
    /// Several stacks own resources in the group and `--stack` was not given.
    #[error("resource group `{group}` holds resources of several stacks: {}", stacks.join(", "))]
    SeveralStacks {
        /// The group.
        group: String,
        /// The stacks found.
        stacks: Vec<String>,
    },
    /// ARM could not be read.
    #[error("{what}")]
    Arm {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<crate::arm::ArmError>,
    },
    /// Auth0 could not be read.
    #[error("{what}")]
    Auth0 {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<crate::auth0::Auth0ApiError>,
    },
    /// Microsoft Graph could not be read.
    #[error("{what}")]
    Graph {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: Box<crate::graph::GraphApiError>,
    },
    /// A file could not be written.
    #[error("{what} `{path}`")]
    Io {
        /// The path.
        path: String,
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML emitter failed.
    #[error("cannot render the exported documents as YAML")]
    Render,
}

impl ExportError {
    /// How to fix it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotEmpty { .. } => Some(
                "choose a new directory, or pass --force to write into it (files an earlier export wrote are replaced)".into(),
            ),
            Self::NoGroup { .. } => Some(
                "check --resource-group and --subscription (or AZURE_SUBSCRIPTION_ID)".into(),
            ),
            Self::SeveralStacks { stacks, .. } => Some(format!(
                "pass --stack NAME (one of: {}) to export that stack's resources and the unowned ones",
                stacks.join(", ")
            )),
            _ => None,
        }
    }
}

/// Reads the group through `remote` (a session's), builds the manifests and writes them to
/// `request.out`. `fallback_now` is used when no server response carried a `Date`.
pub async fn export(
    remote: &Remote,
    request: &ExportRequest,
    fallback_now: chrono::DateTime<chrono::Utc>,
) -> Result<ExportReport, ExportError> {
    write::check_target(&request.out, request.force)?;
    let snapshot = read::read_group(remote, &request.subscription, &request.resource_group).await?;
    let input = build::BuildInput {
        live: &snapshot.live,
        subscription: &request.subscription,
        group: &request.resource_group,
        stack: request.stack.as_deref(),
        auth0_domain: snapshot.auth0_domain.as_deref(),
        now: remote.arm.server_now().unwrap_or(fallback_now),
    };
    let exported = build::build(&input)?;
    let schema = serde_json::to_string_pretty(&crate::manifest::schema::manifest_schema())
        .map_err(|_| ExportError::Render)?;
    write::write_all(&request.out, &exported, &(schema + "\n"))?;
    let mut files: Vec<String> = exported.files.keys().cloned().collect();
    files.push(write::SCHEMA_FILE.into());
    files.push(".gitignore".into());
    if !exported.secrets.values.is_empty() {
        files.push(".env".into());
    }
    Ok(ExportReport {
        stack: exported.stack,
        files,
        counts: exported.counts,
        adopted: exported.adopted,
        skipped: exported.skipped,
        secret_names: exported.secrets.values.keys().cloned().collect(),
        requests: snapshot.live.requests,
        graph_requests: snapshot.graph_requests,
    })
}
