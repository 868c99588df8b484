//! The Pit: the host's infrastructure components.

pub mod artifacts;
pub mod dag;
pub mod pool;
mod sqlite;
pub mod stale;
