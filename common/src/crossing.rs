//! How the descriptors inside a value (a [`Connection`](crate::Connection),
//! a [`Queue`](crate::Queue), a [`Lock`](crate::Lock)) cross to a spawned
//! child.
//!
//! Under fork the child is a copy of the parent and has every descriptor
//! already. Under spawn the child is a new run of the binary, so while
//! [`Process::with_args`](crate::Process::with_args) encodes its arguments
//! (or [`PoolBuilder::initializer_with`](crate::PoolBuilder::initializer_with)
//! its initializer's), each descriptor met is duplicated into a list and
//! encoded as its position there; the list goes to the child beside the
//! encoded arguments (`SCM_RIGHTS` on the socket that starts it, as
//! Python's spawn duplicates handles for its children), and the child's
//! decoding takes each descriptor back by position. A forked pool worker
//! installs copies of the initializer's list the same way, so that the
//! argument decodes alike under every method. A descriptor encoded
//! anywhere else (in a pool task, say) is refused with a clear error,
//! since nothing could carry it.
//!
//! Types use it as `#[serde(with = "crate::crossing")]` on a field that is
//! a descriptor.

use std::cell::{Cell, RefCell};
use std::os::fd::{AsFd, OwnedFd};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

thread_local! {
    /// While arguments for a child are encoded: the descriptors met so far.
    static OUTGOING: RefCell<Option<Vec<OwnedFd>>> = const { RefCell::new(None) };
    /// While a spawned child decodes its arguments: the descriptors that
    /// came with them, each taken once.
    static INCOMING: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
    /// Why the last descriptor was refused, which postcard's error drops.
    static REFUSED: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// What encoding a descriptor anywhere else says.
const REFUSAL: &str = "what holds a descriptor (a Lock, Queue, Value, Event, Connection...) can \
                       cross to a child only as an argument of Process::with_args or of a \
                       pool's initializer (PoolBuilder::initializer_with), not in a task";

/// Why the last attempt to encode a descriptor outside
/// [`Process::with_args`](crate::Process::with_args) or an initializer's
/// argument failed, once.
pub(crate) fn take_refusal() -> Option<&'static str> {
    REFUSED.take()
}

/// Runs `encode`, collecting a duplicate of every descriptor it serializes.
pub(crate) fn collect_fds<R>(encode: impl FnOnce() -> R) -> (R, Vec<OwnedFd>) {
    let previous = OUTGOING.replace(Some(Vec::new()));
    let result = encode();
    let fds = OUTGOING.replace(previous).unwrap_or_default();
    (result, fds)
}

/// Makes `fds` the descriptors that values decoded from now on take.
pub(crate) fn install_fds(fds: Vec<OwnedFd>) {
    INCOMING.set(fds.into_iter().map(Some).collect());
}

/// Encodes descriptor `fd` as its position among those collected.
pub(crate) fn serialize<T: AsFd, S: Serializer>(fd: &T, serializer: S) -> Result<S::Ok, S::Error> {
    let index = OUTGOING.with_borrow_mut(|outgoing| {
        let Some(list) = outgoing.as_mut() else {
            REFUSED.set(Some(REFUSAL));
            return Err(S::Error::custom(REFUSAL));
        };
        let fd = fd
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| S::Error::custom(format!("cannot duplicate a descriptor: {e}")))?;
        list.push(fd);
        Ok(list.len() - 1)
    })?;
    serializer.serialize_u64(index as u64)
}

/// Takes the descriptor whose position was encoded.
pub(crate) fn deserialize<'de, T: From<OwnedFd>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let index = usize::try_from(u64::deserialize(deserializer)?)
        .map_err(|_| D::Error::custom("a descriptor's position is out of range"))?;
    INCOMING
        .with_borrow_mut(|incoming| incoming.get_mut(index).and_then(Option::take))
        .map(T::from)
        .ok_or_else(|| D::Error::custom("no descriptor came for this value"))
}
