//! What a state file holds: a fixed first line, a header, then records,
//! each framed as `[length: u32 LE][CRC-32 of the payload: u32 LE]` and a
//! JSON payload. A record says what an object (or a clock, or a counter)
//! now is, never how it changed, so replaying one twice does no harm.

use crate::domain::balance_transaction::BalanceTransaction;
use crate::domain::event::Event;
use crate::domain::time::Millis;
use crate::domain::topup::Topup;
use crate::domain::transfer::{Transfer, TransferReversal};
use crate::domain::webhook::WebhookEndpoint;
use crate::store::{AccountId, Attempt, Provider, Saved};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// The first bytes of every state file.
pub const MAGIC: &[u8; 18] = b"topups-mock state\n";

/// The version of the layout below. A file of a later version is refused,
/// never guessed at.
pub const FORMAT: u32 = 1;

/// No single record is larger (a top-up is under 1 KiB; an idempotent
/// answer is bounded by the largest body served).
pub const MAX_RECORD: usize = 64 << 20;

/// Snapshot or journal, and which generation: a journal continues the
/// snapshot of its generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub kind: FileKind,
    pub generation: u64,
    /// The seed the state was made with: a restart without `--seed`
    /// keeps it (and so the command-line endpoints' signing secrets).
    #[serde(default)]
    pub seed: Option<u64>,
    /// When the server that made the state first started: the start-up
    /// world (fixtures) is planned from then again, so a key never
    /// written to sees the same world after a restart.
    #[serde(default)]
    pub started: Option<Millis>,
}

/// What a snapshot says of the server that wrote it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin {
    pub seed: Option<u64>,
    pub started: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Snapshot,
    Journal,
}

/// A stored object as it now is. Adding a resource adds a variant here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Object {
    Topup(Arc<Topup>),
    BalanceTransaction(Arc<BalanceTransaction>),
    Event(Arc<Event>),
    Transfer(Arc<Transfer>),
    TransferReversal(Arc<TransferReversal>),
    WebhookEndpoint(Arc<WebhookEndpoint>),
}

/// Which collection an object lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Topup,
    BalanceTransaction,
    Event,
    Transfer,
    TransferReversal,
    WebhookEndpoint,
}

impl Object {
    pub fn kind(&self) -> Kind {
        match self {
            Object::Topup(_) => Kind::Topup,
            Object::BalanceTransaction(_) => Kind::BalanceTransaction,
            Object::Event(_) => Kind::Event,
            Object::Transfer(_) => Kind::Transfer,
            Object::TransferReversal(_) => Kind::TransferReversal,
            Object::WebhookEndpoint(_) => Kind::WebhookEndpoint,
        }
    }
}

/// One record. Accounts are named by a number given when each is made
/// (`acct`), so writes to an account reset meanwhile never reach the
/// account made in its place.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Op {
    /// An account exists (made, or as it was at a snapshot).
    Account {
        acct: u64,
        id: AccountId,
    },
    /// An account was reset.
    Forget {
        acct: u64,
    },
    Put {
        acct: u64,
        object: Object,
    },
    Remove {
        acct: u64,
        kind: Kind,
        id: Arc<str>,
    },
    /// A saved idempotent answer.
    Idempotent {
        acct: u64,
        key: Box<str>,
        saved: Arc<Saved>,
    },
    /// The `n`th delivery attempt the account logged.
    Attempt {
        acct: u64,
        n: u64,
        attempt: Box<Attempt>,
    },
    /// An API key's clock offset, as it now is (a new clock says 0).
    KeyClock {
        provider: Provider,
        key: Box<str>,
        offset: Millis,
    },
    /// An account's funds were announced available up to `at`
    /// (`balance.available`).
    Announced {
        acct: u64,
        at: Millis,
    },
    /// The server's manual clock.
    ServerClock {
        at: Millis,
    },
    /// Every counter ids are drawn from, and the account numbers. In a
    /// journal it ends a batch, which began at byte `batch` of the file
    /// (0 in a snapshot).
    Counters {
        ids: Vec<u64>,
        requests: u64,
        accounts: u64,
        #[serde(default)]
        batch: u64,
    },
}

/// Appends one framed record to `out`.
pub fn frame<T: Serialize>(out: &mut Vec<u8>, value: &T) -> io::Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
    let payload = &out[start + 8..];
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| (*l as usize) <= MAX_RECORD)
        .ok_or_else(|| io::Error::other("a record larger than 64 MiB"))?;
    let crc = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The start of a file: the first line and the header record.
