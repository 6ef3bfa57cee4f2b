//! A service exports two typed entities with a relation, then proves the
//! export restores with a drill and prints the evidence summary.
//!
//! The entities derive `JsonSchema`: their schemas are stored in the archive
//! and every record is checked against them on write and on verify.
//!
//! Run with `cargo run -p redarc --example service_export`.

use std::path::Path;

use redarc::format::{Custody, Relation, Timestamp};
use redarc::restore::{drill, object_name, EmptyTarget};
use redarc::{Error, ExportOptions, ExportWriter, Identities, Recipients};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A row of the service's `users` table, as exported.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct User {
    id: u64,
    email: String,
    name: String,
}

/// A row of `user_tokens`: which provider a user connected. The token
/// itself is never exported, only a reference to where it is kept.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct UserToken {
    id: u64,
    user_id: u64,
    provider: String,
    secret_ref: String,
}

/// Stand-ins for the service's database queries.
fn users() -> Vec<User> {
    (1..=20)
        .map(|id| User {
            id,
            email: format!("user{id}@example.com"),
            name: format!("User {id}"),
        })
        .collect()
}

fn tokens() -> Vec<UserToken> {
    ["github", "gcp", "slack"]
        .iter()
        .enumerate()
        .flat_map(|(i, provider)| {
            (1..=5).map(move |user_id| UserToken {
                id: (i as u64) * 100 + user_id,
                user_id,
                provider: provider.to_string(),
                secret_ref: format!("vault:kv/tokens/{user_id}/{provider}"),
            })
        })
        .collect()
}

/// Exports both entities into `path`; returns the number of records.
fn export(path: &Path, recipients: &Recipients, generated_at: Timestamp) -> redarc::Result<u64> {
    let file = std::fs::File::create(path).map_err(|e| Error::io_path("creating", path, e))?;
    let expires = Timestamp::from_unix(generated_at.unix() + 14 * 24 * 3600)
        .ok_or_else(|| Error::Usage("expiry out of range".into()))?;
    let opts = ExportOptions::new("staging")
        .source_version("service-1.4.2")
        .generated_at(generated_at)
        .relation(Relation::new("user_tokens", "user_id", "users", "id"))
        .custody(
            Custody::new()
                .purpose("weekly restore drill")
                .ticket("OPS-2041")
                .scope("users and user_tokens, staging")
                .expires_at(expires),
        );
    let mut export = ExportWriter::new(file, recipients, opts)?;
    let mut out = export.typed_entity::<User>("users")?;
    for user in users() {
        out.write(&user)?;
    }
    out.finish()?;
    let mut out = export.typed_entity::<UserToken>("user_tokens")?;
    for token in tokens() {
        out.write(&token)?;
    }
    out.finish()?;
    export.omit("sessions", "live sessions are never exported")?;
    let manifest = export.finish()?;
    Ok(manifest.total_records())
}

fn main() -> redarc::Result<()> {
    let identity = Identities::generate_x25519();
    let recipients = Recipients::parse(&identity.recipients())?;
    let dir = tempfile::tempdir().map_err(|e| Error::io("creating a temporary directory", e))?;
    let now = Timestamp::now();

    // The name the archive would have offsite: environment and time only.
    let name = object_name("exports", "staging", now)?;
    let file_name = name.rsplit('/').next().unwrap_or("export.tar.zst.age");
    let path = dir.path().join(file_name);
    let records = export(&path, &recipients, now)?;
    eprintln!("exported {records} records as {name}");

    // A drill: verify, dry-run into an empty non-production target, smoke checks.
    let mut target = EmptyTarget::new("restore-test");
    let evidence = drill(&path, &identity, "restore-test", &mut target);
    println!("{}", evidence.to_markdown());
    if evidence.passed && evidence.would_write() == records {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "drill failed at {}",
            evidence
                .failed_check
                .as_deref()
                .unwrap_or("the record totals")
        )))
    }
}
