//! A blocking connection: a tokio-postgres client driven by its own
//! current-thread runtime, and the mapping of driver errors to
//! [`redarc::Error`] without data in them.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use redarc::{Error, Result};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, NoTls, Socket};

/// A connection to one PostgreSQL database.
///
/// Every method blocks: the connection runs on a current-thread tokio
/// runtime owned by this value, so the async machinery stays inside.
/// Calling it from async code (inside another runtime) panics in tokio;
/// use `tokio::task::spawn_blocking` there.
///
/// `Debug` shows neither the connection string nor the password.
pub struct Database {
    // Dropped before the runtime, which then cancels the connection task;
    // the server ends the session and rolls back an open transaction.
    pub(crate) client: tokio_postgres::Client,
    pub(crate) rt: tokio::runtime::Runtime,
    label: String,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("target", &self.label)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects without TLS, with a connection string in either form
    /// tokio-postgres accepts: `host=/run/postgresql dbname=app user=export`
    /// or `postgresql://export@db.internal/app`. A unix-socket directory
    /// as `host` is the usual way on the database machine.
    ///
    /// A string that asks for TLS (`sslmode=require`) fails to connect
    /// rather than falling back to plain text; use
    /// [`Database::connect_with`] with a TLS connector for that.
    ///
    /// # Errors
    /// [`Error::Usage`] for a connection string that does not parse (the
    /// message never repeats it); [`Error::Io`] when the server cannot be
    /// reached or refuses the login.
    pub fn connect(url: &str) -> Result<Database> {
        let config: Config = url.parse().map_err(|_| {
            Error::Usage(
                "the PostgreSQL connection string does not parse (it is not repeated here: it may hold a password)"
                    .into(),
            )
        })?;
        Database::connect_with(&config, NoTls)
    }

    /// Connects with `config` and a TLS connector (for example from
    /// `postgres-rustls` or `postgres-native-tls`).
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub fn connect_with<T>(config: &Config, tls: T) -> Result<Database>
    where
        T: MakeTlsConnect<Socket> + 'static + Send,
        T::TlsConnect: Send,
        T::Stream: Send + 'static,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::io("starting the PostgreSQL runtime", e))?;
        let label = describe(config);
        let (client, connection) = rt
            .block_on(config.connect(tls))
            .map_err(|e| db_error(&format!("connecting to {label}"), &e))?;
        // The connection task ends when the client is dropped or the
        // server goes away; the client's calls then fail with "closed".
        rt.spawn(async move {
            let _ = connection.await;
        });
        Ok(Database { client, rt, label })
    }

    /// Where this connection goes: user, host and database, never a
    /// password.
    pub fn target(&self) -> &str {
        &self.label
    }

    /// Runs `sql`, one or more statements separated by semicolons, without
    /// parameters: a schema file such as [`SCHEMA_SQL`](crate::SCHEMA_SQL).
    ///
    /// # Errors
    /// [`Error::Io`] with the server's error code when a statement fails.
    pub fn execute_script(&mut self, sql: &str) -> Result<()> {
        let client = &self.client;
        self.rt
            .block_on(client.batch_execute(sql))
            .map_err(|e| db_error("running a script", &e))
    }

    /// Rows per table of `schema` (every ordinary and partitioned table),
    /// as the connected role sees them: under row-level security only its
    /// tenant's rows. Counted in one snapshot.
    ///
    /// # Errors
    /// [`Error::Io`] when a query fails.
    pub fn row_counts(&mut self, schema: &str) -> Result<BTreeMap<String, u64>> {
        let catalog = crate::Catalog::load(self, schema)?;
        let client = &mut self.client;
        self.rt.block_on(async {
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(|e| db_error("starting a transaction", &e))?;
            let mut out = BTreeMap::new();
            for table in catalog.tables() {
                let sql = format!("SELECT count(*) FROM {}", table.qualified());
                let row = tx
                    .query_one(sql.as_str(), &[])
                    .await
                    .map_err(|e| db_error(&format!("counting table {}", table.name()), &e))?;
                let n: i64 = row
                    .try_get(0)
                    .map_err(|e| db_error(&format!("counting table {}", table.name()), &e))?;
                out.insert(table.name().to_string(), u64::try_from(n).unwrap_or(0));
            }
            tx.commit()
                .await
                .map_err(|e| db_error("ending a transaction", &e))?;
            Ok(out)
        })
    }

    /// Runs a future on this connection's runtime.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// `user@host/dbname` from a config, for messages. Never the password.
fn describe(config: &Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or("(default user)"),
        host,
        config.get_dbname().unwrap_or("(default database)")
    )
}

/// A driver error as a [`redarc::Error`], keeping only what cannot hold
/// data.
///
/// The server's DETAIL line quotes rows ("Key (email)=(…) already
/// exists", "Failing row contains (…)") and data-exception messages quote
/// the value that failed to parse, so errors carry the SQLSTATE code, the
/// table, column and constraint names, and the server's message only for
/// classes whose messages name objects, not values.
pub(crate) fn db_error(context: &str, e: &tokio_postgres::Error) -> Error {
    Error::io(
        context.to_string(),
        std::io::Error::other(DbFailure(describe_error(e))),
    )
}

fn describe_error(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        // The driver's own Display is a fixed phrase per kind ("connection
        // closed", "error connecting to server"); the source, when it is
        // an I/O error, says why without data.
        let cause = std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .map(|io| format!(": {io}"))
            .unwrap_or_default();
        return format!("{e}{cause}");
    };
    let code = db.code().code();
    let mut out = format!("server error {code}");
    if message_is_safe(code) {
        out.push_str(": ");
        out.push_str(db.message());
    }
    let mut objects = Vec::new();
    if let Some(t) = db.table() {
        objects.push(format!("table {t}"));
    }
    if let Some(c) = db.column() {
        objects.push(format!("column {c}"));
    }
    if let Some(c) = db.constraint() {
        objects.push(format!("constraint {c}"));
    }
    if !objects.is_empty() {
        out.push_str(&format!(" ({})", objects.join(", ")));
    }
    out
}

/// SQLSTATE classes whose primary messages name objects and roles, never
/// values: connection (08), feature (0A), integrity (23, the values are in
/// DETAIL), transaction state (25, 40), authorization (28, 42),
/// catalog/database/schema names (3D, 3F), resources (53), object state
/// (55), operator intervention (57).
fn message_is_safe(code: &str) -> bool {
    matches!(
        code.get(..2),
        Some("08" | "0A" | "23" | "25" | "28" | "3D" | "3F" | "40" | "42" | "53" | "55" | "57")
    )
}

/// The safe description of a driver error.
#[derive(Debug)]
struct DbFailure(String);

impl fmt::Display for DbFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbFailure {}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn only_object_naming_classes_keep_the_message() {
        assert!(message_is_safe("23505"));
        assert!(message_is_safe("42501"));
        assert!(
            !message_is_safe("22P02"),
            "invalid input syntax quotes the value"
        );
        assert!(
            !message_is_safe("P0001"),
            "raise_exception can say anything"
        );
        assert!(!message_is_safe(""));
    }

    #[test]
    fn a_bad_connection_string_is_not_repeated() {
        let err = Database::connect("host=x password=hunter2 port=notaport").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("does not parse"), "{text}");
    }

    #[test]
    fn the_label_has_no_password() {
        let config: Config = "postgresql://ada:hunter2@db.internal/app".parse().unwrap();
        assert_eq!(describe(&config), "ada@db.internal/app");
    }
}
