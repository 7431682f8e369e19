//! Admission: who may use a session (owners, kept in the store and remembered here once
//! known) and how many executes one agent may have in flight. Checked by [`super::Broker`]
//! before anything runs; this module never holds a value or logs a session id.

use super::error::BrokerError;

/// Known session owners (they never change), bounded.
#[derive(Default)]
pub(crate) struct Owners {
    known: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Owners {
    /// Most owners remembered before the memory is cleared.
    const MAX: usize = 65_536;

    pub(crate) fn get(&self, session: &str) -> Option<String> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(session).cloned()
    }

    pub(crate) fn insert(&self, session: &str, agent: &str) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= Self::MAX {
            known.clear();
        }
        known.insert(session.to_owned(), agent.to_owned());
    }
}

/// Executes one agent may have running or waiting by default.
pub const DEFAULT_CONCURRENT_PER_AGENT: u32 = 2048;

/// Executes in flight per agent, against a cap.
#[derive(Default)]
pub(crate) struct InFlight {
    counts: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

/// One admitted execute; leaves the count when dropped.
pub(crate) struct Slot<'a> {
    flight: &'a InFlight,
    agent: String,
}

impl InFlight {
    pub(crate) fn enter(&self, agent: &str, limit: u32) -> Result<Slot<'_>, BrokerError> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(agent.to_owned()).or_insert(0);
        if *count >= limit {
            return Err(BrokerError::Busy {
                agent: agent.to_owned(),
                limit,
            });
        }
        *count += 1;
        Ok(Slot {
            flight: self,
            agent: agent.to_owned(),
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut counts = self.flight.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.agent) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.agent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_past_its_execute_limit_is_refused_until_one_finishes() {
        let flight = InFlight::default();
        let a = flight.enter("bot", 2).expect("first");
        let _b = flight.enter("bot", 2).expect("second");
        assert!(matches!(
            flight.enter("bot", 2),
            Err(BrokerError::Busy { limit: 2, .. })
        ));
        // Another agent is not held back by this one.
        let _other = flight.enter("other", 2).expect("other agent");
        drop(a);
        assert!(flight.enter("bot", 2).is_ok());
    }
}
