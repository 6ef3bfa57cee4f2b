//! A tenant-scoped export: row-level security decides what is read, the
//! manifest declares the scope and `verify` checks it.

use std::collections::BTreeMap;
use std::io::Cursor;

use redarc::format::TenantScope;
use redarc::{verify, ArchiveReader, ExportOptions, Policy, ReadLimits};
use redarc_postgres::{Catalog, Database, PgExport, SAMPLE_TABLES};
use serde_json::{json, Value};

use crate::{count, keys, source_server};

/// The role a tenant export connects as: it owns nothing and has no
/// BYPASSRLS, so the policies apply. The same statements are in
/// docs/postgres.md.
const READER_ROLE: &str = "CREATE ROLE tenant_export LOGIN;
GRANT USAGE ON SCHEMA public TO tenant_export;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO tenant_export;";

#[test]
fn tenant_export_holds_only_that_tenants_rows() {
    let (server, load) = source_server();
    assert!(load.rows["tenants"] >= 3, "{:?}", load.rows);
    server
        .connect("source")
        .execute_script(READER_ROLE)
        .unwrap();

    // What the superuser counts for tenant 1002 in each table.
    let tenant = 1002;
    let mut expected = BTreeMap::new();
    for table in SAMPLE_TABLES {
        let column = if table == "tenants" {
            "id"
        } else {
            "tenant_id"
        };
        let n = count(
            &server,
            "source",
            &format!("SELECT count(*) FROM {table} WHERE {column} = {tenant}"),
        );
        expected.insert(table.to_string(), n);
    }
    let all: u64 = load.rows.values().sum();
    assert!(
        expected.values().sum::<u64>() < all / 2,
        "the tenant is not a small part"
    );
    assert!(expected.values().all(|&n| n > 0), "{expected:?}");

    let mut db = Database::connect(&server.url("source", "tenant_export")).unwrap();
    // Without the setting the role sees nothing at all.
    assert!(db.row_counts("public").unwrap().values().all(|&n| n == 0));

    let (identity, recipients) = keys();
    let plan = PgExport::new(Catalog::load(&mut db, "public").unwrap()).tenant(tenant.to_string());
    let opts =
        ExportOptions::new("production").redactor(Policy::default_policy().compile().unwrap());
    let mut archive = Vec::new();
    let manifest = plan
        .export(&mut db, &mut archive, &recipients, opts)
        .unwrap();
    assert_eq!(
        manifest.tenant,
        Some(TenantScope::new("tenant_id", json!(tenant)))
    );
    for (table, n) in &expected {
        assert_eq!(manifest.entity(table).unwrap().records, *n, "{table}");
    }

    let report = verify(Cursor::new(&archive), &identity, ReadLimits::default()).unwrap();
    assert!(report.valid, "{:?}", report.checks);
    let scope = report.checks.iter().find(|c| c.name == "tenant").unwrap();
    assert!(scope.passed);
    assert_eq!(
        scope.checked,
        expected.values().sum::<u64>() - expected["tenants"]
    );

    // Read back independently of the manifest's claim.
    let mut reader = ArchiveReader::open(Cursor::new(&archive), &identity).unwrap();
    for table in SAMPLE_TABLES {
        let field = if table == "tenants" {
            "id"
        } else {
            "tenant_id"
        };
        for record in reader.records::<Value>(table).unwrap() {
            assert_eq!(record.unwrap()[field], json!(tenant), "{table}");
        }
    }
}

#[test]
fn scope_and_row_level_security_must_agree() {
    let (server, _) = source_server();
    server
        .connect("source")
        .execute_script(READER_ROLE)
        .unwrap();
    let (_, recipients) = keys();
    let export = |db: &mut Database, plan: PgExport| {
        plan.export(
            db,
            Vec::new(),
            &recipients,
            ExportOptions::new("production"),
        )
        .unwrap_err()
        .to_string()
    };

    // The reader role without a tenant would export nothing, silently.
    let mut reader = Database::connect(&server.url("source", "tenant_export")).unwrap();
    let plan = PgExport::new(Catalog::load(&mut reader, "public").unwrap());
    let err = export(&mut reader, plan.clone());
    assert!(err.contains("is under row-level security"), "{err}");
    // A tenant id that is not one for a bigint column.
    let err = export(&mut reader, plan.tenant("acme"));
    assert!(err.contains("must be one"), "{err}");

    // The owner with a tenant would export every tenant.
    let mut owner = server.connect("source");
    let plan = PgExport::new(Catalog::load(&mut owner, "public").unwrap()).tenant("1002");
    let err = export(&mut owner, plan);
    assert!(err.contains("is not under row-level security"), "{err}");
}
