//! The emulator: its router driven without sockets, its golden shapes against the official
//! examples, its sockets and binary, and the ignored official-SDK conformance runs.

mod api;
mod dataplane;
mod golden;
mod hostile;
mod partner;
mod sdk;
mod sdk_dataplane;
mod serve;
mod state_db;
mod subscriptions;
