//! Download events, written in batches: a download must not wait for a
//! store write, so each one is queued and a background task writes the
//! queue every [`FLUSH_EVERY`] (and once more at shutdown). A full queue
//! drops events and counts them in the metrics rather than slowing reads.
//! Within a batch, the same event repeated (one caller downloading one
//! version) is written once with a count.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::metrics::Metrics;
use super::registry::records::action_pair;
use super::store::Kv;
use crate::registry::types::{ActionKind, ActionRecord};

/// How often queued events are written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// How many events may wait.
const QUEUE: usize = 65_536;

/// Where handlers queue events.
#[derive(Clone)]
pub struct Events {
    sender: mpsc::Sender<ActionRecord>,
    metrics: Arc<Metrics>,
}

impl Events {
    /// Starts the writer task; it ends (after a last write) when every
    /// [`Events`] is dropped.
    pub fn start<K: Kv>(kv: K, metrics: Arc<Metrics>) -> (Events, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_loop(kv, receiver));
        (Events { sender, metrics }, task)
    }

    /// Queues `event`.
    pub fn push(&self, event: ActionRecord) {
        if self.sender.try_send(event).is_err() {
            self.metrics.dropped_events.inc();
        }
    }
}

/// Counts the events of one batch that differ only in time (the same
/// action on the same version by the same caller) as one record, at the
/// time of the newest: a busy package writes a few records per batch, not
/// one per download.
fn coalesce(events: impl Iterator<Item = ActionRecord>) -> Vec<ActionRecord> {
    type Same = (String, Option<String>, String, ActionKind);
    let mut out: Vec<ActionRecord> = Vec::new();
    let mut index: HashMap<Same, usize> = HashMap::new();
    for event in events {
        let same = (
            event.name.clone(),
            event.version.clone(),
            event.by.clone(),
            event.action,
        );
        match index.get(&same) {
            Some(&i) => {
                out[i].count += event.count;
                out[i].at = event.at;
            }
            None => {
                index.insert(same, out.len());
                out.push(event);
            }
        }
    }
    out
}

async fn write_loop<K: Kv>(kv: K, mut receiver: mpsc::Receiver<ActionRecord>) {
    let mut batch = Vec::new();
    loop {
        let open = receiver.recv_many(&mut batch, 4096).await > 0;
        if !open {
            return;
        }
        tokio::time::sleep(FLUSH_EVERY).await;
        while let Ok(event) = receiver.try_recv() {
            batch.push(event);
        }
        let pairs = coalesce(batch.drain(..)).iter().map(action_pair).collect();
        if let Err(e) = kv.put_many(pairs).await {
            tracing::warn!(error = %e, "cannot write download events");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::registry::records::action;

    #[test]
    fn repeated_events_are_counted_once() {
        let events = vec![
            action(ActionKind::Download, "a", Some("1.0.0"), "ci"),
            action(ActionKind::Download, "a", Some("1.0.0"), "ci"),
            action(ActionKind::Download, "a", Some("2.0.0"), "ci"),
            action(ActionKind::Download, "a", Some("1.0.0"), "anonymous"),
            action(ActionKind::Download, "a", Some("1.0.0"), "ci"),
        ];
        let out = coalesce(events.into_iter());
        let counts: Vec<(Option<&str>, &str, u64)> = out
            .iter()
            .map(|e| (e.version.as_deref(), e.by.as_str(), e.count))
            .collect();
        assert_eq!(
            counts,
            vec![
                (Some("1.0.0"), "ci", 3),
                (Some("2.0.0"), "ci", 1),
                (Some("1.0.0"), "anonymous", 1)
            ]
        );
    }
}
