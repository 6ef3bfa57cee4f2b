//! The built-in rules: two named tables.
//!
//! [`VALUE_RULES`] finds secrets inside any string by shape; [`KEY_RULES`]
//! names the key families whose values are secrets whatever they look like.
//! Every row carries examples that must match (`positive`) and must not
//! (`negative`); the tests at the bottom run them all. Values are obviously
//! fake and written for these tests.
//!
//! Order matters in [`VALUE_RULES`]: when two matches start at the same
//! place, the earlier row wins, so vendor-specific rows come before generic
//! ones.

use super::matcher::{Matcher, Screen, TokenAlt};
use super::policy::Profile;

/// No upper bound on a token's body.
const MANY: usize = usize::MAX;

/// One alternative of a token matcher: `prefix[body]{min,max}`, the body
/// written as in the regex's class.
const fn alt(prefix: &'static str, body: &[u8], min: usize, max: usize) -> TokenAlt {
    TokenAlt::new(prefix, body, min, max)
}

/// What must be present in a string before a value rule's regex runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trigger {
    /// One of these literals, ASCII case-insensitive.
    Keywords(&'static [&'static str]),
    /// One of these literals, exactly (short, case-carrying prefixes).
    Exact(&'static [&'static str]),
    /// One of these literals inside an identifier followed by `:` or `=`
    /// (a `key = value` shape); the raw-record prefilter checks the shape.
    KeyShaped(&'static [&'static str]),
    /// `://` followed by `@` before the first `/`, quote or space.
    UrlUserinfo,
    /// A run of at least [`BLOB_MIN`] base64 characters.
    Base64Run,
    /// Always (the PII rules, which have no literal to look for).
    Always,
}

/// What a regex match must also satisfy to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// The match counts as it is.
    None,
    /// The secret part looks random: digits or mixed case, not a word.
    Random,
    /// At least this many characters in the secret part.
    MinLen(usize),
    /// 40 base64 characters with upper, lower and digits (AWS secret shape).
    AwsSecretShape,
    /// `Basic` credentials: base64 of `user:password`.
    BasicAuth,
    /// A cookie header: each cookie's value is redacted, attributes kept.
    CookieHeader,
    /// `key = value` in text: the key must name a secret family.
    Assignment,
    /// A long base64 run that is not a public key.
    Blob,
    /// A card number: Luhn check and a card-like first digit.
    Luhn,
    /// An IBAN: ISO 13616 mod-97 check.
    Iban,
    /// A phone number: 9 to 15 digits.
    Phone,
}

/// What ends a URL query parameter's value.
const URL_STOP: &[u8] = b"&#\"'<>\\";

/// Shortest base64 run treated as a binary payload.
pub(crate) const BLOB_MIN: usize = 160;

/// One built-in value rule.
#[derive(Debug)]
pub(crate) struct ValueRule {
    /// Rule id, recorded in reports and placeholders.
    pub(crate) id: &'static str,
    /// What it catches, for the docs.
    pub(crate) catches: &'static str,
    /// The profile it belongs to.
    pub(crate) profile: Profile,
    /// What must be present before the regex runs.
    pub(crate) trigger: Trigger,
    /// The regex; a group named `s` (or `q1`, `q2`) is the part replaced.
    pub(crate) pattern: &'static str,
    /// Extra condition on a match.
    pub(crate) check: Check,
    /// How matches are found: the regex, or a matcher that gives the same
    /// matches starting from the keyword hits (see [`super::matcher`]).
    pub(crate) matcher: Matcher,
    /// Strings the rule must catch.
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests beside the table
    pub(crate) positive: &'static [&'static str],
    /// Strings the rule must leave alone.
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests beside the table
    pub(crate) negative: &'static [&'static str],
}

const D: Profile = Profile::Default;
const PII: Profile = Profile::Pii;

