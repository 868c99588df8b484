//! Deciding what an extension may do: its manifest asks, the person
//! running the host (through grants on the command line, the policy file
//! or a prompt) answers, and every answer is recorded and audited.
//!
//! For each capability the manifest asks for, in this order:
//! 1. a policy rule `deny` refuses it (the policy can always revoke);
//! 2. an explicit grant (`--grant ext:capability`) allows it;
//! 3. a grant recorded for this version, or for the newest earlier version
//!    of the same extension, allows it, so an update only asks about what
//!    it newly wants; a refusal recorded for this version refuses it;
//! 4. a policy rule `allow` allows it;
//! 5. otherwise the prompt asks (a policy rule `prompt`, or no rule); with
//!    no prompt to ask, it is refused, with a hint on how to grant it.

use std::sync::Arc;

use semver::Version;

use crate::audit::{AuditError, AuditLog, AuditRecord, DecidedBy, Decision};
use crate::manifest::{Capabilities, Capability, Manifest};
use crate::policy::{GrantStore, Policy, PolicyError, Recorded, Rule, VersionGrants};

/// A question for the person running the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionRequest {
    /// The extension asking.
    pub extension: String,
    /// Its version.
    pub version: Version,
    /// What it asks for.
    pub capability: Capability,
    /// The earlier version that was granted less, when this is an update.
    pub earlier: Option<Version>,
}

impl PermissionRequest {
    /// One line for a terminal: `json-transform 2.0.0 (update from 1.0.0)
    /// now also wants to open network connections to api.example.com:443`.
    pub fn question(&self) -> String {
        match &self.earlier {
            Some(earlier) => format!(
                "{} {} (an update from {earlier}) now also wants to {}",
                self.extension,
                self.version,
                self.capability.describe()
            ),
            None => format!(
                "{} {} wants to {}",
                self.extension,
                self.version,
                self.capability.describe()
            ),
        }
    }
}

/// Answers permission requests: a terminal prompt, an IDE dialog, a test.
pub trait Prompt: Send + Sync {
    /// Whether to grant `request`.
    fn ask(&self, request: &PermissionRequest) -> bool;
}

impl<F: Fn(&PermissionRequest) -> bool + Send + Sync> Prompt for F {
    fn ask(&self, request: &PermissionRequest) -> bool {
        self(request)
    }
}

/// A capability that was refused, and how to grant it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// What was refused.
    pub capability: Capability,
    /// Who refused it.
    pub by: DecidedBy,
    /// Why, in words (`no terminal to ask`, the policy rule, ...).
    pub reason: String,
}

/// `may not open network connections to h:443 (no terminal to ask)`: what
/// a warning about the extension says after its name.
impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "may not {} ({})",
            self.capability.describe(),
            self.reason
        )
    }
}

/// As `{"capability": "net:h:443", "by": "policy", "reason": ...}`.
impl serde::Serialize for Denial {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Denial", 3)?;
        out.serialize_field("capability", &self.capability.to_string())?;
        out.serialize_field("by", self.by.as_str())?;
        out.serialize_field("reason", &self.reason)?;
        out.end()
    }
}

/// The outcome of deciding an extension's permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionOutcome {
    /// What the extension may do.
    pub granted: Capabilities,
    /// What it asked for and may not do.
    pub denied: Vec<Denial>,
    /// The earlier version whose grants were carried over, and what this
    /// version asks for beyond them.
    pub update: Option<(Version, Vec<Capability>)>,
}

/// Why permissions could not be decided; nothing is granted then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PermissionError {
    /// The policy or the grant record is unusable.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A decision could not be audited, so it is not made.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The policy, the grant record and the audit log of one host home.
#[derive(Debug)]
pub struct Permissions {
    policy: Policy,
    store: GrantStore,
    audit: Arc<AuditLog>,
}

impl Permissions {
    /// Permissions decided by `policy`, recorded in `store`, audited in
    /// `audit`.
    pub fn new(policy: Policy, store: GrantStore, audit: Arc<AuditLog>) -> Self {
        Permissions {
            policy,
            store,
            audit,
        }
    }

