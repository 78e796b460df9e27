//! The keys an export holds instead of rows: [`KeyRef`] (one integer, or
//! the JSON text of a composite key), [`KeySet`] (integers as a sorted
//! list, texts in a hash set) and [`Taken`], per table the keys the
//! closure needs of the rows taken.

use std::collections::{BTreeMap, HashSet};

use super::schema::{Column, Table};
use super::source::Row;

/// A key: the values of a row at some positions, as the JSON array
/// `serde_json` writes for them (`[1,"a"]`), or the integer itself when
/// the key is one integer (`[5]` is `Int(5)`), so that both sides of a
/// foreign key compare alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyRef<'a> {
    Int(i64),
    Json(&'a str),
}

impl KeyRef<'_> {
    /// The key's JSON array.
    pub(super) fn json(self) -> String {
        match self {
            KeyRef::Int(i) => format!("[{i}]"),
            KeyRef::Json(text) => text.to_string(),
        }
    }
}

/// The key of `row` at `positions`; `scratch` holds its text.
pub(super) fn key_of<'a>(row: &Row, positions: &[usize], scratch: &'a mut String) -> KeyRef<'a> {
    if let [only] = positions
        && let Some(i) = row.get(*only).and_then(int_of)
    {
        return KeyRef::Int(i);
    }
    scratch.clear();
    scratch.push('[');
    for (n, &p) in positions.iter().enumerate() {
        if n > 0 {
            scratch.push(',');
        }
        // A value's JSON text is UTF-8.
        scratch.push_str(std::str::from_utf8(row.get(p).unwrap_or(b"null")).unwrap_or("null"));
    }
    scratch.push(']');
    KeyRef::Json(scratch)
}

