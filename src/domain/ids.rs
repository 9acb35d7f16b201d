//! Object ids: a prefix plus 24 alphanumerics, the first 8 the object's
//! sequence number (see [`SEQ_CHARS`]) and the rest drawn from a seeded
//! stream, so a run with `--seed` hands out the same ids every time. The
//! drawing is nanoid's (`nanoid::format`: six bits of each byte, the two values
//! past the alphabet skipped), done in place: nanoid takes its bytes from
//! a plain `fn` returning a fresh `Vec` and builds a `String` char by char,
//! which cost a create more than its id's share (two ids per create).
//! A unit test holds the two to the same output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const ALPHANUMERIC: [u8; 62] = *b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SplitMix64: tiny, fast and good enough to draw ids and outcomes from.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `out` with alphanumerics from the stream after `state`, as nanoid
/// does: bytes are drawn `step` at a time (the rest of a drawn word past
/// `step` is dropped), each byte's low six bits pick a character, and the
/// two values past the alphabet are skipped so every character is equally
/// likely.
fn fill(mut state: u64, out: &mut [u8], step: usize) {
    let mut filled = 0;
    loop {
        let mut drawn = 0;
        while drawn < step {
            state = splitmix64(state);
            let take = (step - drawn).min(8);
            for &byte in &state.to_le_bytes()[..take] {
                let v = usize::from(byte & 63);
                if v < ALPHANUMERIC.len() {
                    out[filled] = ALPHANUMERIC[v];
                    filled += 1;
                    if filled == out.len() {
                        return;
                    }
                }
            }
            drawn += take;
        }
    }
}

/// The longest id: a prefix of at most 8 bytes and 32 characters.
const MAX_ID: usize = 40;

/// Characters after an object id's prefix.
const OBJECT_ID_CHARS: usize = 24;

/// The first characters of an object id carry its sequence number, as
/// Stripe's ids begin with a sortable part: base62 (digits, then upper,
/// then lower case, so in ASCII order), most significant first, offset so
/// the first is `1`. Ids of one kind then sort in creation order, and the
/// store finds an object it made by that number (an append, not a random
/// place in a hash table). The other 16 characters are drawn.
const SEQ_CHARS: usize = 8;
const SEQ_OFFSET: u64 = 62u64.pow(7);

/// Draws `prefix` + `len` alphanumerics from (seed, n), the first
/// [`SEQ_CHARS`] of them `n` when `sequenced`.
fn draw(prefix: &str, seed: u64, n: u64, len: usize, sequenced: bool) -> Arc<str> {
    let mut id = [0u8; MAX_ID];
    let p = prefix.len();
    id[..p].copy_from_slice(prefix.as_bytes());
    let mut drawn = p;
    if sequenced {
        let mut v = n.saturating_add(SEQ_OFFSET);
        for slot in id[p..p + SEQ_CHARS].iter_mut().rev() {
            *slot = ALPHANUMERIC[(v % 62) as usize];
            v /= 62;
        }
        drawn += SEQ_CHARS;
    }
    // nanoid's step: 1.6 bytes per character.
    let rest = p + len - drawn;
    fill(
        splitmix64(seed ^ splitmix64(n)),
        &mut id[drawn..p + len],
        8 * rest / 5,
    );
    // ASCII throughout: the prefix is, and so is the alphabet.
    Arc::from(std::str::from_utf8(&id[..p + len]).unwrap_or_default())
}

/// The sequence number an object id carries, if it has the shape of ours
/// (`None` for most ids made elsewhere; one that decodes by chance is
/// told apart by comparing the whole id).
pub fn sequence_of(id: &str) -> Option<u64> {
    let (_, rest) = id.split_once('_')?;
    if rest.len() != OBJECT_ID_CHARS {
        return None;
    }
    let mut v: u64 = 0;
    for &b in &rest.as_bytes()[..SEQ_CHARS] {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        v = v * 62 + u64::from(digit);
    }
    v.checked_sub(SEQ_OFFSET)
}

/// The kinds of object that get ids, each with its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Topup,
    BalanceTransaction,
    Event,
    WebhookEndpoint,
    WebhookSecret,
    Transfer,
    TransferReversal,
    Payment,
    PaymentRefund,
    /// Whop's top-ups are payments.
    WhopPayment,
}

impl IdKind {
    const COUNT: usize = 10;

    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Topup => "tu_",
            IdKind::BalanceTransaction => "txn_",
            IdKind::Event => "evt_",
            IdKind::WebhookEndpoint => "we_",
            IdKind::WebhookSecret => "whsec_",
            IdKind::Transfer => "tr_",
            IdKind::TransferReversal => "trr_",
            IdKind::Payment => "py_",
            IdKind::PaymentRefund => "pyr_",
            IdKind::WhopPayment => "pay_",
        }
    }

    /// Characters after the prefix.
    fn len(self) -> usize {
        match self {
            IdKind::WebhookSecret => 32,
            _ => OBJECT_ID_CHARS,
        }
    }

    /// Whether its ids carry their sequence number: every object's do;
    /// a signing secret's are drawn whole.
    fn sequenced(self) -> bool {
        self != IdKind::WebhookSecret
    }

    /// Whether `id` is of this kind.
    pub fn owns(self, id: &str) -> bool {
        id.starts_with(self.prefix())
    }
}

/// Hands out ids for one server. Each kind of object draws from its own
/// counter and stream, so creating a balance transaction never shifts
/// top-up ids.
#[derive(Debug)]
pub struct IdGenerator {
    seed: u64,
    counters: [AtomicU64; IdKind::COUNT],
    requests: AtomicU64,
}