    /// Decides every capability `manifest` asks for. `explicit` are grants
    /// given on the command line or through the API for this extension.
    pub fn decide(
        &self,
        manifest: &Manifest,
        explicit: &[Capability],
        prompt: Option<&dyn Prompt>,
    ) -> Result<PermissionOutcome, PermissionError> {
        let name = manifest.name.as_str();
        let version = &manifest.version;
        let Recorded {
            this: recorded,
            earlier,
        } = self.store.lookup(name, version)?;
        let recorded = recorded.unwrap_or_default();
        let carried = earlier.as_ref().map(|(_, g)| parse_all(&g.granted));
        let earlier_version = earlier.as_ref().map(|(v, _)| v.clone());

        let mut granted = Vec::new();
        let mut denied = Vec::new();
        // What an update asks for beyond the earlier version's grants.
        let mut new = Vec::new();
        let mut record = VersionGrants::default();
        for capability in manifest.capabilities.items() {
            let text = capability.to_string();
            let rule = self.policy.rule_for(name, &capability);
            let carried_over = match &carried {
                Some(carried) if carried.covers(&capability) => true,
                Some(_) => {
                    new.push(capability.clone());
                    false
                }
                None => false,
            };
            let (decision, by, reason) = match &rule {
                Some((Rule::Deny, key)) => (Decision::Denied, DecidedBy::Policy, key.clone()),
                _ if explicit.contains(&capability) => {
                    (Decision::Granted, DecidedBy::Explicit, String::new())
                }
                _ if recorded.granted.contains(&text) => (
                    Decision::Granted,
                    DecidedBy::EarlierGrant,
                    format!("granted to {version} before"),
                ),
                _ if recorded.denied.contains(&text) => (
                    Decision::Denied,
                    DecidedBy::EarlierGrant,
                    format!("refused for {version} before"),
                ),
                _ if carried_over => (
                    Decision::Granted,
                    DecidedBy::EarlierGrant,
                    format!(
                        "granted to {}",
                        earlier_version
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ),
                ),
                Some((Rule::Allow, key)) => (Decision::Granted, DecidedBy::Policy, key.clone()),
                _ => {
                    let request = PermissionRequest {
                        extension: name.to_string(),
                        version: version.clone(),
                        capability: capability.clone(),
                        // Reached only by what the earlier version lacked.
                        earlier: earlier_version.clone(),
                    };
                    match prompt {
                        Some(prompt) if prompt.ask(&request) => {
                            (Decision::Granted, DecidedBy::Prompt, String::new())
                        }
                        Some(_) => (
                            Decision::Denied,
                            DecidedBy::Prompt,
                            "refused at the prompt".into(),
                        ),
                        None => (
                            Decision::Denied,
                            DecidedBy::NoPrompt,
                            format!("no one to ask; grant it with --grant {name}:{text}"),
                        ),
                    }
                }
            };
            self.audit.record(&AuditRecord::now(
                name,
                Some(version.to_string()),
                text.clone(),
                decision,
                by,
                reason.clone(),
            ))?;
            match decision {
                Decision::Granted => {
                    record.granted.push(text);
                    granted.push(capability);
                }
                Decision::Denied => {
                    // Only an answer at the prompt is remembered as a no;
                    // a policy rule or a missing terminal may change.
                    if by == DecidedBy::Prompt {
                        record.denied.push(text);
                    }
                    denied.push(Denial {
                        capability,
                        by,
                        reason,
                    });
                }
            }
        }
        self.store.record(name, version, record)?;
        // Kept as the manifest wrote them, so directories keep their guest
        // paths.
        let mut kept = manifest.capabilities.clone();
        kept.retain(|capability| granted.contains(capability));
        Ok(PermissionOutcome {
            granted: kept,
            denied,
            update: earlier_version
                .filter(|_| !new.is_empty())
                .map(|v| (v, new)),
        })
    }
}

fn parse_all(texts: &[String]) -> Capabilities {
    // A record written by a newer version may hold capabilities this one
    // cannot read; they grant nothing here.
    Capabilities::from_items(texts.iter().filter_map(|t| t.parse::<Capability>().ok()))
}
