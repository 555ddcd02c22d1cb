//! The store as rows for the state database: which keys a mutation dirtied (`Dirty`), the rows
//! to write or delete for them (`Store::take_changes`), every row (`Store::all_rows`, for a
//! migration) and a store rebuilt from rows (`Store::from_rows`).
//!
//! Every table is `key → JSON text`: one row per resource, operation, subscription's
//! registrations, outbox batch and Graph subscription, one row per sink and delivery-log entry (keyed by a sequence
//! number, so appending writes one row and the cap deletes the oldest), and one `meta` row per
//! small object (signing key, id generator, Auth0 state). It must not know SQL or files
//! (`infra::persist` does); a write costs the rows it dirtied, never the whole world.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::emulator::store::{STATE_VERSION, Store};

/// The keyed tables, besides `meta`.
pub const RESOURCES: &str = "resources";
/// Long-running operations by id.
pub const OPERATIONS: &str = "operations";
/// Provider registrations, one row per subscription.
pub const REGISTRATIONS: &str = "registrations";
/// Undelivered batches by outbox key.
pub const OUTBOX: &str = "outbox";
/// Small objects by name.
pub const META: &str = "meta";
/// What the built-in webhook sink received, by sequence number.
pub const SINK: &str = "sink";
/// Delivery and dead-letter records (`/_emulator/deliveries`), by sequence number.
pub const DELIVERIES: &str = "deliveries";
/// Microsoft Graph subscriptions by lowercased id (added in schema version 2).
pub const GRAPH: &str = "graph_subscriptions";
/// Every table, `meta` first.
pub const TABLES: [&str; 8] = [
    META,
    RESOURCES,
    OPERATIONS,
    REGISTRATIONS,
    OUTBOX,
    SINK,
    DELIVERIES,
    GRAPH,
];

const META_VERSION: &str = "version";
const META_SIGNING_KEY: &str = "signing_key";
const META_IDS: &str = "ids";
const META_AUTH0: &str = "auth0";

/// Sequence numbers of a capped log kept as one row per entry: `next` is one past the newest
/// entry's; `persisted` the range of the rows in the database.
#[derive(Debug, Clone, Default)]
pub struct LogSeq {
    next: u64,
    persisted: (u64, u64),
}

fn log_key(seq: u64) -> String {
    format!("{seq:020}")
}

/// Appends `item` to a capped log (the oldest dropped past `cap`).
fn push_capped<T>(list: &mut Vec<T>, seq: &mut LogSeq, item: T, cap: usize) {
    seq.next = seq.next.max(list.len() as u64).saturating_add(1);
    list.push(item);
    let excess = list.len().saturating_sub(cap);
    list.drain(..excess);
}

/// The rows a log's change needs: entries appended since the last write, deletes for the
/// entries dropped (or cleared); with `full`, every entry (a new database).
fn log_changes<T: Serialize>(
    out: &mut Changes,
    table: &'static str,
    list: &[T],
    seq: &mut LogSeq,
    full: bool,
) -> Result<(), serde_json::Error> {
    let len = list.len() as u64;
    seq.next = seq.next.max(len);
    let first = seq.next - len;
    let (old_first, old_next) = if full { (first, first) } else { seq.persisted };
    for gone in old_first..old_next.min(first) {
        out.delete.push((table, log_key(gone)));
    }
    for s in old_next.max(first)..seq.next {
        let index = usize::try_from(s - first).unwrap_or(usize::MAX);
        if let Some(item) = list.get(index) {
            out.put.push((table, log_key(s), text(item)?));
        }
    }
    seq.persisted = (first, seq.next);
    Ok(())
}

/// A log from its rows (in key order) and its sequence numbers.
fn log_from_rows<T: DeserializeOwned>(
    table: &str,
    rows: &[(String, String)],
) -> Result<(Vec<T>, LogSeq), String> {
    let mut sorted: Vec<&(String, String)> = rows.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let seq_of = |key: &str| {
        key.parse::<u64>()
            .map_err(|_| format!("row `{key}` of table `{table}`: not a sequence number"))
    };
    let first = sorted
        .first()
        .map(|(k, _)| seq_of(k))
        .transpose()?
        .unwrap_or(0);
    let next = match sorted.last() {
        Some((k, _)) => seq_of(k)?.saturating_add(1),
        None => 0,
    };
    let list = sorted
        .iter()
        .map(|(k, v)| {
            serde_json::from_str(v).map_err(|e| format!("row `{k}` of table `{table}`: {e}"))
        })
        .collect::<Result<Vec<T>, String>>()?;
    Ok((
        list,
        LogSeq {
            next,
            persisted: (first, next),
        },
    ))
}