impl IdGenerator {
    pub fn new(seed: u64) -> Self {
        IdGenerator {
            seed,
            counters: Default::default(),
            requests: AtomicU64::new(0),
        }
    }

    /// The next sequence number and id of `kind`.
    pub fn next(&self, kind: IdKind) -> (u64, Arc<str>) {
        let n = self.counters[kind as usize].fetch_add(1, Ordering::Relaxed);
        // A stream per kind ("txn_", "evt_" in ASCII), so kinds never
        // share ids and seeded runs replay.
        let stream = match kind {
            IdKind::Topup => self.seed,
            IdKind::BalanceTransaction => self.seed ^ 0x7478_6e5f,
            IdKind::Event => self.seed ^ 0x6576_745f,
            IdKind::WebhookEndpoint => self.seed ^ 0x0077_655f,
            IdKind::WebhookSecret => self.seed ^ 0x7768_7365_635f,
            IdKind::Transfer => self.seed ^ 0x0074_725f,
            IdKind::TransferReversal => self.seed ^ 0x7472_725f,
            IdKind::Payment => self.seed ^ 0x0070_795f,
            IdKind::PaymentRefund => self.seed ^ 0x7079_725f,
            IdKind::WhopPayment => self.seed ^ 0x7061_795f,
        };
        (
            n,
            draw(kind.prefix(), stream, n, kind.len(), kind.sequenced()),
        )
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Every kind's counter, then the request counter: what a state file
    /// keeps so that ids drawn after a restart are new.
    pub fn counters(&self) -> (Vec<u64>, u64) {
        (
            self.counters
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            self.requests.load(Ordering::Relaxed),
        )
    }

    /// Moves the counters up to `ids` and `requests` (never back).
    pub fn restore(&self, ids: &[u64], requests: u64) {
        for (c, n) in self.counters.iter().zip(ids) {
            c.fetch_max(*n, Ordering::Relaxed);
        }
        self.requests.fetch_max(requests, Ordering::Relaxed);
    }

    /// `req_` + 14 alphanumerics, as Stripe's request ids. Made on every
    /// request, so drawn straight from the stream without allocating.
    pub fn request(&self) -> [u8; 18] {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let mut id = *b"req_00000000000000";
        // Every byte of each drawn word is used: no step.
        fill(
            self.seed ^ 0x7265_715f ^ splitmix64(n),
            &mut id[4..],
            usize::MAX,
        );
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_determinism() {
        let a = IdGenerator::new(7);
        let b = IdGenerator::new(7);
        let (_, id) = a.next(IdKind::Topup);
        assert_eq!(id.len(), 27);
        assert!(id.starts_with("tu_"));
        assert!(id[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(id, b.next(IdKind::Topup).1);
        assert_ne!(a.next(IdKind::Topup).1, id);
        assert!(a.next(IdKind::Event).1.starts_with("evt_"));
        let r = a.request();
        assert!(r.starts_with(b"req_") && r[4..].iter().all(u8::is_ascii_alphanumeric));
        assert_ne!(a.request(), r);
        assert_ne!(IdGenerator::new(8).next(IdKind::Topup).1, id);
    }

    #[test]
    fn object_ids_carry_their_sequence_and_sort_by_it() {
        let ids = IdGenerator::new(3);
        let mut last = String::new();
        for expected in 0..5_000u64 {
            let (n, id) = ids.next(IdKind::Event);
            assert_eq!(n, expected);
            assert_eq!(sequence_of(&id), Some(n));
            assert!(id.starts_with("evt_1"), "{id}");
            assert!(*id > *last, "{id} after {last}");
            last = id.to_string();
        }
        let big = draw("tu_", 1, 62u64.pow(8) - SEQ_OFFSET - 1, 24, true);
        assert_eq!(sequence_of(&big), Some(62u64.pow(8) - SEQ_OFFSET - 1));
        // Ids made elsewhere: the wrong length, a character past base62,
        // or below the offset.
        assert_eq!(sequence_of("tu_xxxxxxxxxxxxx"), None);
        assert_eq!(sequence_of("tu_1QaF-2AbCdEfGhIjKlMnOp01"), None);
        assert_eq!(sequence_of("tu_0000000AbCdEfGhIjKlMnOp0"), None);
        assert_eq!(sequence_of("no-underscore"), None);
        // A secret is drawn whole.
        let (_, secret) = ids.next(IdKind::WebhookSecret);
        assert_eq!(secret.len(), "whsec_".len() + 32);
    }

    thread_local! {
        static STREAM: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// nanoid's byte source for [`nanoid::format`]: the same stream.
    fn stream_bytes(size: usize) -> Vec<u8> {
        STREAM.with(|s| {
            let mut out = Vec::with_capacity(size);
            while out.len() < size {
                let next = splitmix64(s.get());
                s.set(next);
                out.extend_from_slice(&next.to_le_bytes()[..(size - out.len()).min(8)]);
            }
            out
        })
    }

    #[test]
    fn draws_what_nanoid_draws() {
        let alphabet: Vec<char> = ALPHANUMERIC.iter().map(|&b| char::from(b)).collect();
        for seed in [0, 7, u64::MAX] {
            for n in 0..2_000 {
                for len in [24, 32] {
                    STREAM.with(|s| s.set(splitmix64(seed ^ splitmix64(n))));
                    let expected = nanoid::format(stream_bytes, &alphabet, len);
                    assert_eq!(&*draw("x_", seed, n, len, false), format!("x_{expected}"));
                }
            }
        }
    }
}
