//! What a remote client accepts from a server it does not trust: the redirect rule and the cap on
//! response bodies, shared by every client (ARM, the token endpoint, Auth0, the data plane).
//!
//! Owns [`redirect_policy`] (installed on every client-side `reqwest::Client`) and
//! [`read_body`] (a response read chunk by chunk, stopped at [`MAX_BODY_BYTES`]). It must not
//! retry, log or know any API's paths; the messages it builds name origins and paths, never a
//! query string.

/// The largest response body read (4 MiB): ARM list pages of 100 items are a few hundred KiB,
/// every other answer smaller still.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Same-origin hops followed before giving up.
const MAX_SAME_ORIGIN_HOPS: usize = 5;

/// The redirect rule of every remote client: a redirect to another origin (scheme, host, port)
/// is refused — the request's token and body would follow it. A same-origin 307/308 is followed
/// (method and body unchanged, to the server that already had them, at most 5 hops); a 301, 302
/// or 303 is refused, because following it would turn a PUT or POST into a GET whose answer the
/// caller would take for the write's.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let refusal = attempt
            .previous()
            .last()
            .and_then(|from| refuse_redirect(from, attempt.url(), attempt.status().as_u16()));
        match refusal {
            Some(message) => attempt.error(message),
            None if attempt.previous().len() > MAX_SAME_ORIGIN_HOPS => {
                attempt.error(format!("more than {MAX_SAME_ORIGIN_HOPS} redirects"))
            }
            None => attempt.follow(),
        }
    })
}

/// Why a redirect from `from` to `to` with `status` is refused; `None` to follow it. Pure.
pub fn refuse_redirect(from: &url::Url, to: &url::Url, status: u16) -> Option<String> {
    let (a, b) = (from.origin(), to.origin());
    if a != b {
        return Some(format!(
            "refusing to follow a redirect ({status}) from {} to another origin {}",
            a.ascii_serialization(),
            b.ascii_serialization()
        ));
    }
    (!matches!(status, 307 | 308)).then(|| {
        format!(
            "refusing to follow a redirect ({status}) from {} to {}: it would change the method",
            from.path(),
            to.path()
        )
    })
}

/// Whether a transport error is a refused redirect (final: retrying gets the same answer).
pub fn is_refused_redirect(e: &reqwest::Error) -> bool {
    e.is_redirect()
}

/// Reads a response's body chunk by chunk, failing once it exceeds `limit` bytes; `what` (method
/// and path, no query string) names the request in that error. `Err(Ok(message))` is a body over
/// the limit, `Err(Err(e))` a transport error.
pub async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
    what: &str,
) -> Result<Vec<u8>, Result<String, reqwest::Error>> {
    if let Some(len) = resp.content_length()
        && usize::try_from(len).map_or(true, |l| l > limit)
    {
        return Err(Ok(too_large(what, limit)));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Err)? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(Ok(too_large(what, limit)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(what: &str, limit: usize) -> String {
    format!(
        "the response to {what} exceeds the {} MiB limit on response bodies",
        limit / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn another_origin_is_refused_naming_both_origins_without_queries() {
        let from = url("https://management.azure.com/subscriptions/s?api-version=1&sig=secret");
        for to in [
            "https://evil.example/x?code=secret",
            "http://management.azure.com/x",
            "https://management.azure.com:8443/x",
        ] {
            let m = refuse_redirect(&from, &url(to), 307).unwrap();
            assert!(m.contains("another origin"), "{m}");
            assert!(m.contains("from https://management.azure.com to "), "{m}");
            assert!(!m.contains("secret"), "{m}");
        }
    }

    #[test]
    fn same_origin_307_and_308_are_followed_other_redirects_refused() {
        let from = url("https://a.example/x");
        assert_eq!(
            refuse_redirect(&from, &url("https://a.example/y"), 307),
            None
        );
        assert_eq!(
            refuse_redirect(&from, &url("https://a.example/y"), 308),
            None
        );
        for status in [301, 302, 303] {
            let m = refuse_redirect(&from, &url("https://a.example/y?s=1"), status).unwrap();
            assert!(m.contains("change the method") && !m.contains("s=1"), "{m}");
        }
    }
}