/// The value rules, most specific first.
pub(crate) static VALUE_RULES: &[ValueRule] = &[
    ValueRule {
        id: "private-key",
        catches: "PEM, OpenSSH, PGP and PKCS#8 private key blocks, also with escaped newlines or truncated",
        profile: D,
        trigger: Trigger::Keywords(&["PRIVATE KEY"]),
        pattern: r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &[
            "-----BEGIN RSA PRIVATE KEY-----\\nMIIBFAKEFAKEFAKEFAKEFAKE\\n-----END RSA PRIVATE KEY-----",
            "key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAFAKE\n-----END OPENSSH PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBFAKEFAKE",
        ],
        negative: &[
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAFAKEFAKEFAKE\n-----END PUBLIC KEY-----",
            "the private key is kept in vault",
        ],
    },
    ValueRule {
        id: "putty-private-key",
        catches: "PuTTY .ppk private key files",
        profile: D,
        trigger: Trigger::Keywords(&["PuTTY-User-Key-File"]),
        pattern: r"PuTTY-User-Key-File-\d+:(?s:.*?)(?:Private-MAC:\s*[0-9a-fA-F]+|\z)",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\nAAAAFAKE\nPrivate-MAC: 0123abcd"],
        negative: &["install PuTTY to connect"],
    },
    ValueRule {
        id: "age-secret-key",
        catches: "age identities (AGE-SECRET-KEY-1…)",
        profile: D,
        trigger: Trigger::Keywords(&["AGE-SECRET-KEY-"]),
        pattern: r"AGE-SECRET-KEY-(?:PQ-)?1[0-9A-Z]{40,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: false,
            alts: &[
                alt("AGE-SECRET-KEY-PQ-1", b"0-9A-Z", 40, MANY),
                alt("AGE-SECRET-KEY-1", b"0-9A-Z", 40, MANY),
            ],
            trail: false,
        },
        positive: &["AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"],
        negative: &["age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"],
    },
    ValueRule {
        id: "aws-access-key-id",
        catches: "AWS access key ids (AKIA…, ASIA…)",
        profile: D,
        trigger: Trigger::Exact(&["AKIA", "ASIA", "ABIA", "ACCA", "A3T"]),
        pattern: r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("AKIA", b"A-Z0-9", 16, 16),
                alt("ASIA", b"A-Z0-9", 16, 16),
                alt("ABIA", b"A-Z0-9", 16, 16),
                alt("ACCA", b"A-Z0-9", 16, 16),
                alt("A3T", b"A-Z0-9", 17, 17),
            ],
            trail: true,
        },
        positive: &["aws_access_key_id=AKIAFAKEFAKEFAKE2345", "cred ASIAFAKEEXAMPLE76543 here"],
        negative: &["AKIAFAKE", "ASIAN cuisine", "AKIAFAKEFAKEFAKEFAKEFAKE2345"],
    },
    ValueRule {
        id: "aws-session-token",
        catches: "AWS STS session tokens by their fixed prefix",
        profile: D,
        trigger: Trigger::Exact(&["FwoGZXIvYXdz", "FQoGZXIvYXdz", "IQoJb3JpZ2lu"]),
        pattern: r"\b(?:FwoGZXIvYXdz|FQoGZXIvYXdz|IQoJb3JpZ2lu)[A-Za-z0-9/+=%]{40,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("FwoGZXIvYXdz", b"A-Za-z0-9/+=%", 40, MANY),
                alt("FQoGZXIvYXdz", b"A-Za-z0-9/+=%", 40, MANY),
                alt("IQoJb3JpZ2lu", b"A-Za-z0-9/+=%", 40, MANY),
            ],
            trail: false,
        },
        positive: &["token IQoJb3JpZ2luX2VjEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE/FAKE+FAKE=="],
        negative: &["IQoJb3JpZ2lu"],
    },
    ValueRule {
        id: "aws-secret-access-key",
        catches: "AWS secret access keys named by an aws/secret context",
        profile: D,
        trigger: Trigger::KeyShaped(&["secret", "key"]),
        pattern: r#"(?i)aws[a-z0-9_.\-]{0,24}(?:secret|key)[a-z0-9_.\-]{0,24}\\?["']?\s*(?:=>|:=|=|:)\s*\\?["']?(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        check: Check::None,
        matcher: Matcher::Screened(Screen::NamedAwsSecret),
        positive: &["AWS_SECRET_ACCESS_KEY=Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/+", "{'aws_secret': 'Zq3fR8tLw0Xn5VbKj2HsY7dPm4GcA1uE9oTiW6/+'}"],
        negative: &["aws_region=us-east-1", "aws key: short"],
    },
    ValueRule {
        id: "aws-secret-access-key",
        catches: "40-character AWS-shaped secrets in the same text as an access key id",
        profile: D,
        trigger: Trigger::Exact(&["AKIA", "ASIA"]),
        pattern: r"(?:^|[^A-Za-z0-9/+=])(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        check: Check::AwsSecretShape,
        matcher: Matcher::Screened(Screen::AwsSecret),
        positive: &["id AKIAFAKEFAKEFAKE2345 secret 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"],
        negative: &["AKIAFAKEFAKEFAKE2345 commit da39a3ee5e6b4b0d3255bfef95601890afd80709"],
    },
    ValueRule {
        id: "gcp-api-key",
        catches: "Google API keys (AIza…)",
        profile: D,
        trigger: Trigger::Exact(&["AIza"]),
        pattern: r"\bAIza[0-9A-Za-z_\-]{35}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("AIza", b"0-9A-Za-z_-", 35, 35),
            ],
            trail: false,
        },
        positive: &["https://maps.example.com/api?key=AIzaFakeFakeFakeFake0123456789_-FakeFak"],
        negative: &["AIzaShort"],
    },
    ValueRule {
        id: "gcp-oauth-access-token",
        catches: "Google OAuth access tokens (ya29.…)",
        profile: D,
        trigger: Trigger::Exact(&["ya29."]),
        pattern: r"\bya29\.[0-9A-Za-z_\-]{20,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("ya29.", b"0-9A-Za-z_-", 20, MANY),
            ],
            trail: false,
        },
        positive: &["ya29.a0FakeFakeFakeFakeFake0123456789"],
        negative: &["ya29.short"],
    },
    ValueRule {
        id: "gcp-oauth-refresh-token",
        catches: "Google OAuth refresh tokens (1//0…)",
        profile: D,
        trigger: Trigger::Exact(&["1//0"]),
        pattern: r"\b1//0[0-9A-Za-z_\-]{30,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("1//0", b"0-9A-Za-z_-", 30, MANY),
            ],
            trail: false,
        },
        positive: &["refresh 1//0gFakeFakeFakeFakeFakeFake0123456789-_Fake"],
        negative: &["ratio 1//0 is undefined"],
    },
    ValueRule {
        id: "gcp-oauth-client-secret",
        catches: "Google OAuth client secrets (GOCSPX-…)",
        profile: D,
        trigger: Trigger::Exact(&["GOCSPX-"]),
        pattern: r"\bGOCSPX-[0-9A-Za-z_\-]{24,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("GOCSPX-", b"0-9A-Za-z_-", 24, MANY),
            ],
            trail: false,
        },
        positive: &["GOCSPX-FakeFakeFake0123456789_Fake"],
        negative: &["GOCSPX-short"],
    },
    ValueRule {
        id: "azure-client-secret",
        catches: "Azure AD (Entra) client secrets (…Q~…)",
        profile: D,
        trigger: Trigger::Exact(&["Q~"]),
        pattern: r"(?:^|[^A-Za-z0-9_~.\-])(?P<s>[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["secret: Fak8Q~FakeFake.FakeFake_FakeFake~Fake012"],
        negative: &["Q~ is not a secret"],
    },
    ValueRule {
        id: "azure-connection-string",
        catches: "Azure storage and service-bus keys in connection strings (AccountKey=, SharedAccessKey=)",
        profile: D,
        trigger: Trigger::Keywords(&["AccountKey", "SharedAccessKey", "SharedSecret"]),
        pattern: r"(?i)(?:AccountKey|SharedAccessKey|SharedSecret)\s*=\s*(?P<s>[A-Za-z0-9+/]{20,}={0,2})",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["DefaultEndpointsProtocol=https;AccountName=fake;AccountKey=FakeFakeFakeFake0123456789+/FakeFake==;EndpointSuffix=core.windows.net"],
        negative: &["AccountName=fake;EndpointSuffix=core.windows.net"],
    },
    ValueRule {
        id: "github-token",
        catches: "GitHub classic, OAuth, app, user-to-server and refresh tokens (ghp_, gho_, ghu_, ghs_, ghr_)",
        profile: D,
        trigger: Trigger::Exact(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        pattern: r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("ghp_", b"A-Za-z0-9", 36, 255),
                alt("gho_", b"A-Za-z0-9", 36, 255),
                alt("ghu_", b"A-Za-z0-9", 36, 255),
                alt("ghs_", b"A-Za-z0-9", 36, 255),
                alt("ghr_", b"A-Za-z0-9", 36, 255),
            ],
            trail: true,
        },
        positive: &["git clone https://ghp_FakeFakeFakeFakeFakeFakeFake01234567@github.com/o/r"],
        negative: &["ghp_short", "the ghp_ prefix"],
    },
    ValueRule {
        id: "github-fine-grained-token",
        catches: "GitHub fine-grained personal access tokens (github_pat_…)",
        profile: D,
        trigger: Trigger::Exact(&["github_pat_"]),
        pattern: r"\bgithub_pat_[A-Za-z0-9_]{50,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("github_pat_", b"A-Za-z0-9_", 50, MANY),
            ],
            trail: false,
        },
        positive: &["github_pat_11FAKEFAKE0_FakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake0123456789"],
        negative: &["github_pat_short"],
    },
    ValueRule {
        id: "gitlab-token",
        catches: "GitLab personal, deploy, runner, CI/CD, feed, OAuth and other tokens (glpat-…)",
        profile: D,
        trigger: Trigger::Exact(&[
            "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glft-", "glimt-", "glagent-",
            "glsoat-", "gloas-", "glffct-", "glwt-", "GR1348941",
        ]),
        pattern: r"\b(?:(?:glpat|gldt|glrt|glptt|glcbt|glft|glimt|glagent|glsoat|gloas|glffct|glwt)-[A-Za-z0-9_\-]{20,}|GR1348941[A-Za-z0-9_\-]{20,})",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("glpat-", b"0-9A-Za-z_-", 20, MANY),
                alt("gldt-", b"0-9A-Za-z_-", 20, MANY),
                alt("glrt-", b"0-9A-Za-z_-", 20, MANY),
                alt("glptt-", b"0-9A-Za-z_-", 20, MANY),
                alt("glcbt-", b"0-9A-Za-z_-", 20, MANY),
                alt("glft-", b"0-9A-Za-z_-", 20, MANY),
                alt("glimt-", b"0-9A-Za-z_-", 20, MANY),
                alt("glagent-", b"0-9A-Za-z_-", 20, MANY),
                alt("glsoat-", b"0-9A-Za-z_-", 20, MANY),
                alt("gloas-", b"0-9A-Za-z_-", 20, MANY),
                alt("glffct-", b"0-9A-Za-z_-", 20, MANY),
                alt("glwt-", b"0-9A-Za-z_-", 20, MANY),
                alt("GR1348941", b"0-9A-Za-z_-", 20, MANY),
            ],
            trail: false,
        },
        positive: &["PRIVATE-TOKEN: glpat-FakeFakeFake01234567"],
        negative: &["glpat-short"],
    },
    ValueRule {
        id: "npm-token",
        catches: "npm access tokens (npm_…)",
        profile: D,
        trigger: Trigger::Exact(&["npm_"]),
        pattern: r"\bnpm_[A-Za-z0-9]{36}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("npm_", b"A-Za-z0-9", 36, 36),
            ],
            trail: true,
        },
        positive: &["//registry.npmjs.org/:_authToken=npm_FakeFakeFakeFakeFakeFake0123456789ab"],
        negative: &["npm_config_cache=/tmp"],
    },
    ValueRule {
        id: "pypi-token",
        catches: "PyPI and TestPyPI upload tokens (pypi-AgE…)",
        profile: D,
        trigger: Trigger::Exact(&["pypi-AgE"]),
        pattern: r"\bpypi-AgE[A-Za-z0-9_\-]{50,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("pypi-AgE", b"0-9A-Za-z_-", 50, MANY),
            ],
            trail: false,
        },
        positive: &["password = pypi-AgEIcHlwaS5vcmcFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake"],
        negative: &["pypi-AgEshort"],
    },
    ValueRule {
        id: "huggingface-token",
        catches: "Hugging Face user and organisation tokens (hf_…, api_org_…)",
        profile: D,
        trigger: Trigger::Exact(&["hf_", "api_org_"]),
        pattern: r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,}\b",
        check: Check::Random,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("hf_", b"A-Za-z0-9", 30, MANY),
                alt("api_org_", b"A-Za-z0-9", 30, MANY),
            ],
            trail: true,
        },
        positive: &["HF_TOKEN=hf_Xq3FakeRt7Lm9NpQ2wZs5Vb8Kj4Hd6Gc1Ty"],
        negative: &["hf_hub_download", "hf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
    },
    ValueRule {
        id: "anthropic-api-key",
        catches: "Anthropic API and admin keys (sk-ant-…)",
        profile: D,
        trigger: Trigger::Keywords(&["sk-ant-"]),
        pattern: r"\bsk-ant-[A-Za-z0-9_\-]{32,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("sk-ant-", b"0-9A-Za-z_-", 32, MANY),
            ],
            trail: false,
        },
        positive: &["x-api-key: sk-ant-api03-FakeFakeFakeFakeFakeFakeFake0123456789-FakeAA"],
        negative: &["sk-ant-short"],
    },
    ValueRule {
        id: "openai-api-key",
        catches: "OpenAI and compatible keys (sk-…, sk-proj-…, sk-svcacct-…); also OpenRouter and DeepSeek style",
        profile: D,
        trigger: Trigger::Keywords(&["sk-"]),
        pattern: r"\bsk-(?:[a-z]{2,8}-){0,2}[A-Za-z0-9_\-]{32,}",
        check: Check::Random,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("sk-", b"0-9A-Za-z_-", 32, MANY),
            ],
            trail: false,
        },
        positive: &["OPENAI_API_KEY=sk-proj-FakeFakeFakeFake0123456789FakeFakeFake"],
        negative: &["desk-top", "task-runner-for-the-nightly-build-pipeline-job"],
    },
    ValueRule {
        id: "slack-token",
        catches: "Slack bot, user, app, refresh and config tokens (xoxb-, xoxp-, xapp- …)",
        profile: D,
        trigger: Trigger::Exact(&["xox", "xapp-"]),
        pattern: r"\b(?:xox[abposre]-[0-9A-Za-z\-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-FakeFakeFakeFake"],
        negative: &["xoxo hugs"],
    },
    ValueRule {
        id: "slack-webhook",
        catches: "Slack incoming-webhook and workflow URLs (host and /services/ kept)",
        profile: D,
        trigger: Trigger::Keywords(&["hooks.slack.com"]),
        pattern: r"(?i)https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_\-]{16,})",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["post to https://hooks.slack.com/services/T00000000/B00000000/FakeFakeFakeFakeFake0123"],
        negative: &["https://api.slack.com/messaging/webhooks"],
    },
    ValueRule {
        id: "discord-webhook",
        catches: "Discord webhook URLs (token part)",
        profile: D,
        trigger: Trigger::Keywords(&["/api/webhooks/"]),
        pattern: r"(?i)https://(?:[a-z]+\.)?discord(?:app)?\.com/api/webhooks/\d+/(?P<s>[A-Za-z0-9_\-]{20,})",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["https://discord.com/api/webhooks/123456789012345678/FakeFakeFakeFake0123456789_Fake"],
        negative: &["https://discord.com/developers/docs"],
    },
    ValueRule {
        id: "stripe-key",
        catches: "Stripe secret and restricted keys (sk_live_, rk_live_, …_test_) and webhook secrets (whsec_)",
        profile: D,
        trigger: Trigger::Exact(&["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]),
        pattern: r"\b(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[A-Za-z0-9+/=]{20,})",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("sk_live_", b"0-9A-Za-z", 10, MANY),
                alt("sk_test_", b"0-9A-Za-z", 10, MANY),
                alt("rk_live_", b"0-9A-Za-z", 10, MANY),
                alt("rk_test_", b"0-9A-Za-z", 10, MANY),
                alt("whsec_", b"A-Za-z0-9+/=", 20, MANY),
            ],
            trail: false,
        },
        positive: &["stripe.api_key = 'sk_live_FakeFakeFake0123456789'"],
        negative: &["pk_live_FakeFakeFake0123456789 is publishable", "sk_live_"],
    },
    ValueRule {
        id: "sendgrid-api-key",
        catches: "SendGrid API keys (SG.….…)",
        profile: D,
        trigger: Trigger::Exact(&["SG."]),
        pattern: r"\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["SENDGRID_API_KEY=SG.FakeFakeFake012345.FakeFakeFakeFakeFake0123456789_-Fake"],
        negative: &["msg.text.length"],
    },
    ValueRule {
        id: "twilio-api-key",
        catches: "Twilio API key SIDs with their secrets nearby (SK + 32 hex)",
        profile: D,
        trigger: Trigger::Exact(&["SK"]),
        pattern: r"\bSK[0-9a-fA-F]{32}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("SK", b"0-9a-fA-F", 32, 32),
            ],
            trail: true,
        },
        positive: &["TWILIO_API_KEY=SK0123456789abcdef0123456789abcdef"],
        negative: &["SKU-12345", "TASK0123456789abcdef0123456789abcdef"],
    },
    ValueRule {
        id: "mailgun-api-key",
        catches: "Mailgun API keys (key-…)",
        profile: D,
        trigger: Trigger::Keywords(&["key-"]),
        pattern: r"\bkey-[0-9a-f]{32}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("key-", b"0-9a-f", 32, 32),
            ],
            trail: true,
        },
        positive: &["api:key-0123456789abcdef0123456789abcdef"],
        negative: &["key-value store"],
    },
    ValueRule {
        id: "shopify-token",
        catches: "Shopify access, custom-app, private-app and shared-secret tokens",
        profile: D,
        trigger: Trigger::Exact(&["shpat_", "shpca_", "shppa_", "shpss_"]),
        pattern: r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("shpat_", b"a-fA-F0-9", 32, 32),
                alt("shpca_", b"a-fA-F0-9", 32, 32),
                alt("shppa_", b"a-fA-F0-9", 32, 32),
                alt("shpss_", b"a-fA-F0-9", 32, 32),
            ],
            trail: true,
        },
        positive: &["X-Shopify-Access-Token: shpat_0123456789abcdef0123456789abcdef"],
        negative: &["shpat_xyz"],
    },
    ValueRule {
        id: "telegram-bot-token",
        catches: "Telegram bot tokens (digits:AA…)",
        profile: D,
        trigger: Trigger::Exact(&[":AA"]),
        // The end is "no further token character", not `\b`: a token may end
        // in `-`, and between `-` and `/` there is no word boundary.
        pattern: r"(?P<s>\d{8,10}:AA[0-9A-Za-z_\-]{33})(?:[^0-9A-Za-z_\-]|$)",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &[
            "https://api.telegram.org/bot123456789:AAFakeFakeFakeFakeFake0123456789_-F/getMe",
            "https://api.telegram.org/bot123456789:AAFakeFakeFakeFakeFake0123456789_F-/sendMessage",
        ],
        negative: &["12:AA meeting", "123456789:AAFakeFakeFakeFakeFake0123456789_-FakeTooLong"],
    },
    ValueRule {
        id: "databricks-token",
        catches: "Databricks personal access tokens (dapi…)",
        profile: D,
        trigger: Trigger::Keywords(&["dapi"]),
        pattern: r"\bdapi[a-f0-9]{32}(?:-\d)?\b",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["DATABRICKS_TOKEN=dapi0123456789abcdef0123456789abcdef"],
        negative: &["dapixel"],
    },
    ValueRule {
        id: "digitalocean-token",
        catches: "DigitalOcean personal, OAuth and refresh tokens (dop_v1_…)",
        profile: D,
        trigger: Trigger::Exact(&["dop_v1_", "doo_v1_", "dor_v1_"]),
        pattern: r"\bdo[opr]_v1_[a-f0-9]{64}\b",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("doo_v1_", b"a-f0-9", 64, 64),
                alt("dop_v1_", b"a-f0-9", 64, 64),
                alt("dor_v1_", b"a-f0-9", 64, 64),
            ],
            trail: true,
        },
        positive: &["dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
        negative: &["dop_v1_short"],
    },
    ValueRule {
        id: "vault-token",
        catches: "HashiCorp Vault service, batch and recovery tokens (hvs., hvb., hvr.)",
        profile: D,
        trigger: Trigger::Exact(&["hvs.", "hvb.", "hvr."]),
        pattern: r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}",
        check: Check::None,
        matcher: Matcher::Token {
            lead: true,
            alts: &[
                alt("hvs.", b"0-9A-Za-z_-", 24, MANY),
                alt("hvb.", b"0-9A-Za-z_-", 24, MANY),
                alt("hvr.", b"0-9A-Za-z_-", 24, MANY),
            ],
            trail: false,
        },
        positive: &["VAULT_TOKEN=hvs.FakeFakeFakeFakeFake0123456789"],
        negative: &["vault:secret/data/payments#token"],
    },
    ValueRule {
        id: "vendor-token",
        catches: "other vendors' prefixed tokens: Atlassian, Postman, Doppler, Linear, New Relic, Sentry, Figma, Pulumi, Dynatrace, Square, Heroku, Replicate, Groq, xAI, Perplexity, Netlify, Supabase, PlanetScale, RubyGems, Docker Hub, Terraform Cloud, Artifactory, Grafana, Mapbox, Notion, Airtable, Fly.io, Tailscale, Twitch, Clojars, Dropbox, Frame.io, Readme, Prefect, Langsmith, Tavily",
        profile: D,
        trigger: Trigger::Exact(&[
            "ATATT", "PMAK-", "dp.", "lin_api_", "NRAK-", "NRII-", "sntrys_", "sntryu_", "figd_",
            "pul-", "dt0c01.", "sq0", "EAAA", "HRKU-", "r8_", "gsk_", "xai-", "pplx-", "nfp_",
            "sbp_", "pscale_", "rubygems_", "dckr_pat_", "atlasv1", "AKCp", "glsa_", "glc_",
            "sk.eyJ", "ntn_", "secret_", "patT", "fo1_", "tskey-", "oauth:", "CLOJARS_", "sl.",
            "fio-u-", "rdme_", "pnu_", "lsv2_", "tvly-",
        ]),
        pattern: r"\b(?:ATATT3[A-Za-z0-9_\-=]{60,}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}|dp\.(?:pt|st|sa|scim|audit|ct)\.[A-Za-z0-9]{40,}|lin_api_[A-Za-z0-9]{40}|NR(?:AK|II)-[A-Za-z0-9]{27,}|sntr[ysu]_[A-Za-z0-9=_+/]{40,}|figd_[A-Za-z0-9_\-]{38,}|pul-[a-f0-9]{40}|dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}|sq0(?:atp|csp|idp)-[0-9A-Za-z_\-]{22,}|EAAA[A-Za-z0-9_\-]{60}|HRKU-[A-Za-z0-9_\-]{30,}|r8_[A-Za-z0-9]{37}|gsk_[A-Za-z0-9]{48,}|xai-[A-Za-z0-9]{70,}|pplx-[A-Za-z0-9]{40,}|nfp_[A-Za-z0-9]{36}|sbp_[a-f0-9]{40}|pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.=]{32,}|rubygems_[a-f0-9]{48}|dckr_pat_[A-Za-z0-9_\-]{27}|[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,}|AKCp[A-Za-z0-9]{69}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2}|sk\.eyJ[A-Za-z0-9_\-.]{60,}|ntn_[A-Za-z0-9]{40,}|secret_[A-Za-z0-9]{43}|patT?[A-Za-z0-9]{14}\.[a-f0-9]{64}|fo1_[A-Za-z0-9_\-]{43}|tskey-[a-z]+-[A-Za-z0-9]{10,}-[A-Za-z0-9]{20,}|CLOJARS_[a-f0-9]{60}|sl\.[A-Za-z0-9_\-]{130,}|fio-u-[A-Za-z0-9_\-=]{64}|rdme_[a-z0-9]{70}|pnu_[A-Za-z0-9]{36}|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|tvly-[A-Za-z0-9]{32,})",
        check: Check::Random,
        matcher: Matcher::Regex,
        positive: &[
            "LINEAR_API_KEY=lin_api_FakeFakeFakeFakeFakeFake0123456789abcdef",
            "token r8_FakeFakeFakeFakeFake0123456789abcdefg",
            "sbp_0123456789abcdef0123456789abcdef01234567",
        ],
        negative: &["lin_api_docs", "secret_santa_list"],
    },
    ValueRule {
        id: "jwt",
        catches: "JSON Web Tokens (eyJ….eyJ….…)",
        profile: D,
        trigger: Trigger::Exact(&["eyJ"]),
        pattern: r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.RmFrZVNpZ25hdHVyZQ"],
        negative: &["eyJhbGciOiJIUzI1NiJ9 alone is only a header"],
    },
    ValueRule {
        id: "password-hash",
        catches: "password hashes: bcrypt, argon2, scrypt, pbkdf2 (Django, Werkzeug, passlib), crypt $1$/$5$/$6$/$y$, LDAP {SSHA}",
        profile: D,
        trigger: Trigger::Keywords(&["$2", "$argon2", "scrypt", "pbkdf2", "$1$", "$5$", "$6$", "$y$", "$7$", "$gy$", "$md5", "$sha1$", "{SSHA", "{SHA", "{SMD5}"]),
        pattern: r"(?:\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/=.]+\$[A-Za-z0-9+/=.]+|\$scrypt\$[^\s\x22'\\]{20,}|\bscrypt:\d+:\d+:\d+\$[^\s\x22'$\\]+\$[A-Za-z0-9+/=]+|\bpbkdf2[_:\-]sha\d+[$:][^\s\x22'\\]{20,}|\$pbkdf2(?:-sha\d+)?\$[^\s\x22'\\]{20,}|\$(?:1|5|6|md5|sha1|y|7|gy)\$[./A-Za-z0-9$=,]{20,}|\{(?:SSHA|SSHA256|SSHA512|SHA|SMD5)\}[A-Za-z0-9+/=]{20,})",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &[
            "$2b$12$FakeFakeFakeFakeFakeFu0123456789abcdefghijklmnopqrstu",
            "$argon2id$v=19$m=65536,t=3,p=4$RmFrZVNhbHQ$RmFrZUhhc2hGYWtlSGFzaA",
            "pbkdf2_sha256$600000$fakesalt$RmFrZUhhc2hGYWtlSGFzaEZha2U=",
            "scrypt:32768:8:1$fakesalt$0123456789abcdef",
        ],
        negative: &["costs $20 per month", "$2b$ is the bcrypt prefix"],
    },
    ValueRule {
        id: "s3-presigned-url",
        catches: "S3 SigV4 presigned URLs: X-Amz-Signature, X-Amz-Security-Token and X-Amz-Credential values (host, path and other parameters kept)",
        profile: D,
        trigger: Trigger::Keywords(&["x-amz-signature", "x-amz-security-token", "x-amz-credential"]),
        pattern: r#"(?i)[?&;](?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=(?P<s>[^&#\s"'<>\\]+)"#,
        check: Check::None,
        matcher: Matcher::QueryParam {
            delims: b"?&;",
            names: &["x-amz-signature", "x-amz-security-token", "x-amz-credential"],
            stop: URL_STOP,
        },
        positive: &["https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=FAKEID%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0123456789abcdef"],
        negative: &["https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60"],
    },
    ValueRule {
        id: "signed-url",
        catches: "S3 SigV2, CloudFront (canned and custom policy) and GCS V2 signed URLs: Signature, Policy, Key-Pair-Id, GoogleAccessId, AWSAccessKeyId values",
        profile: D,
        trigger: Trigger::Keywords(&["signature=", "policy=", "key-pair-id=", "googleaccessid=", "awsaccesskeyid="]),
        pattern: r#"(?i)[?&;](?:Signature|Policy|Key-Pair-Id|GoogleAccessId|AWSAccessKeyId)=(?P<s>[^&#\s"'<>\\]+)"#,
        check: Check::MinLen(12),
        matcher: Matcher::QueryParam {
            delims: b"?&;",
            names: &["signature", "policy", "key-pair-id", "googleaccessid", "awsaccesskeyid"],
            stop: URL_STOP,
        },
        positive: &["https://dfake.cloudfront.net/v.mp4?Expires=1700000000&Signature=FakeFake~Fake0123456789&Key-Pair-Id=APKAFAKEFAKEFAKE"],
        negative: &["https://example.com/privacy?policy=full", "https://example.com/p?Signature=short"],
    },
    ValueRule {
        id: "gcs-signed-url",
        catches: "GCS V4 signed URLs: X-Goog-Signature, X-Goog-Credential and X-Goog-Security-Token values",
        profile: D,
        trigger: Trigger::Keywords(&["x-goog-"]),
        pattern: r#"(?i)[?&;]X-Goog-(?:Signature|Credential|Security-Token)=(?P<s>[^&#\s"'<>\\]+)"#,
        check: Check::None,
        matcher: Matcher::QueryParam {
            delims: b"?&;",
            names: &["x-goog-signature", "x-goog-credential", "x-goog-security-token"],
            stop: URL_STOP,
        },
        positive: &["https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=fake%40p.iam.gserviceaccount.com%2F20240101%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Signature=0123abcd"],
        negative: &["https://storage.googleapis.com/b/o?X-Goog-Expires=600"],
    },
    ValueRule {
        id: "azure-sas-signature",
        catches: "Azure SAS tokens: the sig parameter (sv, se, sp and the rest kept)",
        profile: D,
        trigger: Trigger::Keywords(&["sig="]),
        pattern: r#"(?i)[?&;]sig=(?P<s>[^&#\s"'<>\\;]+)"#,
        check: Check::MinLen(16),
        matcher: Matcher::QueryParam {
            delims: b"?&;",
            names: &["sig"],
            stop: b"&#\"'<>\\;",
        },
        positive: &["https://acct.blob.core.windows.net/c/b.bin?sv=2022-11-02&se=2024-01-01T00%3A00%3A00Z&sp=r&sig=FakeFake0123456789%2BFake%3D"],
        negative: &["https://example.com/?sig=abc", "https://example.com/?config=short"],
    },
    ValueRule {
        id: "url-secret-param",
        catches: "credential-bearing URL query parameters without a vendor shape (code, key, sid, ticket, private_token …)",
        profile: D,
        trigger: Trigger::Keywords(&["code=", "key=", "sid=", "ticket=", "sign=", "private_token="]),
        pattern: r#"(?i)[?&#;](?:code|key|apikey|api_key|sid|ticket|sign|private_token|access_key|accesskey)=(?P<s>[^&#\s"'<>\\]+)"#,
        check: Check::Random,
        matcher: Matcher::QueryParam {
            delims: b"?&#;",
            names: &["code", "key", "apikey", "api_key", "sid", "ticket", "sign", "private_token", "access_key", "accesskey"],
            stop: URL_STOP,
        },
        positive: &["https://app.example.com/cb?code=Fake0123456789FakeFake&state=xyz"],
        negative: &["https://example.com/?key=theme", "https://example.com/?utm_source=newsletter&utm_campaign=spring2024"],
    },
    ValueRule {
        id: "connection-string-password",
        catches: "passwords in database and broker URLs: postgres, mysql, mongodb(+srv), redis(s), amqp(s), smtp(s), mssql, … (scheme, user, host and database kept)",
        profile: D,
        trigger: Trigger::UrlUserinfo,
        pattern: r#"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|valkey|amqps?|smtps?|mssql|sqlserver|oracle|clickhouse|cockroachdb|couchdb|neo4j(?:\+s)?|bolt|nats|ldaps?|memcached|cassandra|elasticsearch|kafka|mqtts?|jdbc:[a-z0-9]+)://[^\s:/@"'<>\\]*:(?P<s>[^\s@/?#"'<>\\]+)@"#,
        check: Check::None,
        matcher: Matcher::Userinfo {
            schemes: &[
                "postgresql", "postgres", "mysql", "mariadb", "mongodb+srv", "mongodb", "rediss",
                "redis", "valkey", "amqps", "amqp", "smtps", "smtp", "mssql", "sqlserver",
                "oracle", "clickhouse", "cockroachdb", "couchdb", "neo4j+s", "neo4j", "bolt",
                "nats", "ldaps", "ldap", "memcached", "cassandra", "elasticsearch", "kafka",
                "mqtts", "mqtt",
            ],
            jdbc: true,
        },
        positive: &["DATABASE_URL=postgres://app:FakePass123@db.internal:5432/app", "mongodb+srv://svc:FakePw@cluster0.example.net/db", "redis://:FakeRedisPw@cache:6379/0"],
        negative: &["postgres://db.internal:5432/app", "postgres://app@db.internal/app"],
    },
    ValueRule {
        id: "url-userinfo-password",
        catches: "passwords in the userinfo of any other URL (https://user:pass@host)",
        profile: D,
        trigger: Trigger::UrlUserinfo,
        pattern: r#"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@"'<>\\]*:(?P<s>[^\s@/?#"'<>\\]+)@"#,
        check: Check::None,
        matcher: Matcher::Userinfo {
            schemes: &[],
            jdbc: false,
        },
        positive: &["https://deploy:FakePassword1@git.example.com/repo.git"],
        negative: &["https://example.com:8443/path", "mailto:someone@example.com"],
    },
    ValueRule {
        id: "authorization-bearer",
        catches: "Authorization headers: Bearer tokens and other schemes' credentials (the scheme word kept)",
        profile: D,
        trigger: Trigger::Keywords(&["bearer", "authorization"]),
        pattern: r#"(?i)(?:\bauthorization\\?["']?\s*[:=]\s*\\?["']?\s*(?:token|apikey|api-key|key|sso-key|dsn|otp|ssws|splunk|klaviyo-api-key)\s+|\bbearer\s+)(?P<s>[A-Za-z0-9\-._~+/:]{8,}=*)"#,
        check: Check::Random,
        matcher: Matcher::AuthHeader,
        positive: &["curl -H 'Authorization: Bearer FakeToken0123456789'", "Authorization: Token 0123456789abcdef0123"],
        negative: &["bearer tokens are sent in a header", "the bearer authentication scheme"],
    },
    ValueRule {
        id: "authorization-basic",
        catches: "Basic credentials (base64 of user:password; the word Basic kept)",
        profile: D,
        trigger: Trigger::Keywords(&["basic"]),
        pattern: r"(?i)\bbasic\s+(?P<s>[A-Za-z0-9+/]{6,}={0,2})",
        check: Check::BasicAuth,
        matcher: Matcher::Regex,
        positive: &["Authorization: Basic ZmFrZTpGYWtlUGFzcw=="],
        negative: &["basic authentication", "Basic plan"],
    },
    ValueRule {
        id: "cli-password",
        catches: "credentials on command lines: curl/wget -u user:pass, mysql -pPASS",
        profile: D,
        trigger: Trigger::Keywords(&["-u ", "--user", "mysql"]),
        pattern: r#"(?:(?:^|\s)(?:-u|--user)[\s=]+['"]?[^\s'":]+:(?P<s>[^\s'"]+)|\bmysql(?:dump|admin)?\b[^\n]*?\s-p(?P<q1>[^\s'"-][^\s'"]*))"#,
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["curl -u admin:FakePass123 https://api.example.com", "mysql -h db -u root -pFakePass123 app"],
        negative: &["curl -u admin https://api.example.com", "mysql -h db -u root -p app"],
    },
    ValueRule {
        id: "cookie",
        catches: "Cookie and Set-Cookie headers: every cookie value (names and attributes kept)",
        profile: D,
        trigger: Trigger::Keywords(&["cookie"]),
        pattern: r#"(?i)\b(?:set-)?cookie\\?["']?\s*:\s*\\?["']?(?P<s>[^\r\n\\"]+)"#,
        check: Check::CookieHeader,
        matcher: Matcher::Regex,
        positive: &["Cookie: sessionid=Fake0123456789abcdef; csrftoken=FakeCsrf0123456789"],
        negative: &["cookie policy accepted", "Set-Cookie: theme=dark"],
    },
    ValueRule {
        id: "secret-assignment",
        catches: "values assigned to secret-named keys in text: env lines, YAML/INI, Python-repr and JSON fragments, headers (PASSWORD=…, 'api_key': '…', X-Api-Key: …, ODBC Pwd=…)",
        profile: D,
        trigger: Trigger::KeyShaped(&["pass", "pwd", "secret", "token", "key", "auth", "cookie", "sess", "credential", "creds", "jwt"]),
        pattern: r#"(?i)(?P<k>[a-z0-9_.\-]*(?:pass|pwd|secret|token|key|auth|cookie|sess|credential|creds|jwt)[a-z0-9_.\-]*)\\?["']?[ \t]*(?:=>|:=|=|:)[ \t]*(?:\\?"(?P<q1>[^"\\\r\n]*)\\?"|'(?P<q2>[^'\r\n]*)'|(?P<s>[^\s"'\\,;&})\]<>]+))"#,
        check: Check::Assignment,
        matcher: Matcher::Assignment,
        positive: &[
            "export DB_PASSWORD=FakePass123",
            "{'client_secret': 'FakeSecretValue', 'region': 'eu'}",
            "Server=db;Database=app;User Id=sa;Pwd=FakePw99;",
            "X-Api-Key: Fake0123456789abcdef",
            "STRIPE_SIGNING_KEY=FakeKey0123456789abcdefFAKE",
        ],
        negative: &[
            "password_reset_required: true",
            "secret_ref: vault:secret/data/app#password",
            "input_tokens: 1234",
            "citation_key: web-search-3",
            "session_id: 3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b",
        ],
    },
    ValueRule {
        id: "binary-blob",
        catches: "long base64 runs (raw binary payloads), replaced by their size and SHA-256",
        profile: D,
        trigger: Trigger::Base64Run,
        pattern: r"[A-Za-z0-9+/_\-]{160,}={0,2}",
        check: Check::Blob,
        matcher: Matcher::Regex,
        positive: &["data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg0FakeFakeFakeFakeFake0123456789FakeFakeFakeFakeFake0123456789FakeFakeFakeFake0123456789"],
        negative: &[
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQFakeFakeFakeFakeFakeFake0123456789FakeFakeFakeFakeFakeFake0123456789FakeFakeFakeFakeFakeFake0123456789FakeFakeFakeFakeFakeFake0123456789FakeFake user@host",
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3ecf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce",
        ],
    },
    ValueRule {
        id: "email",
        catches: "email addresses",
        profile: PII,
        trigger: Trigger::Keywords(&["@"]),
        pattern: r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}\b",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["contact jane.doe+test@example.com today"],
        negative: &["@mention in a chat", "user@localhost"],
    },
    ValueRule {
        id: "ip-address",
        catches: "IPv4 and IPv6 addresses",
        profile: PII,
        trigger: Trigger::Always,
        pattern: r"(?i)\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b|\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?",
        check: Check::None,
        matcher: Matcher::Regex,
        positive: &["client 203.0.113.7 connected", "fe80::1ff:fe23:4567:890a"],
        negative: &["version 1.2.3", "std::io"],
    },
    ValueRule {
        id: "card-number",
        catches: "payment card numbers (Luhn-valid, 13–19 digits)",
        profile: PII,
        trigger: Trigger::Always,
        pattern: r"\b[2-6](?:[ \-]?\d){12,18}\b",
        check: Check::Luhn,
        matcher: Matcher::Regex,
        positive: &["card 4111 1111 1111 1111 exp 12/30"],
        negative: &["4111 1111 1111 1112", "order 1700000000000"],
    },
    ValueRule {
        id: "iban",
        catches: "IBANs (mod-97 valid)",
        profile: PII,
        trigger: Trigger::Always,
        pattern: r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
        check: Check::Iban,
        matcher: Matcher::Regex,
        positive: &["IBAN GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
        negative: &["GB82 WEST 1234 5698 7654 33"],
    },
    ValueRule {
        id: "phone-number",
        catches: "phone numbers with a country code or separators",
        profile: PII,
        trigger: Trigger::Always,
        pattern: r"(?:\+\d{1,3}[\s.\-]?)?\(?\d{2,4}\)?[\s.\-]\d{3,4}[\s.\-]?\d{3,4}\b|\+\d{10,14}\b",
        check: Check::Phone,
        matcher: Matcher::Regex,
        positive: &["call +1 415-555-0100", "+4915112345678"],
        negative: &["2024-01-15", "build 12 345"],
    },
];

