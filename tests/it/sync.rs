//! `narvaro sync` against a real SS 12000 source over HTTP on loopback
//! (tests/ss12000_source.py: OAuth 2.0 client credentials, paging by `pageToken` alone,
//! `meta.modified.after`, `/deletedEntities`), serving the seed generator's municipality
//! as `narvaro export-structure` writes it, on both backends: a full sync, a changes-only
//! sync, a sync whose source dies half-way and a sync with a malformed record.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use chrono::NaiveDate;
use diesel::prelude::*;
use narvaro::config::{SourceOAuth, Ss12000Source};
use narvaro::db::{Backend, Database, DbConn};
use narvaro::schema::*;
use serde_json::{json, Value};

use crate::helpers::{backends, test_moment, Kind, TestApp, TestDb};

/// Before the test's clock: what the source held before the first run.
const EARLIER: &str = "2026-11-01T00:00:00Z";
/// After the first run began (the test clock reads 07:15 UTC): a change.
const LATER: &str = "2026-11-25T07:40:00Z";

/// The source, ended with the test.
pub(crate) struct Source {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Source {
    pub(crate) fn start(dir: &Path, data: &Path, die_after: Option<u32>) -> Source {
        Self::start_on(dir, data, die_after, 0)
    }

    /// On `port` (0: any), so that a source restarted is the same source.
    fn start_on(dir: &Path, data: &Path, die_after: Option<u32>, port: u16) -> Source {
        Self::start_with(dir, data, die_after, port, &[])
    }

