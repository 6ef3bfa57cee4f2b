//! Record builders, one per entity, shaped on the tables of the platforms
//! redarc serves (see the module docs).

use std::fmt::Write as _;

use super::json::Json;
use super::rng::{Rng, ALNUM, B64URL, LOWER, LOWER_ALNUM, UPPER_ALNUM};
use super::secrets::{self as s, Snip, MODELS, REGIONS, SERVICES, WORDS};

/// A value recorded while building the current record.
pub(crate) struct Mark {
    pub(crate) secret: bool,
    pub(crate) family: &'static str,
    pub(crate) value: String,
}

/// Builds records into `j`; the driver in `mod.rs` takes them from there.
pub(crate) struct Gen {
    pub(crate) r: Rng,
    pub(crate) j: Json,
    inner: Json,
    /// Seconds since the Unix epoch; advances as records are made.
    pub(crate) now: u64,
    /// Whether to keep planted values (ground truth) or only count them.
    pub(crate) keep: bool,
    pub(crate) marks: Vec<Mark>,
    pub(crate) rec_secrets: u64,
    pub(crate) rec_looks: u64,
    next_id: u64,
}

const FIRST: &[&str] = &[
    "ana", "ben", "chloe", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jonas", "kemi",
    "liam", "maya", "noor", "oscar", "priya",
];
const LAST: &[&str] = &[
    "silva",
    "okafor",
    "nguyen",
    "schmidt",
    "rossi",
    "kowalski",
    "tanaka",
    "haddad",
    "lindqvist",
    "moreau",
    "patel",
    "garcia",
];
const DOMAINS: &[&str] = &[
    "example-co.com",
    "acme-retail.net",
    "dataprep.io",
    "contoso-ops.org",
];
const NAMESPACES: &[&str] = &[
    "prod",
    "payments",
    "ingest",
    "monitoring",
    "default",
    "staging",
];

