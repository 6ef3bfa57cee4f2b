//! The policy: plain serde data, read from TOML or JSON, compiled once.
//!
//! Nothing here runs a regex or touches a record; [`Policy::compile`] turns
//! this data into a [`Redactor`](super::Redactor).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A redaction policy: serde data, read from TOML or JSON.
///
/// ```
/// let policy: redarc::Policy = toml::from_str(r#"
///     name = "support-export"
///     profiles = ["pii"]
///     [[rules]]
///     id = "email"
///     action = "pseudonym"
/// "#).unwrap();
/// assert_eq!(policy.name, "support-export");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Policy {
    /// Policy name, recorded in the manifest.
    pub name: String,
    /// Whether the built-in rules apply (`builtin`, the default) or only the
    /// rules written in this policy (`none`).
    #[serde(default)]
    pub base: Base,
    /// Opt-in rule profiles, e.g. `pii`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<Profile>,
    /// Action for every rule that does not name its own.
    #[serde(default)]
    pub default_action: Action,
    /// Changes to built-in rules, by rule id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleOverride>,
    /// Extra secret key names (compared case-insensitively with separators
    /// removed: `clientSecret`, `client-secret` and `CLIENT_SECRET` are one name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_names: Vec<KeyNameRule>,
    /// Rules by JSON path, optionally for one entity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathRule>,
    /// Extra value patterns (regular expressions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<PatternRule>,
    /// What must never be changed.
    #[serde(default)]
    pub allow: Allow,
    /// Where the pseudonym key comes from, when a rule uses `pseudonym`.
    #[serde(default)]
    pub pseudonym: PseudonymSource,
}

/// Which rules a policy starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Base {
    /// The built-in key-name and value rules (the `default` profile).
    #[default]
    Builtin,
    /// No built-in rules: only what the policy lists.
    None,
}

/// An opt-in group of built-in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Profile {
    /// Credentials, tokens, signed URLs and binary payloads. Always on with
    /// `base = "builtin"`.
    Default,
    /// Personal data: emails, phone numbers, IP addresses, card numbers, IBANs.
    Pii,
}

/// What happens to a value a rule matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Action {
    /// Remove the field (or array element). Inside a longer string, where
    /// there is no field to remove, the match is replaced by a placeholder.
    Remove,
    /// Replace the match with `[REDACTED:<rule>]`.
    #[default]
    Placeholder,
    /// Replace the match with a keyed pseudonym `[PSEUDONYM:<16 hex>]`:
    /// HMAC-SHA256 of the value under the export's pseudonym key, so equal
    /// values map to equal pseudonyms in every entity.
    Pseudonym,
    /// Leave the match as it is.
    Keep,
}

/// A change to one built-in rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleOverride {
    /// Built-in rule id, e.g. `email` or `jwt`.
    pub id: String,
    /// Action for this rule; the policy's `default_action` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// `false` turns the rule off.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Extra key names whose values are secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyNameRule {
    /// Rule id recorded in the report, e.g. `internal-signature`.
    pub id: String,
    /// Key names, matched case-insensitively with `_`, `-`, `.` and spaces removed.
    pub names: Vec<String>,
    /// Action; the policy's `default_action` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// A rule for one JSON path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PathRule {
    /// Rule id recorded in the report; `path` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Entity the rule applies to; every entity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// JSON path such as `$.token_data.access_token` or `$.messages[*].text`.
    pub path: String,
    /// Action; the policy's `default_action` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// An extra value pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PatternRule {
    /// Rule id recorded in the report.
    pub id: String,
    /// Regular expression (Rust `regex` syntax). A capture group named `s`,
    /// when present, is the part replaced; otherwise the whole match.
    pub pattern: String,
    /// Literal strings one of which every match contains (case-insensitive).
    /// They let records without them skip the regular expression; without
    /// keywords the pattern runs on every string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Action; the policy's `default_action` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// What must never be changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Allow {
    /// JSON paths left untouched, with everything below them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathMatch>,
    /// Regular expressions; a matched text they match in full is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A JSON path, optionally for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PathMatch {
    /// Entity; every entity when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// JSON path such as `$.public_key`.
    pub path: String,
}

/// Where the pseudonym key comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PseudonymSource {
    /// File holding the key (at least 16 bytes; surrounding whitespace ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
}

fn yes() -> bool {
    true
}

impl Policy {
    /// An empty policy named `name` that applies the built-in rules.
    pub fn new(name: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            base: Base::Builtin,
            profiles: Vec::new(),
            default_action: Action::Placeholder,
            rules: Vec::new(),
            key_names: Vec::new(),
            paths: Vec::new(),
            patterns: Vec::new(),
            allow: Allow::default(),
            pseudonym: PseudonymSource::default(),
        }
    }

    /// The default policy for a normal portable export: every built-in rule
    /// of the default profile, placeholders, PII kept.
    pub fn default_policy() -> Policy {
        Policy::new("default")
    }

    /// Reads a policy from a `.toml` or `.json` file.
    ///
    /// # Errors
    /// [`crate::Error::Io`] when the file cannot be read,
    /// [`crate::Error::Policy`] when it is not a valid policy.
    pub fn from_path(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::Error::io_path("reading policy", path, e))?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)
                .map_err(|e| crate::Error::Policy(crate::json_error_category(&e)))
        } else {
            // toml's message names the offending key, not its value.
            toml::from_str(&text).map_err(|e| crate::Error::Policy(e.message().to_string()))
        }
    }

    /// Whether a profile is on.
    pub fn has_profile(&self, profile: Profile) -> bool {
        match profile {
            Profile::Default => self.base == Base::Builtin || self.profiles.contains(&profile),
            Profile::Pii => self.profiles.contains(&profile),
        }
    }

    /// The canonical JSON text of the policy, hashed into the manifest.
    pub(crate) fn canonical_json(&self) -> String {
        // serde_json only fails on non-string map keys, which Policy has none of.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The JSON Schema of a policy file, as pretty JSON with a trailing newline.
pub fn policy_schema() -> String {
    let schema = schemars::schema_for!(Policy);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_read_the_same_policy() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("p.toml");
        std::fs::write(
            &toml_path,
            "name = \"p\"\nprofiles = [\"pii\"]\ndefault_action = \"remove\"\n\
             [[paths]]\nentity = \"users\"\npath = \"$.notes\"\n",
        )
        .unwrap();
        let from_toml = Policy::from_path(&toml_path).unwrap();
        let json_path = dir.path().join("p.json");
        std::fs::write(&json_path, serde_json::to_string(&from_toml).unwrap()).unwrap();
        assert_eq!(Policy::from_path(&json_path).unwrap(), from_toml);
        assert!(from_toml.has_profile(Profile::Pii));
        assert_eq!(from_toml.default_action, Action::Remove);
    }

    #[test]
    fn unknown_fields_are_refused_without_quoting_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, r#"{"name":"p","secret_thing":"hunter2-value"}"#).unwrap();
        let err = Policy::from_path(&path).unwrap_err().to_string();
        assert!(err.starts_with("policy error"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn schema_is_pretty_json_with_trailing_newline() {
        let s = policy_schema();
        assert!(s.ends_with("}\n"));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(v["properties"]["default_action"].is_object());
    }
}
