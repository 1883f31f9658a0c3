//! What each connection is doing, published for the listener: when every slot is taken, it
//! closes an idle or stalled connection instead of turning a new client away. Kept apart from
//! the HTTP framing so that the server's state can hold the slots without depending on it.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a blocked read or write wakes up to check for shutdown.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// Whether a socket call with a [`POLL`] timeout merely timed out (or was interrupted): the
/// caller checks for shutdown and tries again.
pub(crate) fn is_poll_expiry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// What a connection's thread is doing, as the listener sees it when it looks for a connection
/// to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Phase {
    /// Starting, or handling a request (latency, faults, the service): never closed to make
    /// room.
    Busy = 0,
    /// Waiting for a request, with none of it received for a whole poll interval: the
    /// cheapest to close. A connection is not idle before its thread has looked, or a request
    /// already waiting in the kernel's buffer would be lost.
    Idle = 1,
    /// Receiving a request.
    Reading = 2,
    /// Sending an answer.
    Writing = 3,
    /// Closed by the listener to make room.
    Evicted = 4,
    /// Holding a request in the latency or a `delay` fault, before the service sees it: its
    /// client may long be gone, and nothing is lost by closing it.
    Sleeping = 5,
}

const PHASE_SHIFT: u32 = 60;
const TIME_MASK: u64 = (1 << PHASE_SHIFT) - 1;

/// How long a connection that is receiving or sending must have made no progress before the
/// listener may close it to make room: long enough that no client on a working network is
/// cut off mid-request, short enough that a client trickling bytes cannot hold a slot.
const STALL_GRACE: Duration = Duration::from_secs(1);

/// A connection's socket and its phase with the time the phase began or last made progress
/// (milliseconds since the server started), packed in one word: the listener closes a
/// connection only if the word is still what it judged by, so a thread that has just received
/// a request is never cut off for being idle.
pub(crate) struct Watch {
    pub(crate) stream: TcpStream,
    pub(crate) word: AtomicU64,
}

/// A connection as the listener tracks it.
pub(crate) struct Slot {
    pub(crate) handle: JoinHandle<()>,
    /// Weak, so that the socket closes as soon as its thread lets go of it.
    pub(crate) watch: Weak<Watch>,
}

impl Slot {
    /// Whether the connection still holds one of the server's slots.
    pub(crate) fn is_open(&self) -> bool {
        !self.handle.is_finished() && self.watch.upgrade().is_some_and(|w| !w.evicted())
    }

    /// Whether the connection is waiting for a request with nothing received.
    pub(crate) fn is_idle(&self) -> bool {
        self.watch.upgrade().is_some_and(|w| w.is_idle())
    }
}

/// The thread's connection was closed by the listener.
#[derive(Debug)]
pub(crate) struct Evicted;

impl Watch {
    pub(crate) fn pack(phase: Phase, at_ms: u64) -> u64 {
        ((phase as u64) << PHASE_SHIFT) | (at_ms & TIME_MASK)
    }

    fn phase_of(word: u64) -> Phase {
        match word >> PHASE_SHIFT {
            0 => Phase::Busy,
            1 => Phase::Idle,
            2 => Phase::Reading,
            3 => Phase::Writing,
            5 => Phase::Sleeping,
            _ => Phase::Evicted,
        }
    }

    /// Records the thread's phase, unless the listener closed the connection first.
    pub(crate) fn set(&self, phase: Phase, at_ms: u64) -> Result<(), Evicted> {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (Self::phase_of(w) != Phase::Evicted).then(|| Self::pack(phase, at_ms))
            })
            .map(drop)
            .map_err(|_| Evicted)
    }

    pub(crate) fn evicted(&self) -> bool {
        Self::phase_of(self.word.load(Ordering::Acquire)) == Phase::Evicted
    }

    /// Whether the connection is waiting for a request with nothing received.
    pub(crate) fn is_idle(&self) -> bool {
        Self::phase_of(self.word.load(Ordering::Acquire)) == Phase::Idle
    }

    /// How eager the listener is to close this connection, lower first: an idle one by the
    /// time it became idle, then one stalled past [`STALL_GRACE`] by its last progress, then
    /// one held in a delay for longer than that. `None` for one that is busy or progressing.
    /// The word judged by comes along for [`Self::evict`].
    pub(crate) fn eviction_rank(&self, now_ms: u64) -> Option<((u8, u64), u64)> {
        let word = self.word.load(Ordering::Acquire);
        let since = word & TIME_MASK;
        let grace = u64::try_from(STALL_GRACE.as_millis()).unwrap_or(u64::MAX);
        match Self::phase_of(word) {
            Phase::Idle => Some(((0, since), word)),
            Phase::Reading | Phase::Writing if now_ms.saturating_sub(since) >= grace => {
                Some(((1, since), word))
            }
            Phase::Sleeping if now_ms.saturating_sub(since) >= grace => Some(((2, since), word)),
            _ => None,
        }
    }

    /// Closes the connection if it is still in the state `judged` was read from. Shutting the
    /// socket down wakes its thread at once (its read sees the end, its write fails) and tells
    /// the client, which sees an ordinary close of an idle keep-alive connection.
    pub(crate) fn evict(&self, judged: u64) -> bool {
        let evicted = Self::pack(Phase::Evicted, 0);
        let won = self
            .word
            .compare_exchange(judged, evicted, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if won {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
        won
    }
}
