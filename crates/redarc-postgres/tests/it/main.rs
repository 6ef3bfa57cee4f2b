//! Integration tests of redarc-postgres against a real PostgreSQL server
//! started from the Debian packages, as one test binary.

// In tests a panic is a failed test, not a crash on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod example;
mod refusals;
mod rls;
mod roundtrip;
mod server;

use std::collections::BTreeMap;

use redarc::sample::SampleOptions;
use redarc::{Identities, Recipients};
use redarc_postgres::{load_sample, SampleLoad, SCHEMA_SQL};
use server::PgServer;

/// A server whose database `source` holds the application schema and
/// about 400 kB of generated rows (a handful of tenants).
fn source_server() -> (PgServer, SampleLoad) {
    let server = PgServer::start();
    server.create_database("source");
    let mut db = server.connect("source");
    db.execute_script(SCHEMA_SQL).unwrap();
    let load = load_sample(&mut db, &SampleOptions::new(7).target_bytes(400_000)).unwrap();
    (server, load)
}

/// A new key pair.
fn keys() -> (Identities, Recipients) {
    let identity = Identities::generate_x25519();
    let recipients = Recipients::parse(&identity.recipients()).unwrap();
    (identity, recipients)
}

/// Every row of every table of `db`, as `row_to_json` text, read with
/// psql as the superuser: independent of the code under test.
fn dump(server: &PgServer, db: &str, tables: &[&str]) -> BTreeMap<String, String> {
    tables
        .iter()
        .map(|t| {
            let sql = format!("SELECT row_to_json(r) FROM {t} AS r");
            (t.to_string(), server.psql(db, &sql))
        })
        .collect()
}

/// One number from psql.
fn count(server: &PgServer, db: &str, sql: &str) -> u64 {
    server.psql(db, sql).trim().parse().unwrap()
}
