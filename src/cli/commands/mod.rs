//! One file per subcommand: load, call the library, render.

pub mod apply;
pub mod destroy;
pub mod drift;
pub mod emit;
pub mod emulator;
pub mod plan;
pub mod publish;
pub mod schema;
pub mod session;
pub mod validate;
pub mod verify;
