//! The JSON Schema of the manifest format, generated from the `model::spec` types.

/// The whole schema (draft 2020-12).
pub fn manifest_schema() -> serde_json::Value {
    serde_json::json!({})
}