/// A family of secret key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// Passwords and passphrases: every non-empty value is secret.
    Password,
    /// Stored password hashes and salts.
    PasswordHash,
    /// `*secret*` keys.
    Secret,
    /// `*token` keys.
    Token,
    /// `api_key`, `access_key`, `signing_key` …
    ApiKey,
    /// `private_key` and friends.
    PrivateKey,
    /// Cookie headers and cookie jars.
    Cookie,
    /// Authorization headers: the scheme word is kept.
    Authorization,
    /// `credentials`, `creds`.
    Credentials,
    /// Session cookies and stored session state.
    Session,
}

/// One key-name family.
#[derive(Debug)]
pub(crate) struct KeyRule {
    /// Rule id recorded in reports.
    pub(crate) id: &'static str,
    /// The family.
    pub(crate) kind: KeyKind,
    /// What it catches, for the docs.
    pub(crate) catches: &'static str,
    /// Key names that belong to the family.
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests beside the table
    pub(crate) positive: &'static [&'static str],
    /// Key names that must not.
    #[cfg_attr(not(test), allow(dead_code))] // read by the tests beside the table
    pub(crate) negative: &'static [&'static str],
}

/// The key-name families. Matching is in [`classify_key`].
pub(crate) static KEY_RULES: &[KeyRule] = &[
    KeyRule {
        id: "password",
        kind: KeyKind::Password,
        catches: "password, passwd, pwd, pass, passphrase, passcode keys",
        positive: &["password", "DB_PASSWORD", "smtpPass", "Pwd", "admin-passphrase"],
        negative: &["password_changed_at", "password_policy", "passenger", "bypass_cache"],
    },
    KeyRule {
        id: "password-hash",
        kind: KeyKind::PasswordHash,
        catches: "stored password hashes and salts",
        positive: &["password_hash", "passwordDigest", "PASSWORD_SALT", "hashed_password"],
        negative: &["input_hash", "content_hash"],
    },
    KeyRule {
        id: "secret-field",
        kind: KeyKind::Secret,
        catches: "keys naming a secret: client_secret, webhookSecret, SECRET_KEY …",
        positive: &["client_secret", "clientSecret", "client-secret", "CLIENT_SECRET", "secret", "mfa_secret", "aws_secret_access_key"],
        negative: &["secret_ref", "secretName", "secret_arn", "secrets_manager"],
    },
    KeyRule {
        id: "token-field",
        kind: KeyKind::Token,
        catches: "keys naming a token: access_token, refresh_token, id_token, csrfToken, bot_token …",
        positive: &["access_token", "refreshToken", "ID-TOKEN", "token", "x-auth-token", "jwt"],
        negative: &["token_type", "token_uri", "tokenizer", "token_data", "max_tokens_hint"],
    },
    KeyRule {
        id: "api-key-field",
        kind: KeyKind::ApiKey,
        catches: "keys naming an API, access, signing, encryption or account key",
        positive: &["api_key", "apiKey", "X-API-KEY", "access_key", "signing_key", "AccountKey"],
        negative: &["api_key_id", "citation_key", "public_key", "access_key_id", "primary_key_column"],
    },
    KeyRule {
        id: "private-key-field",
        kind: KeyKind::PrivateKey,
        catches: "private_key, privateKey, ssh_private_key …",
        positive: &["private_key", "privateKey", "SSH_PRIVATE_KEY"],
        negative: &["private_key_id", "is_private"],
    },
    KeyRule {
        id: "cookie",
        kind: KeyKind::Cookie,
        catches: "cookie, cookies, set-cookie, cookie_jar",
        positive: &["cookie", "Set-Cookie", "cookies", "cookieJar"],
        negative: &["cookie_consent_at", "cookie_policy"],
    },
    KeyRule {
        id: "authorization",
        kind: KeyKind::Authorization,
        catches: "authorization headers and auth fields",
        positive: &["Authorization", "proxy-authorization", "auth", "http_auth"],
        negative: &["author", "authorization_url", "auth_type", "oauth_provider"],
    },
    KeyRule {
        id: "credentials-field",
        kind: KeyKind::Credentials,
        catches: "credentials, creds, credential",
        positive: &["credentials", "awsCreds", "service_credential"],
        negative: &["credential_type", "credentials_expire_at"],
    },
    KeyRule {
        id: "session-field",
        kind: KeyKind::Session,
        catches: "session cookies and stored session state: sessionid, PHPSESSID, session_key, session_data …",
        positive: &["sessionid", "PHPSESSID", "session_key", "session_data", "JSESSIONID", "session_id"],
        negative: &["chat_session_id", "session_count", "sessions", "session_started_at"],
    },
];

