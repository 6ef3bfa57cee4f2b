//! Restoring archive records into PostgreSQL through redarc's
//! [`Importer`] trait.

use std::collections::{BTreeSet, HashMap};

use redarc::restore::validate_environment;
use redarc::{Error, Importer, Result};
use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::Statement;

use crate::catalog::{Catalog, Table};
use crate::db::{db_error, quote_ident, Database};

/// An [`Importer`] that writes entities into the same-named tables of one
/// schema of a PostgreSQL database, normally a fresh one with the
/// application's schema.
///
/// - [`Importer::check`] refuses records that are not objects, have a
///   field that is not a column, or lack a primary-key value, and entities
///   the schema has no table for.
/// - [`Importer::exists`] looks the record up by primary key (in a table
///   without one, every record counts as new).
/// - [`Importer::write_batch`] inserts a batch in one statement per set of
///   fields present, usually one (`INSERT … SELECT … FROM
///   jsonb_populate_recordset`): the server converts each field to its
///   column's type, and a missing field gets the column's default.
///
/// All writes go into **one transaction**, with deferrable constraints
/// deferred, that [`PgImporter::commit`] commits; dropping the importer
/// without it rolls everything back. A dry run never starts it.
///
/// Errors name the table, column and constraint and the server's error
/// code, never a record's values.
#[derive(Debug)]
pub struct PgImporter<'a> {
    db: &'a mut Database,
    catalog: Catalog,
    environment: String,
    production: bool,
    in_transaction: bool,
    /// Tables known to hold no rows: no need to ask about each record.
    empty: HashMap<String, bool>,
    exists_statements: HashMap<String, Statement>,
    written: BTreeSet<String>,
}

impl<'a> PgImporter<'a> {
    /// An importer for the tables of `schema` in `db`, a target in
    /// `environment` (e.g. `restore-test`).
    ///
    /// The target counts as production when marked so with
    /// [`PgImporter::production`] or when the environment is named
    /// `production` or `prod`.
    ///
    /// # Errors
    /// [`Error::Usage`] for an invalid environment name or a schema with no
    /// tables; [`Error::Io`] when the catalog cannot be read.
    pub fn new(db: &'a mut Database, schema: &str, environment: &str) -> Result<PgImporter<'a>> {
        validate_environment(environment)
            .map_err(|e| Error::Usage(format!("target environment: {e}")))?;
        let catalog = Catalog::load(db, schema)?;
        if catalog.tables().is_empty() {
            return Err(Error::Usage(format!(
                "schema {schema} of {} has no tables: create the application's schema first",
                db.target()
            )));
        }
        Ok(PgImporter {
            db,
            catalog,
            production: matches!(environment, "production" | "prod"),
            environment: environment.to_string(),
            in_transaction: false,
            empty: HashMap::new(),
            exists_statements: HashMap::new(),
            written: BTreeSet::new(),
        })
    }

    /// Marks the target as production (it cannot be unmarked).
    pub fn production(mut self, production: bool) -> PgImporter<'a> {
        self.production |= production;
        self
    }

    /// The target's tables.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Commits what [`redarc::import`] wrote, after moving the sequences
    /// of serial and identity columns past the restored values (so the
    /// application's next insert does not collide). Does nothing when
    /// nothing was written.
    ///
    /// # Errors
    /// [`Error::Io`] when a deferred constraint fails or the commit does;
    /// nothing is then written.
    pub fn commit(mut self) -> Result<()> {
        if !self.in_transaction {
            return Ok(());
        }
        let mut statements = Vec::new();
        for name in &self.written {
            let Some(table) = self.catalog.table(name) else {
                continue;
            };
            for column in table.columns() {
                if let Some(sequence) = &column.sequence {
                    statements.push((
                        format!(
                            "SELECT setval($1::text::regclass, m) FROM (SELECT max({})::bigint AS m FROM {}) AS s WHERE m IS NOT NULL",
                            quote_ident(&column.name),
                            table.qualified()
                        ),
                        sequence.clone(),
                    ));
                }
            }
        }
        let client = &self.db.client;
        let result = self.db.block_on(async {
            for (sql, sequence) in &statements {
                client
                    .execute(sql.as_str(), &[sequence])
                    .await
                    .map_err(|e| db_error("moving a sequence past the restored rows", &e))?;
            }
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| db_error("committing the restore", &e))
        });
        // Committed, or failed and so rolled back by the server.
        self.in_transaction = false;
        result
    }

    /// Rolls back what was written. Dropping the importer does the same.
    ///
    /// # Errors
    /// [`Error::Io`] when the server cannot be told; it rolls back anyway
    /// when the connection ends.
    pub fn rollback(mut self) -> Result<()> {
        self.end_transaction()
    }

    fn end_transaction(&mut self) -> Result<()> {
        if !self.in_transaction {
            return Ok(());
        }
        self.in_transaction = false;
        let client = &self.db.client;
        self.db
            .block_on(client.batch_execute("ROLLBACK"))
            .map_err(|e| db_error("rolling back the restore", &e))
    }

    fn table(&self, entity: &str) -> Result<&Table> {
        self.catalog.table(entity).ok_or_else(|| {
            Error::Usage(format!(
                "the target schema {} has no table {entity}",
                self.catalog.schema()
            ))
        })
    }

    fn is_empty(&mut self, table: &Table) -> Result<bool> {
        if let Some(empty) = self.empty.get(table.name()) {
            return Ok(*empty);
        }
        let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {})", table.qualified());
        let client = &self.db.client;
        let empty: bool = self
            .db
            .block_on(client.query_one(sql.as_str(), &[]))
            .and_then(|row| row.try_get(0))
            .map_err(|e| db_error(&format!("reading table {}", table.name()), &e))?;
        self.empty.insert(table.name().to_string(), empty);
        Ok(empty)
    }
}

