//! `ArmRequest`: everything an ARM route handler needs about one request once the front door has
//! accepted it (method, subscription, query, parsed body, api-version, the store context).
//!
//! A plain value: it must not check tokens, throttle or touch the store.

use axum::body::Bytes;
use axum::http::Method;
use serde_json::Value;

use crate::emulator::arm_api::route::query;
use crate::emulator::error::ArmApiError;
use crate::emulator::instance::Emulator;
use crate::emulator::store::Ctx;

/// One accepted ARM request.
pub struct ArmRequest<'a> {
    /// The emulator serving it.
    pub emu: &'a Emulator,
    /// The HTTP method.
    pub method: Method,
    /// The subscription id from the path (empty for `/subscriptions` and tenant-level routes).
    pub subscription: String,
    /// The caller's tenant (the token's `tid`); `None` when the emulator does not check tokens.
    pub tenant: Option<String>,
    /// The query parameters in order.
    pub query: Vec<(String, String)>,
    /// The JSON body (`null` when empty).
    pub body: Value,
    /// The `api-version` sent, echoed into operation URLs.
    pub api_version: String,
    /// Time, base URL, LRO delay and whether the LRO must fail, for the store.
    pub ctx: Ctx,
}

impl ArmRequest<'_> {
    /// One query parameter, case-insensitively.
    pub fn query(&self, name: &str) -> Option<&str> {
        query(&self.query, name)
    }

    /// Whether the method only reads (GET, HEAD).
    pub fn is_read(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// Parses a JSON request body; empty means `null`. Bad JSON is an ARM-shaped 400.
pub fn parse_body(body: &Bytes) -> Result<Value, ArmApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        ArmApiError::InvalidBody(format!(
            "The request content was invalid and could not be deserialized: '{e}'."
        ))
    })
}
