//! The whole path: export a redacted, encrypted archive from one database,
//! verify it, dry-run and then import it, approved, into a fresh database.

use std::fs::File;

use redarc::{dry_run, import, verify, Approval, ArchiveReader, ExportOptions, Policy, ReadLimits};
use redarc_postgres::{Catalog, PgExport, PgImporter, SAMPLE_TABLES, SCHEMA_SQL};
use serde_json::Value;

use crate::{count, dump, keys, source_server};

#[test]
fn export_verify_dry_run_and_approved_restore() {
    let (server, load) = source_server();
    let (identity, recipients) = keys();
    let tables = SAMPLE_TABLES;

    // The source holds what the loader says, and the planted secrets are
    // really in it: otherwise their absence later would prove nothing.
    let mut source = server.connect("source");
    let source_counts = source.row_counts("public").unwrap();
    assert_eq!(source_counts, load.rows);
    assert_eq!(source_counts.len(), tables.len());
    assert!(source_counts.values().all(|&n| n > 0), "{source_counts:?}");
    let source_rows = dump(&server, "source", &tables);
    assert!(load.truth.secrets.len() > 50, "too few planted secrets");
    for p in &load.truth.secrets {
        assert!(
            source_rows[&p.entity].contains(&p.value),
            "planted {} in {} is not in the source rows",
            p.family,
            p.entity
        );
    }

    // Export, redacted with the default policy. Small fetches so every
    // table takes several round trips through the portal.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.tar.zst.age");
    let plan = PgExport::new(Catalog::load(&mut source, "public").unwrap()).fetch_rows(64);
    let order: Vec<&str> = plan.tables().map(|t| t.name()).collect();
    assert_eq!(order.first(), Some(&"tenants"), "referenced tables first");
    let opts = ExportOptions::new("production")
        .source_version("test")
        .redactor(Policy::default_policy().compile().unwrap());
    let manifest = plan
        .export(&mut source, File::create(&path).unwrap(), &recipients, opts)
        .unwrap();
    for (table, n) in &source_counts {
        assert_eq!(manifest.entity(table).unwrap().records, *n, "{table}");
    }
    assert!(manifest.relations.len() >= 10, "{:?}", manifest.relations);
    assert!(manifest.redaction.as_ref().unwrap().total > 0);
    assert!(manifest.tenant.is_none());

    // Verify: complete and valid, relations resolve, nothing residual.
    let report = verify(File::open(&path).unwrap(), &identity, ReadLimits::default()).unwrap();
    assert!(report.valid, "{:?}", report.checks);
    let relations = report
        .checks
        .iter()
        .find(|c| c.name == "relations")
        .unwrap();
    assert!(relations.passed && relations.checked > 0);

    // No planted secret is in the archive; ids and other look-alikes are.
    let mut reader = ArchiveReader::open(File::open(&path).unwrap(), &identity).unwrap();
    let mut archived = std::collections::BTreeMap::new();
    for table in tables {
        let text: Vec<String> = reader
            .records::<Value>(table)
            .unwrap()
            .map(|r| r.unwrap().to_string())
            .collect();
        archived.insert(table.to_string(), text.join("\n"));
    }
    for p in &load.truth.secrets {
        assert!(
            !archived[&p.entity].contains(&p.value),
            "planted {} in {} survived into the archive",
            p.family,
            p.entity
        );
    }
    let uuids: Vec<_> = load
        .truth
        .lookalikes
        .iter()
        .filter(|p| p.family == "uuid")
        .collect();
    assert!(!uuids.is_empty());
    for p in uuids {
        assert!(
            archived[&p.entity].contains(&p.value),
            "a uuid in {} was altered",
            p.entity
        );
    }

    // Dry run into a fresh database: everything would be written, nothing is.
    server.create_database("restored");
    let mut target = server.connect("restored");
    target.execute_script(SCHEMA_SQL).unwrap();
    let mut importer = PgImporter::new(&mut target, "public", "restore-test").unwrap();
    let planned = dry_run(&mut reader, &mut importer).unwrap();
    assert!(planned.dry_run);
    for (table, n) in &source_counts {
        let c = planned.entity(table).unwrap();
        assert_eq!(
            (c.records, c.would_write, c.skipped, c.invalid),
            (*n, *n, 0, 0),
            "{table}"
        );
    }
    drop(importer);
    assert!(target
        .row_counts("public")
        .unwrap()
        .values()
        .all(|&n| n == 0));

    // The approved import, as a person would have typed it.
    let approval = Approval::from_typed_confirmation(
        "ada",
        "OPS-2041 restore drill",
        "restore-test",
        false,
        "restore-test",
        None,
    )
    .unwrap();
    let mut importer = PgImporter::new(&mut target, "public", "restore-test").unwrap();
    let done = import(&mut reader, &mut importer, &approval).unwrap();
    importer.commit().unwrap();
    assert_eq!(done.written(), manifest.total_records());
    let restored_counts = target.row_counts("public").unwrap();
    assert_eq!(restored_counts, source_counts);
    println!("rows per table, source = restored: {restored_counts:?}");

    // The restored rows hold placeholders, never the secrets.
    let restored_rows = dump(&server, "restored", &tables);
    for p in &load.truth.secrets {
        assert!(
            !restored_rows[&p.entity].contains(&p.value),
            "planted {} in {} survived into the restored database",
            p.family,
            p.entity
        );
    }
    assert_eq!(
        count(
            &server,
            "restored",
            "SELECT count(*) FROM users WHERE password_hash NOT LIKE '[REDACTED:%'"
        ),
        0
    );

    // Importing again finds every row present.
    let mut importer = PgImporter::new(&mut target, "public", "restore-test").unwrap();
    let again = dry_run(&mut reader, &mut importer).unwrap();
    assert_eq!(again.skipped(), manifest.total_records());
    assert_eq!(again.would_write(), 0);
    drop(importer);

    // Sequences moved past the restored ids: the application can insert.
    let max = count(&server, "restored", "SELECT max(id) FROM users");
    let id = count(
        &server,
        "restored",
        "INSERT INTO users (tenant_id, email, password_hash, name) \
         SELECT min(id), 'new@example.com', 'x', 'New' FROM tenants RETURNING id",
    );
    assert!(id > max, "new id {id} not past {max}");
}
