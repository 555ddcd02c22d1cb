//! The typed desired-state model: resource ids, secrets, durations, the spec of every manifest
//! kind (ARM property names verbatim), and the live state as read.
//!
//! Plain data: no I/O, no tokio, no HTTP, no YAML positions (those belong to `manifest`).

pub mod desired;
pub mod duration;
pub mod graph;
pub mod graph_url;
pub mod id;
pub mod live;
pub mod secret;
pub mod spec;
pub mod subscription;
pub mod url;

pub use desired::{
    DesiredResource, DesiredState, Metadata, Origin, ResourceKind, ResourceSpec, Stack,
};
pub use duration::Duration;
pub use id::{EVENT_GRID_NAMESPACE, ResourceId};
pub use live::LiveState;
pub use secret::Sensitive;
