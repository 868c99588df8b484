//! The Pit: the host's infrastructure components.

pub mod artifacts;
