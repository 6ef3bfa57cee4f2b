//! Streaming tables into an archive: one consistent snapshot, a portal
//! fetched a bounded number of rows at a time, one entity per table.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use redarc::format::TenantScope;
use redarc::{Error, ExportOptions, ExportWriter, Manifest, Recipients, Result};
use serde_json::Value;
use tokio_postgres::IsolationLevel;

use crate::catalog::{Catalog, Table};
use crate::db::{db_error, quote_ident, Database};

/// Rows fetched from the server at a time, by default.
pub const DEFAULT_FETCH_ROWS: u32 = 500;

/// Which tables to export and how: built from a [`Catalog`], then run
/// with [`PgExport::export`] (or [`PgExport::options`] and
/// [`PgExport::write`] to add entities of your own).
///
/// Every table is read in one `REPEATABLE READ READ ONLY` transaction, so
/// the archive is a consistent snapshot, through a portal fetched
/// [`DEFAULT_FETCH_ROWS`] rows at a time, so memory does not grow with the
/// table. A row becomes one JSON line (`row_to_json`), ordered by primary
/// key, and goes through the writer's redactor like any record.
///
/// With [`PgExport::tenant`], the transaction sets the tenant setting
/// (`app.tenant_id` by default) and row-level security decides what is
/// read: the export refuses to run unless every table is under row-level
/// security for the connected role. Without a tenant it refuses the
/// opposite, a table the role sees only part of.
#[derive(Debug, Clone)]
pub struct PgExport {
    catalog: Catalog,
    omitted: Vec<(String, String)>,
    tenant: Option<String>,
    tenant_column: String,
    tenant_setting: String,
    fetch_rows: u32,
}

impl PgExport {
    /// Exports every table of `catalog`, in its dependency order (so a
    /// restore writes referenced rows first).
    pub fn new(catalog: Catalog) -> PgExport {
        PgExport {
            catalog,
            omitted: Vec::new(),
            tenant: None,
            tenant_column: "tenant_id".into(),
            tenant_setting: "app.tenant_id".into(),
            fetch_rows: DEFAULT_FETCH_ROWS,
        }
    }

    /// Leaves `table` out; the manifest records it as omitted with
    /// `reason`.
    pub fn omit(mut self, table: &str, reason: &str) -> PgExport {
        self.omitted.push((table.to_string(), reason.to_string()));
        self
    }

    /// Scopes the export to one tenant under row-level security: the
    /// transaction sets the tenant setting to `id`, and the manifest
    /// declares the scope so that `verify` checks every record's tenant
    /// column.
    pub fn tenant(mut self, id: impl Into<String>) -> PgExport {
        self.tenant = Some(id.into());
        self
    }

    /// The column holding the tenant id in every scoped table (default
    /// `tenant_id`).
    pub fn tenant_column(mut self, column: impl Into<String>) -> PgExport {
        self.tenant_column = column.into();
        self
    }

    /// The session setting the row-level security policies read (default
    /// `app.tenant_id`).
    pub fn tenant_setting(mut self, setting: impl Into<String>) -> PgExport {
        self.tenant_setting = setting.into();
        self
    }

    /// Rows fetched per round trip (at least 1; default
    /// [`DEFAULT_FETCH_ROWS`]).
    pub fn fetch_rows(mut self, rows: u32) -> PgExport {
        self.fetch_rows = rows.max(1);
        self
    }