/// What changed since the last write.
#[derive(Debug, Clone, Default)]
pub struct Dirty {
    /// Everything (a new or migrated store).
    all: bool,
    /// `meta` rows by name.
    meta: BTreeSet<&'static str>,
    /// Keys per keyed table; present in the store → written, absent → deleted.
    keys: BTreeMap<&'static str, BTreeSet<String>>,
}

impl Dirty {
    /// Everything must be written.
    pub fn everything() -> Self {
        Self {
            all: true,
            ..Self::default()
        }
    }

    fn is_empty(&self) -> bool {
        !self.all && self.meta.is_empty() && self.keys.is_empty()
    }
}

/// Rows to write (`put`: table, key, JSON) and to delete (`delete`: table, key).
#[derive(Debug, Default)]
pub struct Changes {
    /// Rows to insert or replace.
    pub put: Vec<(&'static str, String, String)>,
    /// Rows to delete.
    pub delete: Vec<(&'static str, String)>,
}

impl Changes {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty()
    }
}

fn text(value: &impl Serialize) -> Result<String, serde_json::Error> {
    serde_json::to_string(value)
}

impl Store {
    /// Marks the Auth0 state and the logs (sink, deliveries) changed.
    pub fn touch(&mut self) {
        for name in [META_AUTH0, SINK, DELIVERIES] {
            self.dirty.meta.insert(name);
        }
    }

    /// Appends to the sink (the oldest dropped past `cap`).
    pub(crate) fn push_sink(&mut self, record: super::SinkRecord, cap: usize) {
        push_capped(&mut self.sink, &mut self.sink_seq, record, cap);
        self.dirty.meta.insert(SINK);
    }

    /// Appends to the delivery log (the oldest dropped past `cap`).
    pub(crate) fn push_delivery(&mut self, record: super::delivery::DeliveryRecord, cap: usize) {
        push_capped(&mut self.delivery_log, &mut self.delivery_seq, record, cap);
        self.dirty.meta.insert(DELIVERIES);
    }

    /// Marks one row of a keyed table changed (written if present, deleted if not).
    pub(crate) fn mark(&mut self, table: &'static str, key: &str) {
        if table == RESOURCES {
            self.deadlines.touched(key);
        }
        let keys = self.dirty.keys.entry(table).or_default();
        if !keys.contains(key) {
            keys.insert(key.to_string());
        }
    }

    /// Forgets what changed (after a reload or a failed write, the database is the truth).
    pub fn clear_dirty(&mut self) {
        self.dirty = Dirty::default();
    }

    /// The rows the changes since the last call need, and clears the record of them. The id
    /// generator's row goes with every non-empty change (any write may have drawn from it).
    pub fn take_changes(&mut self) -> Result<Changes, serde_json::Error> {
        if self.dirty.all {
            self.dirty = Dirty::default();
            return self.all_rows();
        }
        let dirty = std::mem::take(&mut self.dirty);
        let mut out = Changes::default();
        if dirty.is_empty() {
            return Ok(out);
        }
        for name in dirty.meta.iter().copied().chain([META_IDS]) {
            match name {
                SINK => log_changes(&mut out, SINK, &self.sink, &mut self.sink_seq, false)?,
                DELIVERIES => log_changes(
                    &mut out,
                    DELIVERIES,
                    &self.delivery_log,
                    &mut self.delivery_seq,
                    false,
                )?,
                _ => out.put.push((META, name.into(), self.meta_row(name)?)),
            }
        }
        for (table, keys) in dirty.keys {
            for key in keys {
                match self.keyed_row(table, &key)? {
                    Some(json) => out.put.push((table, key, json)),
                    None => out.delete.push((table, key)),
                }
            }
        }
        Ok(out)
    }

