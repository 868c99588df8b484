//! Addons: UI contributions that render a virtual-node tree.

use std::marker::PhantomData;

use crate::bindings::addon::exports::symphony::extension::addon as exports;
use crate::instance::with_instance;
use crate::{ExtError, Lifecycle, UiEvent, VNode};

/// A UI contribution: renders state as a flat tree of [`VNode`]s and reacts
/// to events. Register the type with [`register_addon!`](crate::register_addon).
pub trait Addon: Lifecycle + Default + 'static {
    /// Renders `state` (JSON) as a tree; parents come before their children.
    fn render(&mut self, state: &str) -> Vec<VNode>;

    /// Handles a user interaction and returns JSON describing what changed.
    fn handle_event(&mut self, event: UiEvent) -> Result<String, ExtError>;

    /// The addon's own UI state as JSON. `null` by default.
    fn get_state(&self) -> String {
        "null".to_string()
    }
}

#[doc(hidden)]
pub struct AddonExport<T>(PhantomData<T>);

impl<T: Addon> exports::Guest for AddonExport<T> {
    fn render(state: String) -> Vec<VNode> {
        with_instance::<T, _>(|ext| ext.render(&state))
    }
    fn handle_event(event: UiEvent) -> Result<String, ExtError> {
        with_instance::<T, _>(|ext| ext.handle_event(event))
    }
    fn get_state() -> String {
        with_instance::<T, _>(|ext| ext.get_state())
    }
}

/// Exports a type implementing [`Addon`] as this component's extension.
///
/// `register_addon!(MyPanel)` also writes an empty `impl Lifecycle for
/// MyPanel {}`; write `register_addon!(MyPanel, with_lifecycle)` when you
/// implement [`Lifecycle`] yourself.
#[macro_export]
macro_rules! register_addon {
    ($ty:ty) => {
        impl $crate::Lifecycle for $ty {}
        $crate::register_addon!($ty, with_lifecycle);
    };
    ($ty:ty, with_lifecycle) => {
        $crate::__register_extension!($ty, AddonExport, export_addon_world, addon);
    };
}

/// Builds a flat [`VNode`] tree with ids assigned in order.
///
/// ```
/// use symphony_sdk::VTree;
///
/// let mut tree = VTree::new();
/// let root = tree.push(None, "panel", &[("title", "Run")], None);
/// tree.push(Some(root), "text", &[], Some("3 nodes"));
/// let nodes = tree.into_nodes();
/// assert_eq!(nodes[1].parent, Some(root));
/// ```
#[derive(Debug, Default)]
pub struct VTree {
    nodes: Vec<VNode>,
}

impl VTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a node and returns its id.
    pub fn push(
        &mut self,
        parent: Option<u32>,
        tag: &str,
        attrs: &[(&str, &str)],
        text: Option<&str>,
    ) -> u32 {
        let id = u32::try_from(self.nodes.len()).expect("fewer than 2^32 vnodes");
        self.nodes.push(VNode {
            id,
            parent,
            tag: tag.to_string(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            text: text.map(str::to_string),
        });
        id
    }

    /// The nodes, parents before children.
    pub fn into_nodes(self) -> Vec<VNode> {
        self.nodes
    }
}
