//! The real `gridform` binary: offline commands (validate, schema) and whole runs against the
//! in-process emulator.

mod contract;
mod dataplane;
mod e2e;
mod guarantees;
mod runs;
mod schema;
mod secrets;
mod validate;
mod validate_cases;
mod waits;