impl Gen {
    pub(crate) fn new(seed: u64, keep: bool) -> Gen {
        Gen {
            r: Rng::new(seed),
            j: Json::new(),
            inner: Json::new(),
            now: 1_709_251_200, // 2024-03-01T00:00:00Z
            keep,
            marks: Vec::new(),
            rec_secrets: 0,
            rec_looks: 0,
            next_id: 1,
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn secret(&mut self, family: &'static str, value: &str) {
        self.rec_secrets += 1;
        if self.keep {
            self.marks.push(Mark {
                secret: true,
                family,
                value: value.to_string(),
            });
        }
    }

    fn look(&mut self, family: &'static str, value: &str) {
        self.rec_looks += 1;
        if self.keep {
            self.marks.push(Mark {
                secret: false,
                family,
                value: value.to_string(),
            });
        }
    }

    /// Records a snippet's values and hands back its text.
    fn take(&mut self, snip: Snip) -> String {
        for (f, v) in &snip.secrets {
            self.secret(f, v);
        }
        for (f, v) in &snip.looks {
            self.look(f, v);
        }
        snip.text
    }

    fn tick(&mut self, max: u64) -> u64 {
        self.now += self.r.range(1, max);
        self.now
    }

    fn name(&mut self) -> (String, String) {
        let f = self.r.pick(FIRST);
        let l = self.r.pick(LAST);
        let full = format!(
            "{}{} {}{}",
            f[..1].to_ascii_uppercase(),
            &f[1..],
            l[..1].to_ascii_uppercase(),
            &l[1..]
        );
        let email = format!("{f}.{l}{}@{}", self.r.below(100), self.r.pick(DOMAINS));
        (full, email)
    }

    fn pod(&mut self) -> String {
        format!(
            "{}-{}-{}",
            self.r.pick(SERVICES),
            self.r.hex(10),
            self.r.chars(LOWER_ALNUM, 5)
        )
    }

    fn ip(&mut self) -> String {
        format!("203.0.113.{}", self.r.range(1, 254))
    }

    // ---- users ---------------------------------------------------------------

    pub(crate) fn user(&mut self, uid: u64) -> String {
        let (name, email) = self.name();
        let (fam, hash) = if self.r.chance(0.8) {
            ("bcrypt_hash", s::bcrypt(&mut self.r))
        } else {
            s::other_hash(&mut self.r)
        };
        self.secret(fam, &hash);
        let created = iso(self.tick(3600));
        let updated = iso(self.now + self.r.below(10_000_000));
        self.j.clear();
        self.j
            .obj()
            .kn("id", uid)
            .kv("email", &email)
            .kv("password_hash", &hash)
            .kv("name", &name)
            .kv("created_at", &created)
            .kv("updated_at", &updated)
            .end();
        email
    }

    // ---- user_tokens -------------------------------------------------------------

    pub(crate) fn user_token(&mut self, uid: u64, provider: &str, email: &str) {
        let r = &mut self.r;
        let mut secrets: Vec<(&'static str, String)> = Vec::new();
        let mut looks: Vec<(&'static str, String)> = Vec::new();
        let (mut tenant, mut client_id, mut client_secret, mut sub) = (None, None, None, None);
        let i = &mut self.inner;
        i.clear();
        i.obj();
        match provider {
            "gcp" => {
                if r.chance(0.3) {
                    let (text, line) = s::pkcs8(r);
                    let proj = format!("{}-{}", r.pick(WORDS), r.digits(6));
                    i.kv("type", "service_account")
                        .kv("project_id", &proj)
                        .kv("private_key_id", &r.hex(40))
                        .kv("private_key", &(text + "\n"));
                    i.kv(
                        "client_email",
                        &format!("aurora-reader@{proj}.iam.gserviceaccount.com"),
                    )
                    .kv("client_id", &r.digits(21));
                    i.kv("auth_uri", "https://accounts.google.com/o/oauth2/auth")
                        .kv("token_uri", "https://oauth2.googleapis.com/token");
                    secrets.push(("gcp_service_account_key", line));
                } else {
                    let (at, rt, cs, cid) = (
                        s::ya29(r),
                        s::google_refresh(r),
                        s::gocspx(r),
                        s::google_client_id(r),
                    );
                    i.kv("access_token", &at)
                        .kv("refresh_token", &rt)
                        .kv("token_uri", "https://oauth2.googleapis.com/token");
                    i.kv("client_id", &cid).kv("client_secret", &cs);
                    i.key("scopes")
                        .arr()
                        .str("https://www.googleapis.com/auth/cloud-platform")
                        .str("openid")
                        .end_arr();
                    i.kv("expiry", &iso(self.now + 3599));
                    secrets.push(("gcp_oauth_access_token", at));
                    secrets.push(("gcp_oauth_refresh_token", rt));
                    secrets.push(("gcp_client_secret", cs.clone()));
                    looks.push(("google_client_id", cid.clone()));
                    client_id = Some(cid);
                    client_secret = Some(cs);
                }
            }
            "aws" => {
                let tmp = r.chance(0.4);
                let (id, sec) = (s::aws_key_id(r, tmp), s::aws_secret(r));
                i.kv("aws_access_key_id", &id)
                    .kv("aws_secret_access_key", &sec);
                secrets.push(("aws_access_key_id", id));
                secrets.push(("aws_secret_access_key", sec));
                if tmp {
                    let t = s::aws_session_token(r);
                    i.kv("aws_session_token", &t);
                    secrets.push(("aws_session_token", t));
                }
                let arn = format!("arn:aws:iam::{}:role/AuroraReadOnly", r.digits(12));
                i.kv("region", r.pick(REGIONS))
                    .kv("role_arn", &arn)
                    .kv("external_id", &r.uuid());
                looks.push(("arn", arn));
            }
            "azure" => {
                let (t, c, sb, cs) = (r.uuid(), r.uuid(), r.uuid(), s::azure_secret(r));
                let n = r.usize(300, 500);
                let (at, rt) = (s::jwt(r), format!("0.A{}", r.chars(B64URL, n)));
                i.kv("token_type", "Bearer")
                    .kv("access_token", &at)
                    .kv("refresh_token", &rt)
                    .kn("expires_in", 3599);
                i.kv("resource", "https://management.azure.com/");
                secrets.push(("jwt", at));
                secrets.push(("oauth_refresh_token", rt));
                secrets.push(("azure_client_secret", cs.clone()));
                looks.push(("uuid", sb.clone()));
                tenant = Some(t);
                client_id = Some(c);
                sub = Some(sb);
                client_secret = Some(cs);
            }
            "github" => {
                let kind = r.pick(&["gho_", "ghu_", "ghs_", "ghp_", "github_pat_"]);
                let t = s::github(r, kind);
                i.kv("access_token", &t)
                    .kv("token_type", "bearer")
                    .kv("scope", "repo,read:org,workflow");
                secrets.push(("github_token", t));
                if kind == "ghu_" {
                    let rt = s::github(r, "ghr_");
                    i.kv("refresh_token", &rt)
                        .kn("refresh_token_expires_in", 15_811_200);
                    secrets.push(("github_token", rt));
                }
                i.kn("installation_id", r.range(10_000_000, 60_000_000));
            }
            "slack" => {
                let bot = format!(
                    "xoxb-{}-{}-{}",
                    r.digits(12),
                    r.digits(13),
                    r.chars(ALNUM, 24)
                );
                let usr = format!(
                    "xoxp-{}-{}-{}-{}",
                    r.digits(12),
                    r.digits(12),
                    r.digits(13),
                    r.hex(32)
                );
                let hook = r.chars(ALNUM, 24);
                let team = format!("T{}", r.chars(UPPER_ALNUM, 10));
                i.kv("access_token", &bot)
                    .kv("bot_user_id", &format!("U{}", r.chars(UPPER_ALNUM, 10)));
                i.key("team")
                    .obj()
                    .kv("id", &team)
                    .kv("name", "Acme Ops")
                    .end();
                i.key("incoming_webhook")
                    .obj()
                    .kv("channel", "#incidents")
                    .kv(
                        "url",
                        &format!(
                            "https://hooks.slack.com/services/{team}/B{}/{hook}",
                            r.chars(UPPER_ALNUM, 10)
                        ),
                    )
                    .end();
                i.key("authed_user")
                    .obj()
                    .kv("id", &format!("U{}", r.chars(UPPER_ALNUM, 10)))
                    .kv("access_token", &usr)
                    .end();
                secrets.push(("slack_token", bot));
                secrets.push(("slack_token", usr));
                secrets.push(("slack_webhook", hook));
            }
            "grafana" => {
                let t = format!("glsa_{}_{}", r.chars(ALNUM, 32), r.hex(8));
                i.kv("url", &format!("https://grafana.{}", r.pick(DOMAINS)))
                    .kv("api_key", &t)
                    .kn("org_id", 1);
                secrets.push(("grafana_token", t));
            }
            "datadog" => {
                let (a, b) = (r.hex(32), r.hex(40));
                i.kv("api_key", &a).kv("app_key", &b).kv(
                    "site",
                    r.pick(&["datadoghq.com", "datadoghq.eu", "us5.datadoghq.com"]),
                );
                secrets.push(("datadog_api_key", a));
                secrets.push(("datadog_app_key", b));
            }
            _ => {
                let t = r.chars(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+",
                    20,
                );
                i.kv("api_token", &t)
                    .kv("service_region", "EU")
                    .kv("routing_key", &r.hex(32));
                secrets.push(("pagerduty_token", t));
            }
        }
        i.end();
        for (f, v) in secrets {
            self.secret(f, &v);
        }
        for (f, v) in looks {
            self.look(f, &v);
        }
        let vref = s::vault_ref(&mut self.r, uid, provider);
        self.look("vault_ref", &vref);
        let as_string = self.r.chance(0.3);
        let id = self.id();
        let last = iso(self.tick(600));
        let session = if self.r.chance(0.6) {
            let sid = self.r.chars(ALNUM, 40);
            self.secret("session_id", &sid);
            let ip = self.ip();
            let mut sj = Json::new();
            sj.obj().kv("session_id", &sid).kv("ip", &ip).kv("user_agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15").kv("login_at", &last).end();
            Some(sj.s)
        } else {
            None
        };
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kn("id", id)
            .kn("user_id", uid)
            .kv("provider", provider)
            .key("token_data");
        if as_string {
            // Some rows hold the JSON double-encoded, as a string.
            j.str(&self.inner.s);
        } else {
            j.raw(&self.inner.s);
        }
        j.kv("secret_ref", &vref)
            .kopt("tenant_id", tenant.as_deref())
            .kopt("client_id", client_id.as_deref());
        j.kopt("client_secret", client_secret.as_deref())
            .kopt("subscription_id", sub.as_deref())
            .kv("email", email);
        j.key("session_data");
        match session {
            Some(sd) => j.raw(&sd),
            None => j.null(),
        };
        j.kv("last_activity", &last)
            .key("is_active")
            .bool(self.r.chance(0.9))
            .end();
    }

    // ---- chat_sessions ---------------------------------------------------------------

    fn user_text(&mut self, paste: bool) -> String {
        if paste {
            let snip = s::paste(&mut self.r);
            let text = self.take(snip);
            let intro = self.r.pick(&[
                "Here is the config we deploy with:\n",
                "I ran this and it still fails:\n",
                "Old value was below, I rotated it already (I think):\n",
                "can you check why auth breaks? env:\n",
                "Paste from the pod:\n```\n",
            ]);
            let outro = self.r.pick(&[
                "\nDoes anything look wrong?",
                "\n```",
                "",
                "\nthanks",
                "\nWhat should I change?",
            ]);
            return format!("{intro}{text}{outro}");
        }
        let svc = self.r.pick(SERVICES);
        match self.r.below(8) {
            0 => format!("Why is {svc} returning 502s since {}?", hhmm(self.now)),
            1 => format!(
                "Can you check the pods in namespace {}?",
                self.r.pick(NAMESPACES)
            ),
            2 => {
                let sha = self.r.hex(40);
                self.look("git_sha", &sha);
                format!("Compare commit {sha} with the previous release of {svc}")
            }
            3 => {
                let id = self.r.uuid();
                self.look("request_id", &id);
                format!("The failing request id was {id}, can you trace it?")
            }
            4 => {
                let p = s::age_recipient(&mut self.r);
                self.look("age_recipient", &p);
                format!("Encrypt the export for me, my recipient is {p}")
            }
            5 => {
                let (line, b) = s::ssh_public(&mut self.r);
                self.look("ssh_public_key", &b);
                format!("Please add my key to the bastion: {line}")
            }
            6 => {
                let u = s::public_url(&mut self.r);
                self.look("public_url", &u);
                format!("Traffic from {u} dropped, is tracking broken?")
            }
            _ => format!("Summarise the last incident on {svc} and suggest a fix."),
        }
    }

    fn assistant_text(&mut self) -> String {
        let svc = self.r.pick(SERVICES);
        match self.r.below(4) {
            0 => {
                let sha = self.r.hex(7);
                format!("I looked at the logs of {svc}. The error rate rose at {} right after deployment {sha}; rolling back should restore service.", hhmm(self.now))
            }
            1 => {
                let pod = self.pod();
                self.look("pod_name", &pod);
                format!("Pod {pod} restarted 14 times with OOMKilled. The memory limit is 512Mi while the heap peaks near 700Mi.")
            }
            2 => {
                let h = self.r.hex(64);
                self.look("sha256_hex", &h);
                format!("The artifact checksum matches the release manifest (sha256 {h}). No drift found.")
            }
            _ => format!("Connection pool saturation on {svc}: 100 of 100 connections in use. Raise max_connections or add PgBouncer."),
        }
    }

    pub(crate) fn chat_session(&mut self, uid: u64, incident: Option<&str>) -> String {
        let id = self.r.uuid();
        self.look("uuid", &id);
        let n = self.r.usize(2, 9);
        // About a quarter of sessions get one pasted secret.
        let paste_at = if self.r.chance(0.25) {
            Some(self.r.usize(0, (n - 1) / 2) * 2)
        } else {
            None
        };
        let model = self.r.pick(MODELS);
        self.look("model_name", model);
        let title = format!(
            "{} {}",
            self.r.pick(&["Investigate", "Debug", "Why is", "Fix"]),
            self.r.pick(SERVICES)
        );
        let created = iso(self.tick(900));
        let mut msgs = Vec::with_capacity(n);
        for k in 0..n {
            let user = k % 2 == 0;
            let text = if user {
                self.user_text(paste_at == Some(k))
            } else {
                self.assistant_text()
            };
            msgs.push((user, text, iso(self.tick(90))));
        }
        let mut calls = Vec::new();
        for k in 0..n {
            if k % 2 == 1 && self.r.chance(0.5) {
                let cid = format!("call_{}", self.r.chars(ALNUM, 24));
                self.look("tool_call_id", &cid);
                let cmd = if self.r.chance(0.08) {
                    let snip = s::paste(&mut self.r);
                    let t = self.take(Snip {
                        text: snip.text.replace('\n', " "),
                        ..snip
                    });
                    format!("echo '{t}' | grep -c .")
                } else {
                    format!("kubectl get pods -n {} -o wide", self.r.pick(NAMESPACES))
                };
                let mut a = Json::new();
                a.obj().kv("command", &cmd).kn("timeout", 30).end();
                calls.push((k, cid, a.s));
            }
        }
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kv("id", &id)
            .kn("user_id", uid)
            .kv("title", &title)
            .key("messages")
            .arr();
        for (k, (user, text, ts)) in msgs.iter().enumerate() {
            j.obj()
                .kv("sender", if *user { "user" } else { "assistant" })
                .kv("text", text)
                .kv("timestamp", ts);
            j.key("tool_calls").arr();
            for (_, cid, args) in calls.iter().filter(|c| c.0 == k) {
                j.obj()
                    .kv("id", cid)
                    .kv("type", "function")
                    .key("function")
                    .obj()
                    .kv("name", "run_command")
                    .kv("arguments", args)
                    .end()
                    .kv("status", "completed")
                    .end();
            }
            j.end_arr().end();
        }
        j.end_arr();
        j.key("ui_state").obj().kv("selectedModel", model).kv(
            "selectedMode",
            if self.r.chance(0.7) { "agent" } else { "ask" },
        );
        j.key("selectedProviders")
            .arr()
            .str("gcp")
            .str(if self.r.chance(0.5) { "aws" } else { "azure" })
            .end_arr()
            .end();
        j.kv(
            "status",
            if self.r.chance(0.8) {
                "completed"
            } else {
                "active"
            },
        )
        .kopt("incident_id", incident)
        .kv("created_at", &created)
        .end();
        id
    }

    // ---- incidents -------------------------------------------------------------------

    pub(crate) fn incident(&mut self, uid: u64, id: &str, merged_into: Option<&str>) {
        self.look("uuid", id);
        let svc = self.r.pick(SERVICES);
        let sev = self.r.pick(&["critical", "high", "medium", "low"]);
        let mut summary = format!(
            "{svc} degraded: p99 latency rose from 180ms to {}ms after the {} deploy. ",
            self.r.range(900, 4000),
            hhmm(self.now)
        );
        if self.r.chance(0.5) {
            let sha = self.r.hex(40);
            self.look("git_sha", &sha);
            let _ = write!(summary, "The regression was introduced by commit {sha}. ");
        }
        if self.r.chance(0.04) {
            let c = s::conn_string(&mut self.r);
            let t = self.take(c);
            let _ = write!(
                summary,
                "The worker was started with DATABASE_URL={t} pointing at the replica. "
            );
        }
        summary.push_str(self.r.pick(&[
            "Rolling back resolved the issue.",
            "Scaling the deployment to 6 replicas mitigated it.",
            "Root cause: connection pool exhaustion.",
            "Root cause still under investigation.",
        ]));
        let alert = self.r.range(1000, 99999);
        let started = iso(self.tick(3600));
        let j = &mut self.j;
        j.clear();
        j.obj().kv("id", id).kn("user_id", uid).kv(
            "source_type",
            self.r.pick(&["grafana", "datadog", "pagerduty", "netdata"]),
        );
        j.kv("source_alert_id", &alert.to_string()).kv(
            "status",
            self.r
                .pick(&["investigating", "resolved", "merged", "open"]),
        );
        j.kv("severity", sev).kv(
            "alert_title",
            &format!("[{}] {svc} high error rate", sev.to_ascii_uppercase()),
        );
        j.kv("alert_service", svc)
            .kv("aurora_summary", &summary)
            .kv("started_at", &started)
            .kopt("merged_into_incident_id", merged_into)
            .end();
    }

    // ---- incident_citations: raw tool output ------------------------------------------------

    pub(crate) fn citation(&mut self, incident: &str, key: usize) {
        let (tool, command, output) = self.tool_output();
        let id = self.id();
        let ts = iso(self.tick(120));
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kn("id", id)
            .kv("incident_id", incident)
            .kv("citation_key", &format!("c{key}"))
            .kv("tool_name", tool);
        j.kv("command", &command)
            .kv("output", &output)
            .kv("executed_at", &ts)
            .end();
    }

    fn tool_output(&mut self) -> (&'static str, String, String) {
        let ns = self.r.pick(NAMESPACES);
        match self.r.below(12) {
            0 | 1 => {
                let mut out = String::from("NAME                                   READY   STATUS             RESTARTS   AGE\n");
                for _ in 0..self.r.range(3, 8) {
                    let pod = self.pod();
                    let _ = writeln!(
                        out,
                        "{pod:<38} 1/1     {:<18} {:<10} {}h",
                        self.r
                            .pick(&["Running", "Running", "CrashLoopBackOff", "OOMKilled"]),
                        self.r.below(20),
                        self.r.range(1, 90)
                    );
                }
                ("kubectl", format!("kubectl get pods -n {ns}"), out)
            }
            2 => {
                let pod = self.pod();
                let digest = self.r.hex(64);
                self.look("sha256_hex", &digest);
                let mut out = format!("Name:         {pod}\nNamespace:    {ns}\nContainers:\n  app:\n    Image:      ghcr.io/acme/{}@sha256:{digest}\n    Environment:\n", self.r.pick(SERVICES));
                if self.r.chance(0.5) {
                    let c = s::conn_string(&mut self.r);
                    let t = self.take(c);
                    let _ = writeln!(out, "      DATABASE_URL:  {t}");
                }
                out.push_str("      LOG_LEVEL:     info\n      PORT:          8080\nEvents:\n  Warning  BackOff  3m  kubelet  Back-off restarting failed container");
                (
                    "kubectl",
                    format!("kubectl describe pod {pod} -n {ns}"),
                    out,
                )
            }
            3 => {
                let with = self.r.chance(0.6);
                let e = s::env_dump(&mut self.r, with);
                let pod = self.pod();
                (
                    "kubectl",
                    format!("kubectl exec -n {ns} {pod} -- printenv"),
                    self.take(e),
                )
            }
            4 => {
                let host = format!("{}.{}", self.r.pick(SERVICES), self.r.pick(DOMAINS));
                let req = self.r.uuid();
                self.look("request_id", &req);
                let mut cmd = format!("curl -sv https://{host}/api/v1/health");
                let mut out = format!("*   Trying 203.0.113.10:443...\n* Connected to {host} port 443\n> GET /api/v1/health HTTP/2\n> Host: {host}\n> User-Agent: curl/8.5.0\n");
                if self.r.chance(0.6) {
                    let snip = match self.r.below(3) {
                        0 => {
                            let t = s::jwt(&mut self.r);
                            Snip {
                                text: format!("Authorization: Bearer {t}"),
                                secrets: vec![("jwt", t)],
                                looks: Vec::new(),
                            }
                        }
                        1 => {
                            let t = self.r.chars(ALNUM, 40);
                            Snip {
                                text: format!("Authorization: Bearer {t}"),
                                secrets: vec![("authorization_bearer", t)],
                                looks: Vec::new(),
                            }
                        }
                        _ => {
                            let cred = base64_user_pass(&mut self.r);
                            Snip {
                                text: format!("Authorization: Basic {cred}"),
                                secrets: vec![("authorization_basic", cred)],
                                looks: Vec::new(),
                            }
                        }
                    };
                    let h = self.take(snip);
                    cmd = format!("curl -sv -H '{h}' https://{host}/api/v1/health");
                    let _ = writeln!(out, "> {h}");
                }
                let _ = write!(
                    out,
                    ">\n< HTTP/2 200\n< content-type: application/json\n< x-request-id: {req}\n"
                );
                if self.r.chance(0.45) {
                    let c = s::cookie(&mut self.r);
                    let t = self.take(c);
                    let _ = writeln!(out, "< {t}");
                }
                out.push_str("<\n{\"status\":\"ok\",\"db\":\"ok\",\"cache\":\"degraded\"}");
                ("terminal", cmd, out)
            }
            5 => {
                let mut out = String::new();
                for k in 0..self.r.range(3, 5) {
                    let sha = self.r.hex(40);
                    if k < 2 {
                        self.look("git_sha", &sha);
                    }
                    let (n, e) = self.name();
                    let _ = write!(
                        out,
                        "commit {sha}\nAuthor: {n} <{e}>\nDate:   {}\n\n    {}\n\n",
                        iso(self.now - self.r.below(900_000)),
                        self.r.pick(&[
                            "fix: retry on 503",
                            "feat: add export endpoint",
                            "chore: bump deps",
                            "revert pool size change"
                        ])
                    );
                }
                ("github", "git log -n 5".to_string(), out)
            }
            6 => {
                let (id, sec, tok) = (
                    s::aws_key_id(&mut self.r, true),
                    s::aws_secret(&mut self.r),
                    s::aws_session_token(&mut self.r),
                );
                self.secret("aws_access_key_id", &id);
                self.secret("aws_secret_access_key", &sec);
                self.secret("aws_session_token", &tok);
                let out = format!("{{\n    \"Credentials\": {{\n        \"AccessKeyId\": \"{id}\",\n        \"SecretAccessKey\": \"{sec}\",\n        \"SessionToken\": \"{tok}\",\n        \"Expiration\": \"{}\"\n    }}\n}}", iso(self.now + 3600));
                (
                    "aws",
                    "aws sts get-session-token --duration-seconds 3600".to_string(),
                    out,
                )
            }
            7 => {
                let name = format!("{}-secrets", self.r.pick(SERVICES));
                let mut out = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: Opaque\ndata:\n");
                for k in ["DATABASE_PASSWORD", "API_KEY", "JWT_SECRET"]
                    .iter()
                    .take(self.r.usize(1, 3))
                {
                    let raw = s::password(&mut self.r);
                    let v = base64_std(raw.as_bytes());
                    self.secret("k8s_secret_data", &v);
                    let _ = writeln!(out, "  {k}: {v}");
                }
                (
                    "kubectl",
                    format!("kubectl get secret {name} -n {ns} -o yaml"),
                    out,
                )
            }
            8 => {
                let mut out = format!("Traceback (most recent call last):\n  File \"/app/{}/db.py\", line {}, in connect\n", self.r.pick(&["orders", "billing", "ingest"]), self.r.range(20, 400));
                if self.r.chance(0.3) {
                    let c = s::conn_string(&mut self.r);
                    let t = self.take(c);
                    let _ = writeln!(out, "    engine = create_engine(\"{t}\")");
                }
                out.push_str("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at \"10.0.3.17\", port 5432 failed: FATAL:  remaining connection slots are reserved for non-replication superuser connections");
                (
                    "terminal",
                    format!("kubectl logs -n {ns} {} --tail=50", self.pod()),
                    out,
                )
            }
            9 => {
                let mut out = String::new();
                for _ in 0..self.r.range(1, 3) {
                    let (line, b) = s::ssh_public(&mut self.r);
                    self.look("ssh_public_key", &b);
                    out.push_str(&line);
                    out.push('\n');
                }
                ("terminal", "cat ~/.ssh/authorized_keys".to_string(), out)
            }
            10 => {
                let (text, line) = s::public_key_pem(&mut self.r);
                self.look("pem_public_key", &line);
                (
                    "terminal",
                    "openssl rsa -in signing.pem -pubout".to_string(),
                    format!("writing RSA key\n{text}"),
                )
            }
            _ => {
                let snip = s::paste(&mut self.r);
                let t = self.take(snip);
                (
                    "terminal",
                    format!("cat /etc/{}/config.env", self.r.pick(SERVICES)),
                    t,
                )
            }
        }
    }

    // ---- llm_usage_tracking -------------------------------------------------------------------

    pub(crate) fn usage(&mut self, uid: u64, session: &str) {
        let model = self.r.pick(MODELS);
        self.look("model_name", model);
        let req = if self.r.chance(0.5) {
            self.r.uuid()
        } else {
            format!("req_{}", self.r.chars(ALNUM, 24))
        };
        self.look("request_id", &req);
        let prompt_hash = self.r.hex(64);
        self.look("sha256_hex", &prompt_hash);
        let (inp, outp) = (self.r.range(200, 60_000), self.r.range(20, 4000));
        let mut header = None;
        if self.r.chance(0.04) {
            let snip = s::paste(&mut self.r);
            header = Some(self.take(snip));
        }
        let error = if self.r.chance(0.06) {
            Some(
                self.r
                    .pick(&[
                        "Error code: 429 - rate limit exceeded",
                        "Error code: 529 - overloaded",
                        "timeout after 60s",
                    ])
                    .to_string(),
            )
        } else {
            None
        };
        let id = self.id();
        let ts = iso(self.tick(60));
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kn("id", id)
            .kn("user_id", uid)
            .kv("session_id", session)
            .kv("model_name", model)
            .kn("input_tokens", inp)
            .kn("output_tokens", outp);
        j.key("estimated_cost")
            .f64((inp as f64) * 2.5e-6 + (outp as f64) * 1e-5, 6);
        j.key("request_metadata")
            .obj()
            .kv("request_id", &req)
            .kv("provider", provider_of(model))
            .kv("endpoint", "/v1/chat/completions");
        j.kn("latency_ms", self.r.range(200, 30_000))
            .kv("prompt_hash", &prompt_hash)
            .key("temperature")
            .f64(0.2, 1);
        j.key("headers")
            .obj()
            .kv("user-agent", "aurora-agent/2.14 python-httpx/0.27")
            .kv("x-request-id", &req);
        if let Some(h) = &header {
            j.kv("debug", h);
        }
        j.end().end();
        j.kopt("error_message", error.as_deref())
            .kv("created_at", &ts)
            .end();
    }

    // ---- tool_audit_events: sizes and hashes only ------------------------------------------------

    pub(crate) fn audit(&mut self, uid: u64, ws: &str) {
        let req = s::ulid(&mut self.r);
        self.look("ulid", &req);
        let h = self.r.hex(64);
        self.look("input_hash", &h);
        let run = self.r.uuid();
        let id = self.id();
        let ts = iso_ms(self.tick(20), self.r.below(1000));
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kn("id", id)
            .kv("ts", &ts)
            .kv("req_id", &req)
            .kv("workspace_id", ws)
            .kn("user_id", uid);
        j.kv(
            "agent_id",
            &format!("agt_{}", self.r.chars(LOWER_ALNUM, 12)),
        )
        .kv(
            "tool",
            self.r.pick(&[
                "kubectl",
                "gcloud",
                "aws",
                "github",
                "grafana",
                "web_search",
                "sql",
            ]),
        );
        j.kv(
            "action",
            self.r.pick(&["invoke", "invoke", "retry", "cancel"]),
        )
        .kv(
            "status",
            self.r.pick(&["ok", "ok", "ok", "error", "timeout"]),
        );
        j.kn("duration_ms", self.r.range(3, 40_000))
            .kn("in_size", self.r.range(40, 9000))
            .kn("out_size", self.r.range(0, 250_000));
        j.kv("input_hash", &h).kv("graph_run_id", &run).kv(
            "graph_node",
            self.r.pick(&["plan", "execute", "observe", "summarize"]),
        );
        j.kv("job_id", &format!("job_{}", self.r.digits(9))).end();
    }

    // ---- app_logs: JSON-lines logger ----------------------------------------------------------------

    pub(crate) fn log(&mut self) {
        let (module, func) = self.r.pick(&[
            ("fetch", "download_source"),
            ("ingest", "process_batch"),
            ("export", "build_export"),
            ("auth", "check_token"),
            ("notify", "send_mail"),
        ]);
        let cust = s::customer_id(&mut self.r);
        self.look("customer_id", &cust);
        let (level, message, data) = match self.r.below(40) {
            0..=17 => {
                let u = s::public_url(&mut self.r);
                self.look("public_url", &u);
                let d = format!(
                    "{{'referrer': '{u}', 'source_url': 'https://cdn.partner-feeds.net/{}/catalog.csv', 'customer_id': '{cust}', 'params': {{'page': {}, 'limit': 100}}}}",
                    self.r.chars(LOWER, 6),
                    self.r.range(1, 50)
                );
                ("INFO", "fetched source".to_string(), d)
            }
            18 | 19 => {
                let snip = s::signed_url(&mut self.r);
                let url = self.take(snip);
                let d = format!("{{'download_url': '{url}', 'customer_id': '{cust}', 'rows': {}, 'expires_in': 3600}}", self.r.range(10, 90_000));
                ("INFO", "export ready".to_string(), d)
            }
            20 | 21 => {
                let n = if self.r.chance(0.5) { 40 } else { 32 };
                let h = self.r.hex(n);
                self.look(if h.len() == 40 { "sha1_hex" } else { "md5_hex" }, &h);
                (
                    "DEBUG",
                    "cache hit".to_string(),
                    format!(
                        "{{'key': 'feed:{cust}', 'etag': '{h}', 'age': {}}}",
                        self.r.below(3600)
                    ),
                )
            }
            22 if self.r.chance(0.5) => {
                let k = s::gcp_api_key(&mut self.r);
                self.secret("gcp_api_key", &k);
                ("WARNING", "upstream slow".to_string(), format!("GET https://maps.googleapis.com/maps/api/geocode/json?address=Main+St&key={k} took 5.2s customer={cust}"))
            }
            22 => {
                let t = self.r.chars(ALNUM, 32);
                self.secret("api_key_query_param", &t);
                ("INFO", "callback".to_string(), format!("{{'url': 'https://api.partner-feeds.net/v2/export?customer={cust}&api_key={t}&format=csv', 'status': 200}}"))
            }
            23 => {
                let c = s::conn_string(&mut self.r);
                let t = self.take(c);
                (
                    "ERROR",
                    "connection failed".to_string(),
                    format!(
                        "{{'dsn': '{t}', 'attempt': {}, 'customer_id': '{cust}'}}",
                        self.r.range(1, 5)
                    ),
                )
            }
            24 if self.r.chance(0.5) => {
                let snip = s::paste(&mut self.r);
                let t = self.take(snip);
                (
                    "DEBUG",
                    "loaded settings".to_string(),
                    format!("{t}\ncustomer={cust}"),
                )
            }
            _ => {
                let n = self.r.range(1, 10_000);
                ("INFO", format!("processed batch {n}"), format!("{{'customer_id': '{cust}', 'batch': {n}, 'rows_ok': {}, 'rows_rejected': {}}}", self.r.range(100, 5000), self.r.below(20)))
            }
        };
        let logid = self.r.hex(32);
        let created = self.tick(5);
        let ms = self.r.below(1000);
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kv("message", &message)
            .kv("levelname", level)
            .kv("name", &format!("dataprep.{module}"))
            .kv("asctime", &asctime(created, ms));
        j.kv("funcName", func)
            .kn("lineno", self.r.range(20, 900))
            .kv("pathname", &format!("/opt/dataprep/dataprep/{module}.py"))
            .kv("module", module);
        j.key("created")
            .f64(created as f64 + ms as f64 / 1000.0, 3)
            .kv("data", &data)
            .kv("logid", &logid)
            .kn("process", self.r.range(100, 40_000))
            .end();
    }

    // ---- artifacts ------------------------------------------------------------------------------

    pub(crate) fn artifact(&mut self, uid: u64, incident: &str) {
        let id = self.r.uuid();
        self.look("uuid", &id);
        let digest = self.r.hex(64);
        self.look("sha256_hex", &digest);
        let url = if self.r.chance(0.55) {
            let snip = s::signed_url(&mut self.r);
            self.take(snip)
        } else {
            let u = format!(
                "https://downloads.{}/artifacts/{}/{}.{}",
                self.r.pick(DOMAINS),
                self.r.chars(LOWER_ALNUM, 12),
                self.r.pick(&["report", "trace", "export"]),
                self.r.pick(&["pdf", "json", "zip"])
            );
            self.look("public_url", &u);
            u
        };
        let preview = if self.r.chance(0.04) {
            let (b, rec) = s::blob(&mut self.r);
            self.secret("base64_blob", &rec);
            Some(format!("data:image/png;base64,{b}"))
        } else {
            None
        };
        let ts = iso(self.tick(300));
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kv("id", &id)
            .kn("user_id", uid)
            .kv("incident_id", incident)
            .kv(
                "name",
                &format!(
                    "{}-{}.bin",
                    self.r.pick(&["heap-dump", "trace", "screenshot", "export"]),
                    hhmm(self.now)
                ),
            );
        j.kv("content_type", "application/octet-stream")
            .kn("size_bytes", self.r.range(1000, 900_000_000))
            .kv("sha256", &digest);
        j.kv("download_url", &url)
            .kopt("preview", preview.as_deref())
            .kv("expires_at", &iso(self.now + 3600))
            .kv("created_at", &ts)
            .end();
    }

    // ---- grafana_alerts ---------------------------------------------------------------------------

    pub(crate) fn grafana(&mut self, uid: u64) {
        let uidk = self.r.chars(ALNUM, 14);
        let svc = self.r.pick(SERVICES);
        let fp = self.r.hex(16);
        self.look("fingerprint", &fp);
        let base = format!("https://grafana.{}", self.r.pick(DOMAINS));
        let dash = format!("{base}/d/{}/{svc}-overview?orgId=1", self.r.chars(ALNUM, 9));
        self.look("public_url", &dash);
        let runbook = if self.r.chance(0.06) {
            let pw = s::password(&mut self.r);
            self.secret("url_userinfo", &pw);
            format!(
                "curl -s https://admin:{pw}@{}/api/health",
                base.trim_start_matches("https://")
            )
        } else {
            format!("https://wiki.{}/runbooks/{svc}", self.r.pick(DOMAINS))
        };
        let started = iso(self.tick(600));
        let mut p = Json::new();
        p.obj()
            .kv("receiver", "aurora-webhook")
            .kv("status", "firing")
            .key("alerts")
            .arr()
            .obj();
        p.kv("status", "firing")
            .key("labels")
            .obj()
            .kv("alertname", &format!("{svc} error rate"))
            .kv("service", svc)
            .kv("severity", "critical")
            .end();
        p.key("annotations")
            .obj()
            .kv("summary", &format!("5xx ratio above 5% on {svc}"))
            .kv("runbook", &runbook)
            .end();
        p.kv("startsAt", &started)
            .kv(
                "generatorURL",
                &format!("{base}/alerting/grafana/{uidk}/view"),
            )
            .kv("fingerprint", &fp)
            .kv("dashboardURL", &dash);
        p.key("values")
            .obj()
            .key("A")
            .f64(self.r.range(5, 40) as f64 / 100.0, 2)
            .end()
            .end()
            .end_arr();
        p.kv("externalURL", &base).kn("orgId", 1).end();
        let id = self.id();
        let j = &mut self.j;
        j.clear();
        j.obj()
            .kn("id", id)
            .kn("user_id", uid)
            .kv("alert_uid", &uidk)
            .key("payload")
            .raw(&p.s);
        j.kv("rule_url", &format!("{base}/alerting/grafana/{uidk}/view"))
            .kv("dashboard_url", &dash)
            .kv("received_at", &started)
            .end();
    }
}

fn provider_of(model: &str) -> &'static str {
    if model.starts_with("claude") {
        "anthropic"
    } else if model.starts_with("gemini") {
        "google"
    } else if model.starts_with("mistral") {
        "mistral"
    } else {
        "openai"
    }
}

fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn base64_user_pass(r: &mut Rng) -> String {
    let user = r.pick(&["admin", "deploy", "monitor"]);
    let pw = s::password(r);
    base64_std(format!("{user}:{pw}").as_bytes())
}

/// (year, month, day, hour, minute, second) of a Unix time (UTC), by the
/// days-to-civil algorithm; avoids formatting through `time` in the hot loop.
fn civil(t: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = t / 86_400;
    let rem = t % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

pub(crate) fn iso(t: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn iso_ms(t: u64, ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}+00:00")
}

fn asctime(t: u64, ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02},{ms:03}")
}

fn hhmm(t: u64) -> String {
    let (_, _, _, h, mi, _) = civil(t);
    format!("{h:02}:{mi:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_709_251_200), "2024-03-01T00:00:00Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(asctime(1_709_251_261, 7), "2024-03-01 00:01:01,007");
    }
}
