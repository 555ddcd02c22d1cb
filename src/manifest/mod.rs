//! Manifests: YAML files → typed desired state, with every problem reported at once.
//!
//! Owns file discovery, the positioned YAML tree, `${env:…}` interpolation, schema validation,
//! semantic checks and `Diagnostic`s that name file, line and column. Reads files only in `load`;
//! never talks to the network and knows nothing of ARM wire shapes.

pub mod schema;
