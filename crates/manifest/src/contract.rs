//! The extension contract as data: the three kinds of extension (one WIT
//! world each) and the errors a guest may report from a call.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three kinds of extension, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtensionKind {
    /// An AI model adapter (`instrument-extension`).
    Instrument,
    /// A workflow data transform (`operator-extension`).
    Operator,
    /// A UI contribution (`addon-extension`).
    Addon,
}

impl ExtensionKind {
    /// Every kind.
    pub const ALL: [ExtensionKind; 3] = [
        ExtensionKind::Instrument,
        ExtensionKind::Operator,
        ExtensionKind::Addon,
    ];

    /// `instrument`, `operator` or `addon`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionKind::Instrument => "instrument",
            ExtensionKind::Operator => "operator",
            ExtensionKind::Addon => "addon",
        }
    }

    /// The WIT interface the kind exports.
    pub fn interface(self) -> &'static str {
        match self {
            ExtensionKind::Instrument => "symphony:extension/instrument@0.1.1",
            ExtensionKind::Operator => "symphony:extension/operator@0.1.1",
            ExtensionKind::Addon => "symphony:extension/addon@0.1.1",
        }
    }
}

impl fmt::Display for ExtensionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a guest call returned no result, as the guest reported it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ExtError {
    /// The input does not have the shape or values the extension accepts.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The configuration is not usable.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A resource the extension needs is not available.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The host refused a call for lack of a capability.
    #[error("denied: {0}")]
    Denied(String),
    /// Anything else.
    #[error("failed: {0}")]
    Failed(String),
}
