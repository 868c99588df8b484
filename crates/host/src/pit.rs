//! The Pit: the host's infrastructure components.

pub mod dag;
pub mod pool;
