//! The schema-drift check: migrations/sqlite, migrations/postgres and src/schema.rs must
//! describe the same tables and columns, with the same types and nullability, and the two
//! trees the same indexes, unique constraints and foreign keys.

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

/// Indexes (unique or not, partial or not, on which columns, `<expr>` for an expression),
/// unique constraints (which both backends keep as unique indexes) and foreign keys, as
/// facts that read the same on both backends whatever each names them. Primary keys are
/// left out: SQLite keeps an INTEGER PRIMARY KEY as the row id, without an index.
fn structure(kind: Kind) -> std::collections::BTreeSet<String> {
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        index_name: String,
        #[diesel(sql_type = Bool)]
        uniq: bool,
        #[diesel(sql_type = Bool)]
        partial: bool,
        #[diesel(sql_type = Text)]
        columns: String,
    }
    #[derive(QueryableByName)]
    struct Fk {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
        #[diesel(sql_type = Text)]
        ref_table: String,
        #[diesel(sql_type = Text)]
        ref_column: String,
    }
    let db = TestDb::new(kind);
    let pool = db::connect(&db.url, 1).expect("migrate");
    let mut conn = pool.get().unwrap();
    let (indexes, fks): (Vec<Index>, Vec<Fk>) = match &mut *conn {
        DbConn::Sqlite(c) => (
            diesel::sql_query(
                "SELECT m.name AS table_name, il.name AS index_name, il.\"unique\" = 1 AS uniq, \
                 il.partial = 1 AS partial, \
                 (SELECT group_concat(COALESCE(ii.name, '<expr>'), ',') FROM \
                    (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) ii) AS columns \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) il \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%' \
                 AND il.origin <> 'pk'",
            )
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT m.name AS table_name, f.\"from\" AS column_name, f.\"table\" AS ref_table, \
                 COALESCE(f.\"to\", 'id') AS ref_column \
                 FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND m.name NOT LIKE '__diesel%'",
            )
            .load(c)
            .unwrap(),
        ),
        DbConn::Pg(c) => (
            diesel::sql_query(
                "SELECT t.relname::text AS table_name, i.relname::text AS index_name, ix.indisunique AS uniq, \
                 (ix.indpred IS NOT NULL) AS partial, \
                 array_to_string(ARRAY(SELECT COALESCE(a.attname::text, '<expr>') \
                    FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum <> 0 \
                    ORDER BY k.ord), ',') AS columns \
                 FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
                 JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE n.nspname = 'public' AND t.relname NOT LIKE '__diesel%' AND NOT ix.indisprimary",
            )
            .load(c)
            .unwrap(),
            diesel::sql_query(
                "SELECT cl.relname::text AS table_name, a.attname::text AS column_name, \
                 rcl.relname::text AS ref_table, ra.attname::text AS ref_column \
                 FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid \
                 JOIN pg_class rcl ON rcl.oid = c.confrelid \
                 JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, rcol) ON true \
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
                 JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.rcol \
                 JOIN pg_namespace n ON n.oid = cl.relnamespace \
                 WHERE c.contype = 'f' AND n.nspname = 'public'",
            )
            .load(c)
            .unwrap(),
        ),
    };
    let mut facts = std::collections::BTreeSet::new();
    for i in indexes {
        let _ = i.index_name;
        facts.insert(format!(
            "{} index on {}({}){}",
            if i.uniq { "unique" } else { "plain" },
            i.table_name,
            i.columns,
            if i.partial { " where …" } else { "" }
        ));
    }
    for f in fks {
        facts.insert(format!(
            "foreign key {}.{} → {}.{}",
            f.table_name, f.column_name, f.ref_table, f.ref_column
        ));
    }
    facts
}

#[test]
fn indexes_unique_constraints_and_foreign_keys_match() {
    let sqlite = structure(Kind::Sqlite);
    assert!(
        sqlite.iter().any(|f| f.starts_with("unique index"))
            && sqlite.iter().any(|f| f.starts_with("foreign key")),
        "the SQLite structure was read: {sqlite:#?}"
    );
    if std::env::var(PG_ENV).is_err() {
        crate::helpers::backends(); // says loudly that PostgreSQL was skipped
        return;
    }
    let pg = structure(Kind::Postgres);
    let only_sqlite: Vec<&String> = sqlite.difference(&pg).collect();
    let only_pg: Vec<&String> = pg.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schema drift in indexes, unique constraints or foreign keys:\nonly in migrations/sqlite:\n  {}\nonly in migrations/postgres:\n  {}",
        only_sqlite.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  "),
        only_pg.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
    );
}
