//! One file per subcommand: load, call the library, render.

pub mod emulator;
pub mod schema;
pub mod validate;
