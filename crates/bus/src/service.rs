//! Request handlers run in place: the thread that routes a request runs
//! the handler and routes its reply, with no queue and no thread switch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use symphony_protocol::{Envelope, MSG};

use super::queue::Item;
use super::{Bus, BusError, BusInner, Offer, RouteGuard, Target};

type HandlerFn = dyn Fn(&Envelope) -> Option<Envelope> + Send + Sync;

/// A handler being served; dropping it stops serving.
pub struct Service {
    _route: RouteGuard,
}

struct Handler {
    bus: Weak<BusInner>,
    name: Arc<str>,
    handle: Box<HandlerFn>,
}

impl Bus {
    /// Answers messages on `pattern` with `handler`, run on the thread that
    /// routes each one: for a request (a message with a reply subject) a
    /// returned payload is sent back as the reply, from this endpoint.
    ///
    /// There is no queue in between, which makes this the fastest way to
    /// answer requests, but a slow handler slows whoever published: keep
    /// handlers short and hand long work to a thread. A handler that panics
    /// drops that message and is counted as dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphony_bus::Bus;
    ///
    /// let bus = Bus::new();
    /// let _upper = bus.serve("svc.upper", |request| Some(request.payload.to_ascii_uppercase().into()))?;
    /// let reply = bus.request("svc.upper", &b"hi"[..], Duration::from_secs(1))?;
    /// assert_eq!(&reply.payload[..], b"HI");
    /// # Ok::<(), symphony_bus::BusError>(())
    /// ```
    pub fn serve<F>(&self, pattern: &str, handler: F) -> Result<Service, BusError>
    where
        F: Fn(&Envelope) -> Option<Bytes> + Send + Sync + 'static,
    {
        self.serve_typed(pattern, move |request| {
            handler(request).map(|payload| Envelope::new(MSG, "", payload))
        })
    }

    /// Like [`Bus::serve`], for typed replies: the handler returns the
    /// answer as an envelope (its kind, version, headers and payload are
    /// kept; its subject, correlation and sender are filled in).
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphony_bus::{Bus, Envelope};
    ///
    /// let bus = Bus::new();
    /// let _svc = bus.serve_typed("svc.kind", |_| Some(Envelope::new("svc.answer", "", &b"ok"[..])))?;
    /// let reply = bus.request("svc.kind", &b""[..], Duration::from_secs(1))?;
    /// assert_eq!(reply.kind, "svc.answer");
    /// # Ok::<(), symphony_bus::BusError>(())
    /// ```
    pub fn serve_typed<F>(&self, pattern: &str, handler: F) -> Result<Service, BusError>
    where
        F: Fn(&Envelope) -> Option<Envelope> + Send + Sync + 'static,
    {
        let target = Arc::new(Handler {
            bus: Arc::downgrade(&self.inner),
            name: self.name.clone(),
            handle: Box::new(handler),
        });
        let route = self.add_route(pattern, None, None, target)?;
        Ok(Service { _route: route })
    }
}

impl Target for Handler {
    fn offer(&self, (_, request): Item) -> Offer {
        // A handler may wait on anything: what this thread held back for
        // its peers must not wait with it.
        crate::server::hold::release();
        let Ok(answer) = catch_unwind(AssertUnwindSafe(|| (self.handle)(&request))) else {
            tracing::error!(subject = %request.subject, "a bus handler panicked; the message is dropped");
            return Offer::Dropped;
        };
        if let (Some(answer), Some(reply_to)) = (answer, &request.reply_to)
            && let Some(bus) = self.bus.upgrade()
        {
            let mut reply = answer.from_sender(&*self.name);
            reply.subject.clone_from(reply_to);
            reply.correlation = Some(request.id);
            bus.route(reply);
        }
        Offer::Queued
    }

    fn is_closed(&self) -> bool {
        false
    }

    fn pending(&self) -> usize {
        0
    }

    fn may_block(&self) -> bool {
        // The handler is the caller's code: it may take any time.
        true
    }
}

#[cfg(test)]
mod tests;
