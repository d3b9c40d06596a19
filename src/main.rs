fn main() -> std::process::ExitCode {
    narvaro::cli::main()
}