impl Drop for PgImporter<'_> {
    fn drop(&mut self) {
        // Leave the connection as it was found, not inside a transaction.
        let _ = self.end_transaction();
    }
}

impl Importer for PgImporter<'_> {
    fn target_environment(&self) -> &str {
        &self.environment
    }

    fn is_production(&self) -> bool {
        self.production
    }

    fn exists(&mut self, entity: &str, record: &Value) -> Result<bool> {
        let table = self.table(entity)?.clone();
        if table.primary_key().is_empty() || self.is_empty(&table)? {
            return Ok(false);
        }
        // Only the key goes to the server: another field that does not
        // convert to its column's type is the insert's business.
        let mut key = serde_json::Map::new();
        for column in table.primary_key() {
            key.insert(
                column.clone(),
                record.get(column).cloned().unwrap_or(Value::Null),
            );
        }
        let key = Value::Object(key).to_string();
        let context = format!("looking up a row of {}", table.name());
        let statement = match self.exists_statements.get(table.name()) {
            Some(s) => s.clone(),
            None => {
                let matches: Vec<String> = table
                    .primary_key()
                    .iter()
                    .map(|c| format!("cur.{0} = rec.{0}", quote_ident(c)))
                    .collect();
                let sql = format!(
                    "SELECT EXISTS (SELECT 1 FROM {t} AS cur, jsonb_populate_record(NULL::{t}, $1::jsonb) AS rec WHERE {})",
                    matches.join(" AND "),
                    t = table.qualified()
                );
                let client = &self.db.client;
                let s = self
                    .db
                    .block_on(client.prepare_typed(&sql, &[Type::TEXT]))
                    .map_err(|e| db_error(&context, &e))?;
                self.exists_statements
                    .insert(table.name().to_string(), s.clone());
                s
            }
        };
        let client = &self.db.client;
        self.db
            .block_on(client.query_one(&statement, &[&key]))
            .and_then(|row| row.try_get(0))
            .map_err(|e| db_error(&context, &e))
    }

    fn check(&mut self, entity: &str, record: &Value) -> std::result::Result<(), String> {
        let Some(table) = self.catalog.table(entity) else {
            return Err("the target schema has no table for this entity".into());
        };
        let Value::Object(fields) = record else {
            return Err("record is not a JSON object".into());
        };
        if fields.keys().any(|k| table.column(k).is_none()) {
            return Err("a field is not a column of the target table".into());
        }
        if table
            .primary_key()
            .iter()
            .any(|k| fields.get(k).is_none_or(Value::is_null))
        {
            return Err("a primary-key value is missing".into());
        }
        Ok(())
    }

    fn write_batch(&mut self, entity: &str, records: &[Value]) -> Result<()> {
        let table = self.table(entity)?.clone();
        let context = format!("restoring rows of {}", table.name());
        // One statement per set of fields present, usually one per batch: a
        // field a record lacks gets the column's default, not NULL.
        let mut groups: Vec<(Vec<&str>, Vec<&Value>)> = Vec::new();
        for record in records {
            let fields: Vec<&str> = table
                .columns()
                .iter()
                .filter(|c| !c.generated && record.get(&c.name).is_some())
                .map(|c| c.name.as_str())
                .collect();
            match groups.iter_mut().find(|(f, _)| *f == fields) {
                Some((_, group)) => group.push(record),
                None => groups.push((fields, vec![record])),
            }
        }
        let mut statements = Vec::with_capacity(groups.len());
        for (fields, group) in &groups {
            let columns: Vec<String> = fields.iter().map(|c| quote_ident(c)).collect();
            let columns = columns.join(", ");
            // Given values win over identity columns' sequences, as they
            // would for `GENERATED BY DEFAULT`; the sequences move on commit.
            if columns.is_empty() {
                let sql = format!("INSERT INTO {} DEFAULT VALUES", table.qualified());
                statements.push((sql, None, group.len()));
                continue;
            }
            let sql = format!(
                "INSERT INTO {t} ({columns}) OVERRIDING SYSTEM VALUE SELECT {columns} FROM jsonb_populate_recordset(NULL::{t}, $1::text::jsonb)",
                t = table.qualified()
            );
            let batch = serde_json::to_string(group).map_err(|_| Error::Record {
                entity: entity.to_string(),
                record: 1,
                detail: "the batch could not be serialized".into(),
            })?;
            statements.push((sql, Some(batch), group.len()));
        }
        let begin = !self.in_transaction;
        let client = &self.db.client;
        let written = self.db.block_on(async {
            if begin {
                client
                    .batch_execute("BEGIN; SET CONSTRAINTS ALL DEFERRED")
                    .await
                    .map_err(|e| db_error("starting the restore transaction", &e))?;
            }
            let mut written = 0;
            for (sql, batch, rows) in &statements {
                match batch {
                    Some(batch) => {
                        written += client
                            .execute(sql.as_str(), &[batch])
                            .await
                            .map_err(|e| db_error(&context, &e))?;
                    }
                    // Records with no field: a row of defaults each.
                    None => {
                        for _ in 0..*rows {
                            written += client
                                .execute(sql.as_str(), &[])
                                .await
                                .map_err(|e| db_error(&context, &e))?;
                        }
                    }
                }
            }
            Ok(written)
        });
        if begin {
            // BEGIN ran even if the insert failed: the transaction is open
            // (and aborted), and Drop or rollback must end it.
            self.in_transaction = true;
        }
        let written = written?;
        if written != records.len() as u64 {
            return Err(Error::Usage(format!(
                "{context}: {written} of {} rows were written",
                records.len()
            )));
        }
        self.empty.insert(table.name().to_string(), false);
        self.written.insert(table.name().to_string());
        Ok(())
    }
}