    /// With more of the source's options (`--tls-cert` … serves HTTPS).
    fn start_with(
        dir: &Path,
        data: &Path,
        die_after: Option<u32>,
        port: u16,
        options: &[&str],
    ) -> Source {
        let scheme = if options.contains(&"--tls-cert") {
            "https"
        } else {
            "http"
        };
        let port_file = dir.join(format!("port-{}", rand_suffix()));
        let log = dir.join("requests.log");
        let mut cmd = Command::new("python3");
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ss12000_source.py"))
            .arg("--data")
            .arg(data)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--page")
            .arg("7")
            .arg("--log")
            .arg(&log)
            .arg("--port")
            .arg(port.to_string());
        if let Some(n) = die_after {
            cmd.arg("--die-after").arg(n.to_string());
        }
        cmd.args(options);
        let mut child = cmd.spawn().expect("python3 runs tests/ss12000_source.py");
        for _ in 0..200 {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                return Source {
                    child,
                    url: format!("{scheme}://127.0.0.1:{}", port.trim()),
                    log,
                };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the SS 12000 source did not start");
    }

    fn config(&self) -> Ss12000Source {
        Ss12000Source {
            url: self.url.clone(),
            oauth: Some(SourceOAuth {
                token_url: format!("{}/token", self.url),
                client_id: "narvaro-sync".into(),
                client_secret: "source-secret".into(),
                scope: None,
            }),
            client_cert: None,
            ca_file: None,
            interval_minutes: None,
        }
    }

    fn requests(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The seed generator's municipality (one school, a week), as SS 12000 JSON, every
/// record last modified before the test's clock.
pub(crate) fn seeded_structure() -> Value {
    let db = TestDb::new(Kind::Sqlite);
    let pool = narvaro::db::connect(&db.url, 1).unwrap();
    let mut c = pool.get().unwrap();
    let tz = chrono_tz::Europe::Stockholm;
    let start = NaiveDate::from_ymd_opt(2026, 11, 16).unwrap();
    narvaro::seed::generate(
        &mut c,
        &narvaro::seed::SeedParams {
            municipality: "Synkkommunen".into(),
            schools: 1,
            pupils: 30,
            weeks: 2,
            seed: 7,
            start,
            today: start,
        },
        tz,
    )
    .unwrap();
    let mut doc =
        narvaro::interop::ss12000::structure::export(&mut c, tz, test_moment().naive_utc())
            .unwrap();
    for list in doc.as_object_mut().unwrap().values_mut() {
        for r in list.as_array_mut().unwrap() {
            r["meta"] = json!({ "created": EARLIER, "modified": EARLIER });
        }
    }
    doc["deleted"] = json!([]);
    doc
}

pub(crate) fn write(path: &Path, doc: &Value) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(doc).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub(crate) async fn sync(
    db: &Database,
    source: &Source,
) -> Result<narvaro::interop::sync::Outcome, String> {
    sync_to(db, &source.config()).await
}

async fn sync_to(
    db: &Database,
    config: &Ss12000Source,
) -> Result<narvaro::interop::sync::Outcome, String> {
    run_sync(db, config, false).await
}

async fn run_sync(
    db: &Database,
    config: &Ss12000Source,
    full: bool,
) -> Result<narvaro::interop::sync::Outcome, String> {
    let clock = narvaro::school::clock::Clock::starting_at(test_moment());
    narvaro::interop::sync::run(
        db,
        config,
        full,
        chrono_tz::Europe::Stockholm,
        clock,
        &narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes()),
        &|_, _| {},
    )
    .await
}

fn active_people(c: &mut DbConn) -> i64 {
    people::table
        .filter(people::active.eq(true))
        .count()
        .get_result(c)
        .unwrap()
}

fn family_name(c: &mut DbConn, ext: &str) -> String {
    people::table
        .filter(people::external_id.eq(ext))
        .select(people::family_name)
        .first(c)
        .unwrap()
}

/// Everything the sync writes, counted.
fn counts(c: &mut DbConn) -> Vec<i64> {
    vec![
        organisations::table.count().get_result(c).unwrap(),
        people::table.count().get_result(c).unwrap(),
        guardianships::table.count().get_result(c).unwrap(),
        groups::table.count().get_result(c).unwrap(),
        group_memberships::table.count().get_result(c).unwrap(),
        duties::table.count().get_result(c).unwrap(),
        activities::table.count().get_result(c).unwrap(),
        lessons::table.count().get_result(c).unwrap(),
        group_memberships::table
            .filter(group_memberships::end_date.is_not_null())
            .count()
            .get_result(c)
            .unwrap(),
        lessons::table
            .filter(lessons::cancelled.eq(true))
            .count()
            .get_result(c)
            .unwrap(),
        active_people(c),
    ]
}

fn runs(c: &mut DbConn) -> Vec<(String, String, Option<chrono::NaiveDateTime>)> {
    sync_runs::table
        .order(sync_runs::id)
        .select((sync_runs::mode, sync_runs::status, sync_runs::since))
        .load(c)
        .unwrap()
}

/// The calendar events staged and not yet removed (`import::staged`).
fn staged(c: &mut DbConn) -> i64 {
    sync_events::table.count().get_result(c).unwrap()
}

/// Every school's stored statistics equal a fresh computation from its timetable and
/// memberships: a sync refreshed what it moved (and what it left alone still holds).
fn statistics_follow(c: &mut DbConn, when: &str) {
    let schools: Vec<i64> = organisations::table
        .filter(organisations::org_type.eq("school"))
        .select(organisations::id)
        .load(c)
        .unwrap();
    assert!(!schools.is_empty());
    let (from, to) = (
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
        NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
    );
    for school in schools {
        let stored =
            narvaro::insight::statistics::store::stored(c, narvaro::school::ids::SchoolId(school))
                .unwrap();
        let fresh = narvaro::insight::statistics::store::computed(
            c,
            chrono_tz::Europe::Stockholm,
            narvaro::school::ids::SchoolId(school),
            from,
            to,
        )
        .unwrap();
        assert!(!fresh.is_empty(), "{when}: school {school} has lessons");
        assert!(stored == fresh, "{when}: school {school}'s statistics");
    }
}

/// A stored statistics row the next run must not recompute: a pupil's day far from what
/// the run changes (a deleted lesson's day, the pupils named), given a false count of late
/// arrivals. A run that recomputed more than it touched would put the true count back.
struct Sentinel {
    key: (i64, NaiveDate),
    lates: i32,
}

impl Sentinel {
    fn set(c: &mut DbConn, lesson: &str, pupils: &[&str]) -> Sentinel {
        let (school, day): (i64, NaiveDate) = lessons::table
            .filter(lessons::external_id.eq(lesson))
            .select((lessons::school_id, lessons::lesson_date))
            .first(c)
            .unwrap();
        let named: Vec<i64> = people::table
            .filter(people::external_id.eq_any(pupils))
            .select(people::id)
            .load(c)
            .unwrap();
        let near = (
            day - chrono::Duration::days(7),
            day + chrono::Duration::days(7),
        );
        let (pupil, on, lates): (i64, NaiveDate, i32) = absence_days::table
            .filter(diesel::dsl::not(absence_days::pupil_id.eq_any(&named)))
            .filter(
                absence_days::school_id
                    .ne(school)
                    .or(diesel::dsl::not(absence_days::day.between(near.0, near.1))),
            )
            .order((absence_days::pupil_id, absence_days::day))
            .select((
                absence_days::pupil_id,
                absence_days::day,
                absence_days::lates,
            ))
            .first(c)
            .unwrap();
        let row = absence_days::table
            .filter(absence_days::pupil_id.eq(pupil))
            .filter(absence_days::day.eq(on));
        diesel::update(row)
            .set(absence_days::lates.eq(lates + 1000))
            .execute(c)
            .unwrap();
        Sentinel {
            key: (pupil, on),
            lates,
        }
    }

    fn left_alone_then_put_back(&self, c: &mut DbConn, kind: Kind) {
        let row = absence_days::table
            .filter(absence_days::pupil_id.eq(self.key.0))
            .filter(absence_days::day.eq(self.key.1));
        let now: i32 = row.select(absence_days::lates).first(c).unwrap();
        assert_eq!(
            now,
            self.lates + 1000,
            "{kind:?}: a run of changes recomputes only the pupils and days it touched"
        );
        diesel::update(row)
            .set(absence_days::lates.eq(self.lates))
            .execute(c)
            .unwrap();
    }
}

#[actix_web::test]
async fn narvaro_sync_keeps_a_database_in_step_with_its_source() {
    let structure = seeded_structure();
    for kind in backends() {
        let dir = std::env::temp_dir().join(format!("narvaro-sync-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("source.json");
        let mut doc = structure.clone();
        write(&data, &doc);
        let target = TestDb::new(kind);
        let pool = narvaro::db::connect(&target.url, 2).unwrap();
        let backend = backend_of(kind);
        let db = Database::new(pool.clone(), backend);
        let mut c = pool.get().unwrap();
        let c = &mut *c;

        // the first run reads everything, seven records a page
        let source = Source::start(&dir, &data, None);
        let port: u16 = source.url.rsplit(':').next().unwrap().parse().unwrap();
        let full = sync(&db, &source).await.unwrap();
        assert_eq!(full.mode, narvaro::interop::import::Mode::Full);
        let persons = doc["persons"].as_array().unwrap().len() as i64;
        let events = doc["calendarEvents"].as_array().unwrap().len() as i64;
        let first = counts(c);
        assert_eq!(first[1], persons, "{kind:?}: every person");
        assert_eq!(first[7], events, "{kind:?}: every calendar event");
        assert_eq!(first[10], persons, "{kind:?}: nobody ended");
        assert_eq!(
            staged(c),
            0,
            "{kind:?}: the staged events went with the run"
        );
        statistics_follow(c, "after the full sync");
        assert!(
            source.requests().contains("pageToken="),
            "the pages were followed"
        );

        // changes: a pupil renamed, a membership ended, a guardian removed and a lesson
        // deleted, all after the first run
        let pupil = doc["groups"][0]["groupMemberships"][0]["person"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let leaver = doc["groups"][0]["groupMemberships"][1]["person"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let person_at = |doc: &Value, id: &str| {
            doc["persons"]
                .as_array()
                .unwrap()
                .iter()
                .position(|p| p["id"] == id)
                .unwrap()
        };
        let i = person_at(&doc, &pupil);
        doc["persons"][i]["familyName"] = "Nyberg".into();
        doc["persons"][i]["meta"]["modified"] = LATER.into();
        doc["groups"][0]["groupMemberships"]
            .as_array_mut()
            .unwrap()
            .remove(1);
        doc["groups"][0]["meta"]["modified"] = LATER.into();
        let guardian = doc["persons"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|p| p["responsibles"][0]["person"]["id"].as_str())
            .unwrap()
            .to_string();
        let lesson = doc["calendarEvents"][0]["id"].as_str().unwrap().to_string();
        doc["deleted"] = json!([
            { "list": "persons", "id": guardian, "at": LATER },
            { "list": "calendarEvents", "id": lesson, "at": LATER },
        ]);
        write(&data, &doc);
        let sentinel = Sentinel::set(c, &lesson, &[&pupil, &leaver]);
        let changes = sync(&db, &source).await.unwrap();
        assert_eq!(changes.mode, narvaro::interop::import::Mode::Changes);
        sentinel.left_alone_then_put_back(c, kind);
        assert_eq!(changes.records, 2, "only what changed was read");
        assert_eq!(family_name(c, &pupil), "Nyberg");
        let after = counts(c);
        assert_eq!(after[..8], first[..8], "{kind:?}: nothing added or removed");
        assert_eq!(after[8], first[8] + 1, "one membership ended");
        assert_eq!(after[9], first[9] + 1, "one lesson cancelled");
        assert_eq!(
            after[10],
            persons - 1,
            "{kind:?}: only the removed guardian ended"
        );
        let leaver_open: i64 = group_memberships::table
            .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
            .filter(people::external_id.eq(&leaver))
            .filter(group_memberships::end_date.is_null())
            .count()
            .get_result(c)
            .unwrap();
        let leaver_groups: i64 = group_memberships::table
            .inner_join(people::table.on(people::id.eq(group_memberships::pupil_id)))
            .filter(people::external_id.eq(&leaver))
            .count()
            .get_result(c)
            .unwrap();
        assert_eq!(
            leaver_open,
            leaver_groups - 1,
            "the leaver keeps their other groups"
        );
        statistics_follow(c, "after the changes");
        let log = source.requests();
        assert!(log.contains("meta.modified.after="), "{log}");
        assert!(log.contains("GET /deletedEntities?"), "{log}");
        drop(source);

        // the source dies half-way: nothing of the run is stored, the run says why, and
        // the next one starts again from the last successful point
        doc["persons"][i]["familyName"] = "Åberg".into();
        doc["persons"][i]["meta"]["modified"] = "2026-11-25T07:50:00Z".into();
        write(&data, &doc);
        let dying = Source::start_on(&dir, &data, Some(3), port);
        let before = counts(c);
        let err = sync(&db, &dying).await.unwrap_err();
        assert!(err.contains(&dying.url), "{err}");
        assert_eq!(counts(c), before, "{kind:?}: nothing stored");
        assert_eq!(staged(c), 0, "{kind:?}: nothing staged is left");
        assert_eq!(family_name(c, &pupil), "Nyberg");
        drop(dying);
        let source = Source::start_on(&dir, &data, None, port);
        sync(&db, &source).await.unwrap();
        assert_eq!(family_name(c, &pupil), "Åberg");
        statistics_follow(c, "after a new name only");
        let r = runs(c);
        let modes: Vec<(&str, &str)> = r.iter().map(|(m, s, _)| (m.as_str(), s.as_str())).collect();
        assert_eq!(
            modes,
            [
                ("full", "ok"),
                ("changes", "ok"),
                ("changes", "failed"),
                ("changes", "ok")
            ]
        );
        assert_eq!(
            r[2].2, r[3].2,
            "the run after the failed one asked from the same point"
        );

        // a malformed record is left out and named; the rest of the run is stored, and
        // the person it names is not ended
        let j = doc["persons"]
            .as_array()
            .unwrap()
            .iter()
            .position(|p| p["id"] != pupil.as_str() && p["id"] != guardian.as_str())
            .unwrap();
        let broken = doc["persons"][j]["id"].as_str().unwrap().to_string();
        doc["persons"][j]["birthDate"] = "2013-02-30".into();
        doc["persons"][j]["meta"]["modified"] = "2026-11-25T08:00:00Z".into();
        doc["persons"][i]["familyName"] = "Öst".into();
        doc["persons"][i]["meta"]["modified"] = "2026-11-25T08:00:00Z".into();
        write(&data, &doc);
        let said = sync(&db, &source).await.unwrap();
        let notes = said.summary.notes.join("\n");
        assert!(
            notes.contains("persons") && notes.contains("birthDate") && notes.contains("left out"),
            "{notes}"
        );
        assert_eq!(family_name(c, &pupil), "Öst");
        let broken_active: bool = people::table
            .filter(people::external_id.eq(&broken))
            .select(people::active)
            .first(c)
            .unwrap();
        assert!(broken_active, "{kind:?}: the unreadable person stays");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[actix_web::test]
async fn two_syncs_at_once_run_one() {
    let structure = seeded_structure();
    for kind in backends() {
        let dir = std::env::temp_dir().join(format!("narvaro-sync2-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("source.json");
        write(&data, &structure);
        let target = TestDb::new(kind);
        let pool = narvaro::db::connect(&target.url, 4).unwrap();
        let backend = backend_of(kind);
        // two instances: each its own Database (its own write lock)
        let a = Database::new(pool.clone(), backend);
        let b = Database::new(pool.clone(), backend);
        let source = Source::start(&dir, &data, None);
        let (x, y) = futures_util::future::join(sync(&a, &source), sync(&b, &source)).await;
        let ok = [x.is_ok(), y.is_ok()].iter().filter(|o| **o).count();
        let refused = [&x, &y]
            .iter()
            .filter(|r| {
                r.as_ref()
                    .is_err_and(|e| e.contains("another sync is running"))
            })
            .count();
        assert_eq!((ok, refused), (1, 1), "{kind:?}: {x:?} {y:?}");
        let mut c = pool.get().unwrap();
        let people_count: i64 = people::table.count().get_result(&mut *c).unwrap();
        assert_eq!(
            people_count,
            structure["persons"].as_array().unwrap().len() as i64,
            "{kind:?}: stored once"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Runs openssl, which must succeed.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA of the municipality's own, a server certificate for 127.0.0.1 and a client
/// certificate for Närvaro, both from that CA (EC P-256, valid from now for a week).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "7",
        "-subj",
        "/CN=Kommunens test-CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        let (key, csr, pem, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.join(&extfile), ext).unwrap();
        let subject = format!("/CN={name}");
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "7",
                "-extfile",
                &extfile,
            ],
        );
    }
}

/// The sync over HTTPS as Stockholm's and Skolverket's integrations run it: the server's
/// certificate from the municipality's own CA (NARVARO_SS12000_CA), mutual TLS with
/// Närvaro's client certificate, and an OAuth scope the token endpoint insists on. Each
/// part missing fails the run with a message that says which, and stores nothing. (The
/// transport is the same on both backends; SQLite only.)
#[actix_web::test]
async fn a_sync_over_mutual_tls_with_a_scope() {
    let structure = seeded_structure();
    let dir = std::env::temp_dir().join(format!("narvaro-sync-tls-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    certificates(&dir);
    let data = dir.join("source.json");
    write(&data, &structure);
    let file = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let (cert, key, ca) = (file("server.pem"), file("server.key"), file("ca.pem"));
    let source = Source::start_with(
        &dir,
        &data,
        None,
        0,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--client-ca",
            &ca,
            "--scope",
            "ss12000.read",
        ],
    );
    assert!(source.url.starts_with("https://"));
    let target = TestDb::new(Kind::Sqlite);
    let pool = narvaro::db::connect(&target.url, 2).unwrap();
    let db = Database::new(pool.clone(), Backend::Sqlite);
    let whole = || {
        let mut config = source.config();
        if let Some(o) = config.oauth.as_mut() {
            o.scope = Some("ss12000.read".into());
        }
        config.ca_file = Some(dir.join("ca.pem"));
        config.client_cert = Some((dir.join("client.pem"), dir.join("client.key")));
        config
    };
    let stored = |pool: &narvaro::db::Pool| -> i64 {
        people::table
            .count()
            .get_result(&mut *pool.get().unwrap())
            .unwrap()
    };

    // the server's certificate is not from a public CA: without the municipality's, refused
    let mut config = whole();
    config.ca_file = None;
    let err = sync_to(&db, &config).await.unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // no client certificate: the server ends the handshake
    let mut config = whole();
    config.client_cert = None;
    let err = sync_to(&db, &config).await.unwrap_err();
    assert!(err.contains("CertificateRequired"), "{err}");
    // no scope: the token endpoint says invalid_scope
    let mut config = whole();
    config.oauth.as_mut().unwrap().scope = None;
    let err = sync_to(&db, &config).await.unwrap_err();
    assert!(err.contains("invalid_scope"), "{err}");
    assert_eq!(stored(&pool), 0, "a failed run stores nothing");

    // everything given: the full sync runs over mutual TLS
    let full = sync_to(&db, &whole())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(full.mode, narvaro::interop::import::Mode::Full);
    assert_eq!(
        stored(&pool),
        structure["persons"].as_array().unwrap().len() as i64
    );
    let mut c = pool.get().unwrap();
    let failed: i64 = sync_runs::table
        .filter(sync_runs::status.eq("failed"))
        .count()
        .get_result(&mut *c)
        .unwrap();
    assert_eq!(failed, 3, "each refused run is recorded");
    drop(source);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lesson cancelled by hand on the day page (src/day_changes.rs) stays cancelled through
/// syncs that bring the source's unchanged event again, and follows the source once the
/// source changes that event itself.
#[actix_web::test]
async fn a_lesson_cancelled_by_hand_stays_so_until_the_source_changes_it() {
    let structure = seeded_structure();
    for kind in backends() {
        let dir = std::env::temp_dir().join(format!("narvaro-sync-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("source.json");
        let mut doc = structure.clone();
        write(&data, &doc);
        let target = TestDb::new(kind);
        let pool = narvaro::db::connect(&target.url, 2).unwrap();
        let backend = backend_of(kind);
        let db = Database::new(pool.clone(), backend);
        let mut c = pool.get().unwrap();
        let c = &mut *c;
        let source = Source::start(&dir, &data, None);
        sync(&db, &source).await.unwrap();
        let ext = doc["calendarEvents"][0]["id"].as_str().unwrap().to_string();
        let lesson: i64 = lessons::table
            .filter(lessons::external_id.eq(&ext))
            .select(lessons::id)
            .first(c)
            .unwrap();
        let state = |c: &mut DbConn| -> (bool, Option<bool>) {
            lessons::table
                .find(lesson)
                .select((lessons::cancelled, lessons::source_cancelled))
                .first(c)
                .unwrap()
        };
        assert_eq!(state(c), (false, None));
        // cancelled by hand, as the day page stores it
        diesel::update(lessons::table.find(lesson))
            .set((
                lessons::cancelled.eq(true),
                lessons::source_cancelled.eq(Some(false)),
                lessons::changed_by_hand_at.eq(Some(test_moment().naive_utc())),
            ))
            .execute(c)
            .unwrap();
        // the source sends the event again, unchanged: the hand's change stands
        doc["calendarEvents"][0]["meta"]["modified"] = LATER.into();
        write(&data, &doc);
        let again = sync(&db, &source).await.unwrap();
        assert_eq!(again.records, 1, "{kind:?}: the event was read again");
        assert_eq!(
            state(c),
            (true, Some(false)),
            "{kind:?}: still cancelled by hand"
        );
        // the source changes the event itself (it is cancelled there too, then given back):
        // from now on the source decides
        doc["calendarEvents"][0]["cancelled"] = true.into();
        write(&data, &doc);
        sync(&db, &source).await.unwrap();
        assert_eq!(
            state(c),
            (true, None),
            "{kind:?}: the source's cancellation"
        );
        doc["calendarEvents"][0]["cancelled"] = false.into();
        write(&data, &doc);
        sync(&db, &source).await.unwrap();
        assert_eq!(state(c), (false, None), "{kind:?}: the source gave it back");
        drop(source);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A source that cannot be reached: the run fails, names the address, and the
/// administrator's page says so in Swedish.
#[actix_web::test]
async fn a_source_that_cannot_be_reached_is_named_on_the_page() {
    for kind in backends() {
        let app = TestApp::spawn(kind).await;
        let world = crate::fixtures::build(&app);
        // a port nothing listens on
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let config = Ss12000Source {
            url: format!("http://127.0.0.1:{port}/ss12000/v2"),
            oauth: None,
            client_cert: None,
            ca_file: None,
            interval_minutes: None,
        };
        let db = Database::new(world.pool.clone(), backend_of(kind));
        let err = sync_to(&db, &config).await.unwrap_err();
        assert!(
            err.starts_with(narvaro::interop::sync::CANNOT_CONNECT)
                && err.contains(&format!("127.0.0.1:{port}")),
            "{kind:?}: {err}"
        );
        let mut admin = crate::browser::Browser::open(&app).await;
        admin
            .sign_in("demo.admin", crate::browser::DEMO_PASSWORD)
            .await;
        let page = admin.get("/admin/sync").await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains(&format!(
                "Kunde inte ansluta till skoladministrativa systemet på 127.0.0.1:{port}"
            )),
            "{kind:?}: {}",
            page.body
        );
    }
}

fn backend_of(kind: Kind) -> Backend {
    match kind {
        Kind::Sqlite => Backend::Sqlite,
        Kind::Postgres => Backend::Postgres,
    }
}

/// A snapshot's calendar events wait in the database page by page (`import::staged`), so
/// a year's timetable is never in memory whole: a second full sync that no longer holds a
/// coming lesson cancels exactly that one, a full sync whose source dies among the
/// calendar events' pages changes nothing and leaves nothing staged, on both backends.
#[actix_web::test]
async fn a_full_sync_stages_its_timetable_and_cancels_what_the_source_dropped() {
    let structure = seeded_structure();
    for kind in backends() {
        let dir = std::env::temp_dir().join(format!("narvaro-staged-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("source.json");
        let mut doc = structure.clone();
        write(&data, &doc);
        let target = TestDb::new(kind);
        let pool = narvaro::db::connect(&target.url, 2).unwrap();
        let db = Database::new(pool.clone(), backend_of(kind));
        let mut c = pool.get().unwrap();
        let c = &mut *c;
        let source = Source::start(&dir, &data, None);
        let port: u16 = source.url.rsplit(':').next().unwrap().parse().unwrap();
        run_sync(&db, &source.config(), false).await.unwrap();
        drop(source);
        let first = counts(c);

        // a lesson after the test's today (2026-11-25) leaves the source
        let events = doc["calendarEvents"].as_array_mut().unwrap();
        let gone_at = events
            .iter()
            .position(|e| e["startTime"].as_str().unwrap() >= "2026-11-26")
            .expect("a coming lesson");
        let gone = events.remove(gone_at)["id"].as_str().unwrap().to_string();
        write(&data, &doc);

        // the source dies among the calendar events' pages (seven records a page)
        let pages_before: usize = narvaro::interop::import::ss12000::LISTS
            .iter()
            .take_while(|k| **k != "calendarEvents")
            .map(|k| doc[*k].as_array().map_or(0, Vec::len).div_ceil(7).max(1))
            .sum();
        let _ = std::fs::remove_file(dir.join("requests.log"));
        let dying = Source::start_on(&dir, &data, Some(pages_before as u32 + 2), port);
        let err = run_sync(&db, &dying.config(), true).await.unwrap_err();
        assert!(err.contains(&dying.url), "{kind:?}: {err}");
        assert!(
            dying.requests().contains("GET /calendarEvents"),
            "{kind:?}: it died among the events"
        );
        drop(dying);
        assert_eq!(counts(c), first, "{kind:?}: nothing stored");
        assert_eq!(staged(c), 0, "{kind:?}: nothing staged is left");

        let source = Source::start_on(&dir, &data, None, port);
        let full = run_sync(&db, &source.config(), true).await.unwrap();
        assert_eq!(full.mode, narvaro::interop::import::Mode::Full);
        let after = counts(c);
        assert_eq!(after[7], first[7], "{kind:?}: no lesson removed");
        assert_eq!(
            after[9],
            first[9] + 1,
            "{kind:?}: one more lesson cancelled"
        );
        let cancelled: bool = lessons::table
            .filter(lessons::external_id.eq(&gone))
            .select(lessons::cancelled)
            .first(c)
            .unwrap();
        assert!(cancelled, "{kind:?}: the lesson the source dropped");
        assert_eq!(
            staged(c),
            0,
            "{kind:?}: the staged events went with the run"
        );
        statistics_follow(c, "after a full sync that cancelled a lesson");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The seeded structure with its timetable repeated: each calendar event again every week
/// of `weeks` (within the school year), with ids of its own.
fn with_weeks_of_events(base: &Value, weeks: std::ops::RangeInclusive<i64>) -> Value {
    let mut doc = base.clone();
    let events = base["calendarEvents"].as_array().unwrap();
    let shift = |at: &Value, weeks: i64| -> Value {
        let t = chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
        (t + chrono::Duration::weeks(weeks)).to_rfc3339().into()
    };
    let all = doc["calendarEvents"].as_array_mut().unwrap();
    for weeks in weeks.filter(|w| *w != 0) {
        for (n, e) in events.iter().enumerate() {
            let mut copy = e.clone();
            copy["id"] = format!("00000000-0000-4000-8{:03}-{:012}", weeks + 100, n).into();
            copy["startTime"] = shift(&e["startTime"], weeks);
            copy["endTime"] = shift(&e["endTime"], weeks);
            all.push(copy);
        }
    }
    doc
}

/// `narvaro sync` as the command runs, into a new database of `kind`: the peak memory it
/// reports, in MiB.
fn peak_of_a_full_sync(kind: Kind, dir: &Path, doc: &Value) -> u64 {
    let data = dir.join(format!("source-{}.json", rand_suffix()));
    write(&data, doc);
    // a thousand records a page, as a real source pages
    let source = Source::start_with(dir, &data, None, 0, &["--page", "1000"]);
    let target = TestDb::new(kind);
    let source_url = source.url.clone();
    let token_url = format!("{source_url}/token");
    let db_url = target.url_string();
    let out = crate::helpers::run_binary(
        &["sync"],
        &[
            ("DATABASE_URL", db_url.as_str()),
            ("NARVARO_JWT_SECRET", crate::helpers::TEST_SECRET),
            ("NARVARO_CLOCK_START", "2026-11-25T08:15:00+01:00"),
            ("NARVARO_SS12000_URL", source_url.as_str()),
            ("NARVARO_SS12000_TOKEN_URL", token_url.as_str()),
            ("NARVARO_SS12000_CLIENT_ID", "narvaro-sync"),
            ("NARVARO_SS12000_CLIENT_SECRET", "source-secret"),
        ],
    );
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{kind:?}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said.split("peak memory ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{kind:?}: no peak memory in {said}"))
}

/// A sync's memory does not grow with the timetable it reads: a school year of calendar
/// events (41 weeks) takes no more memory than 17 weeks, on both backends (on SQLite,
/// but for the connection's page cache, which fills to at most 16 MiB as the database
/// grows). The events
/// stream through the database a page at a time and are written 5,000 at a time, so past
/// a batch the size of the timetable no longer shows; held as the source's JSON they took
/// about 9 KiB each, and the larger run would need some 80 MiB more. People are still held
/// while a run writes them (about 2 KiB a person at its peak): see the README's sizing.
#[actix_web::test]
async fn a_syncs_memory_does_not_grow_with_the_timetable() {
    let seeded = seeded_structure();
    let medium = with_weeks_of_events(&seeded, -8..=8);
    let large = with_weeks_of_events(&seeded, -15..=25);
    let (few, many) = (
        medium["calendarEvents"].as_array().unwrap().len(),
        large["calendarEvents"].as_array().unwrap().len(),
    );
    assert!(few > 5_000 && many > 2 * few, "{few} {many}");
    let dir = std::env::temp_dir().join(format!("narvaro-flat-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut seen = Vec::new();
    for kind in backends() {
        let at_few = peak_of_a_full_sync(kind, &dir, &medium);
        let at_many = peak_of_a_full_sync(kind, &dir, &large);
        eprintln!("{kind:?}: peak {at_few} MiB at {few} events, {at_many} MiB at {many}");
        seen.push((kind, at_few, at_many));
    }
    for (kind, at_few, at_many) in seen {
        // SQLite's page cache (at most 16 MiB a connection) fills as the database grows
        let cache = if kind == Kind::Sqlite { 16 } else { 0 };
        assert!(
            at_many <= at_few + cache + 4,
            "{kind:?}: {at_few} MiB at {few} events, {at_many} MiB at {many}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Imports `doc` as a snapshot, as `narvaro import` does.
fn import_snapshot(c: &mut DbConn, dir: &Path, doc: &Value) -> narvaro::interop::import::Summary {
    let path = dir.join("snapshot.json");
    write(&path, doc);
    narvaro::interop::import::run(
        c,
        &path,
        Some(narvaro::interop::import::Mode::Full),
        chrono_tz::Europe::Stockholm,
        crate::helpers::test_today(),
        test_moment().naive_utc(),
        &narvaro::auth::civic::CivicKey::new(crate::helpers::TEST_SECRET.as_bytes()),
    )
    .unwrap()
}

/// Every kind of change a source makes to the timetable and the groups (a lesson moved to
/// another day, a class that is no longer one, an activity that loses a group, a pupil
/// who joins a group, a membership that ends) leaves the statistics equal to a rebuild,
/// though only what moved is recomputed; and undoing them all gives back the first rows.
#[actix_web::test]
async fn each_kind_of_change_from_the_source_keeps_the_statistics_equal_to_a_rebuild() {
    let first = seeded_structure();
    let mut changed = first.clone();
    let shift = |t: &Value| {
        let t = chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
        Value::from((t + chrono::Duration::days(1)).to_rfc3339())
    };
    let event = &mut changed["calendarEvents"][0];
    event["startTime"] = shift(&event["startTime"]);
    event["endTime"] = shift(&event["endTime"]);
    let groups = changed["groups"].as_array_mut().unwrap();
    let class = groups
        .iter()
        .position(|g| g["groupType"] == "Klass")
        .unwrap();
    let members = |g: &Value| g["groupMemberships"].as_array().unwrap().len();
    let other = groups
        .iter()
        .position(|g| g["groupType"] != "Klass" && members(g) >= 2)
        .unwrap();
    // a teaching group with pupils, neither of the two above, taken off its activity
    let taken = groups
        .iter()
        .enumerate()
        .find(|(i, g)| *i != other && g["groupType"] != "Klass" && members(g) >= 1)
        .map(|(_, g)| g["id"].clone())
        .unwrap();
    groups[class]["groupType"] = "Undervisning".into();
    let joiner = groups[class]["groupMemberships"][0]["person"].clone();
    groups[other]["groupMemberships"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "person": joiner, "startDate": "2026-11-20" }));
    let ending = &mut groups[other]["groupMemberships"][0];
    let start: NaiveDate = ending["startDate"].as_str().unwrap().parse().unwrap();
    ending["endDate"] = (start + chrono::Duration::days(3)).to_string().into();
    let activity = changed["activities"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| {
            a["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["id"] == taken)
        })
        .unwrap();
    activity["groups"]
        .as_array_mut()
        .unwrap()
        .retain(|g| g["id"] != taken);

    for kind in backends() {
        let dir = std::env::temp_dir().join(format!("narvaro-sync-each-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = TestDb::new(kind);
        let pool = narvaro::db::connect(&db.url, 1).unwrap();
        let mut c = pool.get().unwrap();
        let c = &mut *c;
        import_snapshot(c, &dir, &first);
        statistics_follow(c, "after the first import");
        let school: i64 = organisations::table
            .filter(organisations::org_type.eq("school"))
            .select(organisations::id)
            .first(c)
            .unwrap();
        let rows = |c: &mut DbConn| {
            narvaro::insight::statistics::store::stored(c, narvaro::school::ids::SchoolId(school))
                .unwrap()
        };
        let before = rows(c);
        let counted = |c: &mut DbConn| -> (i64, i64, i64, i64) {
            (
                groups::table
                    .filter(groups::group_type.eq("class"))
                    .count()
                    .get_result(c)
                    .unwrap(),
                group_memberships::table.count().get_result(c).unwrap(),
                group_memberships::table
                    .filter(group_memberships::end_date.is_not_null())
                    .count()
                    .get_result(c)
                    .unwrap(),
                activity_groups::table.count().get_result(c).unwrap(),
            )
        };
        let moved_lesson = changed["calendarEvents"][0]["id"].as_str().unwrap();
        let lesson_day = |c: &mut DbConn| -> NaiveDate {
            lessons::table
                .filter(lessons::external_id.eq(moved_lesson))
                .select(lessons::lesson_date)
                .first(c)
                .unwrap()
        };
        let (was, day) = (counted(c), lesson_day(c));
        import_snapshot(c, &dir, &changed);
        assert_eq!(
            counted(c),
            (was.0 - 1, was.1 + 1, was.2 + 1, was.3 - 1),
            "{kind:?}: a class less, a membership more, one ended, a group off an activity"
        );
        assert_eq!(lesson_day(c), day + chrono::Duration::days(1), "{kind:?}");
        statistics_follow(c, "after every kind of change");
        assert_ne!(
            rows(c),
            before,
            "{kind:?}: the changes moved the statistics"
        );
        // undone: the memberships come back as they were, except the ended one, which a
        // snapshot cannot reopen once its record has an end; the rest is as before
        let said = import_snapshot(c, &dir, &first);
        assert!(said.changes() > 0, "{kind:?}: {said}");
        statistics_follow(c, "after the changes were undone");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
