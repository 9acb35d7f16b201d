//! Object ids: a prefix plus 24 alphanumerics, drawn with nanoid from a
//! seeded stream so a run with `--seed` hands out the same ids every time.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

const ALPHANUMERIC: [char; 62] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I',
    'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b',
    'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u',
    'v', 'w', 'x', 'y', 'z',
];

/// SplitMix64: tiny, fast and good enough to draw ids and outcomes from.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    // nanoid takes a plain `fn` as its byte source, so the seeded stream
    // for the id being drawn lives here for the length of one call.
    static STREAM: Cell<u64> = const { Cell::new(0) };
}

fn seeded_bytes(size: usize) -> Vec<u8> {
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

/// Draws `prefix` + 24 alphanumerics from (seed, n).
fn draw(prefix: &str, seed: u64, n: u64, len: usize) -> String {
    STREAM.with(|s| s.set(splitmix64(seed ^ splitmix64(n))));
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.push_str(&nanoid::format(seeded_bytes, &ALPHANUMERIC, len));
    id
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
            _ => 24,
        }
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
    pub fn next(&self, kind: IdKind) -> (u64, String) {
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
        (n, draw(kind.prefix(), stream, n, kind.len()))
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
        let mut state = self.seed ^ 0x7265_715f ^ splitmix64(n);
        let mut i = 4;
        while i < id.len() {
            state = splitmix64(state);
            for byte in state.to_le_bytes() {
                // 62 of 64 six-bit values map to a character; skip the rest
                // so every character is equally likely.
                let v = (byte & 63) as usize;
                if v < ALPHANUMERIC.len() && i < id.len() {
                    id[i] = ALPHANUMERIC[v] as u8;
                    i += 1;
                }
            }
        }
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
}
