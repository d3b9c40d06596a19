//! The restore drill (SQLite): roll calls written in parallel, a backup taken with
//! `narvaro backup` while they go on, the backup restored into a new file with `narvaro
//! restore`, a server started on it. Every roll call acknowledged before the backup began
//! is there, the statistics equal a rebuild, and a guardian signs in. A damaged backup, a
//! database in use and a target that cannot be written are refused, changing nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use narvaro::config::DatabaseUrl;
use narvaro::schema::*;
use serde_json::json;

use crate::browser::{api_get, api_token, csrf_in, DEMO_PASSWORD};
use crate::fixtures;
use crate::helpers::{run_binary, Kind, TestApp};

type Day = (
    i64,
    chrono::NaiveDate,
    i64,
    Option<i64>,
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
);

fn statistics(db: &std::path::Path) -> Vec<Day> {
    let pool = narvaro::db::connect(&DatabaseUrl::Sqlite(db.to_path_buf()), 1).unwrap();
    let mut c = pool.get().unwrap();
    absence_days::table
        .select((
            absence_days::school_id,
            absence_days::day,
            absence_days::pupil_id,
            absence_days::class_id,
            absence_days::week,
            absence_days::weekday,
            absence_days::scheduled_minutes,
            absence_days::reported_minutes,
            absence_days::valid_minutes,
            absence_days::invalid_minutes,
            absence_days::other_minutes,
            absence_days::lates,
        ))
        .order((
            absence_days::school_id,
            absence_days::day,
            absence_days::pupil_id,
        ))
        .load(&mut *c)
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[actix_web::test]
async fn a_backup_taken_during_writes_restores_everything_acknowledged_before_it() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let world = fixtures::build(&app);
    let DatabaseUrl::Sqlite(db) = app.config.database_url.clone() else {
        unreachable!("the drill runs on SQLite")
    };
    let dir = db.parent().unwrap().to_path_buf();
    let db_env = db.to_string_lossy().to_string();
    let lesson = world.ids.lesson;
    let token = api_token(&app, "demo.teacher", DEMO_PASSWORD).await;
    let (_, rc) = api_get(
        &app,
        Some(&token),
        &format!("/api/v1/lessons/{lesson}/roll-call"),
    )
    .await;
    let pupils: Vec<i64> = rc["pupils"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(pupils.len() >= 8);

    // four teachers' devices write, each its own pupils, minutes rising with every write
    let acks: Arc<Mutex<Vec<(i64, i32, Instant)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let mine: Vec<i64> = pupils.iter().copied().skip(w).step_by(4).collect();
        let (acks, stop, client, token) = (
            acks.clone(),
            stop.clone(),
            app.client.clone(),
            token.clone(),
        );
        let url = app.url(&format!("/api/v1/lessons/{lesson}/roll-call"));
        writers.push(actix_web::rt::spawn(async move {
            let mut minutes = 1;
            while !stop.load(Ordering::SeqCst) && minutes < 59 {
                for p in &mine {
                    let body =
                        json!({"marks": [{"pupil_id": p, "status": "late", "minutes": minutes}]});
                    let res = client
                        .put(&url)
                        .insert_header(("Authorization", format!("Bearer {token}")))
                        .send_json(&body)
                        .await;
                    if res.is_ok_and(|r| r.status().as_u16() == 200) {
                        acks.lock().unwrap().push((*p, minutes, Instant::now()));
                    }
                }
                minutes += 1;
            }
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let backup = dir.join("narvaro-drill.db.gz");
    let began = Instant::now();
    let (path, env) = (backup.to_string_lossy().to_string(), db_env.clone());
    let out = actix_web::rt::task::spawn_blocking(move || {
        run_binary(&["backup", &path], &[("DATABASE_URL", &env)])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    assert!(
        acks.iter().any(|a| a.2 > began),
        "the writes went on while the backup was taken"
    );

    // the live database cannot be replaced while its server runs
    let path = backup.to_string_lossy().to_string();
    let out = run_binary(&["restore", &path], &[("DATABASE_URL", &db_env)]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("a running Närvaro is using this database"),
        "{}",
        text(&out)
    );

    // a damaged copy is refused and nothing is written
    let damaged = dir.join("damaged.db.gz");
    let bytes = std::fs::read(&backup).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::copy(
        dir.join("narvaro-drill.db.gz.json"),
        dir.join("damaged.db.gz.json"),
    )
    .unwrap();
    let broken = dir.join("broken.db");
    let out = run_binary(
        &[
            "restore",
            &damaged.to_string_lossy(),
            "--to",
            &broken.to_string_lossy(),
        ],
        &[("DATABASE_URL", &db_env)],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("damaged"), "{}", text(&out));
    assert!(!broken.exists());

    // restored into a new file
    let restored = dir.join("restored.db");
    let out = run_binary(
        &["restore", &path, "--to", &restored.to_string_lossy()],
        &[("DATABASE_URL", &db_env)],
    );
    assert!(out.status.success(), "{}", text(&out));

    // every roll call acknowledged before the backup began is there (a pupil's minutes
    // only rise, so the copy holds at least the last acknowledged before it)
    let pool = narvaro::db::connect(&DatabaseUrl::Sqlite(restored.clone()), 1).unwrap();
    let stored: Vec<(i64, i32)> = {
        let mut c = pool.get().unwrap();
        attendance_marks::table
            .filter(attendance_marks::lesson_id.eq(lesson))
            .filter(attendance_marks::status.eq("late"))
            .select((attendance_marks::pupil_id, attendance_marks::minutes))
            .load(&mut *c)
            .unwrap()
    };
    drop(pool);
    let before: Vec<&(i64, i32, Instant)> = acks.iter().filter(|a| a.2 < began).collect();
    assert!(!before.is_empty());
    for (pupil, minutes, _) in &before {
        let got = stored.iter().find(|s| s.0 == *pupil).map(|s| s.1);
        assert!(
            got.is_some_and(|g| g >= *minutes),
            "pupil {pupil}: acknowledged {minutes} min before the backup, restored {got:?}"
        );
    }

    // the statistics in the copy are what a rebuild makes of its marks
    let kept = statistics(&restored);
    let env = restored.to_string_lossy().to_string();
    let out = run_binary(&["stats-rebuild"], &[("DATABASE_URL", &env)]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(statistics(&restored), kept);

    // a server on the restored file: a guardian signs in
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_narvaro"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &env)
        .env("NARVARO_BIND", &bind)
        .env("NARVARO_MAIL_DIR", dir.join("mail"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://{bind}");
    let client = awc::Client::builder().disable_redirects().finish();
    let mut up = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            up = r.status().is_success();
            if up {
                break;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server on the restored file answers");
    let mut login = client.get(format!("{base}/login")).send().await.unwrap();
    let cookies: Vec<String> = login
        .cookies()
        .unwrap()
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect();
    let page = String::from_utf8_lossy(&login.body().await.unwrap()).to_string();
    let csrf = csrf_in(&page).unwrap();
    let res = client
        .post(format!("{base}/login"))
        .insert_header(("Cookie", cookies.join("; ")))
        .send_form(&[
            ("username", "demo.guardian"),
            ("password", DEMO_PASSWORD),
            ("_csrf", &csrf),
        ])
        .await
        .unwrap();
    let mut res = res;
    let said = String::from_utf8_lossy(&res.body().await.unwrap_or_default()).to_string();
    let _ = server.kill();
    let _ = server.wait();
    let said = said
        .split("<main")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take(600)
        .collect::<String>();
    assert_eq!(res.status().as_u16(), 303, "{said}");
    let location = res
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or_default().to_string());
    assert_eq!(location.as_deref(), Some("/"), "signed in");

    // a backup that cannot be written says so and leaves nothing behind
    let out = run_binary(
        &["backup", "/proc/narvaro.db.gz"],
        &[("DATABASE_URL", &db_env)],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing was written"), "{}", text(&out));
}

#[actix_web::test]
async fn the_server_backs_itself_up_on_a_schedule() {
    let dir = std::env::temp_dir().join(format!("narvaro-backups-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let schedule = narvaro::config::BackupSchedule {
        dir: dir.clone(),
        every_hours: 1,
        keep: 2,
    };
    let app = TestApp::spawn_with(Kind::Sqlite, |c| c.backups = Some(schedule)).await;
    let mut written = None;
    for _ in 0..100 {
        let (_, health) = api_get(&app, None, "/healthz").await;
        if health["last_backup"].is_string() {
            written = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".db.gz"));
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let file = written.expect("a backup at start, named on /healthz");
    let m = narvaro::upkeep::backup::verify(&file).unwrap();
    assert!(m.bytes > 0 && m.database_bytes > m.bytes);
    let _ = std::fs::remove_dir_all(&dir);
}
