//! The one integration-test binary (one link step instead of one per file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod bench_smoke;
mod dataplane;
mod e2e;
mod guarantees;
mod schema;
mod secrets;
mod support;
mod validate_cases;
mod validate_cli;
