//! `gridform destroy`: delete everything this stack owns, in reverse dependency order, never an
//! unmanaged or protected resource.

use crate::cli::args::{DestroyArgs, GlobalArgs, PlanFormat};
use crate::cli::exit::ExitStatus;
use crate::cli::output::Printer;
use crate::model::{DesiredState, ResourceKind};
use crate::plan::{self};

use super::apply::{confirm, execute_plan};
use super::session::{Session, check_plan_errors, load, plan_options};

/// The desired state of a destroy: only what is protected (and the provider registrations,
/// which gridform never removes) stays.
pub fn destroy_target(desired: &DesiredState) -> DesiredState {
    let mut kept = desired.clone();
    kept.resources
        .retain(|r| r.metadata.protect || r.kind == ResourceKind::ProviderRegistration);
    kept
}

/// Runs `destroy`.
pub fn run(
    args: &DestroyArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let desired = load(&args.paths, printer)?;
    let session = Session::open(global, &desired)?;
    let live = session.read_live(&desired, false)?;
    let target = destroy_target(&desired);
    let mut p = plan::plan(&target, &live, &plan_options(false));
    // Only deletions: a destroy never creates or changes anything.
    p.actions.retain(|a| a.kind == plan::ActionKind::Delete);
    for (i, a) in p.actions.iter_mut().enumerate() {
        a.index = i;
        a.depends_on.clear();
    }
    let deletes = p.actions.len();
    reorder_children_first(&mut p);
    // The Auth0 streams the manifests declare go last, after the partner topics they feed.
    for r in desired
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Auth0LogStream && !r.metadata.protect)
    {
        let Some(stream_id) = live
            .auth0_streams
            .get(&r.name)
            .and_then(|s| s["id"].as_str())
        else {
            continue;
        };
        let index = p.actions.len();
        p.actions.push(plan::Action {
            index,
            kind: plan::ActionKind::Delete,
            target: plan::Target {
                kind: r.kind,
                name: r.name.clone(),
                id: None,
            },
            changes: vec![],
            depends_on: (0..deletes).collect(),
            reason: Some("declared by this stack".into()),
            operation: plan::Operation::Auth0Delete {
                stream_id: stream_id.to_string(),
            },
        });
    }
    check_plan_errors(&p)?;
    if p.actions.is_empty() {
        printer.data(&format!(
            "Nothing to destroy: stack `{}` owns no resources.\n",
            desired.stack.name
        ));
        session.close()?;
        return Ok(ExitStatus::Success);
    }
    printer.status(&super::plan::render(
        &p,
        PlanFormat::Human,
        printer.color_stderr,
        &desired.secret_values,
    )?);
    if !confirm(
        printer,
        &format!("Destroy everything stack `{}` owns?", desired.stack.name),
        args.auto_approve,
    )? {
        session.close()?;
        anyhow::bail!("destroy cancelled");
    }
    let status = execute_plan(&session, &p, 10, printer, "Destroy", &desired.secret_values);
    session.close()?;
    status
}

/// Subscriptions before their topics: each parent's delete waits for its children's.
fn reorder_children_first(p: &mut plan::Plan) {
    let ids: Vec<Option<crate::model::ResourceId>> =
        p.actions.iter().map(|a| a.target.id.clone()).collect();
    for (i, a) in p.actions.iter_mut().enumerate() {
        let Some(id) = &ids[i] else { continue };
        a.depends_on = ids
            .iter()
            .enumerate()
            .filter(|(_, child)| child.as_ref().and_then(|c| c.parent()).as_ref() == Some(id))
            .map(|(j, _)| j)
            .collect();
    }
}
