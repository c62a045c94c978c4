//! The kinds of shared memory file this crate makes, each named for its
//! kind so that an observer can tell them apart in `/proc/PID/maps` (see
//! [`layout`](crate::layout), which describes what lies in each).

use std::ffi::CStr;

/// The kinds of shared memory file, by the name each carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Memory {
    /// A [`Value`](crate::Value)'s number.
    Value,
    /// An [`Array`](crate::Array)'s elements.
    Array,
    /// A [`Queue`](crate::Queue)'s ring.
    Queue,
    /// A lock's word ([`Lock`](crate::Lock), [`RLock`](crate::RLock),
    /// the lock of a value or a queue).
    Lock,
    /// Anything else this crate shares (events, barriers, a pool's
    /// progress).
    Other,
}

impl Memory {
    /// Every kind.
    pub const ALL: [Memory; 5] = [
        Memory::Value,
        Memory::Array,
        Memory::Queue,
        Memory::Lock,
        Memory::Other,
    ];

    /// The name its file is made with.
    pub fn file_name(self) -> &'static CStr {
        match self {
            Memory::Value => c"common-value",
            Memory::Array => c"common-array",
            Memory::Queue => c"common-queue",
            Memory::Lock => c"common-lock",
            Memory::Other => c"common-shared",
        }
    }

    /// The kind a mapping's path in `/proc/PID/maps` names
    /// (`/memfd:common-value (deleted)`), if it is one of this crate's.
    pub fn of_mapping(path: &str) -> Option<Memory> {
        let name = path.strip_prefix("/memfd:")?;
        let name = name.strip_suffix(" (deleted)").unwrap_or(name);
        Memory::ALL
            .into_iter()
            .find(|kind| kind.file_name().to_bytes() == name.as_bytes())
    }
}
