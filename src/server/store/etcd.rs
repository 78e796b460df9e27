//! The etcd store: every key lives under `/pkg/` in an etcd cluster, so
//! several `pkg serve` replicas share one state. A value's revision is its
//! etcd `mod_revision`; a conditional write is one etcd transaction that
//! compares it (or the key's absence), so two replicas racing for one key
//! produce exactly one winner.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, GetOptions, SortOrder, SortTarget,
    Txn, TxnOp, WatchOptions,
};

use super::{Expect, Kv, StoreError, Versioned, prefix_end};

/// Every key pkg writes starts with this.
const ROOT: &str = "/pkg/";
/// etcd's default limit of operations in one transaction.
pub const MAX_TXN_OPS: usize = 128;
/// Stay well under etcd's default 1.5 MiB request limit.
pub const MAX_TXN_BYTES: usize = 1 << 20;

/// The etcd key-value store.
#[derive(Clone)]
pub struct EtcdKv {
    client: Client,
    endpoints: Vec<String>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("etcd store: {e}"))
}

fn full(key: &str) -> String {
    format!("{ROOT}{key}")
}

fn compare(key: &str, expect: Expect) -> Option<Compare> {
    match expect {
        Expect::Any => None,
        Expect::Absent => Some(Compare::create_revision(full(key), CompareOp::Equal, 0)),
        Expect::Revision(r) => Some(Compare::mod_revision(full(key), CompareOp::Equal, r)),
    }
}

impl EtcdKv {
    /// Connects to the cluster at `endpoints`.
    pub async fn connect(endpoints: &[String]) -> Result<EtcdKv, StoreError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(30));
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(|e| backend(format!("cannot connect to {}: {e}", endpoints.join(","))))?;
        Ok(EtcdKv {
            client,
            endpoints: endpoints.to_vec(),
        })
    }

    /// The client, for what the key-value interface does not cover (the hub).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The endpoints.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }
}

impl Kv for EtcdKv {
    fn kind(&self) -> &'static str {
        "etcd"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut kv = self.client.kv_client();
        kv.get(full("ping"), None).await.map_err(backend)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let mut kv = self.client.kv_client();
        let response = kv.get(full(key), None).await.map_err(backend)?;
        Ok(response.kvs().first().map(|found| Versioned {
            value: found.value().to_vec(),
            revision: found.mod_revision(),
        }))
    }

    async fn put(&self, key: &str, value: Vec<u8>, expect: Expect) -> Result<bool, StoreError> {
        let mut kv = self.client.kv_client();
        let put = TxnOp::put(full(key), value, None);
        let txn = match compare(key, expect) {
            Some(c) => Txn::new().when([c]).and_then([put]),
            None => Txn::new().and_then([put]),
        };
        let response = kv.txn(txn).await.map_err(backend)?;
        Ok(response.succeeded())
    }

    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        let mut kv = self.client.kv_client();
        let mut batch = Vec::new();
        let mut bytes = 0;
        for (key, value) in pairs {
            let size = key.len() + value.len() + ROOT.len();
            if !batch.is_empty() && (batch.len() >= MAX_TXN_OPS || bytes + size > MAX_TXN_BYTES) {
                kv.txn(Txn::new().and_then(std::mem::take(&mut batch)))
                    .await
                    .map_err(backend)?;
                bytes = 0;
            }
            bytes += size;
            batch.push(TxnOp::put(full(&key), value, None));
        }
        if !batch.is_empty() {
            kv.txn(Txn::new().and_then(batch)).await.map_err(backend)?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str, expect: Expect) -> Result<bool, StoreError> {
        let mut kv = self.client.kv_client();
        let delete = TxnOp::delete(full(key), None::<DeleteOptions>);
        let exists = Compare::create_revision(full(key), CompareOp::Greater, 0);
        let compares: Vec<Compare> = std::iter::once(exists)
            .chain(compare(key, expect))
            .collect();
        let response = kv
            .txn(Txn::new().when(compares).and_then([delete]))
            .await
            .map_err(backend)?;
        Ok(response.succeeded())
    }

    async fn watch(
        &self,
        prefix: &str,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        let mut client = self.client.clone();
        let mut stream = client
            .watch(full(prefix), Some(WatchOptions::new().with_prefix()))
            .await
            .map_err(backend)?;
        let (sender, receiver) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            while let Ok(Some(response)) = stream.message().await {
                for event in response.events() {
                    let Some(kv) = event.kv() else { continue };
                    let key = String::from_utf8_lossy(kv.key());
                    let short = key.strip_prefix(ROOT).unwrap_or(&key).to_string();
                    if sender.send(short).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Some(receiver))
    }

    async fn scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, Versioned)>, StoreError> {
        let mut kv = self.client.kv_client();
        let full_prefix = full(prefix);
        let (start, end) = match (after, reverse) {
            (Some(after), false) => {
                let mut start = full(after).into_bytes();
                start.push(0);
                (start, prefix_end(&full_prefix))
            }
            (Some(after), true) => (full_prefix.clone().into_bytes(), full(after).into_bytes()),
            (None, _) => (full_prefix.clone().into_bytes(), prefix_end(&full_prefix)),
        };
        let order = if reverse {
            SortOrder::Descend
        } else {
            SortOrder::Ascend
        };
        let options = GetOptions::new()
            .with_range(end)
            .with_limit(i64::try_from(limit).unwrap_or(0))
            .with_sort(SortTarget::Key, order);
        let response = kv.get(start, Some(options)).await.map_err(backend)?;
        let mut out = Vec::with_capacity(response.kvs().len());
        for found in response.kvs() {
            let key = String::from_utf8_lossy(found.key());
            let Some(short) = key.strip_prefix(ROOT) else {
                continue;
            };
            out.push((
                short.to_string(),
                Versioned {
                    value: found.value().to_vec(),
                    revision: found.mod_revision(),
                },
            ));
        }
        Ok(out)
    }
}
