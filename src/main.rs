//! The `gridform` binary: everything lives in the library; this only hands over to `cli`.

fn main() -> std::process::ExitCode {
    gridform::cli::main()
}