/// The integer a JSON text spells, when it is one 64-bit integer as
/// `serde_json` writes it (no `+`, no leading zero, no `-0`).
pub(super) fn int_of(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1)
        && text != b"-0";
    if !canonical {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// How many one-integer keys a [`KeySet`] gathers before it sorts them
/// into its sorted keys (8 MB).
const FRESH: usize = 1 << 20;

/// A set of keys: one-integer keys as a sorted vector of integers (8
/// bytes each, up to twice that while the vector grows, and up to
/// [`FRESH`] keys not yet sorted in), others as their JSON text (its
/// length plus about 40 bytes). Adding an integer appends it, so a table
/// of a million rows referencing a hundred thousand parents costs no
/// hash-table probe per row.
///
/// [`contains`](KeySet::contains) sees the integers added before the
/// last [`settle`](KeySet::settle): an export settles every set after
/// each read of a table, and during one only asks whether a row's own
/// primary key was taken before, which keys added in that read cannot be.
#[derive(Debug, Default, Clone)]
pub(super) struct KeySet {
    /// Sorted, distinct.
    ints: Vec<i64>,
    /// Added since the last settle, in any order.
    fresh: Vec<i64>,
    texts: HashSet<Box<str>>,
}

impl KeySet {
    pub(super) fn insert(&mut self, key: KeyRef<'_>) {
        match key {
            KeyRef::Int(i) => {
                self.fresh.push(i);
                if self.fresh.len() >= FRESH {
                    self.merge();
                }
            }
            KeyRef::Json(text) => {
                if !self.texts.contains(text) {
                    self.texts.insert(text.into());
                }
            }
        }
    }

    /// Sorts the integers added since the last settle in, and frees their
    /// buffer.
    pub(super) fn settle(&mut self) {
        self.merge();
        self.fresh = Vec::new();
    }

    /// Sorts the fresh integers into the sorted ones.
    pub(super) fn merge(&mut self) {
        if self.fresh.is_empty() {
            return;
        }
        self.fresh.sort_unstable();
        self.fresh.dedup();
        if self.ints.is_empty() {
            std::mem::swap(&mut self.ints, &mut self.fresh);
            self.fresh.clear();
            return;
        }
        let mut merged = Vec::with_capacity(self.ints.len() + self.fresh.len());
        let (mut a, mut b) = (self.ints.iter().peekable(), self.fresh.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x <= y => {
                    a.next();
                    if x == y {
                        b.next();
                    }
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.ints = merged;
        self.fresh.clear();
    }

    pub(super) fn contains(&self, key: KeyRef<'_>) -> bool {
        match key {
            KeyRef::Int(i) => self.ints.binary_search(&i).is_ok(),
            KeyRef::Json(text) => self.texts.contains(text),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ints.is_empty() && self.fresh.is_empty() && self.texts.is_empty()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = KeyRef<'_>> {
        self.ints
            .iter()
            .map(|&i| KeyRef::Int(i))
            .chain(self.texts.iter().map(|t| KeyRef::Json(t)))
    }

    /// The keys not in `other` (both settled).
    pub(super) fn without(&self, other: Option<&KeySet>) -> KeySet {
        let keep = |key: KeyRef<'_>| !other.is_some_and(|o| o.contains(key));
        KeySet {
            ints: self
                .ints
                .iter()
                .copied()
                .filter(|&i| keep(KeyRef::Int(i)))
                .collect(),
            fresh: Vec::new(),
            texts: self
                .texts
                .iter()
                .filter(|t| keep(KeyRef::Json(t)))
                .cloned()
                .collect(),
        }
    }
}

/// Positions of `names` among `columns`.
pub(super) fn positions(columns: &[Column], names: &[String]) -> Option<Vec<usize>> {
    names
        .iter()
        .map(|n| columns.iter().position(|c| &c.name == n))
        .collect()
}

/// The rows of one table an export took, as keys (never rows): the
/// values of each foreign key, the values of every column list another
/// table's foreign key references, and, for a table the closure may read
/// again, the primary keys. A one-integer key costs 8 to 16 bytes in its
/// set, another key its JSON text and about 40 bytes.
pub(super) struct Taken {
    pk: Vec<usize>,
    /// The primary keys, when held.
    keys: Option<KeySet>,
    /// Per foreign key: its column positions and the values taken rows hold.
    fks: Vec<(Vec<usize>, KeySet)>,
    /// Column lists other tables reference (the primary key aside, when
    /// `keys` holds it): positions and values.
    referenced: Vec<(Vec<usize>, KeySet)>,
    /// The text of the key last looked at.
    scratch: String,
}

impl Taken {
    pub(super) fn new(
        name: &str,
        table: &Table,
        tables: &BTreeMap<String, Table>,
        hold_keys: bool,
    ) -> Taken {
        let pk = positions(&table.columns, &table.primary_key).unwrap_or_default();
        let fks = table
            .foreign_keys
            .iter()
            .map(|fk| {
                (
                    positions(&table.columns, &fk.columns).unwrap_or_default(),
                    KeySet::default(),
                )
            })
            .collect();
        let mut referenced: Vec<(Vec<usize>, KeySet)> = Vec::new();
        for other in tables.values() {
            for fk in other.foreign_keys.iter().filter(|fk| fk.table == name) {
                if let Some(refs) = positions(&table.columns, &fk.references)
                    && !(hold_keys && refs == pk)
                    && !referenced.iter().any(|(r, _)| *r == refs)
                {
                    referenced.push((refs, KeySet::default()));
                }
            }
        }
        Taken {
            pk,
            keys: hold_keys.then(KeySet::default),
            fks,
            referenced,
            scratch: String::new(),
        }
    }

    /// Whether `row` was taken (never, when the primary keys are not held).
    pub(super) fn has(&mut self, row: &Row) -> bool {
        match &self.keys {
            Some(keys) => keys.contains(key_of(row, &self.pk, &mut self.scratch)),
            None => false,
        }
    }

    pub(super) fn take(&mut self, row: &Row) {
        if let Some(keys) = &mut self.keys {
            keys.insert(key_of(row, &self.pk, &mut self.scratch));
        }
        for (pos, values) in self.fks.iter_mut().chain(self.referenced.iter_mut()) {
            if pos.iter().all(|&i| !row.is_null(i)) {
                values.insert(key_of(row, pos, &mut self.scratch));
            }
        }
    }

    /// Settles every key set (see [`KeySet`]).
    pub(super) fn settle(&mut self) {
        let sets = self.fks.iter_mut().chain(self.referenced.iter_mut());
        for set in self.keys.iter_mut().chain(sets.map(|(_, v)| v)) {
            set.settle();
        }
    }

    /// The values taken rows hold in foreign key `k`.
    pub(super) fn fk_values(&self, k: usize) -> Option<&KeySet> {
        self.fks.get(k).map(|(_, v)| v)
    }

    /// The values taken rows hold at `positions`, when another table
    /// references them.
    pub(super) fn values(&self, positions: &[usize]) -> Option<&KeySet> {
        if positions == self.pk
            && let Some(keys) = &self.keys
        {
            return Some(keys);
        }
        self.referenced
            .iter()
            .find(|(p, _)| p == positions)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sets_hold_integers_sorted_and_texts() {
        let mut set = KeySet::default();
        for i in [5, -1, 5, 3, i64::MAX] {
            set.insert(KeyRef::Int(i));
        }
        set.insert(KeyRef::Json("[\"a\",1]"));
        set.settle();
        for i in [2, 3, 9] {
            set.insert(KeyRef::Int(i));
        }
        set.settle();
        assert_eq!(set.ints, [-1, 2, 3, 5, 9, i64::MAX]);
        assert!(set.contains(KeyRef::Int(9)) && !set.contains(KeyRef::Int(4)));
        assert!(set.contains(KeyRef::Json("[\"a\",1]")));
        let mut other = KeySet::default();
        other.insert(KeyRef::Int(3));
        other.insert(KeyRef::Json("[\"a\",1]"));
        other.settle();
        let rest = set.without(Some(&other));
        assert_eq!(rest.ints, [-1, 2, 5, 9, i64::MAX]);
        assert!(rest.texts.is_empty() && !rest.is_empty());
        assert_eq!(int_of(b"-12"), Some(-12));
        assert_eq!(
            [int_of(b"-0"), int_of(b"012"), int_of(b"+1"), int_of(b"1.0")],
            [None; 4]
        );
        assert_eq!(KeyRef::Int(7).json(), "[7]");
    }
}
