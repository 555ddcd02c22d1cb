//! The executor: runs a `Plan` as a dependency graph against the ARM and Auth0 clients.
//!
//! Owns scheduling, bounded concurrency, domain waits (provider registered, partner topic
//! appeared) and the apply report. It talks to remote APIs only through `arm`/`auth0` and never
//! prints (it emits events that `cli` renders). Filled by the apply issue.
