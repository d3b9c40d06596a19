//! Backups of the embedded database, and restoring one. A backup is a consistent copy
//! taken while the server keeps serving and writing (`VACUUM INTO`, which reads one
//! snapshot of the WAL-mode database), gzip-compressed, with a manifest beside it
//! (`<backup>.json`: its BLAKE2b-256 checksum, sizes, the schema version, when it was
//! taken) and the sign-in secret kept beside the database copied beside it too
//! (`<backup>.secret`, owner-only). A restore checks the checksum, SQLite's integrity
//! check and the schema, and replaces a database only when no server holds it: every
//! server holds a shared lock on `<db>.lock` for as long as it runs. PostgreSQL is backed
//! up with its own tools (README, "Backups").

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use blake2::{Blake2b, Digest};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

type Blake2b256 = Blake2b<blake2::digest::consts::U32>;

const FORMAT: &str = "narvaro-backup/1";

/// The manifest beside a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    /// `blake2b-256:<hex>` of the backup file as written
    pub checksum: String,
    pub bytes: u64,
    pub database_bytes: u64,
    /// the newest migration the database had
    pub schema: String,
    /// UTC, RFC 3339
    pub created_at: String,
    /// the secret file's name beside the backup, when the database had one
    pub secret: Option<String>,
}

/// `<path><suffix>`, beside it.
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The lock every server on a SQLite database holds shared while it runs: a restore takes
/// it exclusively, so it cannot replace a database a server is using.
pub fn hold_shared(db: &Path) -> io::Result<File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(beside(db, ".lock"))?;
    f.lock_shared()?;
    Ok(f)
}

fn checksum(path: &Path) -> io::Result<String> {
    let mut r = BufReader::new(File::open(path)?);
    let mut h = Blake2b256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("blake2b-256:{hex}"))
}

