//! A concurrent map by id that never stops to grow.
//!
//! A hash table grows by copying itself into one twice the size, and a map
//! of shards that fill evenly has every shard do so at about the same
//! moment: with millions of objects, each copy held a shard for tens of
//! milliseconds, and a worker thread that met it stopped serving all of its
//! connections (a retrieve probe saw stalls of up to 175 ms while 5,000,000
//! top-ups were created). Here each shard is an extendible hash table: a
//! directory of small tables, each of at most [`MAX_BUCKET`] entries. A
//! table that fills splits in two by one more bit of the hash, moving
//! about half of its entries, and the directory doubles by copying slots;
//! so no single insert moves more than a few thousand entries, however
//! large the map.

use super::collection::Hasher as FoldHash;
use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shards per map: locks that two workers rarely both want.
const SHARDS: usize = 16;

/// Entries a table holds before it splits: all that 4,096 slots hold (std's
/// map fills 7/8 of its slots), so a table that has split never grows in
/// place again and stays between 44 and 87 % full.
const MAX_BUCKET: usize = 3584;

/// Directory depth at most (2^20 slots per shard); past it tables only
/// grow in place.
const MAX_DEPTH: u32 = 20;

/// The hash bits the shard and the directory take, clear of the bits the
/// tables use themselves: the low ones (their bucket) and the top seven
/// (their tag). So the ids of one table still spread over it.
const SHARD_SHIFT: u32 = 32;
const DIR_SHIFT: u32 = 36;

/// An id with its hash, computed once when it is inserted: a table that
/// splits, or grows, places its entries by the stored hash instead of
/// hashing every id again (that hashing was most of a split's cost).
#[derive(Clone)]
struct Key {
    hash: u64,
    id: Arc<str>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.id == other.id
    }
}
impl Eq for Key {}

/// Writes the stored hash; [`KeyHash`] passes it through.
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Lookups by `&str` hash the text, which [`KeyHash`] turns into the very
/// hash a [`Key`] stores (both come from [`IdMap::hash`]).
impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        &self.id
    }
}

/// The tables' hasher: text is hashed with foldhash; a [`Key`]'s stored
/// hash (its only `write_u64`) is taken as it is.
#[derive(Clone, Default)]
struct KeyHash(FoldHash);

struct KeyHasher {
    text: <FoldHash as BuildHasher>::Hasher,
    stored: Option<u64>,
}

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            text: self.0.build_hasher(),
            stored: None,
        }
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.text.write(bytes);
    }
    fn write_u8(&mut self, b: u8) {
        self.text.write_u8(b);
    }
    fn write_u64(&mut self, hash: u64) {
        self.stored = Some(hash);
    }
    fn finish(&self) -> u64 {
        self.stored.unwrap_or_else(|| self.text.finish())
    }
}

struct Bucket<V> {
    /// How many hash bits every id of this table shares.
    depth: u32,
    map: HashMap<Key, V, KeyHash>,
}

/// One shard: slot `i` of the directory holds the ids whose hash bits
/// from [`DIR_SHIFT`] end in `i` (its `depth` low bits).
struct Table<V> {
    depth: u32,
    dir: Vec<usize>,
    buckets: Vec<Bucket<V>>,
}

impl<V> Table<V> {
    const fn new() -> Self {
        Table {
            depth: 0,
            dir: Vec::new(),
            buckets: Vec::new(),
        }
    }

    fn slot(&self, hash: u64) -> usize {
        ((hash >> DIR_SHIFT) as usize) & ((1usize << self.depth) - 1)
    }

    fn bucket(&self, hash: u64) -> Option<&Bucket<V>> {
        let b = *self.dir.get(self.slot(hash))?;
        self.buckets.get(b)
    }

    fn bucket_mut(&mut self, hash: u64) -> Option<&mut Bucket<V>> {
        let b = *self.dir.get(self.slot(hash))?;
        self.buckets.get_mut(b)
    }

