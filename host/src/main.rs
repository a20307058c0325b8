//! The `wmf` command line.
fn main() -> std::process::ExitCode {
    eprintln!("wmf: the command line is being built");
    std::process::ExitCode::FAILURE
}
