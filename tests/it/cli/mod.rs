//! The real `gridform` binary: offline commands (validate, schema) and whole runs against the
//! in-process emulator.

mod auth0_streams;
mod ci_example;
mod contract;
mod dataplane;
mod e2e;
mod emit_graph;
mod examples;
mod export;
mod export_sdk;
mod fuzz_manifests;
mod graph_partner;
mod guarantees;
mod hostile_manifests;
mod hostile_server;
mod locking;
mod malformed_secrets;
mod ownership;
mod replace;
mod runs;
mod schema;
mod secrets;
mod validate;
mod validate_cases;
mod validate_json;
mod waits;