pub fn file_start(kind: FileKind, generation: u64, origin: Origin) -> io::Result<Vec<u8>> {
    let mut out = MAGIC.to_vec();
    frame(
        &mut out,
        &Header {
            format: FORMAT,
            kind,
            generation,
            seed: origin.seed,
            started: origin.started,
        },
    )?;
    Ok(out)
}

/// What reading the next record found.
pub enum Next {
    Record(Vec<u8>),
    /// The file ends cleanly.
    End,
    /// The file ends inside a record (its `bytes` so far): a write cut
    /// short.
    Torn {
        bytes: usize,
    },
    /// A whole record whose checksum is wrong.
    Damaged {
        offset: u64,
    },
}

/// Reads framed records from a file, tracking the offset for messages.
pub struct Reader<R> {
    inner: R,
    pub offset: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader { inner, offset: 0 }
    }

    /// Reads up to `buf.len()` bytes; fewer only at the end of the file.
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }

    /// Checks the first line; `false` if this is not a state file.
    pub fn magic(&mut self) -> io::Result<bool> {
        let mut m = [0u8; MAGIC.len()];
        Ok(self.fill(&mut m)? == m.len() && &m == MAGIC)
    }

    pub fn next(&mut self) -> io::Result<Next> {
        let start = self.offset;
        let mut head = [0u8; 8];
        match self.fill(&mut head)? {
            0 => return Ok(Next::End),
            8 => {}
            n => return Ok(Next::Torn { bytes: n }),
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_RECORD {
            // A length no writer makes: damage, or the torn start of one.
            let mut rest = Vec::new();
            self.inner.read_to_end(&mut rest)?;
            return Ok(if rest.len() < len {
                Next::Torn {
                    bytes: 8 + rest.len(),
                }
            } else {
                Next::Damaged { offset: start }
            });
        }
        let mut payload = vec![0u8; len];
        let got = self.fill(&mut payload)?;
        if got < len {
            return Ok(Next::Torn { bytes: 8 + got });
        }
        if crc32fast::hash(&payload) != crc {
            return Ok(Next::Damaged { offset: start });
        }
        Ok(Next::Record(payload))
    }
}

/// Writes `bytes` and makes them durable.
pub fn write_durably(file: &mut std::fs::File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_data()
}

/// Response bodies kept as text (they are JSON), not as arrays of numbers.
pub mod bytes_as_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        String::deserialize(d).map(String::into_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, Next) {
        let mut r = Reader::new(bytes);
        assert!(r.magic().unwrap());
        let mut records = Vec::new();
        loop {
            match r.next().unwrap() {
                Next::Record(p) => records.push(p),
                other => return (records, other),
            }
        }
    }

    fn two_records() -> Vec<u8> {
        let mut bytes = file_start(FileKind::Journal, 3, Origin::default()).unwrap();
        frame(&mut bytes, &Op::ServerClock { at: 1 }).unwrap();
        frame(&mut bytes, &Op::ServerClock { at: 2 }).unwrap();
        bytes
    }

    #[test]
    fn records_read_back_in_order() {
        let (records, end) = read_all(&two_records());
        assert!(matches!(end, Next::End));
        assert_eq!(records.len(), 3);
        let h: Header = serde_json::from_slice(&records[0]).unwrap();
        assert_eq!(
            (h.format, h.kind, h.generation),
            (FORMAT, FileKind::Journal, 3)
        );
        let op: Op = serde_json::from_slice(&records[2]).unwrap();
        assert!(matches!(op, Op::ServerClock { at: 2 }));
    }

    #[test]
    fn a_cut_is_torn_and_a_flipped_byte_is_damage() {
        let whole = two_records();
        // Cut anywhere inside the last record: torn, the others intact.
        for cut in 1..20 {
            let (records, end) = read_all(&whole[..whole.len() - cut]);
            assert_eq!(records.len(), 2, "cut {cut}");
            assert!(matches!(end, Next::Torn { .. }), "cut {cut}");
        }
        // A flipped byte in the middle record: its checksum fails.
        let mut bad = whole.clone();
        let at = whole.len() - 32 - 10; // inside the middle record's JSON
        bad[at] ^= 1;
        let (records, end) = read_all(&bad);
        assert_eq!(records.len(), 1);
        assert!(matches!(end, Next::Damaged { .. }));
        // A length no writer makes, with the bytes to back it: damage.
        let mut huge = whole[..MAGIC.len()].to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 4]);
        let mut r = Reader::new(&huge[..]);
        assert!(r.magic().unwrap());
        assert!(matches!(r.next().unwrap(), Next::Torn { .. }));
        assert!(!Reader::new(&b"not a state file at all"[..])
            .magic()
            .unwrap());
    }
}
