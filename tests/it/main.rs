//! The one integration-test binary (one link step instead of one per file). Modules by what
//! they drive: `arm` the ARM/Auth0 clients, `emulator` the emulator's routers and sockets, `cli`
//! the real `gridform` binary; `support` holds the shared helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod architecture;
mod arm;
mod bench_smoke;
mod cli;
mod emulator;
mod support;