/// Splits a key into lowercase words: `clientSecret`, `client-secret`,
/// `CLIENT_SECRET` and `client.secret` all give `["client", "secret"]`.
pub(crate) fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    // Bytes, not chars: only ASCII alphanumerics make words, and every byte
    // of a non-ASCII character is a separator just as the character is.
    let bytes = key.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = bytes[i - 1];
            let next_lower = bytes.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // fooBar → foo|bar; HTTPServer → http|server; FOO_BAR stays whole.
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(char::from(c.to_ascii_lowercase()));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Last words that make a key describe a secret rather than hold one.
const META_LAST: &[&str] = &[
    "at",
    "date",
    "time",
    "ts",
    "timestamp",
    "updated",
    "changed",
    "created",
    "expires",
    "expiry",
    "expiration",
    "expire",
    "ttl",
    "policy",
    "length",
    "len",
    "required",
    "enabled",
    "strength",
    "hint",
    "type",
    "types",
    "label",
    "field",
    "prompt",
    "count",
    "attempts",
    "min",
    "max",
    "ref",
    "reference",
    "name",
    "names",
    "id",
    "ids",
    "arn",
    "path",
    "version",
    "versions",
    "uri",
    "url",
    "urls",
    "endpoint",
    "manager",
    "store",
    "provider",
    "scope",
    "scopes",
    "format",
    "algorithm",
    "algo",
    "alg",
    "kind",
    "status",
    "mode",
    "rotation",
    "source",
    "location",
    "file",
    "filename",
    "data",
    "set",
    "reset",
    "rules",
    "column",
    "consent",
    "limit",
    "usage",
    "estimate",
    "index",
    "hint",
    "method",
    "header",
    "prefix",
    "suffix",
    "fingerprint",
    "last4",
    "masked",
    "present",
    "exists",
    "configured",
    "valid",
];

