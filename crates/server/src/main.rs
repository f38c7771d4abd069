//! The `kiku` binary: parses the command line and runs the chosen subcommand.

fn main() -> std::process::ExitCode {
    kiku::cli::main()
}
