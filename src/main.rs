//! The `gridform` binary: everything lives in the library; this only hands over to `cli`.
//!
//! It also picks the process's allocator (mimalloc, see Cargo.toml for why); the library does
//! not choose one, so embedders and tests keep theirs.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gridform::cli::main()
}