/// The key-name family of `key`, if any.
pub(crate) fn classify_key(key: &str) -> Option<KeyKind> {
    let words = key_words(key);
    let last = words.last()?.as_str();
    let norm: String = words.concat();
    let has = |w: &str| words.iter().any(|x| x == w);

    const SESSION_NAMES: &[&str] = &[
        "sessionid",
        "sessid",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "sessionkey",
        "sessiondata",
        "sessionstate",
        "sessioncookie",
        "sessionsecret",
        "sessionjwt",
    ];
    // `session_id` counts: the value check keeps UUIDs and numbers (references
    // to a chat or job session) and takes opaque tokens (live sessions).
    // Longer names ending in `id` (`chat_session_id`) are references.
    if (SESSION_NAMES.contains(&norm.as_str()) && !(words.len() > 2 && last == "id"))
        || (words.len() == 2
            && words[0] == "session"
            && ["key", "data", "state", "cookie"].contains(&last))
    {
        return Some(KeyKind::Session);
    }

    let passwordish = words.iter().any(|w| {
        w.contains("password")
            || w.contains("passwd")
            || w.contains("passphrase")
            || w == "pwd"
            || w == "pass"
            || w == "passcode"
            || (w.ends_with("pwd") && w.len() <= 8)
            || (w.ends_with("pass") && w.len() <= 8 && w != "bypass" && w != "compass")
    });
    if passwordish {
        if ["hash", "hashed", "digest", "salt", "crypt", "encrypted"].contains(&last)
            || words[0] == "hashed"
        {
            return Some(KeyKind::PasswordHash);
        }
        if META_LAST.contains(&last) {
            return None;
        }
        return Some(KeyKind::Password);
    }
    if META_LAST.contains(&last) {
        return None;
    }
    if norm.contains("privatekey") {
        return Some(KeyKind::PrivateKey);
    }
    if words.iter().any(|w| w.contains("secret")) {
        if last == "manager" || last == "secrets" && words.len() > 1 {
            return None;
        }
        return Some(KeyKind::Secret);
    }
    if last.ends_with("token") || last == "tokens" && words.len() == 1 || last == "jwt" {
        return Some(KeyKind::Token);
    }
    const KEY_QUALIFIERS: &[&str] = &[
        "api",
        "apikey",
        "access",
        "secret",
        "signing",
        "encryption",
        "master",
        "account",
        "auth",
        "client",
        "license",
        "subscription",
        "webhook",
        "app",
        "shared",
        "sharedaccess",
        "deploy",
        "admin",
        "service",
        "rest",
        "server",
        "consumer",
        "hmac",
        "sign",
        "write",
        "read",
        "ingest",
        "ingestion",
        "integration",
        "routing",
        "partner",
        "dev",
        "developer",
        "management",
        "mgmt",
        "primary",
        "secondary",
        "live",
        "test",
        "x",
        "openai",
        "anthropic",
        "stripe",
        "sendgrid",
        "mailgun",
        "twilio",
        "datadog",
        "pagerduty",
        "grafana",
        "github",
        "gitlab",
        "slack",
    ];
    if last == "key" || last == "keys" || norm.ends_with("apikey") || norm == "accountkey" {
        if norm.ends_with("apikey") || norm.ends_with("apikeys") {
            return Some(KeyKind::ApiKey);
        }
        if words.len() >= 2 && KEY_QUALIFIERS.contains(&words[words.len() - 2].as_str()) {
            // "primary_key_column" ended above; "primary_key" names a DB column far
            // more often than a credential.
            if norm == "primarykey" || norm == "foreignkey" || norm == "publickey" {
                return None;
            }
            return Some(KeyKind::ApiKey);
        }
        if norm == "accountkey" || norm == "sharedaccesskey" {
            return Some(KeyKind::ApiKey);
        }
        return None;
    }
    if norm.contains("cookie") {
        return Some(KeyKind::Cookie);
    }
    if last == "authorization" || last == "auth" || norm == "authorization" || norm == "xauth" {
        return Some(KeyKind::Authorization);
    }
    if ["credential", "credentials", "creds", "cred"].contains(&last) || norm.ends_with("creds") {
        return Some(KeyKind::Credentials);
    }
    let _ = has;
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{Policy, Profile as P};

    fn all_profiles() -> crate::redact::Redactor {
        let mut policy = Policy::default_policy();
        policy.profiles.push(P::Pii);
        policy.compile().unwrap()
    }

    #[test]
    fn every_value_rule_catches_its_positive_examples() {
        let r = all_profiles();
        for rule in VALUE_RULES {
            for example in rule.positive {
                let found = r.scan_text(example, 1);
                assert!(
                    found.iter().any(|f| f.rule == rule.id),
                    "{} missed {example:?}: {found:?}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn every_value_rule_leaves_its_negative_examples() {
        let r = all_profiles();
        for rule in VALUE_RULES {
            for example in rule.negative {
                let found = r.scan_text(example, 1);
                assert!(
                    !found.iter().any(|f| f.rule == rule.id),
                    "{} flagged {example:?}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn every_key_rule_classifies_its_examples() {
        for rule in KEY_RULES {
            for key in rule.positive {
                assert_eq!(
                    classify_key(key),
                    Some(rule.kind),
                    "{} should own {key:?}",
                    rule.id
                );
            }
            for key in rule.negative {
                assert_ne!(
                    classify_key(key),
                    Some(rule.kind),
                    "{} should not own {key:?}",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn key_words_normalise_separators_and_case() {
        for k in [
            "clientSecret",
            "client-secret",
            "CLIENT_SECRET",
            "client.secret",
            "Client Secret",
        ] {
            assert_eq!(key_words(k), ["client", "secret"], "{k}");
        }
        assert_eq!(key_words("HTTPAuthorization"), ["http", "authorization"]);
    }

    #[test]
    fn every_regex_compiles_and_ids_are_kebab_case() {
        for rule in VALUE_RULES {
            assert!(regex::Regex::new(rule.pattern).is_ok(), "{}", rule.id);
            assert!(rule
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(
                !rule.positive.is_empty() && !rule.negative.is_empty(),
                "{}",
                rule.id
            );
        }
    }
}
