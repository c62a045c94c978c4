//! [`Initializer`]: what each worker of a pool runs first, with its
//! argument, and the descriptors in that argument (a `Lock`, a `Queue`, a
//! `Value`...), which every worker gets as it starts, replacements too:
//! a forked worker a copy of each, a spawned one each sent with its boot
//! frame (`SCM_RIGHTS`), as [`Process::with_args`](crate::Process::with_args)
//! does for its child (see `crossing`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::sys::ErasedFn;

/// A pool's initializer, its encoded argument and the descriptors the
/// argument holds, kept for the pool's life.
#[derive(Debug)]
pub(super) struct Initializer {
    pub(super) func: ErasedFn,
    pub(super) args: Vec<u8>,
    pub(super) fds: Vec<OwnedFd>,
}

impl Initializer {
    /// `initializer()`.
    pub(super) fn nullary(initializer: fn()) -> Initializer {
        Initializer {
            func: ErasedFn::nullary(initializer),
            args: Vec::new(),
            fds: Vec::new(),
        }
    }

    /// `initializer(args)`, with the descriptors in `args` collected.
    ///
    /// # Errors
    ///
    /// [`Error::Codec`] naming `A` when `args` cannot be encoded.
    pub(super) fn with_args<A>(initializer: fn(A), args: &A) -> Result<Initializer>
    where
        A: Serialize + DeserializeOwned + 'static,
    {
        let (encoded, fds) = crate::crossing::collect_fds(|| postcard::to_stdvec(args));
        let args = encoded.map_err(|error| Error::Codec {
            index: 0,
            message: format!(
                "the initializer's argument, a {}, cannot be encoded: {error}",
                std::any::type_name::<A>()
            ),
        })?;
        Ok(Initializer {
            func: ErasedFn::new(initializer),
            args,
            fds,
        })
    }

    /// The descriptors, to send to a worker started afresh.
    pub(super) fn borrowed_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.fds.iter().map(AsFd::as_fd)
    }

    /// In a forked worker: makes copies of the descriptors the ones its
    /// argument takes when decoded, then runs it; whether it returned.
    pub(super) fn run_forked(&self) -> bool {
        let copies: std::io::Result<Vec<OwnedFd>> =
            self.fds.iter().map(OwnedFd::try_clone).collect();
        match copies {
            Ok(copies) => {
                crate::crossing::install_fds(copies);
                self.func.call(&self.args).is_ok()
            }
            Err(_) => false,
        }
    }
}