    fn meta_row(&self, name: &str) -> Result<String, serde_json::Error> {
        match name {
            META_VERSION => text(&STATE_VERSION),
            META_SIGNING_KEY => text(&self.signing_key),
            META_AUTH0 => text(&self.auth0),
            _ => text(&self.ids),
        }
    }

    fn keyed_row(&self, table: &str, key: &str) -> Result<Option<String>, serde_json::Error> {
        match table {
            RESOURCES => self.resources.get(key).map(text).transpose(),
            OPERATIONS => self.operations.get(key).map(text).transpose(),
            REGISTRATIONS => self.registrations.get(key).map(text).transpose(),
            GRAPH => self.graph.get(key).map(text).transpose(),
            _ => self.outbox.get(key).map(text).transpose(),
        }
    }

    /// Every row of the store (a new database, a migrated JSON state file).
    pub fn all_rows(&mut self) -> Result<Changes, serde_json::Error> {
        let mut out = Changes::default();
        for name in [META_VERSION, META_SIGNING_KEY, META_IDS, META_AUTH0] {
            out.put.push((META, name.into(), self.meta_row(name)?));
        }
        log_changes(&mut out, SINK, &self.sink, &mut self.sink_seq, true)?;
        let log = &self.delivery_log;
        log_changes(&mut out, DELIVERIES, log, &mut self.delivery_seq, true)?;
        fn rows<V: Serialize>(
            out: &mut Changes,
            table: &'static str,
            map: &BTreeMap<String, V>,
        ) -> Result<(), serde_json::Error> {
            for (key, value) in map {
                out.put.push((table, key.clone(), text(value)?));
            }
            Ok(())
        }
        rows(&mut out, RESOURCES, &self.resources)?;
        rows(&mut out, OPERATIONS, &self.operations)?;
        rows(&mut out, REGISTRATIONS, &self.registrations)?;
        rows(&mut out, OUTBOX, &self.outbox)?;
        rows(&mut out, GRAPH, &self.graph)?;
        Ok(out)
    }

    /// The store the rows describe (`table → [(key, JSON)]`); an error names the bad row.
    pub fn from_rows(
        tables: &BTreeMap<&'static str, Vec<(String, String)>>,
    ) -> Result<Self, String> {
        let empty = Vec::new();
        let table = |name: &str| tables.get(name).unwrap_or(&empty);
        let meta: BTreeMap<&str, &str> = table(META)
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        fn parse<T: DeserializeOwned>(table: &str, key: &str, json: &str) -> Result<T, String> {
            serde_json::from_str(json).map_err(|e| format!("row `{key}` of table `{table}`: {e}"))
        }
        let required = |name: &str| {
            meta.get(name)
                .copied()
                .ok_or_else(|| format!("no `{name}` row in table `meta`"))
        };
        let optional = |name: &str| meta.get(name).copied().unwrap_or("null");
        fn keyed<V: DeserializeOwned>(
            table: &'static str,
            rows: &[(String, String)],
        ) -> Result<BTreeMap<String, V>, String> {
            rows.iter()
                .map(|(k, v)| Ok((k.clone(), parse(table, k, v)?)))
                .collect()
        }
        let (sink, sink_seq) = log_from_rows(SINK, table(SINK))?;
        let (delivery_log, delivery_seq) = log_from_rows(DELIVERIES, table(DELIVERIES))?;
        Ok(Self {
            version: STATE_VERSION,
            signing_key: parse(META, META_SIGNING_KEY, required(META_SIGNING_KEY)?)?,
            ids: parse(META, META_IDS, required(META_IDS)?)?,
            registrations: keyed(REGISTRATIONS, table(REGISTRATIONS))?,
            resources: keyed(RESOURCES, table(RESOURCES))?,
            operations: keyed(OPERATIONS, table(OPERATIONS))?,
            auth0: parse::<Option<_>>(META, META_AUTH0, optional(META_AUTH0))?.unwrap_or_default(),
            graph: keyed(GRAPH, table(GRAPH))?,
            sink,
            sink_seq,
            outbox: keyed(OUTBOX, table(OUTBOX))?,
            delivery_log,
            delivery_seq,
            dirty: Dirty::default(),
            deadlines: Default::default(),
        })
    }
}
