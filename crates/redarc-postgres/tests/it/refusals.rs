//! What the importer refuses, and what its errors do not say.

use std::io::Cursor;

use redarc::{import, Approval, ArchiveReader, ExportOptions, Importer};
use redarc_postgres::{Catalog, Database, PgExport, PgImporter, SCHEMA_SQL};
use serde_json::json;

use crate::{count, keys, source_server};

#[test]
fn production_targets_and_errors_keep_their_secrets() {
    let (server, _) = source_server();
    server.create_database("target");
    let mut target = server.connect("target");
    target.execute_script(SCHEMA_SQL).unwrap();

    // An archive to import (unredacted: this is about the target).
    let (identity, recipients) = keys();
    let mut source = server.connect("source");
    let plan = PgExport::new(Catalog::load(&mut source, "public").unwrap());
    let mut archive = Vec::new();
    plan.export(
        &mut source,
        &mut archive,
        &recipients,
        ExportOptions::new("staging"),
    )
    .unwrap();
    let mut reader = ArchiveReader::open(Cursor::new(&archive), &identity).unwrap();

    // A target named production needs the production phrase.
    let approval =
        Approval::from_typed_confirmation("ada", "OPS-1", "production", false, "production", None)
            .unwrap();
    let mut importer = PgImporter::new(&mut target, "public", "production").unwrap();
    assert!(importer.is_production());
    let err = import(&mut reader, &mut importer, &approval).unwrap_err();
    assert!(err.to_string().contains("production confirmation"), "{err}");
    drop(importer);
    // So does one marked production, whatever its name.
    let approval =
        Approval::from_typed_confirmation("ada", "OPS-1", "staging", false, "staging", None)
            .unwrap();
    let mut importer = PgImporter::new(&mut target, "public", "staging")
        .unwrap()
        .production(true);
    assert!(import(&mut reader, &mut importer, &approval).is_err());
    drop(importer);
    assert_eq!(count(&server, "target", "SELECT count(*) FROM users"), 0);

    // check() refuses what cannot be a row of the table, without quoting it.
    let mut importer = PgImporter::new(&mut target, "public", "staging").unwrap();
    assert!(importer.check("no_such_table", &json!({"id": 1})).is_err());
    assert!(importer.check("users", &json!([1])).is_err());
    assert!(importer
        .check("users", &json!({"id": 1, "extra": "x"}))
        .is_err());
    assert!(importer
        .check("users", &json!({"email": "a@example.com"}))
        .is_err());

    // A value the server cannot convert: the error names the table and the
    // SQLSTATE, not the value (PostgreSQL's own message would quote it).
    let secret = "ghp_R4nd0mT0k3nTh4tMustN0tLeak0000000000";
    let bad = json!({"id": secret, "tenant_id": 1, "user_id": 1});
    let err = importer
        .write_batch("incidents", &[bad])
        .unwrap_err()
        .to_string();
    assert!(err.contains("22P02") && err.contains("incidents"), "{err}");
    assert!(!err.contains(secret), "{err}");
    importer.rollback().unwrap();

    // A duplicate key: PostgreSQL's DETAIL line quotes the key.
    let mut importer = PgImporter::new(&mut target, "public", "staging").unwrap();
    let tenant = json!({"id": 7, "name": "Tenant 7"});
    let email = "leaky.person@example.com";
    let user = json!({"id": 1, "tenant_id": 7, "email": email, "password_hash": "x", "name": "L"});
    let dup = json!({"id": 2, "tenant_id": 7, "email": email, "password_hash": "x", "name": "L"});
    importer.write_batch("tenants", &[tenant]).unwrap();
    let err = importer
        .write_batch("users", &[user, dup])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("23505") && err.contains("users_tenant_id_email_key"),
        "{err}"
    );
    assert!(!err.contains(email), "{err}");
    // Dropped without commit: nothing stays.
    drop(importer);
    assert_eq!(count(&server, "target", "SELECT count(*) FROM tenants"), 0);

    // A wrong login names user and database, never the password.
    let url = format!(
        "{} password=hunter2-not-shown",
        server.url("target", "nobody_here")
    );
    let err = Database::connect(&url).unwrap_err().to_string();
    assert!(
        err.contains("nobody_here") && !err.contains("hunter2"),
        "{err}"
    );
}
