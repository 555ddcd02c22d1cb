//! `EndpointUrl`: a webhook URL whose query string is secret (it usually carries a function key).

use std::fmt;

use super::secret::{REDACTED, Sensitive};

/// A webhook `endpointUrl`: the base (scheme, host, path) prints, the query string never does.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    base: String,
    query: Option<Sensitive<String>>,
}

impl EndpointUrl {
    /// Splits `text` at the first `?`.
    pub fn new(text: &str) -> Self {
        match text.split_once('?') {
            Some((base, query)) => Self {
                base: base.to_string(),
                query: Some(Sensitive::new(query.to_string())),
            },
            None => Self {
                base: text.to_string(),
                query: None,
            },
        }
    }

    /// Scheme, host and path: what ARM returns as `endpointBaseUrl`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Whether a (secret) query string is present.
    pub fn has_query(&self) -> bool {
        self.query.is_some()
    }

    /// The whole URL including the secret query, for the request that sends it to ARM.
    pub fn expose(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{}", self.base, q.expose()),
            None => self.base.clone(),
        }
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.query {
            Some(_) => write!(f, "{}?{REDACTED}", self.base),
            None => f.write_str(&self.base),
        }
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointUrl({self})")
    }
}

impl serde::Serialize for EndpointUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.expose())
    }
}

impl<'de> serde::Deserialize<'de> for EndpointUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self::new(&s))
    }
}

impl schemars::JsonSchema for EndpointUrl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EndpointUrl".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[hH][tT][tT][pP][sS]?://",
            "description": "https:// URL (http:// only for loopback hosts); the query string is secret",
            "x-message": "an `https://` URL (`http://` only for loopback hosts)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_hidden_but_sent() {
        let url = EndpointUrl::new("https://fn.example.net/api/hook?code=canary-91");
        assert_eq!(url.base(), "https://fn.example.net/api/hook");
        assert_eq!(
            url.to_string(),
            "https://fn.example.net/api/hook?(sensitive)"
        );
        assert!(!format!("{url:?}").contains("canary"));
        assert_eq!(
            url.expose(),
            "https://fn.example.net/api/hook?code=canary-91"
        );
    }
}