    /// Splits the full table of slot `slot` in two; `false` if the
    /// directory is as deep as it may be.
    fn split(&mut self, slot: usize, hasher: &KeyHash) -> bool {
        let b = self.dir[slot];
        let depth = self.buckets[b].depth;
        if depth == self.depth {
            if self.depth == MAX_DEPTH {
                return false;
            }
            // Each new slot `i + 2^depth` names the same table as `i`.
            self.dir.extend_from_within(..);
            self.depth += 1;
        }
        let bit = 1u64 << (DIR_SHIFT + depth);
        // Both halves into fresh tables: removing half of a table in place
        // would leave tombstones that make it grow past its slots later.
        let mut keep = HashMap::with_capacity_and_hasher(MAX_BUCKET, hasher.clone());
        let mut moved = HashMap::with_capacity_and_hasher(MAX_BUCKET, hasher.clone());
        for (k, v) in self.buckets[b].map.drain() {
            if k.hash & bit != 0 {
                moved.insert(k, v);
            } else {
                keep.insert(k, v);
            }
        }
        self.buckets[b].map = keep;
        self.buckets[b].depth = depth + 1;
        let nb = self.buckets.len();
        self.buckets.push(Bucket {
            depth: depth + 1,
            map: moved,
        });
        for (i, s) in self.dir.iter_mut().enumerate() {
            if *s == b && (i >> depth) & 1 == 1 {
                *s = nb;
            }
        }
        true
    }
}

/// A map from ids to `V` (an `Arc` in practice: cloned on every read).
pub struct IdMap<V> {
    shards: Box<[RwLock<Table<V>>]>,
    hasher: KeyHash,
}

impl<V: Clone> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            shards: (0..SHARDS).map(|_| RwLock::new(Table::new())).collect(),
            hasher: KeyHash::default(),
        }
    }
}

impl<V: Clone> IdMap<V> {
    fn hash_and_shard(&self, id: &str) -> (u64, &RwLock<Table<V>>) {
        // Hashed as text, as a table's lookup by `&str` hashes it.
        let h = self.hasher.hash_one(id);
        (h, &self.shards[(h >> SHARD_SHIFT) as usize % SHARDS])
    }

    pub fn get(&self, id: &str) -> Option<V> {
        let (h, shard) = self.hash_and_shard(id);
        read(shard).bucket(h)?.map.get(id).cloned()
    }

    /// Inserts `value` under a new `id`; `false` (and nothing changes) if
    /// the id is taken.
    #[cfg(test)]
    pub fn insert_new(&self, id: Arc<str>, value: V) -> bool {
        self.insert_new_with(id, value, |_| {})
    }

    /// [`IdMap::insert_new`], running `then` on the value inserted while
    /// the shard is still locked.
    pub fn insert_new_with(&self, id: Arc<str>, value: V, then: impl FnOnce(&V)) -> bool {
        let (h, shard) = self.hash_and_shard(&id);
        let mut table = write(shard);
        if table.buckets.is_empty() {
            table.dir.push(0);
            table.buckets.push(Bucket {
                depth: 0,
                map: HashMap::with_hasher(self.hasher.clone()),
            });
        }
        // A full table splits first (unless the id is there already).
        loop {
            let slot = table.slot(h);
            let bucket = &table.buckets[table.dir[slot]];
            if bucket.map.len() < MAX_BUCKET
                || bucket.map.contains_key(&*id)
                || !table.split(slot, &self.hasher)
            {
                break;
            }
        }
        let Some(bucket) = table.bucket_mut(h) else {
            return false;
        };
        match bucket.map.entry(Key { hash: h, id }) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                then(&value);
                slot.insert(value);
                true
            }
        }
    }

    /// Runs `f` on the value of `id` under the shard's write lock. `None`
    /// if there is no such id.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let (h, shard) = self.hash_and_shard(id);
        let mut table = write(shard);
        table.bucket_mut(h)?.map.get_mut(id).map(f)
    }

    pub fn remove(&self, id: &str) -> Option<V> {
        let (h, shard) = self.hash_and_shard(id);
        let mut table = write(shard);
        table.bucket_mut(h)?.map.remove(id)
    }

    /// Calls `f` with every entry, in no order, one shard at a time.
    pub fn for_each(&self, mut f: impl FnMut(&Arc<str>, &V)) {
        for shard in self.shards.iter() {
            for bucket in read(shard).buckets.iter() {
                for (k, v) in bucket.map.iter() {
                    f(&k.id, v);
                }
            }
        }
    }
}

