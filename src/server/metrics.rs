//! Prometheus metrics (`GET /metrics`): requests by route, method and
//! status; request latency by route; store latency by operation.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::store::{Expect, Kv, StoreError, Versioned};

/// The labels of a request count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route (`/api/v1/packages/{name}`), or `unmatched`.
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// The status answered.
    pub status: u16,
}

/// The label of a latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The matched route.
    pub route: String,
}

/// The label of a store latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// The store operation (get, put, scan, ...).
    pub op: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to about 3.3 s.
    Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests answered.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency in seconds.
    pub latency: HistogramFamily<RouteLabels>,
    /// Store latency in seconds.
    pub store_latency: HistogramFamily<StoreLabels>,
    /// Download events dropped because the event queue was full.
    pub dropped_events: Counter,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pkg");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let store_latency: HistogramFamily<StoreLabels> =
            Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let dropped_events = Counter::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "store_duration_seconds",
            "Store operation latency",
            store_latency.clone(),
        );
        registry.register(
            "dropped_events",
            "Download events dropped because the queue was full",
            dropped_events.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            store_latency,
            dropped_events,
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// A store that times every operation into [`Metrics::store_latency`].
#[derive(Clone)]
pub struct Timed<K> {
    inner: K,
    metrics: Arc<Metrics>,
}

impl<K: Kv> Timed<K> {
    /// Wraps `inner`.
    pub fn new(inner: K, metrics: Arc<Metrics>) -> Timed<K> {
        Timed { inner, metrics }
    }

    async fn time<T>(&self, op: &str, f: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = f.await;
        self.metrics
            .store_latency
            .get_or_create(&StoreLabels { op: op.to_string() })
            .observe(start.elapsed().as_secs_f64());
        out
    }
}

impl<K: Kv> Kv for Timed<K> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.time("ping", self.inner.ping()).await
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.time("get", self.inner.get(key)).await
    }

    async fn put(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<bool, StoreError> {
        self.time("put", self.inner.put(key, value, expect)).await
    }

    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        self.time("put_many", self.inner.put_many(pairs)).await
    }

    async fn delete(&self, key: &str, expect: Expect) -> Result<bool, StoreError> {
        self.time("delete", self.inner.delete(key, expect)).await
    }

    async fn watch(
        &self,
        prefix: &str,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        self.inner.watch(prefix).await
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        self.time("scan", self.inner.scan(prefix, after, limit, reverse))
            .await
    }
}
