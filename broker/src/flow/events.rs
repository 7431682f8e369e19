//! Live events of a running program for an observer (gRPC `ExecuteStream`, MCP progress
//! notifications): console lines and finished tool calls, in program order, tokenized
//! like the outcome, all delivered before the outcome is returned.
//!
//! The sandbox and the call tasks push raw events into one queue per execute without
//! blocking; a single task drains it in batches, scans each batch (one blocking task per
//! batch) and hands the events to the observer. Nothing leaves here untokenized: a batch
//! that cannot be scanned is withheld.

use std::sync::Arc;

use sandbox_host::{LogEntry, ToolError};
use tokio::sync::mpsc::UnboundedSender;

use super::ingress::Tokenizer;
use super::scan;

/// What one tool call of a running program did: names, outcome and timing, never values
/// (arguments and results are not included; the error message is already tokenized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// The server called.
    pub server: String,
    /// The tool called.
    pub tool: String,
    /// Why the call failed (`None`: it succeeded).
    pub error: Option<ToolError>,
    /// How long the call took in the broker, policy and backend included.
    pub elapsed: std::time::Duration,
}

/// What a running program did, as an observer sees it live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecuteEvent {
    /// A console line.
    Log(LogEntry),
    /// A tool call finished.
    Call(CallEvent),
}

/// Receives each [`ExecuteEvent`] of an execute as it happens (it must not block).
pub type ExecuteObserver = Arc<dyn Fn(ExecuteEvent) + Send + Sync>;

/// Which events an observer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// Console lines and finished tool calls.
    Everything,
    /// Console lines only (tool calls are not queued, and cost nothing extra).
    ConsoleOnly,
}

/// An observer and what it watches.
#[derive(Clone)]
pub struct Observer {
    /// Called for each event.
    pub sink: ExecuteObserver,
    /// Which events.
    pub watch: Watch,
}

/// Raw events of one execute on their way to the observer, or the end marker.
pub(crate) enum Pumped {
    Event(ExecuteEvent),
    Done,
}

/// Carries one execute's events to its observer in program order. Dropping the pump (a
/// cancelled execute) stops it.
pub(crate) struct EventPump {
    queue: UnboundedSender<Pumped>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EventPump {
    /// Starts the draining task for `session`.
    pub(crate) fn start(tokenizer: Tokenizer, session: String, observer: ExecuteObserver) -> Self {
        let (queue, mut pending) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut batch = Vec::new();
            while pending.recv_many(&mut batch, 256).await > 0 {
                let done = batch.iter().any(|p| matches!(p, Pumped::Done));
                let events = batch
                    .drain(..)
                    .map_while(|p| match p {
                        Pumped::Event(event) => Some(event),
                        Pumped::Done => None,
                    })
                    .collect::<Vec<_>>();
                if !events.is_empty() {
                    for event in scan::events(&tokenizer, &session, events).await {
                        observer(event);
                    }
                }
                if done {
                    return;
                }
            }
        });
        EventPump {
            queue,
            task: Some(task),
        }
    }

    /// Where the sandbox and the call tasks push events.
    pub(crate) fn sender(&self) -> UnboundedSender<Pumped> {
        self.queue.clone()
    }

    /// Delivers everything pushed so far, then stops (later pushes are dropped).
    pub(crate) async fn finish(mut self) {
        let _ = self.queue.send(Pumped::Done);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EventPump {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
