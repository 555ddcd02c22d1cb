//! The one integration-test binary (one link step instead of one per file).

mod schema;
mod secrets;
mod support;
mod validate_cases;
mod validate_cli;
