//! Planted values: synthetic secrets of the right shape and the look-alikes
//! that must survive redaction, each with the text it typically appears in.
//!
//! Every value is random: none is a real credential. Every recorded value is
//! free of characters JSON escapes (`"`, `\`, control characters), so it
//! occurs verbatim in the JSONL line however deeply it is nested in strings
//! that are themselves JSON. PEM blocks are recorded by one body line.

use base64::Engine as _;

use super::rng::{
    pct, Rng, ALNUM, B32, B64, B64URL, BECH32, CROCKFORD, DIGITS, LETTERS, LOWER, LOWER_ALNUM,
    UPPER_ALNUM,
};

/// A piece of text holding planted values.
#[derive(Default)]
pub(crate) struct Snip {
    pub(crate) text: String,
    /// (family, value) pairs that must not survive.
    pub(crate) secrets: Vec<(&'static str, String)>,
    /// (family, value) pairs that must survive verbatim.
    pub(crate) looks: Vec<(&'static str, String)>,
}

impl Snip {
    fn new(text: String) -> Snip {
        Snip {
            text,
            ..Snip::default()
        }
    }
    fn s(mut self, family: &'static str, value: &str) -> Snip {
        self.secrets.push((family, value.to_string()));
        self
    }
    fn l(mut self, family: &'static str, value: &str) -> Snip {
        self.looks.push((family, value.to_string()));
        self
    }
    /// Appends another snippet's text (after `sep`) and its values.
    pub(crate) fn join(&mut self, sep: &str, other: Snip) {
        self.text.push_str(sep);
        self.text.push_str(&other.text);
        self.secrets.extend(other.secrets);
        self.looks.extend(other.looks);
    }
}

// ---- vocabulary ----------------------------------------------------------

pub(crate) const WORDS: &[&str] = &[
    "orange", "falcon", "river", "copper", "maple", "quartz", "harbor", "violet", "summit",
    "timber", "cobalt", "meadow", "ember", "glacier", "saffron", "lantern", "willow", "canyon",
];
pub(crate) const SERVICES: &[&str] = &[
    "checkout-api",
    "billing-worker",
    "auth-service",
    "search-indexer",
    "notifications",
    "ingest-gateway",
    "report-builder",
    "payments",
    "catalog-sync",
    "web-frontend",
];
pub(crate) const HOSTS: &[&str] = &[
    "db-primary.internal",
    "pg-replica-2.prod.svc.cluster.local",
    "10.0.3.17",
    "orders-db.c9akciq32.eu-west-1.rds.amazonaws.com",
    "mysql.shared.corp.example-co.net",
    "cache-01.internal",
    "redis-master.prod.svc.cluster.local",
    "mq.internal",
    "cluster0.x1ab2.mongodb.net",
    "sql-prod-weu.database.windows.net",
];
pub(crate) const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];
pub(crate) const MODELS: &[&str] = &[
    "gpt-4o-2024-08-06",
    "gpt-4o-mini",
    "o3-mini-2025-01-31",
    "claude-3-5-sonnet-20241022",
    "claude-3-7-sonnet-20250219",
    "claude-3-5-haiku-20241022",
    "gemini-1.5-pro-002",
    "gemini-2.0-flash-001",
    "text-embedding-3-small",
    "mistral-large-2411",
];

// ---- secret shapes ---------------------------------------------------------

pub(crate) fn aws_key_id(r: &mut Rng, temporary: bool) -> String {
    let mut s = String::from(if temporary { "ASIA" } else { "AKIA" });
    r.push(&mut s, B32, 16);
    s
}
pub(crate) fn aws_secret(r: &mut Rng) -> String {
    r.chars(B64, 40)
}
pub(crate) fn aws_session_token(r: &mut Rng) -> String {
    // Session tokens are long base64; STS ones begin with these bytes.
    let mut s = String::from(r.pick(&["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE", "IQoJb3JpZ2luX2VjEK"]));
    let n = r.usize(220, 380);
    r.push(&mut s, B64, n);
    s
}
pub(crate) fn gcp_api_key(r: &mut Rng) -> String {
    let mut s = String::from("AIza");
    r.push(&mut s, B64URL, 35);
    s
}
pub(crate) fn ya29(r: &mut Rng) -> String {
    let mut s = String::from("ya29.");
    let n = r.usize(120, 200);
    r.push(&mut s, B64URL, n);
    s
}
pub(crate) fn google_refresh(r: &mut Rng) -> String {
    let mut s = String::from("1//0");
    let n = r.usize(90, 100);
    r.push(&mut s, B64URL, n);
    s
}
pub(crate) fn gocspx(r: &mut Rng) -> String {
    let mut s = String::from("GOCSPX-");
    r.push(&mut s, B64URL, 28);
    s
}
pub(crate) fn google_client_id(r: &mut Rng) -> String {
    format!(
        "{}-{}.apps.googleusercontent.com",
        r.digits(12),
        r.chars(LOWER_ALNUM, 32)
    )
}
pub(crate) fn azure_secret(r: &mut Rng) -> String {
    let mut s = r.chars(ALNUM, 3);
    r.push(&mut s, DIGITS, 1);
    s.push_str("Q~");
    r.push(
        &mut s,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-",
        34,
    );
    s
}
fn prefixed(r: &mut Rng, prefix: &str, alphabet: &[u8], n: usize) -> String {
    let mut s = String::from(prefix);
    r.push(&mut s, alphabet, n);
    s
}
pub(crate) fn github(r: &mut Rng, kind: &str) -> String {
    if kind == "github_pat_" {
        let mut s = prefixed(r, "github_pat_11", UPPER_ALNUM, 20);
        s.push('_');
        r.push(&mut s, ALNUM, 59);
        s
    } else {
        prefixed(r, kind, ALNUM, 36)
    }
}
pub(crate) fn jwt(r: &mut Rng) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let rs = r.chance(0.5);
    let header = if rs {
        format!(r#"{{"alg":"RS256","kid":"{}","typ":"JWT"}}"#, r.hex(16))
    } else {
        r#"{"alg":"HS256","typ":"JWT"}"#.to_string()
    };
    let iat = 1_709_000_000 + r.below(30_000_000);
    let payload = format!(
        r#"{{"sub":"{}","iss":"https://{}","aud":"{}","iat":{},"exp":{},"scope":"read write"}}"#,
        r.uuid(),
        r.pick(&[
            "auth.example-co.com/",
            "login.microsoftonline.com/common/v2.0",
            "accounts.google.com"
        ]),
        r.pick(&["api", "web", "mobile"]),
        iat,
        iat + 3600
    );
    let sig = r.bytes(if rs { 256 } else { 32 });
    format!(
        "{}.{}.{}",
        e.encode(header),
        e.encode(payload),
        e.encode(sig)
    )
}
pub(crate) fn age_secret(r: &mut Rng) -> String {
    let mut s = String::from("AGE-SECRET-KEY-1");
    r.push(&mut s, BECH32, 58);
    s.make_ascii_uppercase();
    s
}
pub(crate) fn age_recipient(r: &mut Rng) -> String {
    prefixed(r, "age1", BECH32, 58)
}
/// A password of one of the shapes people actually choose; only characters
/// that need no escaping in URLs or JSON.
pub(crate) fn password(r: &mut Rng) -> String {
    match r.below(4) {
        0 => {
            let w = r.pick(WORDS);
            let mut s = w[..1].to_ascii_uppercase() + &w[1..];
            s.push_str(&r.digits(4));
            s.push(char::from(r.pick(b"!*-_.~")));
            r.push(&mut s, ALNUM, 3);
            s
        }
        1 => {
            let n = r.usize(14, 24);
            r.chars(
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!*-_.~",
                n,
            )
        }
        2 => {
            let n = r.usize(16, 32);
            r.chars(ALNUM, n)
        }
        _ => format!(
            "{}-{}-{}-{}",
            r.pick(WORDS),
            r.pick(WORDS),
            r.chars(LOWER, 5),
            r.digits(3)
        ),
    }
}
pub(crate) fn bcrypt(r: &mut Rng) -> String {
    let cost = r.pick(&["10", "12", "12", "13"]);
    let v = r.pick(&["$2b$", "$2b$", "$2a$", "$2y$"]);
    format!(
        "{v}{cost}${}",
        r.chars(
            b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            53
        )
    )
}
fn b64_nopad(r: &mut Rng, n: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(r.bytes(n))
}
/// A password hash of a non-bcrypt scheme: (family, value).
pub(crate) fn other_hash(r: &mut Rng) -> (&'static str, String) {
    match r.below(6) {
        0 => (
            "argon2_hash",
            format!(
                "$argon2id$v=19$m=65536,t=3,p=4${}${}",
                b64_nopad(r, 16),
                b64_nopad(r, 32)
            ),
        ),
        1 => (
            "scrypt_hash",
            format!(
                "$scrypt$ln=16,r=8,p=1${}${}",
                b64_nopad(r, 16),
                b64_nopad(r, 32)
            ),
        ),
        2 => (
            "scrypt_hash",
            format!("scrypt:32768:8:1${}${}", r.chars(ALNUM, 16), r.hex(128)),
        ),
        3 => (
            "pbkdf2_hash",
            format!(
                "pbkdf2_sha256$600000${}${}=",
                r.chars(ALNUM, 22),
                r.chars(B64, 43)
            ),
        ),
        4 => (
            "pbkdf2_hash",
            format!("pbkdf2:sha256:600000${}${}", r.chars(ALNUM, 16), r.hex(64)),
        ),
        _ => {
            let alpha = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let (id, n) = if r.chance(0.7) { ("6", 86) } else { ("5", 43) };
            (
                "crypt_hash",
                format!("${id}${}${}", r.chars(alpha, 16), r.chars(alpha, n)),
            )
        }
    }
}

/// A PEM-style block; returns (text with real newlines, recorded body line).
fn armored(
    r: &mut Rng,
    label: &str,
    prefix: &[u8],
    body_bytes: usize,
    extra: &str,
) -> (String, String) {
    let body = r.base64_of(prefix, body_bytes);
    let mut text = format!("-----BEGIN {label}-----\n{extra}");
    let mut recorded = String::new();
    for (i, chunk) in body.as_bytes().chunks(64).enumerate() {
        let line = String::from_utf8_lossy(chunk);
        if i == 1 {
            recorded = line.to_string();
        }
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----"));
    (text, recorded)
}

/// A private key block: (family, text, recorded body line).
pub(crate) fn private_key(r: &mut Rng) -> (&'static str, String, String) {
    match r.below(5) {
        0 => {
            let (t, v) = armored(
                r,
                "RSA PRIVATE KEY",
                &[
                    0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00,
                ],
                1180,
                "",
            );
            ("private_key_pem", t, v)
        }
        1 => {
            let (t, v) = pkcs8(r);
            ("private_key_pem", t, v)
        }
        2 => {
            let (t, v) = armored(
                r,
                "EC PRIVATE KEY",
                &[0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20],
                112,
                "",
            );
            ("private_key_pem", t, v)
        }
        3 => {
            let (t, v) = armored(r, "OPENSSH PRIVATE KEY", b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01\0\0\0\x33\0\0\0\x0bssh-ed25519", 330, "");
            ("private_key_openssh", t, v)
        }
        _ => {
            let (t, v) = armored(
                r,
                "PGP PRIVATE KEY BLOCK",
                &[0x95, 0x07, 0x46, 0x04, 0x65],
                900,
                "Comment: exported by gpg\n\n",
            );
            ("private_key_pgp", t, v)
        }
    }
}
pub(crate) fn pkcs8(r: &mut Rng) -> (String, String) {
    armored(
        r,
        "PRIVATE KEY",
        &[
            0x30, 0x82, 0x04, 0xbd, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48,
            0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00, 0x04, 0x82, 0x04, 0xa7,
        ],
        1190,
        "",
    )
}
/// A PEM public key (look-alike): (text, recorded body line).
pub(crate) fn public_key_pem(r: &mut Rng) -> (String, String) {
    armored(
        r,
        "PUBLIC KEY",
        &[
            0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00,
        ],
        270,
        "",
    )
}
/// An `ssh-ed25519` public key line: (line, recorded base64 part).
pub(crate) fn ssh_public(r: &mut Rng) -> (String, String) {
    let b = r.base64_of(b"\0\0\0\x0bssh-ed25519\0\0\0\x20", 32);
    (
        format!(
            "ssh-ed25519 {b} {}@{}",
            r.pick(WORDS),
            r.pick(&["laptop", "bastion", "ci-runner"])
        ),
        b,
    )
}

// ---- look-alike shapes -----------------------------------------------------

pub(crate) fn ulid(r: &mut Rng) -> String {
    let mut s = String::from("01H");
    r.push(&mut s, CROCKFORD, 23);
    s
}
pub(crate) fn public_url(r: &mut Rng) -> String {
    let host = r.pick(&[
        "www.example-shop.com",
        "blog.example-co.com",
        "docs.partner-portal.io",
        "shop.acme-retail.net",
        "cdn.example-media.org",
    ]);
    let path = r.pick(&[
        "/landing/spring-sale",
        "/products/blue-widget-2",
        "/pricing",
        "/blog/2024/migrating-to-postgres-16",
        "/catalog/feeds/daily.csv",
    ]);
    if r.chance(0.7) {
        format!(
            "https://{host}{path}?utm_source={}&utm_medium={}&utm_campaign={}-{}",
            r.pick(&["newsletter", "google", "linkedin", "partner"]),
            r.pick(&["email", "cpc", "social"]),
            r.pick(WORDS),
            r.range(2023, 2025)
        )
    } else {
        format!(
            "https://{host}{path}?page={}&ref={}",
            r.range(1, 40),
            r.chars(LOWER, 6)
        )
    }
}
pub(crate) fn vault_ref(r: &mut Rng, user: u64, provider: &str) -> String {
    match r.below(3) {
        0 => format!("vault:secret/data/users/{user}/{provider}"),
        1 => format!("vault:secret/aurora/tenants/{user}/{provider}#token_data"),
        _ => format!("vault:kv/prod/{provider}/{user}"),
    }
}
pub(crate) fn customer_id(r: &mut Rng) -> String {
    match r.below(3) {
        0 => format!("CUST-{:06}", r.below(1_000_000)),
        1 => format!("cus_{}", r.chars(ALNUM, 14)),
        _ => format!("C{}", r.digits(8)),
    }
}

// ---- signed URLs -------------------------------------------------------------

fn amz_date(r: &mut Rng) -> (String, String) {
    let d = format!("2024{:02}{:02}", r.range(1, 12), r.range(1, 28));
    let t = format!(
        "{d}T{:02}{:02}{:02}Z",
        r.below(24),
        r.below(60),
        r.below(60)
    );
    (d, t)
}
fn object_path(r: &mut Rng) -> String {
    format!(
        "{}/{}/{}-{}.{}",
        r.pick(&[
            "exports",
            "reports",
            "uploads",
            "artifacts",
            "backups/daily"
        ]),
        r.range(2023, 2025),
        r.pick(&[
            "customers",
            "invoice",
            "heap-dump",
            "trace",
            "catalog",
            "screenshot"
        ]),
        r.chars(LOWER_ALNUM, 8),
        r.pick(&["csv", "json.gz", "pdf", "png", "hprof", "zip"])
    )
}

/// A signed download URL of a random kind, with its secret parts.
pub(crate) fn signed_url(r: &mut Rng) -> Snip {
    let path = object_path(r);
    match r.below(6) {
        0 => {
            let temporary = r.chance(0.35);
            let key = aws_key_id(r, temporary);
            let region = r.pick(REGIONS);
            let (d, t) = amz_date(r);
            let sig = r.hex(64);
            let bucket = format!(
                "{}-{}",
                r.pick(&["acme-exports", "prod-artifacts", "dataprep-out"]),
                r.pick(REGIONS)
            );
            let mut url = format!(
                "https://{bucket}.s3.{region}.amazonaws.com/{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={key}%2F{d}%2F{region}%2Fs3%2Faws4_request&X-Amz-Date={t}&X-Amz-Expires={}",
                r.pick(&["300", "900", "3600", "86400", "604800"])
            );
            let mut s = Snip::default();
            if temporary {
                let tok = pct(&aws_session_token(r));
                url.push_str("&X-Amz-Security-Token=");
                url.push_str(&tok);
                s = s.s("s3_presigned_security_token", &tok);
            }
            url.push_str("&X-Amz-SignedHeaders=host&X-Amz-Signature=");
            url.push_str(&sig);
            s.text = url;
            s.s("s3_presigned_signature", &sig)
                .s("s3_presigned_credential", &key)
        }
        1 => {
            let key = aws_key_id(r, false);
            let sig = pct(&r.base64_of(&[], 20));
            let url = format!(
                "https://{}.s3.amazonaws.com/{path}?AWSAccessKeyId={key}&Expires={}&Signature={sig}",
                r.pick(&["legacy-uploads", "acme-media", "reports-archive"]),
                1_709_000_000 + r.below(40_000_000)
            );
            Snip::new(url)
                .s("s3_sigv2_signature", &sig)
                .s("s3_sigv2_access_key_id", &key)
        }
        2 => {
            // CloudFront uses its own URL-safe base64 (+ → -, = → _, / → ~).
            let cf = |r: &mut Rng, n: usize| {
                r.base64_of(&[], n)
                    .replace('+', "-")
                    .replace('=', "_")
                    .replace('/', "~")
            };
            let sig = cf(r, 128);
            let kp = format!("K{}", r.chars(UPPER_ALNUM, 13));
            let host = format!("d{}.cloudfront.net", r.chars(LOWER_ALNUM, 13));
            let url = if r.chance(0.5) {
                format!(
                    "https://{host}/{path}?Expires={}&Signature={sig}&Key-Pair-Id={kp}",
                    1_709_000_000 + r.below(40_000_000)
                )
            } else {
                let policy = cf(r, 150);
                format!("https://{host}/{path}?Policy={policy}&Signature={sig}&Key-Pair-Id={kp}")
            };
            Snip::new(url).s("cloudfront_signature", &sig)
        }
        3 => {
            let (d, t) = amz_date(r);
            let sig = r.hex(512);
            let url = format!(
                "https://storage.googleapis.com/{}/{path}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential={}%40{}.iam.gserviceaccount.com%2F{d}%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date={t}&X-Goog-Expires={}&X-Goog-SignedHeaders=host&X-Goog-Signature={sig}",
                r.pick(&["acme-prod-exports", "dataprep-artifacts", "ml-datasets-eu"]),
                r.pick(&["signer", "exporter", "artifact-sa"]),
                r.pick(&["acme-prod", "dataprep-471203", "ops-platform"]),
                r.pick(&["600", "900", "3600"])
            );
            Snip::new(url).s("gcs_v4_signature", &sig)
        }
        4 => {
            let sig = pct(&r.base64_of(&[], 256));
            let url = format!(
                "https://storage.googleapis.com/{}/{path}?GoogleAccessId={}%40{}.iam.gserviceaccount.com&Expires={}&Signature={sig}",
                r.pick(&["acme-prod-exports", "legacy-reports"]),
                r.pick(&["signer", "exporter"]),
                r.pick(&["acme-prod", "dataprep-471203"]),
                1_709_000_000 + r.below(40_000_000)
            );
            Snip::new(url).s("gcs_v2_signature", &sig)
        }
        _ => {
            let sig = pct(&r.base64_of(&[], 32));
            let url = format!(
                "https://{}.blob.core.windows.net/{path}?sv=2022-11-02&ss=b&srt=o&sp=r&se=2024-{:02}-{:02}T{:02}:00:00Z&st=2024-01-01T00:00:00Z&spr=https&sig={sig}",
                r.pick(&["acmeprodexports", "dataprepweu", "opsartifacts"]),
                r.range(1, 12),
                r.range(1, 28),
                r.below(24)
            );
            Snip::new(url).s("azure_sas_signature", &sig)
        }
    }
}

// ---- connection strings ------------------------------------------------------

/// A connection string with a password: (family, text, password).
pub(crate) fn conn_string(r: &mut Rng) -> Snip {
    let pw = password(r);
    let user = r.pick(&[
        "app",
        "postgres",
        "admin",
        "svc_reporting",
        "root",
        "aurora",
        "etl",
    ]);
    let db = r.pick(&["orders", "aurora", "analytics", "app_production", "billing"]);
    let host = r.pick(HOSTS);
    let (fam, text) = match r.below(12) {
        0 => ("postgres_url", format!("postgres://{user}:{pw}@{host}:5432/{db}")),
        1 => ("postgres_url", format!("postgresql://{user}:{pw}@{host}:5432/{db}?sslmode=require")),
        2 => ("mysql_url", format!("mysql://{user}:{pw}@{host}:3306/{db}")),
        3 => ("mongodb_url", format!("mongodb://{user}:{pw}@{host}:27017/{db}?authSource=admin")),
        4 => ("mongodb_url", format!("mongodb+srv://{user}:{pw}@cluster0.{}.mongodb.net/{db}?retryWrites=true&w=majority", r.chars(LOWER_ALNUM, 5))),
        5 => ("redis_url", format!("redis://:{pw}@{host}:6379/0")),
        6 => ("redis_url", format!("rediss://default:{pw}@{host}:6380")),
        7 => ("amqp_url", format!("{}://{user}:{pw}@{host}:5672/{}", r.pick(&["amqp", "amqps"]), r.pick(&["%2F", "prod", "jobs"]))),
        8 => ("smtp_url", format!("smtp://{}:{pw}@{}:587", r.pick(&["mailer", "noreply%40example-co.com", "apikey"]), r.pick(&["smtp.office365.com", "smtp.sendgrid.net", "email-smtp.eu-west-1.amazonaws.com"]))),
        9 => ("odbc_password", format!("Driver={{ODBC Driver 18 for SQL Server}};Server=tcp:{host},1433;Database={db};Uid={user};Pwd={pw};Encrypt=yes;TrustServerCertificate=no;")),
        10 => ("jdbc_password", if r.chance(0.5) {
            format!("jdbc:sqlserver://{host}:1433;databaseName={db};user={user};password={pw};encrypt=true")
        } else {
            format!("jdbc:postgresql://{host}:5432/{db}?user={user}&password={pw}&ssl=true")
        }),
        _ => ("odbc_password", format!("Server={host};Database={db};User Id={user};Password={pw};")),
    };
    Snip::new(text).s(fam, &pw)
}

// ---- pasted snippets ----------------------------------------------------------

/// Something a person or a tool pastes: a key, an env line, a header, a
/// config file fragment. Covers every family with roughly equal weight.
pub(crate) fn paste(r: &mut Rng) -> Snip {
    match r.below(40) {
        0 | 1 => {
            let tmp = r.chance(0.3);
            let (id, sec) = (aws_key_id(r, tmp), aws_secret(r));
            let mut s = match r.below(3) {
                0 => Snip::new(format!("export AWS_ACCESS_KEY_ID={id}\nexport AWS_SECRET_ACCESS_KEY={sec}")),
                1 => Snip::new(format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {sec}\nregion = {}", r.pick(REGIONS))),
                _ => Snip::new(format!("access key {id} secret {sec}")),
            };
            s = s
                .s("aws_access_key_id", &id)
                .s("aws_secret_access_key", &sec);
            if tmp {
                let t = aws_session_token(r);
                s.text.push_str(&format!("\naws_session_token = {t}"));
                s = s.s("aws_session_token", &t);
            }
            s
        }
        2 => {
            let k = gcp_api_key(r);
            if r.chance(0.5) {
                Snip::new(format!("https://maps.googleapis.com/maps/api/geocode/json?address=1600+Main+St&key={k}")).s("gcp_api_key", &k)
            } else {
                Snip::new(format!("GOOGLE_API_KEY={k}")).s("gcp_api_key", &k)
            }
        }
        3 => {
            let t = ya29(r);
            Snip::new(format!("$ gcloud auth print-access-token\n{t}"))
                .s("gcp_oauth_access_token", &t)
        }
        4 => {
            let (t, c, id) = (google_refresh(r), gocspx(r), google_client_id(r));
            Snip::new(format!(r#"{{"client_id": "{id}", "client_secret": "{c}", "refresh_token": "{t}", "type": "authorized_user"}}"#))
                .s("gcp_oauth_refresh_token", &t)
                .s("gcp_client_secret", &c)
                .l("google_client_id", &id)
        }
        5 => {
            let (text, line) = pkcs8(r);
            let pk = text.replace('\n', "\\n");
            Snip::new(format!(
                r#"{{"type": "service_account", "project_id": "acme-prod", "private_key_id": "{}", "private_key": "{pk}\n", "client_email": "deployer@acme-prod.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}}"#,
                r.hex(40)
            ))
            .s("gcp_service_account_key", &line)
        }
        6 => {
            let s = azure_secret(r);
            let (a, t) = (r.uuid(), r.uuid());
            if r.chance(0.5) {
                Snip::new(format!(
                    "az login --service-principal -u {a} -p {s} --tenant {t}"
                ))
                .s("azure_client_secret", &s)
                .l("uuid", &a)
            } else {
                Snip::new(format!(
                    "AZURE_CLIENT_ID={a}\nAZURE_TENANT_ID={t}\nAZURE_CLIENT_SECRET={s}"
                ))
                .s("azure_client_secret", &s)
                .l("uuid", &t)
            }
        }
        7 => {
            let k = r.base64_of(&[], 64);
            let acct = r.pick(&["acmeprodexports", "dataprepweu", "opsartifacts"]);
            Snip::new(format!("DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={k};EndpointSuffix=core.windows.net")).s("azure_storage_key", &k)
        }
        8 => {
            let k = r.base64_of(&[], 32);
            Snip::new(format!("Endpoint=sb://{}.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={k}", r.pick(&["acme-events", "orders-bus"]))).s("azure_servicebus_key", &k)
        }
        9 | 10 => {
            let kind = r.pick(&["ghp_", "github_pat_", "gho_", "ghu_", "ghs_", "ghr_"]);
            let t = github(r, kind);
            let text = match r.below(3) {
                0 => format!("GITHUB_TOKEN={t}"),
                1 => format!(
                    "git clone https://x-access-token:{t}@github.com/acme/{}.git",
                    r.pick(SERVICES)
                ),
                _ => format!(
                    "curl -H 'Authorization: token {t}' https://api.github.com/repos/acme/{}/pulls",
                    r.pick(SERVICES)
                ),
            };
            Snip::new(text).s("github_token", &t)
        }
        11 => {
            let t = prefixed(r, "glpat-", B64URL, 20);
            Snip::new(if r.chance(0.5) {
                format!("PRIVATE-TOKEN: {t}")
            } else {
                format!("GITLAB_TOKEN={t}")
            })
            .s("gitlab_token", &t)
        }
        12 => {
            let t = prefixed(r, "npm_", ALNUM, 36);
            Snip::new(format!("//registry.npmjs.org/:_authToken={t}")).s("npm_token", &t)
        }
        13 => {
            let n = r.usize(60, 150);
            let t = prefixed(r, "pypi-AgEIcHlwaS5vcmc", B64URL, n);
            Snip::new(format!("[pypi]\n  username = __token__\n  password = {t}"))
                .s("pypi_token", &t)
        }
        14 => {
            let t = prefixed(r, "hf_", LETTERS, 34);
            Snip::new(if r.chance(0.5) {
                format!("huggingface-cli login --token {t}")
            } else {
                format!("HF_TOKEN={t}")
            })
            .s("huggingface_token", &t)
        }
        15 | 16 => {
            let t = if r.chance(0.6) {
                let n = r.usize(100, 156);
                prefixed(r, "sk-proj-", B64URL, n)
            } else {
                let mut s = prefixed(r, "sk-", ALNUM, 20);
                s.push_str("T3BlbkFJ");
                r.push(&mut s, ALNUM, 20);
                s
            };
            Snip::new(match r.below(3) {
                0 => format!("OPENAI_API_KEY={t}"),
                1 => format!("client = OpenAI(api_key=\"{t}\")"),
                _ => format!("Authorization: Bearer {t}"),
            })
            .s("openai_api_key", &t)
        }
        17 => {
            let mut t = prefixed(r, "sk-ant-api03-", B64URL, 93);
            t.push_str("AA");
            Snip::new(if r.chance(0.5) {
                format!("x-api-key: {t}")
            } else {
                format!("ANTHROPIC_API_KEY={t}")
            })
            .s("anthropic_api_key", &t)
        }
        18 => {
            let t = if r.chance(0.5) {
                format!(
                    "xoxb-{}-{}-{}",
                    r.digits(12),
                    r.digits(13),
                    r.chars(ALNUM, 24)
                )
            } else {
                format!(
                    "xoxp-{}-{}-{}-{}",
                    r.digits(12),
                    r.digits(12),
                    r.digits(13),
                    r.hex(32)
                )
            };
            Snip::new(format!("SLACK_BOT_TOKEN={t}")).s("slack_token", &t)
        }
        19 => {
            let secret = r.chars(ALNUM, 24);
            let url = format!(
                "https://hooks.slack.com/services/T{}/B{}/{secret}",
                r.chars(UPPER_ALNUM, 8),
                r.chars(UPPER_ALNUM, 10)
            );
            Snip::new(format!("curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"deploy finished\"}}' {url}")).s("slack_webhook", &secret)
        }
        20 => {
            let p = if r.chance(0.7) {
                "sk_live_"
            } else {
                "rk_live_"
            };
            let n = r.usize(24, 99);
            let t = prefixed(r, p, ALNUM, n);
            Snip::new(if r.chance(0.5) {
                format!("STRIPE_SECRET_KEY={t}")
            } else {
                format!("curl https://api.stripe.com/v1/charges -u {t}:")
            })
            .s("stripe_key", &t)
        }
        21 => {
            let t = format!("SG.{}.{}", r.chars(B64URL, 22), r.chars(B64URL, 43));
            Snip::new(format!("SENDGRID_API_KEY={t}")).s("sendgrid_key", &t)
        }
        22 => {
            let (sid, tok) = (format!("AC{}", r.hex(32)), r.hex(32));
            if r.chance(0.5) {
                Snip::new(format!("TWILIO_ACCOUNT_SID={sid}\nTWILIO_AUTH_TOKEN={tok}"))
                    .s("twilio_auth_token", &tok)
            } else {
                let (k, s) = (format!("SK{}", r.hex(32)), r.chars(ALNUM, 32));
                Snip::new(format!("TWILIO_API_KEY={k}\nTWILIO_API_SECRET={s}"))
                    .s("twilio_api_key", &k)
                    .s("twilio_api_secret", &s)
            }
        }
        23 => {
            let k = if r.chance(0.5) {
                format!("key-{}", r.hex(32))
            } else {
                format!("{}-{}-{}", r.hex(32), r.hex(8), r.hex(8))
            };
            Snip::new(format!(
                "curl -s --user 'api:{k}' https://api.mailgun.net/v3/mg.example-co.com/messages"
            ))
            .s("mailgun_key", &k)
        }
        24 => {
            let t = format!("{}{}", r.pick(&["shpat_", "shpss_", "shpca_"]), r.hex(32));
            Snip::new(format!("X-Shopify-Access-Token: {t}")).s("shopify_token", &t)
        }
        25 => {
            let t = format!("{}:AA{}", r.digits(10), r.chars(B64URL, 33));
            Snip::new(format!(
                "https://api.telegram.org/bot{t}/sendMessage?chat_id=-100{}",
                r.digits(10)
            ))
            .s("telegram_bot_token", &t)
        }
        26 => {
            let t = format!("dapi{}", r.hex(32));
            Snip::new(format!(
                "DATABRICKS_HOST=https://adb-{}.11.azuredatabricks.net\nDATABRICKS_TOKEN={t}",
                r.digits(16)
            ))
            .s("databricks_token", &t)
        }
        27 => {
            let t = format!("dop_v1_{}", r.hex(64));
            Snip::new(format!("DIGITALOCEAN_ACCESS_TOKEN={t}")).s("digitalocean_token", &t)
        }
        28 => {
            let n = r.usize(24, 95);
            let t = prefixed(r, "hvs.", B64URL, n);
            Snip::new(if r.chance(0.5) {
                format!("X-Vault-Token: {t}")
            } else {
                format!("VAULT_TOKEN={t}")
            })
            .s("vault_token", &t)
        }
        29 => {
            let t = jwt(r);
            Snip::new(format!("Authorization: Bearer {t}")).s("jwt", &t)
        }
        30 | 31 => {
            let (fam, text, line) = private_key(r);
            Snip::new(text).s(fam, &line)
        }
        32 => {
            let (k, p) = (age_secret(r), age_recipient(r));
            Snip::new(format!(
                "# created: 2024-{:02}-{:02}T10:12:44Z\n# public key: {p}\n{k}",
                r.range(1, 12),
                r.range(1, 28)
            ))
            .s("age_secret_key", &k)
            .l("age_recipient", &p)
        }
        33 => {
            let n = r.usize(32, 64);
            let t = r.chars(ALNUM, n);
            Snip::new(format!("Authorization: Bearer {t}")).s("authorization_bearer", &t)
        }
        34 => {
            let cred = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                r.pick(&["admin", "deploy", "grafana"]),
                password(r)
            ));
            Snip::new(format!("Authorization: Basic {cred}")).s("authorization_basic", &cred)
        }
        35 => cookie(r),
        36 => {
            let pw = password(r);
            Snip::new(match r.below(4) {
                0 => format!("DB_PASSWORD={pw}"),
                1 => format!("password: {pw}"),
                2 => format!("mysql -h {} -u root -p{pw} orders", r.pick(HOSTS)),
                _ => format!("{{\"username\": \"svc_etl\", \"password\": \"{pw}\"}}"),
            })
            .s("password", &pw)
        }
        37 => {
            let pw = password(r);
            Snip::new(format!(
                "https://{}:{pw}@{}/v2/",
                r.pick(&["deploy", "ci-bot", "jenkins"]),
                r.pick(&[
                    "registry.example-co.com",
                    "nexus.internal:8443",
                    "artifactory.corp.example-co.net"
                ])
            ))
            .s("url_userinfo", &pw)
        }
        38 => generic_assignment(r),
        _ => conn_string(r),
    }
}

/// A session cookie header.
pub(crate) fn cookie(r: &mut Rng) -> Snip {
    match r.below(4) {
        0 => {
            let v = r.chars(LOWER_ALNUM, 32);
            Snip::new(format!("Set-Cookie: sessionid={v}; expires=Tue, 02 Apr 2024 10:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure")).s("session_cookie", &v)
        }
        1 => {
            let v = r.chars(LOWER_ALNUM, 32);
            Snip::new(format!(
                "Cookie: sessionid={v}; csrftoken={}",
                r.chars(ALNUM, 32)
            ))
            .s("session_cookie", &v)
        }
        2 => {
            let v = format!("s%3A{}.{}", r.chars(B64URL, 32), r.chars(ALNUM, 43));
            Snip::new(format!("Set-Cookie: connect.sid={v}; Path=/; HttpOnly"))
                .s("session_cookie", &v)
        }
        _ => {
            let v = r.hex(32);
            Snip::new(format!(
                "Cookie: _session_id={v}; _ga=GA1.2.{}.{}",
                r.digits(9),
                r.digits(10)
            ))
            .s("session_cookie", &v)
        }
    }
}

/// `NAME=value` with a high-entropy value under a secret-like name.
pub(crate) fn generic_assignment(r: &mut Rng) -> Snip {
    let (name, v) = match r.below(5) {
        0 => (
            "SECRET_KEY",
            r.chars(b"abcdefghijklmnopqrstuvwxyz0123456789!*-_=+^", 50),
        ),
        1 => ("JWT_SECRET", r.chars(ALNUM, 48)),
        2 => ("ENCRYPTION_KEY", r.base64_of(&[], 32)),
        3 => ("WEBHOOK_SECRET", format!("whsec_{}", r.chars(B64, 32))),
        _ => ("SIGNING_KEY", r.hex(64)),
    };
    Snip::new(format!("{name}={v}")).s("generic_secret", &v)
}

/// An environment dump: mostly harmless variables, a few secrets.
pub(crate) fn env_dump(r: &mut Rng, with_secret: bool) -> Snip {
    let mut s = Snip::new(format!(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME={}-{}-{}\nKUBERNETES_SERVICE_HOST=10.96.0.1\nKUBERNETES_SERVICE_PORT=443\nLANG=C.UTF-8\nAPP_ENV=production\nLOG_LEVEL=info\nGIT_COMMIT={}",
        r.pick(SERVICES),
        r.hex(10),
        r.chars(LOWER_ALNUM, 5),
        r.hex(40)
    ));
    if with_secret {
        for _ in 0..r.range(1, 3) {
            let p = if r.chance(0.4) {
                let c = conn_string(r);
                Snip {
                    text: format!(
                        "{}={}",
                        r.pick(&[
                            "DATABASE_URL",
                            "REDIS_URL",
                            "BROKER_URL",
                            "MONGO_URI",
                            "SQLALCHEMY_DATABASE_URI"
                        ]),
                        c.text
                    ),
                    ..c
                }
            } else {
                paste_env(r)
            };
            s.join("\n", p);
        }
    }
    s.text.push_str(&format!(
        "\nHOME=/home/app\nPYTHONUNBUFFERED=1\nRELEASE={}",
        r.pick(&["v2.14.3", "v2.15.0", "2024.03.2"])
    ));
    s
}

/// A paste that reads as one `NAME=value` line.
fn paste_env(r: &mut Rng) -> Snip {
    loop {
        let s = paste(r);
        if !s.text.contains('\n') && s.text.contains('=') && !s.text.contains(' ') {
            return s;
        }
        if r.chance(0.2) {
            return generic_assignment(r);
        }
    }
}

/// A binary payload as base64 (records the middle 64 characters).
pub(crate) fn blob(r: &mut Rng) -> (String, String) {
    let n = r.usize(1500, 4500);
    let b = r.base64_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", n);
    let mid = b.len() / 2;
    let rec = b[mid..mid + 64].to_string();
    (b, rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(v: &str) -> bool {
        !v.is_empty()
            && v.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    }

    #[test]
    fn pastes_contain_their_values_and_need_no_escaping() {
        let mut r = Rng::new(11);
        for _ in 0..5000 {
            let s = paste(&mut r);
            assert!(!s.secrets.is_empty());
            for (fam, v) in s.secrets.iter().chain(&s.looks) {
                assert!(clean(v), "{fam}: {v}");
                assert!(s.text.contains(v.as_str()), "{fam}");
            }
        }
    }

    #[test]
    fn signed_urls_and_conn_strings_contain_their_values() {
        let mut r = Rng::new(12);
        for _ in 0..2000 {
            for s in [
                signed_url(&mut r),
                conn_string(&mut r),
                env_dump(&mut r, true),
            ] {
                for (fam, v) in &s.secrets {
                    assert!(clean(v), "{fam}: {v}");
                    assert!(s.text.contains(v.as_str()), "{fam}");
                }
            }
        }
    }

    #[test]
    fn shapes() {
        let mut r = Rng::new(13);
        assert_eq!(aws_key_id(&mut r, false).len(), 20);
        assert!(gcp_api_key(&mut r).len() == 39);
        assert_eq!(age_secret(&mut r).len(), "AGE-SECRET-KEY-1".len() + 58);
        assert_eq!(jwt(&mut r).matches('.').count(), 2);
        assert_eq!(bcrypt(&mut r).len(), 60);
        let (_, line) = pkcs8(&mut r);
        assert_eq!(line.len(), 64);
    }
}
