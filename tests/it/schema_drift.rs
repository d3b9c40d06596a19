//! The schema-drift check: migrations/sqlite, migrations/postgres and src/schema.rs must
//! describe the same tables and columns, with the same types and nullability.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use narvaro::db::{self, DbConn};

use crate::helpers::{Kind, TestDb, PG_ENV};

/// (table, column) → (type, nullable)
type Columns = BTreeMap<(String, String), (String, bool)>;

#[derive(QueryableByName)]
struct Col {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

fn normalise(t: &str, primary_key: bool) -> String {
    match t.to_ascii_lowercase().as_str() {
        "integer" if primary_key => "bigint",
        "bigint" => "bigint",
        "integer" => "integer",
        "text" => "text",
        "boolean" => "bool",
        "date" => "date",
        "time" | "time without time zone" => "time",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => panic!("type {other} is not one both backends share"),
    }
    .to_string()
}

fn introspect(kind: Kind) -> Columns {
    let db = TestDb::new(kind);
    let pool = db::connect(&db.url, 1).expect("migrate");
    let mut conn = pool.get().unwrap();
    let rows: Vec<(Col, bool)> = match &mut *conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             (p.\"notnull\" = 0 AND p.pk = 0) AS nullable, (p.pk = 1 AND p.type = 'INTEGER') AS single_pk \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
        )
        .load::<SqliteCol>(c)
        .unwrap()
        .into_iter()
        .map(|r| (r.col, r.single_pk))
        .collect(),
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
             (is_nullable = 'YES') AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'",
        )
        .load::<Col>(c)
        .unwrap()
        .into_iter()
        .map(|c| (c, false))
        .collect(),
    };
    rows.into_iter()
        .map(|(c, pk)| {
            (
                (c.table_name, c.column_name),
                (normalise(&c.data_type, pk), c.nullable),
            )
        })
        .collect()
}

#[derive(QueryableByName)]
struct SqliteCol {
    #[diesel(embed)]
    col: Col,
    #[diesel(sql_type = Bool)]
    single_pk: bool,
}

/// Reads the `diesel::table!` blocks of src/schema.rs.
fn schema_rs() -> Columns {
    let text = include_str!("../../src/schema.rs");
    let mut out = Columns::new();
    let mut table: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{').map(str::trim) {
            if let Some((name, _)) = rest.split_once(" (") {
                table = Some(name.trim().to_string());
                continue;
            }
        }
        if line == "}" {
            table = None;
            continue;
        }
        let (Some(t), Some((col, ty))) = (&table, line.trim_end_matches(',').split_once("->"))
        else {
            continue;
        };
        let ty = ty.trim();
        let (inner, nullable) = match ty
            .strip_prefix("Nullable<")
            .and_then(|r| r.strip_suffix('>'))
        {
            Some(inner) => (inner, true),
            None => (ty, false),
        };
        let sql = match inner {
            "BigInt" => "bigint",
            "Integer" => "integer",
            "Text" => "text",
            "Bool" => "bool",
            "Date" => "date",
            "Time" => "time",
            "Timestamp" => "timestamp",
            other => panic!("schema.rs type {other} is not portable"),
        };
        out.insert(
            (t.clone(), col.trim().to_string()),
            (sql.to_string(), nullable),
        );
    }
    out
}

fn diff(a_name: &str, a: &Columns, b_name: &str, b: &Columns) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, v) in a {
        match b.get(k) {
            None => problems.push(format!(
                "{}.{} is in {a_name} but not in {b_name}",
                k.0, k.1
            )),
            Some(w) if w != v => problems.push(format!(
                "{}.{}: {a_name} has {v:?}, {b_name} has {w:?}",
                k.0, k.1
            )),
            _ => {}
        }
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        problems.push(format!(
            "{}.{} is in {b_name} but not in {a_name}",
            k.0, k.1
        ));
    }
    problems
}

#[test]
fn sqlite_migrations_match_schema_rs() {
    let sqlite = introspect(Kind::Sqlite);
    let rs = schema_rs();
    assert!(rs.len() > 100, "schema.rs was read: {} columns", rs.len());
    let problems = diff("migrations/sqlite", &sqlite, "src/schema.rs", &rs);
    assert!(
        problems.is_empty(),
        "schema drift:\n{}",
        problems.join("\n")
    );
}

#[test]
fn postgres_migrations_match_sqlite_migrations() {
    if std::env::var(PG_ENV).is_err() {
        crate::helpers::backends(); // says loudly that PostgreSQL was skipped
        return;
    }
    let sqlite = introspect(Kind::Sqlite);
    let pg = introspect(Kind::Postgres);
    let problems = diff("migrations/sqlite", &sqlite, "migrations/postgres", &pg);
    assert!(
        problems.is_empty(),
        "schema drift:\n{}",
        problems.join("\n")
    );
}

#[test]
fn both_trees_have_the_same_migrations() {
    let names = |backend: &str| -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names("sqlite"),
        names("postgres"),
        "every migration exists for both backends, under the same name"
    );
}
