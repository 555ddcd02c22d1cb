//! The webhook validation handshake against raw TCP receivers: a close-delimited HTTP/1.0 answer
//! without `Content-Length` (as Python's `http.server` writes) validates, and each way of failing
//! (refused connection, bad status, wrong echo, a body cut short) says what happened, without
//! the URL's query string. A complete echo on a connection the receiver leaves open validates
//! without waiting for the close.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::router::{EG, Harness, eg_path};

/// Reads one HTTP request (headers, then `Content-Length` bytes of body): the body as JSON.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Value {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended before its headers");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended before its body");
        buf.extend_from_slice(&chunk[..n]);
    }
    serde_json::from_slice(&buf[header_end..header_end + length]).unwrap_or(Value::Null)
}

/// A receiver that answers one request with `answer(validation code)` written raw, then closes
/// the connection: its URL.
async fn raw_receiver(answer: fn(&str) -> String) -> String {
    receiver(answer, false).await
}

/// As [`raw_receiver`]; with `keep_open` the connection stays open until the client closes it
/// (Python's `http.server` with `protocol_version = "HTTP/1.1"` and no `Content-Length`).
async fn receiver(answer: fn(&str) -> String, keep_open: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let body = read_request(&mut stream).await;
        let code = body[0]["data"]["validationCode"]
            .as_str()
            .unwrap_or_default();
        stream.write_all(answer(code).as_bytes()).await.unwrap();
        if keep_open {
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
        } else {
            stream.shutdown().await.unwrap();
        }
    });
    format!("http://{addr}/hook?code=s3cret-query")
}

/// A loopback URL whose port refuses connections.
async fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://user:s3cret-pw@{addr}/hook?code=s3cret-query#s3cret-fragment")
}

async fn harness() -> Harness {
    let h = Harness::new().await;
    h.setup().await;
    let (s, _, b) = h
        .put(
            &format!("{}?{EG}", eg_path("rg", "topics/orders")),
            json!({"location": "westus2"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    h
}

/// PUTs a webhook subscription `name` to `url`: status and body.
async fn subscribe(h: &Harness, name: &str, url: &str) -> (StatusCode, Value) {
    let body = json!({"properties": {"destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}}}});
    let path = eg_path("rg", &format!("topics/orders/eventSubscriptions/{name}"));
    let (s, _, b) = h.put(&format!("{path}?{EG}"), body).await;
    (s, b)
}

/// The `Url validation` message of a failed handshake (asserting it hides the query).
fn failure_message(status: StatusCode, body: &Value) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "Url validation", "{body}");
    let message = body["error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("Webhook validation handshake failed for http://127.0.0.1:")
            && !message.contains("s3cret"),
        "{message}"
    );
    message
}

#[tokio::test]
async fn a_close_delimited_answer_without_content_length_validates() {
    let h = harness().await;
    let url = raw_receiver(|code| {
        format!(
            "HTTP/1.0 200 OK\r\nServer: BaseHTTP/0.6 Python/3.12\r\nContent-Type: application/json\r\n\r\n{{\"validationResponse\": \"{code}\"}}"
        )
    })
    .await;
    let (s, b) = subscribe(&h, "python", &url).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["properties"]["provisioningState"], "Succeeded", "{b}");
}

#[tokio::test]
async fn a_complete_echo_on_a_connection_left_open_validates() {
    let h = harness().await;
    let answer = |code: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{{\"validationResponse\": \"{code}\"}}"
        )
    };
    let url = receiver(answer, true).await;
    let (s, b) = subscribe(&h, "keepalive", &url).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["properties"]["provisioningState"], "Succeeded", "{b}");
}

#[tokio::test]
async fn a_refused_connection_says_so() {
    let h = harness().await;
    let (s, b) = subscribe(&h, "refused", &refusing_url().await).await;
    let message = failure_message(s, &b);
    assert!(message.contains("connection was refused"), "{message}");
}

#[tokio::test]
async fn a_bad_status_names_it() {
    let h = harness().await;
    let url = raw_receiver(|_| "HTTP/1.0 503 Service Unavailable\r\n\r\nbusy".into()).await;
    let (s, b) = subscribe(&h, "busy", &url).await;
    let message = failure_message(s, &b);
    assert!(message.contains("response code 503"), "{message}");
    assert!(!message.contains("refused"), "{message}");
}

#[tokio::test]
async fn a_wrong_code_and_a_cut_body_say_what_was_wrong() {
    let h = harness().await;
    let url = raw_receiver(|_| {
        "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"validationResponse\": \"nope\"}"
            .into()
    })
    .await;
    let (s, b) = subscribe(&h, "wrong", &url).await;
    let message = failure_message(s, &b);
    assert!(
        message.contains("did not echo the validationCode"),
        "{message}"
    );

    // Content-Length promises more than arrives before the close.
    let url = raw_receiver(|_| {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"valid"
            .into()
    })
    .await;
    let (s, b) = subscribe(&h, "cut", &url).await;
    let message = failure_message(s, &b);
    assert!(message.contains("body could not be read"), "{message}");
}
