//! Listing, loading, unloading and reloading extensions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symphony_host::protocol::Message;
use symphony_host::protocol::validate_subject;

use super::Request;

/// Lists the loaded extensions ([`ExtensionsReply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ExtList {}
message!(ExtList, "ext.list");
request!(ExtList => ExtensionsReply);

/// The loaded extensions, and those that failed to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionsReply {
    /// One object per extension: name, kind, version, state, path.
    pub extensions: Vec<Value>,
    /// Extensions that could not be loaded: `{"name", "reason"}`.
    #[serde(default)]
    pub failures: Vec<Value>,
}
message!(ExtensionsReply, "reply.extensions");

/// Loads the extensions in a directory the service reads ([`ExtLoaded`]),
/// as `symphony serve --ext-dir` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtLoad {
    /// A directory of extensions, or one extension's directory.
    pub dir: String,
    /// Capabilities granted beyond the policy, as `ext:capability`
    /// (`scraper:net:api.example.com:443`).
    #[serde(default)]
    pub grants: Vec<String>,
}
message!(ExtLoad, "ext.load", |m: &ExtLoad| {
    if m.dir.is_empty() {
        Err("dir is empty".into())
    } else {
        Ok(())
    }
});
request!(ExtLoad => ExtLoaded);

/// What loading found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtLoaded {
    /// Extensions loaded now.
    pub loaded: Vec<String>,
    /// Warnings: capabilities denied, notes of the resolver, extensions
    /// that failed to activate.
    #[serde(default)]
    pub warnings: Vec<String>,
}
message!(ExtLoaded, "reply.ext-loaded");

/// Names one extension.
macro_rules! ext_request {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct $ty {
            /// The extension's name.
            pub name: String,
        }
        message!($ty, $kind, |m: &$ty| validate_subject(&m.name).map_err(|e| format!("extension name: {e}")));
        request!($ty => Done);
    };
}

ext_request!(
    /// Unloads an extension (after its deactivate and unload hooks).
    ExtUnload, "ext.unload"
);
ext_request!(
    /// Reloads an extension from its files: new calls go to the new
    /// version, calls in flight finish on the old.
    ExtReload, "ext.reload"
);

/// Done, with a line saying what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// What was done.
    pub message: String,
}
message!(Done, "reply.done");
