//! A collection's map by id, in two parts. An object whose id carries its
//! own sequence number (every object the engine makes: see
//! `domain::ids`) is kept in sorted runs by that number, so storing it is
//! an append at the end of a run instead of a write to a random place in
//! a hash table of millions of ids (the cache and TLB misses of that write
//! were most of what storing an object cost under load). Any other id
//! (fixtures, state files from before) goes to the hash map. A lookup
//! decodes the id, tries the runs and compares the whole id, then tries
//! the hash map.

use super::collection::Record;
use super::id_map::{read, write, IdMap};
use super::runs::Runs;
use crate::domain::ids::sequence_of;
use std::sync::{Arc, RwLock};

/// Shards of the runs, by sequence number: each still sees its numbers in
/// order, and two workers rarely want the same lock.
const SHARDS: u64 = 16;

/// One shard of the runs: objects by the number their id carries.
type Shard<T> = RwLock<Runs<u64, Arc<T>>>;

pub struct ById<T> {
    ours: Box<[Shard<T>]>,
    other: IdMap<Arc<T>>,
}

impl<T> Default for ById<T> {
    fn default() -> Self {
        ById {
            ours: (0..SHARDS).map(|_| RwLock::new(Runs::default())).collect(),
            other: IdMap::default(),
        }
    }
}

impl<T: Record> ById<T> {
    fn shard(&self, n: u64) -> &Shard<T> {
        &self.ours[(n % SHARDS) as usize]
    }

    /// The number `item` is kept under in the runs: its own, if its id
    /// carries it.
    fn own_number(item: &T) -> Option<u64> {
        sequence_of(item.id()).filter(|&n| n == item.sort_key().1)
    }

    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        if let Some(n) = sequence_of(id) {
            let runs = read(self.shard(n));
            if let Some(v) = runs.get(&n).filter(|v| &**v.id() == id) {
                return Some(v.clone());
            }
        }
        self.other.get(id)
    }

    /// Inserts `item` under its id, running `then` on it while the id's
    /// lock is held; `false` (and nothing changes) if the id is taken.
    pub fn insert_new_with(&self, item: Arc<T>, then: impl FnOnce(&Arc<T>)) -> bool {
        if let Some(n) = sequence_of(item.id()) {
            let mut runs = write(self.shard(n));
            match runs.get(&n) {
                Some(v) if v.id() == item.id() => return false,
                None if Self::own_number(&item) == Some(n) => {
                    then(&item);
                    runs.insert(n, item);
                    return true;
                }
                // The number is another object's, or not this one's own.
                _ => {}
            }
        }
        self.other.insert_new_with(item.id().clone(), item, then)
    }

    /// Runs `f` on the object `id` under its lock; `None` if there is no
    /// such object.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut Arc<T>) -> R) -> Option<R> {
        if let Some(n) = sequence_of(id) {
            let mut runs = write(self.shard(n));
            if let Some(v) = runs.get_mut(&n).filter(|v| &**v.id() == id) {
                return Some(f(v));
            }
        }
        self.other.update(id, f)
    }

    pub fn remove(&self, id: &str) -> Option<Arc<T>> {
        if let Some(n) = sequence_of(id) {
            let mut runs = write(self.shard(n));
            if runs.get(&n).is_some_and(|v| &**v.id() == id) {
                return runs.remove(&n);
            }
        }
        self.other.remove(id)
    }

    /// Calls `f` with every object, in no order, one lock at a time.
    pub fn for_each(&self, mut f: impl FnMut(&Arc<T>)) {
        for shard in self.ours.iter() {
            let runs = read(shard);
            for (_, v) in runs.range(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded) {
                f(v);
            }
        }
        self.other.for_each(|_, v| f(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{IdGenerator, IdKind};
    use crate::store::collection::SortKey;

    #[derive(Clone, Debug)]
    struct Item {
        id: Arc<str>,
        seq: u64,
        value: u32,
    }

    impl Record for Item {
        fn id(&self) -> &Arc<str> {
            &self.id
        }
        fn sort_key(&self) -> SortKey {
            (0, self.seq)
        }
    }

    fn item(id: &str, seq: u64) -> Arc<Item> {
        Arc::new(Item {
            id: Arc::from(id),
            seq,
            value: 0,
        })
    }

    #[test]
    fn our_ids_and_others_live_side_by_side() {
        let map: ById<Item> = ById::default();
        let ids = IdGenerator::new(9);
        let ours: Vec<Arc<Item>> = (0..2_000)
            .map(|_| {
                let (seq, id) = ids.next(IdKind::Topup);
                item(&id, seq)
            })
            .collect();
        for it in &ours {
            assert!(map.insert_new_with(it.clone(), |_| {}));
        }
        // Kept in the runs, not the hash map.
        assert_eq!(map.other.get(ours[7].id()).map(|_| ()), None);
        // Ids made elsewhere: a fixture's, one that decodes to a number
        // one of ours holds, and one of our shape whose number is not its
        // sequence (a state file's object with a kept id).
        let fixture = item("tu_xxxxxxxxxxxxx", 5);
        let mut clash = ours[3].id().to_string();
        clash.replace_range(clash.len() - 1.., "#");
        let clash = item(&clash, 77_777);
        let kept = item(ours[9].id(), 123_456);
        assert!(map.insert_new_with(fixture.clone(), |_| {}));
        assert!(map.insert_new_with(clash.clone(), |_| {}));
        assert!(!map.insert_new_with(kept, |_| {}), "the id is taken");
        assert!(!map.insert_new_with(ours[4].clone(), |_| {}), "taken");
        assert!(!map.insert_new_with(fixture.clone(), |_| {}), "taken");
        for it in ours.iter().chain([&fixture, &clash]) {
            assert_eq!(map.get(it.id()).map(|v| v.seq), Some(it.seq));
        }
        assert!(map.get("tu_1000000AxxxxxxxxxxxxxxxX").is_none());
        // Changed and removed in either part.
        for id in [ours[3].id(), clash.id(), fixture.id()] {
            assert_eq!(map.update(id, |v| Arc::make_mut(v).value = 7), Some(()));
            assert_eq!(map.get(id).map(|v| v.value), Some(7));
        }
        assert_eq!(map.get(ours[2].id()).map(|v| v.value), Some(0));
        assert!(map.remove(clash.id()).is_some());
        assert!(map.get(clash.id()).is_none());
        assert_eq!(map.get(ours[3].id()).map(|v| v.value), Some(7));
        assert!(map.remove(ours[3].id()).is_some());
        assert!(map.remove(ours[3].id()).is_none());
        let mut seen = 0;
        map.for_each(|_| seen += 1);
        assert_eq!(seen, 2_000 - 1 + 1);
    }
}