// Nothing that runs under these locks (here and in `by_id`) panics but
// `update`'s closure, which changes one value in place, so a poisoned lock
// is taken as it is.
pub(super) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_keeps_every_entry() {
        let map: IdMap<Arc<u64>> = IdMap::default();
        let n = (MAX_BUCKET * SHARDS * 6) as u64;
        for i in 0..n {
            assert!(map.insert_new(Arc::from(format!("tu_{i}")), Arc::new(i)));
        }
        assert!(!map.insert_new(Arc::from("tu_7"), Arc::new(0)), "taken");
        for i in 0..n {
            assert_eq!(map.get(&format!("tu_{i}")).as_deref(), Some(&i));
        }
        assert_eq!(map.get("tu_missing"), None);
        assert_eq!(map.update("tu_5", |v| *v = Arc::new(55)), Some(()));
        assert_eq!(map.get("tu_5").as_deref(), Some(&55));
        assert_eq!(map.remove("tu_5").as_deref(), Some(&55));
        assert_eq!(map.get("tu_5"), None);
        let mut seen = 0;
        map.for_each(|_, _| seen += 1);
        assert_eq!(seen, n - 1);
        // Every table stayed small and dense: the map split instead of
        // growing, and no table outgrew its 4,096 slots.
        for shard in map.shards.iter() {
            let t = read(shard);
            assert!(t.buckets.len() > 1);
            for b in &t.buckets {
                assert!(b.map.len() <= MAX_BUCKET);
                assert!(b.map.capacity() <= MAX_BUCKET, "{}", b.map.capacity());
                assert!(
                    b.map.len() * 3 >= b.map.capacity(),
                    "a split left a sparse table"
                );
            }
        }
    }

    #[test]
    fn readers_and_writers_meet_splits_and_lose_nothing() {
        let map: Arc<IdMap<Arc<u64>>> = Arc::new(IdMap::default());
        for i in 0..1000u64 {
            map.insert_new(Arc::from(format!("fixed_{i}")), Arc::new(i));
        }
        let per_writer = (MAX_BUCKET * SHARDS) as u64;
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let map = map.clone();
                std::thread::spawn(move || {
                    for i in 0..per_writer {
                        assert!(map.insert_new(Arc::from(format!("w{w}_{i}")), Arc::new(i)));
                        if i % 3 == 0 {
                            assert_eq!(
                                map.update(&format!("fixed_{}", i % 1000), |_| ()),
                                Some(())
                            );
                        }
                    }
                })
            })
            .collect();
        // Every fixed id stays reachable while the tables split under it.
        while !writers.iter().all(|w| w.is_finished()) {
            for i in (0..1000u64).step_by(7) {
                assert_eq!(map.get(&format!("fixed_{i}")).as_deref(), Some(&i));
            }
        }
        for w in writers {
            w.join().unwrap();
        }
        let mut seen = 0;
        map.for_each(|_, _| seen += 1);
        assert_eq!(seen, 1000 + 2 * per_writer);
    }

    #[test]
    fn an_empty_map_answers_and_allocates_no_table() {
        let map: IdMap<Arc<u64>> = IdMap::default();
        assert_eq!(map.get("tu_1"), None);
        assert_eq!(map.update("tu_1", |_| ()), None);
        assert_eq!(map.remove("tu_1"), None);
        assert!(map.shards.iter().all(|s| read(s).buckets.is_empty()));
    }
}
