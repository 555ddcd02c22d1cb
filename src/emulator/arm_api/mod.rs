//! The ARM surface: `/subscriptions/...` for Microsoft.Resources (subscriptions, providers,
//! resource groups, locations) and Microsoft.EventGrid (with its tenant-level catalogs), with
//! long-running operations and paged lists, and `/metadata/endpoints`.
//!
//! `front_door` accepts a request (token, api-version, throttling, faults) and `handlers` sends it
//! to one module per route family. Resource semantics live in `store`; statuses of failures are
//! chosen in `emulator::error`. It must not share types with the client's `crate::arm`.

pub mod aggregate_lists;
pub mod catalog;
pub mod event_subscriptions;
pub mod eventgrid_resources;
pub mod front_door;
pub mod groups;
pub mod handlers;
pub mod locations;
pub mod metadata;
pub mod odata_filter;
pub mod operations;
pub mod paging;
pub mod providers;
pub mod request;
pub mod route;
pub mod validate_location;
pub mod validate_resource;
pub mod validate_subscription;