    /// The tables that will be exported, in order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.catalog
            .tables()
            .iter()
            .filter(|t| !self.omitted.iter().any(|(name, _)| name == t.name()))
    }

    /// `opts` with what the export declares: the relations (single-column
    /// foreign keys between exported tables) and, for a tenant export, the
    /// tenant scope. Use it for the [`ExportWriter`] that [`PgExport::write`]
    /// writes into.
    ///
    /// # Errors
    /// [`Error::Usage`] when the tenant column is an integer column and the
    /// tenant id is not an integer.
    pub fn options(&self, mut opts: ExportOptions) -> Result<ExportOptions> {
        let names: BTreeSet<String> = self.tables().map(|t| t.name().to_string()).collect();
        for relation in self.catalog.relations(&names) {
            opts = opts.relation(relation);
        }
        if let Some(id) = &self.tenant {
            opts = opts.tenant(TenantScope::new(
                self.tenant_column.clone(),
                self.tenant_value(id)?,
            ));
        }
        Ok(opts)
    }

    /// The tenant id as `row_to_json` writes the tenant column: a number
    /// for integer columns, a string otherwise.
    fn tenant_value(&self, id: &str) -> Result<Value> {
        let integer = self
            .tables()
            .find_map(|t| t.column(&self.tenant_column))
            .is_some_and(|c| matches!(c.type_name.as_str(), "smallint" | "integer" | "bigint"));
        if !integer {
            return Ok(Value::String(id.to_string()));
        }
        id.trim().parse::<i64>().map(Value::from).map_err(|_| {
            Error::Usage(format!(
                "column {} holds integers; the tenant id must be one",
                self.tenant_column
            ))
        })
    }

    /// Writes every table into `export` as an entity named after it, and
    /// declares the omitted tables. Returns the rows written per table.
    ///
    /// `export` should have been made with [`PgExport::options`], or the
    /// archive will not declare the relations and tenant scope.
    ///
    /// # Errors
    /// [`Error::Usage`] when row-level security does not match the
    /// export's scope (see [`PgExport`]) or an omitted table does not
    /// exist; [`Error::Io`] with the server's error code when a query
    /// fails; any error of the writer.
    pub fn write<W: Write>(
        &self,
        db: &mut Database,
        export: &mut ExportWriter<W>,
    ) -> Result<BTreeMap<String, u64>> {
        for (name, _) in &self.omitted {
            if self.catalog.table(name).is_none() {
                return Err(Error::Usage(format!(
                    "cannot omit table {name}: schema {} has no such table",
                    self.catalog.schema()
                )));
            }
        }
        let tables: Vec<&Table> = self.tables().collect();
        let client = &mut db.client;
        let fetch = i32::try_from(self.fetch_rows).unwrap_or(i32::MAX);
        let counts = db.rt.block_on(async {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(|e| db_error("starting the export transaction", &e))?;
            if let Some(id) = &self.tenant {
                tx.query_one(
                    "SELECT set_config($1, $2, true)",
                    &[&self.tenant_setting, id],
                )
                .await
                .map_err(|e| db_error(&format!("setting {}", self.tenant_setting), &e))?;
            }
            for table in &tables {
                let row = tx
                    .query_one(
                        "SELECT row_security_active($1::text::regclass)",
                        &[&table.qualified()],
                    )
                    .await
                    .map_err(|e| db_error(&format!("checking row-level security of {}", table.name()), &e))?;
                let active: bool = row
                    .try_get(0)
                    .map_err(|e| db_error(&format!("checking row-level security of {}", table.name()), &e))?;
                match (&self.tenant, active) {
                    (Some(_), false) => {
                        return Err(Error::Usage(format!(
                            "table {} is not under row-level security for this role: a tenant-scoped export would hold every tenant's rows; connect as a role without BYPASSRLS that does not own the table, or omit it",
                            table.name()
                        )))
                    }
                    (None, true) => {
                        return Err(Error::Usage(format!(
                            "table {} is under row-level security for this role: an export without a tenant would silently miss rows; connect as the owner or a BYPASSRLS role, or give a tenant",
                            table.name()
                        )))
                    }
                    _ => {}
                }
            }
            let mut counts = BTreeMap::new();
            for table in &tables {
                let context = format!("exporting table {}", table.name());
                let portal = tx
                    .bind(select_rows(table).as_str(), &[])
                    .await
                    .map_err(|e| db_error(&context, &e))?;
                let mut entity = export.entity(table.name())?;
                loop {
                    let rows = tx
                        .query_portal(&portal, fetch)
                        .await
                        .map_err(|e| db_error(&context, &e))?;
                    for row in &rows {
                        let line: &str = row.try_get(0).map_err(|e| db_error(&context, &e))?;
                        entity.write_json_line(line.as_bytes())?;
                    }
                    if rows.len() < fetch as usize {
                        break;
                    }
                }
                counts.insert(table.name().to_string(), entity.records());
                entity.finish()?;
            }
            // Read-only: nothing to keep; ending it releases the snapshot.
            tx.rollback()
                .await
                .map_err(|e| db_error("ending the export transaction", &e))?;
            Ok::<_, Error>(counts)
        })?;
        for (name, reason) in &self.omitted {
            export.omit(name, reason)?;
        }
        Ok(counts)
    }

    /// Writes a whole archive: [`PgExport::options`] applied to `opts`, an
    /// [`ExportWriter`] on `out` for `recipients`, [`PgExport::write`], and
    /// [`ExportWriter::finish`]. Returns the manifest.
    ///
    /// # Errors
    /// As [`PgExport::options`], [`ExportWriter::new`], [`PgExport::write`]
    /// and [`ExportWriter::finish`].
    pub fn export<W: Write>(
        &self,
        db: &mut Database,
        out: W,
        recipients: &Recipients,
        opts: ExportOptions,
    ) -> Result<Manifest> {
        let mut writer = ExportWriter::new(out, recipients, self.options(opts)?)?;
        self.write(db, &mut writer)?;
        writer.finish()
    }
}

/// The query that reads a table as JSON lines, in primary-key order so the
/// same data gives the same archive plaintext.
fn select_rows(table: &Table) -> String {
    // An alias no column is likely to share: a bare name that is also a
    // column would make row_to_json read the column, not the row.
    const ROW: &str = "redarc_row";
    let mut sql = format!(
        "SELECT row_to_json({ROW})::text FROM {} AS {ROW}",
        table.qualified()
    );
    if !table.primary_key().is_empty() {
        let keys: Vec<String> = table
            .primary_key()
            .iter()
            .map(|k| format!("{ROW}.{}", quote_ident(k)))
            .collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&keys.join(", "));
    }
    sql
}
