//! `Sensitive<T>`: a value that must never be printed by accident.
//!
//! `Debug` and `Display` show `(sensitive)`; serialization writes the value (it goes to ARM), so
//! the type must never reach a renderer or a saved plan; those use digests instead.

use std::fmt;

/// The placeholder printed in place of a secret value.
pub const REDACTED: &str = "(sensitive)";

/// A secret value (webhook query strings, secret delivery attributes, keys, tokens).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the few places that send it to an API. The name makes each use
    /// easy to find in review.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T: serde::Serialize> serde::Serialize for Sensitive<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Sensitive<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Sensitive<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        true
    }
}

/// Replaces every occurrence of each secret in `text` with `(sensitive)`: the last line of
/// defence for text built from values that are secret only because of where they came from.
pub fn scrub(text: &str, secrets: &[Sensitive<String>]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.0.is_empty() {
            out = out.replace(s.0.as_str(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Sensitive::new("canary-7f3a".to_string());
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(
            format!("{:#?}", Some(&s)),
            format!("Some(\n    {REDACTED},\n)")
        );
        assert_eq!(s.expose(), "canary-7f3a");
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let secrets = [
            Sensitive::new("k3y".to_string()),
            Sensitive::new(String::new()),
        ];
        assert_eq!(
            scrub("a k3y and k3y", &secrets),
            "a (sensitive) and (sensitive)"
        );
    }
}
