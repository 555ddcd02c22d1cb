//! One file per subcommand: parse, call the library, render.

pub mod apply;
pub mod common;
pub mod destroy;
pub mod drift;
pub mod emit;
pub mod emulator;
pub mod export;
pub mod plan;
pub mod publish;
pub mod schema;
pub mod show;
pub mod unlock;
pub mod validate;
pub mod verify;
