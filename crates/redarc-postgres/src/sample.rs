//! The application schema this crate ships, and a loader that fills it
//! with redarc's synthetic production-like data (planted secrets included)
//! for demos and tests.

use std::collections::{BTreeMap, HashMap};

use redarc::sample::{generate, GroundTruth, SampleOptions};
use redarc::{Error, Result};
use serde_json::{Map, Value};

use crate::db::{db_error, Database};

/// The schema of a multi-tenant AI-ops application (`sql/schema.sql`):
/// tenants, users, user_tokens, incidents, chat_sessions,
/// incident_citations, llm_usage_tracking and tool_audit_events, each with
/// `tenant_id` under a row-level security policy on the session setting
/// `app.tenant_id`. Apply it with [`Database::execute_script`].
pub const SCHEMA_SQL: &str = include_str!("../sql/schema.sql");

/// The tables [`SCHEMA_SQL`] creates, in the order the loader fills them.
pub const SAMPLE_TABLES: [&str; 8] = [
    "tenants",
    "users",
    "user_tokens",
    "incidents",
    "chat_sessions",
    "incident_citations",
    "llm_usage_tracking",
    "tool_audit_events",
];

/// Rows inserted per statement by the loader.
const BATCH: usize = 500;

/// What [`load_sample`] put into the database.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SampleLoad {
    /// Rows inserted per table.
    pub rows: BTreeMap<String, u64>,
    /// The generator's ground truth, narrowed to the loaded tables: every
    /// planted secret and look-alike, with its table (`entity`) and
    /// 0-based row number in generation order (`record`).
    pub truth: GroundTruth,
}

/// Fills the tables of [`SCHEMA_SQL`] (found through the search path)
/// with [`redarc::sample`] data, in one transaction.
///
/// Each generated user is its own tenant: tenant ids equal user ids. The
/// generator's entities without a table here (`app_logs`, `artifacts`,
/// `grafana_alerts`) are generated and dropped. `user_tokens.tenant_id`
/// of the generator, the provider's directory id, goes to
/// `provider_tenant_id`.
///
/// # Errors
/// [`Error::Io`] when an insert fails (for example, the schema is missing
/// or already holds these rows); nothing is then written.
pub fn load_sample(db: &mut Database, opts: &SampleOptions) -> Result<SampleLoad> {
    let mut loader = Loader {
        db,
        batches: HashMap::new(),
        rows: SAMPLE_TABLES.iter().map(|t| (t.to_string(), 0)).collect(),
        incident_tenant: HashMap::new(),
    };
    loader.execute("BEGIN; SET CONSTRAINTS ALL DEFERRED")?;
    let generated = generate(opts, |entity, line| loader.record(entity, line));
    let result = generated.and_then(|truth| {
        for table in SAMPLE_TABLES {
            loader.flush(table)?;
        }
        loader.execute("COMMIT")?;
        Ok(truth)
    });
    let mut truth = match result {
        Ok(truth) => truth,
        Err(e) => {
            let _ = loader.execute("ROLLBACK");
            return Err(e);
        }
    };
    let loaded = |entity: &str| SAMPLE_TABLES.contains(&entity);
    truth.records.retain(|entity, _| loaded(entity));
    truth.secrets.retain(|p| loaded(&p.entity));
    truth.lookalikes.retain(|p| loaded(&p.entity));
    Ok(SampleLoad {
        rows: loader.rows,
        truth,
    })
}

struct Loader<'a> {
    db: &'a mut Database,
    batches: HashMap<&'static str, Vec<Value>>,
    rows: BTreeMap<String, u64>,
    /// Which tenant each incident belongs to: citations name only the
    /// incident.
    incident_tenant: HashMap<String, Value>,
}

impl Loader<'_> {
    fn execute(&mut self, sql: &str) -> Result<()> {
        let client = &self.db.client;
        self.db
            .block_on(client.batch_execute(sql))
            .map_err(|e| db_error("loading sample data", &e))
    }

    fn record(&mut self, entity: &str, line: &[u8]) -> Result<()> {
        let Some(table) = SAMPLE_TABLES.iter().find(|t| **t == entity).copied() else {
            return Ok(());
        };
        let mut row: Map<String, Value> =
            serde_json::from_slice(line).map_err(|_| Error::Record {
                entity: entity.to_string(),
                record: self.rows.get(table).copied().unwrap_or(0) + 1,
                detail: "the generator wrote a line that is not a JSON object".into(),
            })?;
        let tenant = match table {
            "users" => row.get("id").cloned(),
            "incident_citations" => row
                .get("incident_id")
                .and_then(Value::as_str)
                .and_then(|id| self.incident_tenant.get(id))
                .cloned(),
            _ => row.get("user_id").cloned(),
        }
        .unwrap_or(Value::Null);
        match table {
            "users" => {
                let mut t = Map::new();
                t.insert("id".into(), tenant.clone());
                t.insert("name".into(), Value::String(format!("Tenant {tenant}")));
                if let Some(created) = row.get("created_at") {
                    t.insert("created_at".into(), created.clone());
                }
                self.push("tenants", Value::Object(t))?;
            }
            "user_tokens" => {
                if let Some(provider_tenant) = row.remove("tenant_id") {
                    row.insert("provider_tenant_id".into(), provider_tenant);
                }
            }
            "incidents" => {
                if let Some(id) = row.get("id").and_then(Value::as_str) {
                    self.incident_tenant.insert(id.to_string(), tenant.clone());
                }
            }
            _ => {}
        }
        row.insert("tenant_id".into(), tenant);
        self.push(table, Value::Object(row))
    }

    fn push(&mut self, table: &'static str, row: Value) -> Result<()> {
        let batch = self.batches.entry(table).or_default();
        batch.push(row);
        if batch.len() >= BATCH {
            self.flush(table)?;
        }
        Ok(())
    }

    fn flush(&mut self, table: &'static str) -> Result<()> {
        let Some(batch) = self.batches.get_mut(table).filter(|b| !b.is_empty()) else {
            return Ok(());
        };
        let rows = std::mem::take(batch);
        let json = Value::Array(rows).to_string();
        // `table` is one of SAMPLE_TABLES, not input.
        let sql = format!(
            "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1::text::jsonb)"
        );
        let client = &self.db.client;
        let n = self
            .db
            .block_on(client.execute(sql.as_str(), &[&json]))
            .map_err(|e| db_error(&format!("loading sample rows into {table}"), &e))?;
        *self.rows.entry(table.to_string()).or_insert(0) += n;
        Ok(())
    }
}
