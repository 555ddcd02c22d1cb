//! `GET /metadata/endpoints`: the cloud description `az cloud register` reads (without
//! `--skip-endpoint-discovery`) and SDKs use to find a cloud's login endpoint and audience.
//! Every endpoint points at the emulator's own base URL; the audience is ARM's public one, which
//! the emulator accepts.
//!
//! No token, no store. api-version 2022-09-01 and later (and none) answer this cloud's object;
//! 2019-05-01 up to 2022-09-01 a list of one, as ARM does.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use crate::emulator::arm_api::route::{query, query_pairs};
use crate::emulator::infra::http::{base_url, ok_json};
use crate::emulator::instance::Emulator;

/// The cloud's name in `az cloud list` unless the user registers it under another.
pub const CLOUD_NAME: &str = "GridformEmulator";

/// The handler for `GET /metadata/endpoints`.
pub async fn endpoints(State(emu): State<Emulator>, uri: Uri, headers: HeaderMap) -> Response {
    let cloud = cloud(&base_url(&emu, &headers));
    let pairs = query_pairs(&uri);
    let version = query(&pairs, "api-version").unwrap_or_default();
    if ("2019-05-01".."2022-09-01").contains(&version) {
        return ok_json(json!([cloud]));
    }
    ok_json(cloud)
}

fn cloud(base: &str) -> Value {
    json!({
        "name": CLOUD_NAME,
        "portal": base,
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": format!("{base}/"),
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": base,
        "graphAudience": "https://graph.windows.net/",
        "graph": format!("{base}/graph/"),
        "batch": "https://batch.core.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "sqlManagement": format!("{base}/sql/"),
        "gallery": format!("{base}/gallery/"),
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "suffixes": {
            "storage": "storage.gridform.invalid",
            "keyVaultDns": "vault.gridform.invalid",
            "acrLoginServer": "azurecr.gridform.invalid",
            "sqlServerHostname": "database.gridform.invalid",
        },
    })
}
