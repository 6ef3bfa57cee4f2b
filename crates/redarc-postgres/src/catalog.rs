//! What a schema holds, read from the system catalogs: tables, their
//! columns and primary keys, and the foreign keys between them.

use std::collections::{BTreeMap, BTreeSet};

use redarc::format::Relation;
use redarc::Result;

use crate::db::{db_error, quote_ident, Database};

/// One table of a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    schema: String,
    name: String,
    columns: Vec<Column>,
    primary_key: Vec<String>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Its type as PostgreSQL prints it (`bigint`, `jsonb`, `uuid` …).
    pub type_name: String,
    /// Computed by the server (`GENERATED ALWAYS AS (…) STORED`): exported,
    /// never written on restore.
    pub generated: bool,
    /// Filled from a sequence (serial or identity): the sequence is moved
    /// past the restored values when a restore commits.
    pub sequence: Option<String>,
}

impl Table {
    /// Table name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Schema name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Columns in table order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Primary-key columns in key order (empty without a primary key).
    pub fn primary_key(&self) -> &[String] {
        &self.primary_key
    }

    /// `"schema"."table"`, quoted for SQL.
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// A foreign key: `table.columns` references `ref_table.ref_columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKey {
    /// Referencing table.
    pub table: String,
    /// Referencing columns, in key order.
    pub columns: Vec<String>,
    /// Referenced table (same schema).
    pub ref_table: String,
    /// Referenced columns, in key order.
    pub ref_columns: Vec<String>,
}

/// The tables of one schema, in dependency order (a referenced table
/// before the tables referencing it), with their foreign keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    schema: String,
    tables: Vec<Table>,
    foreign_keys: Vec<ForeignKey>,
}

impl Catalog {
    /// Reads the ordinary and partitioned tables of `schema` (not the
    /// partitions themselves, which are read through their parent) as the
    /// connected role sees the catalog.
    ///
    /// # Errors
    /// [`redarc::Error::Io`] when a catalog query fails.
    pub fn load(db: &mut Database, schema: &str) -> Result<Catalog> {
        let client = &db.client;
        let fail = |e: tokio_postgres::Error| db_error(&format!("reading schema {schema}"), &e);
        db.block_on(async {
            let columns = client
                .query(
                    "SELECT c.relname::text, a.attname::text,
                            format_type(a.atttypid, a.atttypmod),
                            a.attgenerated <> '',
                            pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)
                     FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                     ORDER BY c.relname, a.attnum",
                    &[&schema],
                )
                .await
                .map_err(fail)?;
            let keys = client
                .query(
                    "SELECT c.relname::text, a.attname::text
                     FROM pg_constraint k
                     JOIN pg_class c ON c.oid = k.conrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
                     WHERE n.nspname = $1 AND k.contype = 'p'
                     ORDER BY c.relname, u.ord",
                    &[&schema],
                )
                .await
                .map_err(fail)?;
            let fks = client
                .query(
                    "SELECT k.oid::bigint, c.relname::text, a.attname::text, r.relname::text, ra.attname::text
                     FROM pg_constraint k
                     JOIN pg_class c ON c.oid = k.conrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     JOIN pg_class r ON r.oid = k.confrelid
                     CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(attnum, refnum, ord)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
                     JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = u.refnum
                     WHERE n.nspname = $1 AND k.contype = 'f' AND r.relnamespace = n.oid
                     ORDER BY k.oid, u.ord",
                    &[&schema],
                )
                .await
                .map_err(fail)?;

            let mut tables: BTreeMap<String, Table> = BTreeMap::new();
            for row in &columns {
                let table: String = row.try_get(0).map_err(fail)?;
                let column = Column {
                    name: row.try_get(1).map_err(fail)?,
                    type_name: row.try_get(2).map_err(fail)?,
                    generated: row.try_get(3).map_err(fail)?,
                    sequence: row.try_get(4).map_err(fail)?,
                };
                tables
                    .entry(table.clone())
                    .or_insert_with(|| Table {
                        schema: schema.to_string(),
                        name: table,
                        columns: Vec::new(),
                        primary_key: Vec::new(),
                    })
                    .columns
                    .push(column);
            }
            for row in &keys {
                let table: String = row.try_get(0).map_err(fail)?;
                let column: String = row.try_get(1).map_err(fail)?;
                if let Some(t) = tables.get_mut(&table) {
                    t.primary_key.push(column);
                }
            }
            let mut foreign_keys: Vec<ForeignKey> = Vec::new();
            let mut last_oid = None;
            for row in &fks {
                let oid: i64 = row.try_get(0).map_err(fail)?;
                let (table, column, ref_table, ref_column): (String, String, String, String) = (
                    row.try_get(1).map_err(fail)?,
                    row.try_get(2).map_err(fail)?,
                    row.try_get(3).map_err(fail)?,
                    row.try_get(4).map_err(fail)?,
                );
                match foreign_keys.last_mut() {
                    Some(fk) if last_oid == Some(oid) => {
                        fk.columns.push(column);
                        fk.ref_columns.push(ref_column);
                    }
                    _ => foreign_keys.push(ForeignKey {
                        table,
                        columns: vec![column],
                        ref_table,
                        ref_columns: vec![ref_column],
                    }),
                }
                last_oid = Some(oid);
            }
            Ok(Catalog::new(
                schema,
                tables.into_values().collect(),
                foreign_keys,
            ))
        })
    }

    fn new(schema: &str, tables: Vec<Table>, foreign_keys: Vec<ForeignKey>) -> Catalog {
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        let order = dependency_order(&names, &foreign_keys);
        let mut by_name: BTreeMap<String, Table> =
            tables.into_iter().map(|t| (t.name.clone(), t)).collect();
        let tables = order
            .iter()
            .filter_map(|name| by_name.remove(name))
            .collect();
        Catalog {
            schema: schema.to_string(),
            tables,
            foreign_keys,
        }
    }

    /// The schema name.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Tables, referenced before referencing.
    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// The table called `name`, if the schema has it.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Foreign keys within the schema.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.foreign_keys
    }

    /// The single-column foreign keys between tables in `tables`, as the
    /// relations an archive declares (`redarc verify` checks they
    /// resolve). Multi-column keys have no archive equivalent and are left
    /// out.
    pub fn relations(&self, tables: &BTreeSet<String>) -> Vec<Relation> {
        self.foreign_keys
            .iter()
            .filter(|fk| {
                fk.columns.len() == 1
                    && tables.contains(&fk.table)
                    && tables.contains(&fk.ref_table)
            })
            .map(|fk| Relation::new(&fk.table, &fk.columns[0], &fk.ref_table, &fk.ref_columns[0]))
            .collect()
    }
}

