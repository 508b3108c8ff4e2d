//! The change feed: after a write or delete commits, the store announces which key of which
//! bucket changed, for whoever listens (event-driven backups).
//!
//! The hot path stays cheap: nothing is sent (no allocation, no lock) unless a listener is
//! subscribed *and* the interest filter says someone cares about the bucket (the backup service
//! installs a filter that asks the policy registry, lock-free, whether the bucket has an
//! event-driven backup binding). The channel is a bounded `broadcast`: a listener that falls
//! behind learns it lagged and must fall back to a full scan, so a burst can never grow memory
//! without bound.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

/// How many changes the feed buffers for a slow listener before it lags.
pub const FEED_CAPACITY: usize = 8192;

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChangeKind {
    /// A new version was committed (PUT, copy, complete-multipart, restore).
    Created,
    /// A version was removed or a delete marker was added.
    Removed,
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreChange {
    pub bucket: String,
    pub key: String,
    /// The version written, removed, or the delete marker added (may be empty when unknown).
    pub version_id: String,
    pub kind: StoreChangeKind,
}

type Filter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The store's change feed.
pub struct ChangeFeed {
    tx: broadcast::Sender<StoreChange>,
    filter: OnceLock<Filter>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        ChangeFeed {
            tx: broadcast::channel(FEED_CAPACITY).0,
            filter: OnceLock::new(),
        }
    }
}

impl ChangeFeed {
    /// Subscribes to changes committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoreChange> {
        self.tx.subscribe()
    }

    /// Installs the interest filter (once; later calls are ignored): changes of buckets it
    /// refuses are not sent. Without a filter nothing is sent.
    pub fn set_filter(&self, f: impl Fn(&str) -> bool + Send + Sync + 'static) {
        let _ = self.filter.set(Arc::new(f));
    }

    /// Whether a change of `bucket` would be sent.
    pub fn wants(&self, bucket: &str) -> bool {
        self.tx.receiver_count() > 0 && self.filter.get().is_some_and(|f| f(bucket))
    }

    /// Announces a committed change (if anyone wants it).
    pub fn emit(&self, bucket: &str, key: &str, version_id: &str, kind: StoreChangeKind) {
        if self.wants(bucket) {
            let _ = self.tx.send(StoreChange {
                bucket: bucket.to_string(),
                key: key.to_string(),
                version_id: version_id.to_string(),
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_only_when_wanted() {
        let feed = ChangeFeed::default();
        // No listener, no filter: nothing (and no panic).
        feed.emit("b", "k", "v", StoreChangeKind::Created);
        let mut rx = feed.subscribe();
        feed.emit("b", "k", "v", StoreChangeKind::Created);
        assert!(rx.try_recv().is_err(), "no filter: nothing is sent");
        feed.set_filter(|b| b == "b");
        feed.emit("other", "k", "v", StoreChangeKind::Created);
        feed.emit("b", "k", "v", StoreChangeKind::Removed);
        let got = rx.try_recv().unwrap();
        assert_eq!(
            (got.bucket.as_str(), got.kind),
            ("b", StoreChangeKind::Removed)
        );
        assert!(rx.try_recv().is_err());
    }
}
