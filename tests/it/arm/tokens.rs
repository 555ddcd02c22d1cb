//! Token lifetimes: a token the server stops accepting is replaced once, for ARM and Auth0,
//! against the emulator whose clock is moved past the tokens' expiry.

use crate::support::World;
use crate::support::scripted_server::{Resp, SUB, client, fast_options, serve};
use gridform::arm::connect::connect_with_env;
use gridform::arm::{ArmApi, ConnectSettings};
use gridform::auth0::Auth0Client;
use gridform::model::ResourceId;
use serde_json::json;

#[tokio::test]
async fn expired_tokens_are_replaced_after_the_emulator_clock_jumps() {
    let emu = World::start();
    let conn = connect_with_env(
        ConnectSettings {
            emulator_url: Some(emu.base_url.clone()),
            options: fast_options(),
            ..Default::default()
        },
        &|_| None,
    )
    .unwrap();
    let rg = ResourceId::resource_group(SUB, "rg");
    assert!(conn.arm.get(&rg).await.unwrap().is_none());
    let a0 = Auth0Client::from_env(conn.http.clone(), &|_| None, conn.emulator.as_ref()).unwrap();
    assert!(a0.list_log_streams().await.unwrap().is_empty());

    // Two hours later on the emulator's clock: every token it issued has expired.
    let moved = conn
        .http
        .post(format!("{}/_emulator/clock", emu.base_url))
        .json(&json!({"advanceSeconds": 7200}))
        .send()
        .await
        .unwrap();
    assert!(moved.status().is_success());

    assert!(conn.arm.get(&rg).await.unwrap().is_none());
    assert!(a0.list_log_streams().await.unwrap().is_empty());
    emu.shutdown().unwrap();
}

#[tokio::test]
async fn a_fixed_token_that_is_rejected_is_an_error_not_a_loop() {
    let srv = serve(|_, _| {
        Resp::json(
            401,
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}),
        )
    })
    .await;
    let arm = client(&srv.base, fast_options());
    let err = arm
        .get(&ResourceId::resource_group(SUB, "rg"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.code(), Some("InvalidAuthenticationToken"));
    assert_eq!(srv.requests().len(), 1);
}
