//! Bad configuration and bad databases: one clear line, a non-zero exit, never a panic,
//! never a half-migrated database.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use narvaro::config::DatabaseUrl;

use crate::helpers::{backends, run_binary, Kind, TestDb, TEST_SECRET};

/// Asserts a failed start: non-zero, no panic, one line on stderr that names `var`.
fn assert_clear_failure(out: &std::process::Output, var: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(lines[0].contains(var), "names {var}: {stderr}");
    stderr
}

#[test]
fn bad_values_name_their_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("DATABASE_URL", "mysql://root@localhost/x")],
            "DATABASE_URL",
        ),
        (
            &[("DATABASE_URL", "/no/such/folder/narvaro.db")],
            "DATABASE_URL",
        ),
        (&[("NARVARO_BIND", "not-an-address")], "NARVARO_BIND"),
        (
            &[("NARVARO_TIMEZONE", "Europe/Atlantis")],
            "NARVARO_TIMEZONE",
        ),
        (
            &[("NARVARO_BASE_URL", "narvaro.example")],
            "NARVARO_BASE_URL",
        ),
        (
            &[("NARVARO_SMTP_URL", "mail.example:25")],
            "NARVARO_SMTP_URL",
        ),
        (&[("NARVARO_JWT_SECRET", "too-short")], "NARVARO_JWT_SECRET"),
        (
            &[("NARVARO_SECURITY_CONTACT", "security@kommun.se")],
            "NARVARO_SECURITY_CONTACT",
        ),
        (&[("NARVARO_NOTIFY_BY", "pigeon")], "NARVARO_NOTIFY_BY"),
        (
            &[("NARVARO_SMS_URL", "http://sms.example/a1")],
            "NARVARO_SMS_URL",
        ),
        (
            &[("NARVARO_CLOCK_START", "next tuesday")],
            "NARVARO_CLOCK_START",
        ),
        (
            &[("DATABASE_URL", "postgres://postgres@127.0.0.1/x")],
            "NARVARO_JWT_SECRET",
        ),
    ];
    for (env, var) in cases {
        let out = run_binary(&["migrate"], env);
        assert_clear_failure(&out, var);
    }
    let out = run_binary(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = run_binary(&["seed", "--weeks", "lots"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--weeks"));
}

#[test]
fn an_unreachable_postgres_answers_within_seconds_with_the_real_cause() {
    let started = Instant::now();
    // Port 1 on loopback: nothing listens there.
    let out = run_binary(
        &["migrate"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/narvaro"),
            ("NARVARO_JWT_SECRET", TEST_SECRET),
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let stderr = assert_clear_failure(&out, "DATABASE_URL");
    assert!(
        stderr.contains("Connection refused"),
        "the real cause: {stderr}"
    );
    assert!(
        !stderr.contains("Multiple"),
        "not diesel's generic multi-connection message: {stderr}"
    );
}

#[test]
fn a_read_only_sqlite_database_is_refused_clearly() {
    let db = TestDb::new(Kind::Sqlite);
    let path = db.url_string();
    let out = run_binary(&["migrate"], &[("DATABASE_URL", &path)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ro = format!("file:{path}?mode=ro");
    let out = run_binary(&["migrate"], &[("DATABASE_URL", &ro)]);
    let stderr = assert_clear_failure(&out, "DATABASE_URL");
    assert!(stderr.contains("read-only"), "{stderr}");
}

#[test]
fn a_database_migrated_by_a_newer_narvaro_is_refused() {
    for kind in backends() {
        let db = TestDb::new(kind);
        let pool = narvaro::db::connect(&db.url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        diesel::sql_query(
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000000')",
        )
        .execute(&mut *conn)
        .unwrap();
        drop((conn, pool));
        let out = run_binary(
            &["migrate"],
            &[
                ("DATABASE_URL", &db.url_string()),
                ("NARVARO_JWT_SECRET", TEST_SECRET),
            ],
        );
        let stderr = assert_clear_failure(&out, "DATABASE_URL");
        assert!(
            stderr.contains("newer Närvaro") && stderr.contains("20990101000000"),
            "{kind:?}: {stderr}"
        );
    }
}

#[test]
fn a_failing_migration_leaves_the_database_as_it_was() {
    for kind in backends() {
        let db = TestDb::new(kind);
        // Something already holds a name the migration needs, half-way through its tables.
        let setup = "CREATE TABLE lessons (something_else TEXT)";
        match &db.url {
            DatabaseUrl::Sqlite(p) => SqliteConnection::establish(p.to_str().unwrap())
                .unwrap()
                .batch_execute(setup)
                .unwrap(),
            DatabaseUrl::Postgres(u) => PgConnection::establish(u)
                .unwrap()
                .batch_execute(setup)
                .unwrap(),
        }
        let out = run_binary(
            &["migrate"],
            &[
                ("DATABASE_URL", &db.url_string()),
                ("NARVARO_JWT_SECRET", TEST_SECRET),
            ],
        );
        let stderr = assert_clear_failure(&out, "DATABASE_URL");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
        let tables_before_lessons = "SELECT COUNT(*) AS n FROM organisations";
        let probe = match &db.url {
            DatabaseUrl::Sqlite(p) => SqliteConnection::establish(p.to_str().unwrap())
                .unwrap()
                .batch_execute(tables_before_lessons),
            DatabaseUrl::Postgres(u) => PgConnection::establish(u)
                .unwrap()
                .batch_execute(tables_before_lessons),
        };
        assert!(
            probe.is_err(),
            "{kind:?}: no table of the failed migration may survive"
        );
    }
}

/// `narvaro serve` on the database with these settings, once `/healthz` answers (the port
/// alone may be open before the server runs and handles signals); standard error piped
/// when asked.
fn serve_until_ready(db: &TestDb, env: &[(&str, &str)], stderr: bool) -> std::process::Child {
    serve_on_a_port(db, env, stderr).0
}

/// `serve_until_ready`, and the address it serves on.
fn serve_on_a_port(
    db: &TestDb,
    env: &[(&str, &str)],
    stderr: bool,
) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_narvaro"))
        .arg("serve")
        .env("DATABASE_URL", db.url_string())
        .env("NARVARO_BIND", &bind)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(if stderr {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answers = || {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&bind) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
    };
    while !answers() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, bind)
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let db = TestDb::new(Kind::Sqlite);
    let mut child = serve_until_ready(&db, &[], false);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    exits_cleanly_within_15_s(&mut child, Instant::now());
}

/// The server, sent SIGTERM at `signalled`, exits with 0 within 15 s of it.
fn exits_cleanly_within_15_s(child: &mut std::process::Child, signalled: Instant) {
    let deadline = signalled + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One request on an open connection, kept alive: the status and the body.
fn request(s: &mut std::net::TcpStream, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed the connection without an answer");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("a content-length");
            if got.len() >= end + 4 + length {
                let status = text[9..12].parse().unwrap();
                return (status, text[end + 4..].to_string());
            }
        }
    }
}

/// With NARVARO_DRAIN_SECONDS, SIGTERM first turns `/healthz` to 503 while the server
/// goes on answering, on a connection kept alive from before and on a new one, so that a
/// load balancer takes the instance out before it closes its connections; then it stops.
#[test]
fn sigterm_drains_first_with_healthz_at_503_and_then_stops() {
    let db = TestDb::new(Kind::Sqlite);
    let (mut child, addr) = serve_on_a_port(&db, &[("NARVARO_DRAIN_SECONDS", "3")], false);
    let mut kept = std::net::TcpStream::connect(&addr).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(request(&mut kept, "/healthz").0, 200);
    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = signalled + Duration::from_secs(2);
    let mut fresh = loop {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (status, body) = request(&mut s, "/healthz");
        if status == 503 {
            assert!(body.contains("\"stopping\""), "{body}");
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz still {status} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(request(&mut kept, "/accessibility").0, 200);
    assert_eq!(request(&mut fresh, "/accessibility").0, 200);
    assert_eq!(request(&mut kept, "/healthz").0, 503);
    drop((kept, fresh));
    exits_cleanly_within_15_s(&mut child, signalled);
    assert!(
        signalled.elapsed() >= Duration::from_millis(2900),
        "stopped {:?} after SIGTERM, before the drain of 3 s",
        signalled.elapsed()
    );
}

/// Two processes starting on one new SQLite file at the same moment (two instances, or a
/// server and `narvaro send-notices` from cron): both migrate or wait, neither fails with
/// "database is locked".
#[test]
fn two_processes_migrating_one_new_sqlite_file_at_once_both_succeed() {
    for round in 0..4 {
        let db = TestDb::new(Kind::Sqlite);
        let url = db.url_string();
        let start = |url: String| {
            std::process::Command::new(env!("CARGO_BIN_EXE_narvaro"))
                .arg("migrate")
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", url)
                .env("NARVARO_JWT_SECRET", TEST_SECRET)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start narvaro migrate")
        };
        let (a, b) = (start(url.clone()), start(url));
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn logs_are_json_lines_when_asked_and_a_wrong_format_is_named() {
    let db = TestDb::new(Kind::Sqlite);
    let child = serve_until_ready(
        &db,
        &[("NARVARO_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
        true,
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logs");
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{l}");
    }

    let out = run_binary(
        &["migrate"],
        &[
            ("DATABASE_URL", &db.url_string()),
            ("NARVARO_LOG_FORMAT", "xml"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("NARVARO_LOG_FORMAT: 'xml' is not a log format"));
}

/// A folder of templates with a translation catalogue for Somali holding `po`.
fn somali_override(po: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("narvaro-po-{}-{}", std::process::id(), po.len()));
    std::fs::create_dir_all(dir.join("translations")).unwrap();
    let head = "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\n";
    std::fs::write(dir.join("translations/so.po"), format!("{head}{po}")).unwrap();
    dir
}

#[test]
fn a_catalogue_with_a_broken_placeholder_stops_the_start_naming_the_file_and_message() {
    let db = TestDb::new(Kind::Sqlite);
    let dir = somali_override("msgid \"Hej {name}\"\nmsgstr \"Haye {magac}\"\n");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_narvaro"))
        .arg("serve")
        .env("DATABASE_URL", db.url_string())
        .env("NARVARO_BIND", "127.0.0.1:0")
        .env("NARVARO_TEMPLATE_DIR", &dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with a broken catalogue");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = assert_clear_failure(&out, "translations/so.po");
    assert!(stderr.contains("Hej {name}"), "names the message: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_municipality_overrides_one_translated_message_from_its_folder() {
    use std::io::{Read, Write};
    let db = TestDb::new(Kind::Sqlite);
    let dir = somali_override("msgid \"Logga in\"\nmsgstr \"Gal Närvaro-da degmada\"\n");
    let dir_s = dir.display().to_string();
    let (mut child, addr) = serve_on_a_port(&db, &[("NARVARO_TEMPLATE_DIR", &dir_s)], false);
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(
        b"GET /login HTTP/1.1\r\nHost: x\r\nAccept-Language: so\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut page = String::new();
    let _ = s.read_to_string(&mut page);
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains("<html lang=\"so\""), "{page}");
    assert!(
        page.contains("Gal Närvaro-da degmada"),
        "the municipality's words"
    );
    // the rest of the catalogue is the built-in one
    assert!(page.contains("Furaha sirta ah"), "{page}");
    let _ = std::fs::remove_dir_all(&dir);
}
