//! `gridform emulator emit auth0|graph|signalr`: make the emulator's simulated Auth0 (a log
//! event to the stream's activated partner topic), Microsoft Graph (a change notification or the
//! reauthorization lifecycle event to the Graph subscription's activated partner topic) or an
//! Azure SignalR service (a `ClientConnection*` event to its system topics) emit an event,
//! through the data-plane client's controls.

use std::time::Duration;

use super::common::Ctx;
use crate::cli::args::EmitCommand;
use crate::cli::exit::{ExitStatus, Hinted};
use crate::dataplane::{self, EmulatorControls, events};

/// Runs `gridform emulator emit ...`.
pub fn run(cmd: &EmitCommand, ctx: &Ctx) -> anyhow::Result<ExitStatus> {
    if !ctx.target.is_emulator() {
        return Err(Hinted {
            message: "`gridform emulator emit` needs an emulator".into(),
            hint: "pass `--emulator-url URL` (a running `gridform emulator serve`) or `--emulator`"
                .into(),
        }
        .into());
    }
    let session = ctx
        .rt
        .block_on(crate::session::Session::open(ctx.target, None))?;
    let http = dataplane::http_client()?;
    let base = session.emulator_base.clone().unwrap_or_default();
    let controls = EmulatorControls::new(http, &base);
    let id = uuid::Uuid::new_v4().to_string();
    let now = dataplane::event_time(chrono::Utc::now());
    let (what, queued) = match cmd {
        EmitCommand::Auth0(a) => {
            let event = events::auth0_event(&a.code, &id, &now);
            let what = format!("auth0.log.{} on stream `{}`", a.code, a.stream);
            (
                what,
                ctx.rt.block_on(controls.emit_auth0(&a.stream, &event)),
            )
        }
        EmitCommand::Graph(g) => {
            let event = if g.reauthorization_required {
                events::graph_reauthorization_event(&id, &now)
            } else {
                let resource = g
                    .resource
                    .clone()
                    .unwrap_or_else(|| format!("Users/{}", uuid::Uuid::new_v4()));
                events::graph_event(&g.change_type, &resource, &id, &now)
            };
            let kind = event["type"].as_str().unwrap_or_default();
            let what = format!("{kind} for Graph subscription `{}`", g.subscription);
            (
                what,
                ctx.rt
                    .block_on(controls.emit_graph(&g.subscription, &event)),
            )
        }
        EmitCommand::Signalr(s) => {
            let event = events::signalr_event(&s.source, &s.hub, s.connected, &id, &now);
            let kind = event["eventType"].as_str().unwrap_or_default();
            let what = format!("{kind} from `{}`", s.source);
            (
                what,
                ctx.rt.block_on(controls.emit_system(&s.source, &event)),
            )
        }
    };
    ctx.close(session, Duration::from_secs(5))?;
    let n = queued?;
    ctx.printer.data(&format!(
        "Emitted {what} (event id {id}); {n} delivery batch(es) queued.\n"
    ));
    Ok(ExitStatus::Success)
}
