use std::io::Write;
use std::process::ExitCode;

extern "C" {
    /// POSIX `_exit`: ends the process without the C libraries' exit handlers.
    fn _exit(status: i32) -> !;
}

fn main() -> ExitCode {
    let code = narvaro::cli::main();
    if code == ExitCode::SUCCESS {
        // Everything the run held is dropped by now (the server drained on SIGTERM). What
        // is left are the C libraries' exit handlers, where OpenSSL's cleanup can race a
        // pool thread still inside libpq and abort a clean stop (diesel-rs/diesel#3441), so
        // a successful run ends without them.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // SAFETY: `_exit` takes a plain status and never returns; nothing of Rust's is left
        // to run (the buffers are flushed above).
        unsafe { _exit(0) }
    }
    code
}