/// Tables ordered so that every table comes after the tables it
/// references (self-references ignored); ties and cycles broken by name,
/// so the order is stable.
fn dependency_order(names: &[String], fks: &[ForeignKey]) -> Vec<String> {
    let mut needs: BTreeMap<&str, BTreeSet<&str>> = names
        .iter()
        .map(|n| (n.as_str(), BTreeSet::new()))
        .collect();
    for fk in fks {
        if fk.table != fk.ref_table && needs.contains_key(fk.ref_table.as_str()) {
            if let Some(set) = needs.get_mut(fk.table.as_str()) {
                set.insert(fk.ref_table.as_str());
            }
        }
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    while !needs.is_empty() {
        let ready = needs
            .iter()
            .find(|(_, deps)| deps.is_empty())
            .map(|(name, _)| *name)
            // A cycle: take the first remaining table by name; the rest of
            // the cycle follows. Restores rely on deferrable keys there.
            .or_else(|| needs.keys().next().copied());
        let Some(next) = ready else { break };
        needs.remove(next);
        for deps in needs.values_mut() {
            deps.remove(next);
        }
        out.push(next.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fk(table: &str, ref_table: &str) -> ForeignKey {
        ForeignKey {
            table: table.into(),
            columns: vec!["x".into()],
            ref_table: ref_table.into(),
            ref_columns: vec!["id".into()],
        }
    }

    #[test]
    fn referenced_tables_come_first() {
        let names: Vec<String> = ["a_child", "b_parent", "c_root", "incidents"]
            .map(String::from)
            .to_vec();
        let fks = [
            fk("a_child", "b_parent"),
            fk("b_parent", "c_root"),
            fk("incidents", "incidents"),
            fk("incidents", "c_root"),
        ];
        assert_eq!(
            dependency_order(&names, &fks),
            ["c_root", "b_parent", "a_child", "incidents"]
        );
    }

    #[test]
    fn cycles_do_not_lose_tables() {
        let names: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
        let fks = [fk("x", "y"), fk("y", "x"), fk("z", "x")];
        let order = dependency_order(&names, &fks);
        assert_eq!(order.len(), 3);
        assert_eq!(order.last().map(String::as_str), Some("z"));
    }

    #[test]
    fn relations_only_between_exported_single_column_keys() {
        let mut multi = fk("a", "b");
        multi.columns.push("y".into());
        multi.ref_columns.push("z".into());
        let catalog = Catalog::new("s", Vec::new(), vec![fk("a", "b"), fk("a", "c"), multi]);
        let tables: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let rels = catalog.relations(&tables);
        assert_eq!(rels, vec![Relation::new("a", "x", "b", "id")]);
    }
}
