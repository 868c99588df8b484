//! Who asks: a tenant, a priority and a deadline, and who to tell while
//! the request waits.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// The tenant a request is made for: a name, and its index in the
/// arbiter's tenant table (so decisions index a vector, never hash a
/// string). Made by [`Arbiter::tenant`](crate::Arbiter::tenant).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub(crate) id: u32,
    pub(crate) name: Arc<str>,
}

impl Tenant {
    /// A tenant with `id` in the arbiter's table (made by
    /// [`Arbiter::tenant`](crate::Arbiter::tenant), which bounds the ids).
    pub(crate) fn new(id: u32, name: impl Into<Arc<str>>) -> Self {
        Tenant {
            id,
            name: name.into(),
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its index in the arbiter's tenant table.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.name, self.id)
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Told where a request stands whenever it is queued.
pub type WaitObserver = Arc<dyn Fn(&crate::Explanation) + Send + Sync>;

/// A request's claim: its tenant, its priority (higher first where the
/// strategy goes by priority) and its deadline, with a label for
/// explanations ("node summarise of run 1f3a") and an observer told each
/// time it has to wait. Cheap to clone.
#[derive(Clone)]
pub struct Requester {
    /// Whose request it is.
    pub tenant: Tenant,
    /// Higher is more urgent. Default 0.
    pub priority: i32,
    /// When the work must be done, for earliest-deadline-first and for
    /// ending a wait that can no longer help.
    pub deadline: Option<Instant>,
    /// What is asking, for explanations and the decision log.
    pub label: Arc<str>,
    /// Told where the request stands when it has to wait.
    pub on_wait: Option<WaitObserver>,
}

impl Requester {
    /// A request of `tenant` at priority 0, no deadline, labelled with the
    /// tenant's name.
    pub fn new(tenant: Tenant) -> Self {
        let label = Arc::clone(&tenant.name);
        Requester {
            tenant,
            priority: 0,
            deadline: None,
            label,
            on_wait: None,
        }
    }

    /// The same request at `priority`.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// The same request due by `deadline`.
    pub fn deadline(mut self, deadline: Option<Instant>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same request labelled `label`.
    pub fn label(mut self, label: impl Into<Arc<str>>) -> Self {
        self.label = label.into();
        self
    }

    /// The same request, telling `observer` whenever it has to wait.
    pub fn on_wait(mut self, observer: WaitObserver) -> Self {
        self.on_wait = Some(observer);
        self
    }
}

impl fmt::Debug for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requester")
            .field("tenant", &self.tenant)
            .field("priority", &self.priority)
            .field("deadline", &self.deadline)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}
