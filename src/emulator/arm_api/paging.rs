//! Paged ARM lists: `{"value": [...], "nextLink": ...}` honouring `$top` (1–100), `$skiptoken`
//! and the name-only `$filter` (`odata_filter`).
//!
//! It only slices lists the store produced; it must not read the store.

use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::arm_api::odata_filter::NameFilter;
use crate::emulator::arm_api::request::ArmRequest;
use crate::emulator::error::ArmApiError;
use crate::emulator::infra::http::ok_json;
use crate::emulator::store::StoreError;

/// One page of `items`; `path` (below the base URL) is where the `nextLink` points.
pub fn page(
    items: Vec<Value>,
    req: &ArmRequest<'_>,
    path: &str,
    default_top: usize,
) -> Result<Response, ArmApiError> {
    let top = top(req, default_top)?;
    let items = match req.query("$filter").filter(|f| !f.trim().is_empty()) {
        None => items,
        Some(text) => {
            let filter = NameFilter::parse(text)?;
            items
                .into_iter()
                .filter(|i| filter.matches(i["name"].as_str().unwrap_or_default()))
                .collect()
        }
    };
    let skip = req
        .query("$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let end = (skip + top).min(items.len());
    let value: Vec<Value> = items
        .get(skip.min(end)..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let mut out = json!({"value": value});
    if end < items.len() {
        out["nextLink"] = json!(next_link(req, path, top, end)?);
    }
    Ok(ok_json(out))
}

fn top(req: &ArmRequest<'_>, default_top: usize) -> Result<usize, ArmApiError> {
    let Some(t) = req.query("$top") else {
        return Ok(default_top);
    };
    match t.parse::<usize>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(StoreError::invalid(format!(
            "The value '{t}' of $top is invalid; it must be an integer between 1 and 100."
        ))
        .into()),
    }
}

/// The absolute URL of the next page: the same query with `$top` and `$skiptoken` replaced.
fn next_link(
    req: &ArmRequest<'_>,
    path: &str,
    top: usize,
    end: usize,
) -> Result<String, ArmApiError> {
    let mut link = url::Url::parse(&format!("{}{path}", req.ctx.base))
        .map_err(|e| ArmApiError::Internal(e.to_string()))?;
    {
        let mut q = link.query_pairs_mut();
        for (k, v) in &req.query {
            if !k.eq_ignore_ascii_case("$top") && !k.eq_ignore_ascii_case("$skiptoken") {
                q.append_pair(k, v);
            }
        }
        q.append_pair("$top", &top.to_string());
        q.append_pair("$skiptoken", &end.to_string());
    }
    Ok(link.to_string())
}
