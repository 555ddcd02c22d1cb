//! Manifests: YAML files → typed desired state, with every problem reported at once.
//!
//! Owns file discovery, the positioned YAML tree, `${env:…}` interpolation, schema validation,
//! semantic checks and `Diagnostic`s that name file, line and column. Reads files only in `load`;
//! never talks to the network and knows nothing of ARM wire shapes.

pub mod check;
pub mod diagnostic;
pub mod interpolate;
pub mod load;
pub mod schema;
pub mod semantic;
mod words;
pub mod yaml;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{Loaded, load, parse_sources};

/// Reads `${env:…}` from the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
