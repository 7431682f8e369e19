//! Fronts: the faces the broker shows to agent platforms (MCP over stdio and streamable
//! HTTP today; gRPC beside it). A front authenticates the caller, picks the session, hands
//! `execute`/`search` to the [`Broker`](crate::flow::Broker) and renders the answer. It
//! never decides a flow and never sees a raw value: everything it returns was tokenized by
//! the broker.
//!
//! Every front runs until a shared [`Shutdown`] fires, so `sluice serve` can run several
//! side by side and stop them together.

pub mod grpc;
pub mod http_server;
pub mod mcp;

use tokio::sync::watch;

/// The sending half of a shutdown signal: [`ShutdownTrigger::fire`] stops every front.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// A shutdown signal every front waits on; cheap to clone, fires once.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new, unfired shutdown signal and its trigger.
pub fn shutdown_signal() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Tells every front to stop (idempotent).
    pub fn fire(&self) {
        self.0.send_replace(true);
    }

    /// A receiver of this signal, for a front started later.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Resolves once the signal has fired (or its trigger is gone).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the trigger was dropped: nobody can stop us any more, so stop now.
        let _ = rx.wait_for(|fired| *fired).await;
    }

    /// Whether the signal has fired.
    pub fn fired(&self) -> bool {
        *self.0.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_receiver_sees_the_signal() {
        let (trigger, a) = shutdown_signal();
        let b = a.clone();
        assert!(!a.fired());
        trigger.fire();
        a.wait().await;
        b.wait().await;
        assert!(trigger.subscribe().fired());
    }
}
