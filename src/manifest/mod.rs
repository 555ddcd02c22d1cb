//! Manifests: YAML files → typed desired state, with every problem reported at once.
//!
//! Owns file discovery, the positioned YAML tree, `${env:…}` interpolation, schema validation,
//! semantic checks and `Diagnostic`s that name file, line and column. Reads files only in `load`;
//! never talks to the network and knows nothing of ARM wire shapes.

pub(crate) mod check;
pub(crate) mod declared;
pub(crate) mod diagnostic;
mod graph_checks;
pub(crate) mod interpolate;
mod keywords;
pub(crate) mod load;
#[cfg(test)]
mod scale_tests;
pub(crate) mod schema;
pub(crate) mod semantic;
mod typing;
mod walk;
mod words;
pub use words::did_you_mean;
pub(crate) mod yaml;

pub use diagnostic::{Diagnostic, Severity};
/// Microsoft Graph's partner name and immutable id (also read by `export`).
pub(crate) use graph_checks::{GRAPH_PARTNER_ID, GRAPH_PARTNER_NAME};
pub use load::{Loaded, load, parse_sources};

/// Reads `${env:…}` from the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads `paths` like [`load`] and records every variable the manifests read, with its value
/// (`None`: unset), in the order first read: what a saved plan pins.
pub fn load_recording(
    paths: &[std::path::PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> (Loaded, Vec<(String, Option<String>)>) {
    let seen: std::cell::RefCell<Vec<(String, Option<String>)>> = Default::default();
    let recording = |name: &str| {
        let value = env(name);
        let mut seen = seen.borrow_mut();
        if !seen.iter().any(|(n, _)| n == name) {
            seen.push((name.to_string(), value.clone()));
        }
        value
    };
    let loaded = load(paths, &recording);
    (loaded, seen.into_inner())
}
