//! Time as the server sees it: the wall clock, or a manual clock that only
//! moves when told to, so tests never sleep.

use crate::domain::time::Millis;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    #[default]
    Real,
    Manual,
}

impl ClockMode {
    /// `real` or `manual`, as the clock endpoints say it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::Real => "real",
            ClockMode::Manual => "manual",
        }
    }
}

#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    /// The manual clock's reading; unused in real mode.
    manual: AtomicI64,
}

pub fn wall_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Clock {
    /// A clock in `mode`; a manual clock starts at `start`, or at the
    /// current whole second, so due times in whole seconds land exactly.
    pub fn new(mode: ClockMode, start: Option<Millis>) -> Self {
        let start = start.unwrap_or_else(|| wall_millis() / 1000 * 1000);
        Clock {
            mode,
            manual: AtomicI64::new(start),
        }
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    pub fn now(&self) -> Millis {
        match self.mode {
            ClockMode::Real => wall_millis(),
            ClockMode::Manual => self.manual.load(Ordering::Acquire),
        }
    }

    /// Sets a manual clock to `at`, where a state file left it (not where
    /// the wall is now: a stopped clock does not move while the server is
    /// down); a real clock reads the wall.
    pub fn restore(&self, at: Millis) {
        if self.mode == ClockMode::Manual {
            self.manual.store(at, Ordering::Release);
        }
    }

    /// Moves a manual clock forward; `None` on a real clock.
    pub fn advance(&self, by: Millis) -> Option<Millis> {
        match self.mode {
            ClockMode::Real => None,
            ClockMode::Manual => {
                // Saturating: a huge step parks the clock at the end of time
                // rather than wrapping it into the past.
                let step = |t: Millis| Some(t.saturating_add(by.max(0)));
                let before = self
                    .manual
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, step)
                    .unwrap_or_else(|t| t);
                Some(before.saturating_add(by.max(0)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_stands_still_until_advanced() {
        let c = Clock::new(ClockMode::Manual, Some(1_000));
        assert_eq!(c.now(), 1_000);
        assert_eq!(c.advance(500), Some(1_500));
        assert_eq!(c.now(), 1_500);
        assert_eq!(Clock::new(ClockMode::Real, None).advance(1), None);
        assert_eq!(c.advance(i64::MAX), Some(i64::MAX));
        assert_eq!(c.now(), i64::MAX);
    }
}