fn open(path: &Path) -> Result<SqliteConnection, String> {
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    c.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(c)
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn schema_versions(c: &mut SqliteConnection) -> Result<Vec<String>, String> {
    diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
        .load::<Version>(c)
        .map(|v| v.into_iter().map(|v| v.version).collect())
        .map_err(|e| format!("not a Närvaro database: {e}"))
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Written {
    pub manifest: Manifest,
    pub secret: Option<PathBuf>,
}

/// Writes a backup of the SQLite database `db` to `target` (and its manifest and secret
/// beside it). Nothing is left behind when it fails.
pub fn backup(
    db: &Path,
    target: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Written, String> {
    let copy = beside(target, ".partial-db");
    let packed = beside(target, ".partial");
    let result = write_backup(db, target, &copy, &packed, now);
    let _ = fs::remove_file(&copy);
    if result.is_err() {
        let _ = fs::remove_file(&packed);
    }
    result
}

fn write_backup(
    db: &Path,
    target: &Path,
    copy: &Path,
    packed: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Written, String> {
    if !db.exists() {
        return Err(format!("{}: no such database", db.display()));
    }
    let _ = fs::remove_file(copy);
    let mut c = open(db)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(copy.to_string_lossy().to_string())
        .execute(&mut c)
        .map_err(|e| format!("{}: the copy could not be written: {e}", copy.display()))?;
    drop(c);
    let schema = schema_versions(&mut open(copy)?)?.pop().unwrap_or_default();
    let database_bytes = fs::metadata(copy).map(|m| m.len()).unwrap_or(0);
    let written = |e: io::Error| format!("{}: {e}", packed.display());
    {
        let mut from = BufReader::new(File::open(copy).map_err(written)?);
        let out = BufWriter::new(File::create(packed).map_err(written)?);
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        io::copy(&mut from, &mut gz).map_err(written)?;
        let mut out = gz.finish().map_err(written)?;
        out.flush().map_err(written)?;
        out.get_ref().sync_all().map_err(written)?;
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        checksum: checksum(packed).map_err(written)?,
        bytes: fs::metadata(packed).map(|m| m.len()).unwrap_or(0),
        database_bytes,
        schema,
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        secret: None,
    };
    let secret_from = beside(db, ".secret");
    let secret_to = beside(target, ".secret");
    let manifest = if secret_from.exists() {
        copy_private(&secret_from, &secret_to)
            .map_err(|e| format!("{}: {e}", secret_to.display()))?;
        Manifest {
            secret: secret_to
                .file_name()
                .map(|n| n.to_string_lossy().to_string()),
            ..manifest
        }
    } else {
        manifest
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    let manifest_path = beside(target, ".json");
    fs::write(&manifest_path, json + "\n")
        .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    fs::rename(packed, target).map_err(|e| format!("{}: {e}", target.display()))?;
    Ok(Written {
        manifest,
        secret: secret_from.exists().then_some(secret_to),
    })
}

fn copy_private(from: &Path, to: &Path) -> io::Result<()> {
    let bytes = fs::read(from)?;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(to)?.write_all(&bytes)
}

/// Reads a backup's manifest and checks the file against it.
pub fn verify(backup: &Path) -> Result<Manifest, String> {
    let manifest_path = beside(backup, ".json");
    let raw = fs::read_to_string(&manifest_path).map_err(|e| {
        format!(
            "{}: the manifest beside the backup cannot be read: {e}",
            manifest_path.display()
        )
    })?;
    let m: Manifest = serde_json::from_str(&raw).map_err(|e| {
        format!(
            "{}: not a Närvaro backup manifest: {e}",
            manifest_path.display()
        )
    })?;
    if m.format != FORMAT {
        return Err(format!(
            "{}: unknown backup format {}",
            manifest_path.display(),
            m.format
        ));
    }
    let sum = checksum(backup).map_err(|e| format!("{}: {e}", backup.display()))?;
    if sum != m.checksum {
        return Err(format!(
            "{}: the backup is damaged (its checksum is not the manifest's); nothing was restored",
            backup.display()
        ));
    }
    Ok(m)
}

/// Restores `backup` into the SQLite database at `target`, which no server may be using.
/// Answers the manifest.
pub fn restore(backup: &Path, target: &Path, known: &[String]) -> Result<Manifest, String> {
    let m = verify(backup)?;
    let unpacked = beside(target, ".restoring");
    let result = unpack_and_check(backup, &unpacked, known).and_then(|()| {
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(beside(target, ".lock"))
            .map_err(|e| format!("{}: {e}", target.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "{}: a running Närvaro is using this database; stop it first, or restore into a new path with --to",
                    target.display()
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(format!("{}: {e}", target.display())),
        }
        for stale in [beside(target, "-wal"), beside(target, "-shm")] {
            let _ = fs::remove_file(stale);
        }
        fs::rename(&unpacked, target).map_err(|e| format!("{}: {e}", target.display()))?;
        if let Some(name) = &m.secret {
            let from = backup.with_file_name(name);
            copy_private(&from, &beside(target, ".secret"))
                .map_err(|e| format!("{}: {e}", from.display()))?;
        }
        drop(lock);
        Ok(())
    });
    let _ = fs::remove_file(&unpacked);
    result.map(|()| m)
}

fn unpack_and_check(backup: &Path, to: &Path, known: &[String]) -> Result<(), String> {
    {
        let damaged = |e: io::Error| {
            format!(
                "{}: the backup is damaged ({e}); nothing was restored",
                backup.display()
            )
        };
        let from = File::open(backup).map_err(damaged)?;
        let mut gz = flate2::read::GzDecoder::new(BufReader::new(from));
        let mut out =
            BufWriter::new(File::create(to).map_err(|e| format!("{}: {e}", to.display()))?);
        io::copy(&mut gz, &mut out).map_err(damaged)?;
        out.flush().map_err(|e| format!("{}: {e}", to.display()))?;
    }
    let mut c = open(to)?;
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .map_err(|e| {
            format!(
                "{}: the backup is damaged ({e}); nothing was restored",
                backup.display()
            )
        })?;
    if check.first().map(|c| c.integrity_check.as_str()) != Some("ok") {
        return Err(format!(
            "{}: SQLite's integrity check fails on the backup; nothing was restored",
            backup.display()
        ));
    }
    if let Some(newer) = schema_versions(&mut c)?
        .into_iter()
        .find(|v| !known.contains(v))
    {
        return Err(format!(
            "{}: the backup was made by a newer Närvaro (migration {newer}); restore it with that version",
            backup.display()
        ));
    }
    Ok(())
}

/// Backups older than the newest `keep` in `dir` (those named `narvaro-*.db.gz`) go, with
/// their manifests and secrets.
pub fn prune(dir: &Path, keep: usize) -> io::Result<usize> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with("narvaro-") && n.ends_with(".db.gz"))
        })
        .collect();
    found.sort();
    let old = found.len().saturating_sub(keep);
    for p in &found[..old] {
        fs::remove_file(p)?;
        let _ = fs::remove_file(beside(p, ".json"));
        let _ = fs::remove_file(beside(p, ".secret"));
    }
    Ok(old)
}

/// When the server last wrote a backup by itself, for `/healthz`.
#[derive(Debug, Default)]
pub struct Last(std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>);

impl Last {
    pub fn get(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.lock().ok().and_then(|l| *l)
    }

    fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        if let Ok(mut l) = self.0.lock() {
            *l = Some(at);
        }
    }
}

/// The server's own backups: one at start, then every `every_hours`, into
/// `narvaro-YYYYMMDD-HHMMSS.db.gz` in the folder, keeping the newest `keep`. A failed one
/// is logged (one line, no secrets) and tried again at the next turn.
pub async fn run_schedule(
    db: PathBuf,
    schedule: crate::config::BackupSchedule,
    last: actix_web::web::Data<Last>,
) {
    let every = std::time::Duration::from_secs(schedule.every_hours * 3600);
    loop {
        let (db, s) = (db.clone(), schedule.clone());
        let done = actix_web::web::block(move || {
            let now = crate::school::clock::Clock::System.now();
            let file = s
                .dir
                .join(format!("narvaro-{}.db.gz", now.format("%Y%m%d-%H%M%S")));
            let w = backup(&db, &file, now)?;
            prune(&s.dir, s.keep).map_err(|e| format!("{}: {e}", s.dir.display()))?;
            Ok::<_, String>((now, file, w.manifest.bytes))
        })
        .await;
        match done {
            Ok(Ok((at, file, bytes))) => {
                last.set(at);
                tracing::info!(file = %file.display(), bytes, "backup written");
            }
            Ok(Err(e)) => tracing::error!(error = %e, "backup failed"),
            Err(e) => tracing::error!(error = %e, "backup failed"),
        }
        actix_web::rt::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_newest_backups_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("narvaro-prune-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_default();
        for n in [
            "narvaro-20261201-010000.db.gz",
            "narvaro-20261202-010000.db.gz",
            "narvaro-20261203-010000.db.gz",
            "other.db.gz",
        ] {
            fs::write(dir.join(n), b"x").unwrap_or_default();
            fs::write(dir.join(format!("{n}.json")), b"{}").unwrap_or_default();
        }
        assert_eq!(prune(&dir, 2).ok(), Some(1));
        let mut left: Vec<String> = fs::read_dir(&dir)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        left.sort();
        assert_eq!(
            left,
            [
                "narvaro-20261202-010000.db.gz",
                "narvaro-20261202-010000.db.gz.json",
                "narvaro-20261203-010000.db.gz",
                "narvaro-20261203-010000.db.gz.json",
                "other.db.gz",
                "other.db.gz.json",
            ]
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn beside_adds_to_the_whole_name() {
        assert_eq!(
            beside(Path::new("/x/n.db"), ".json"),
            PathBuf::from("/x/n.db.json")
        );
    }
}
