//! The emulator: its router driven without sockets, its golden shapes against the official
//! examples, its sockets and binary, and the ignored official-SDK and client (az, JavaScript)
//! conformance runs.

mod api;
mod client_surface;
mod clients;
mod dataplane;
mod golden;
mod graph;
mod graph_partner;
mod handshake;
mod hostile;
mod lro_hints;
mod partner;
mod rejections;
mod sdk;
mod sdk_dataplane;
mod semantics;
mod serve;
mod state_db;
mod subscriptions;
mod topic_names;
