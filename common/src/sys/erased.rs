//! [`ErasedFn`]: a function another process running this binary can call.

use std::sync::atomic::AtomicU8;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;

/// A `fn(A) -> R` that another process running this binary can call, sent
/// to it as offsets from a fixed point of the binary.
///
/// # Why this is sound
///
/// A function pointer is an address in the code of this binary. A child made
/// by `fork` has the very same mapping, so the address names the same
/// function there; a child made by `spawn` runs the same file (it executes
/// `/proc/self/exe`), mapped at another base address (ASLR) but with the same
/// layout, so the function lies at the same offset from any fixed point of
/// the image. [`ErasedFn`] therefore carries offsets from [`ANCHOR`], and a
/// `layout` value (the distance between two statics in different sections)
/// that [`ErasedFn::call`] compares with its own, refusing to run if the
/// receiver's image is laid out differently, as another binary's would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ErasedFn {
    layout: usize,
    shim: usize,
    func: usize,
    /// Whether the shim is a [`ChunkShim`] (a pool's: many items at once)
    /// rather than a [`Shim`].
    chunked: bool,
}

/// What a pool worker hands a chunk shim: how many items, their encodings
/// one after another (or, when they are large byte vectors, where to take
/// each from, read into a vector of its own), where to say how far it is,
/// and where a lone large byte vector result is handed over whole (see
/// `pool::chunk`).
pub(crate) struct Chunk<'a> {
    pub(crate) count: usize,
    pub(crate) payload: &'a [u8],
    pub(crate) vectors: Option<&'a dyn Fn() -> Result<Vec<u8>, String>>,
    pub(crate) progress: &'a dyn Fn(u64),
    pub(crate) lone: &'a std::cell::Cell<Option<Vec<u8>>>,
}

/// The signature of a chunk shim: the erased function's address, the
/// chunk, and where its answer goes (see `pool::chunk`).
type ChunkShim = fn(usize, &Chunk<'_>, &mut Vec<u8>);

/// What a chunk shim hands the function to once it is restored: the code
/// that runs it over a chunk's items and writes the answer (the pool's, in
/// `pool::chunk`). It is a type parameter of [`ErasedFn::chunked`], so
/// that this file need not know the pool's answers.
pub(crate) trait RunChunk {
    /// Runs `call` on each item of `chunk` and writes the answer after
    /// what `answer` holds; `call` fails an item where the function
    /// returned an error (see [`ErasedFn::chunked_fallible`]).
    fn run<A, R>(call: impl Fn(A) -> Result<R, Failure>, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static;
}

/// What a function that returns `Result` returned as its error: the
/// error's message (its `Display`) and its encoding, for the caller to
/// decode if it knows the type.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) error: Vec<u8>,
}

impl Failure {
    fn of<E: Serialize + std::fmt::Display>(error: &E) -> Failure {
        Failure {
            message: error.to_string(),
            error: postcard::to_stdvec(error).unwrap_or_default(),
        }
    }
}

/// The signature every [`ErasedFn`] shim has: the erased function's address
/// and the encoded argument in, the encoded result out.
type Shim = fn(usize, &[u8]) -> Result<Vec<u8>, String>;

/// A fixed point of this binary's image. A static has one address, whereas
/// a function may have several: the compiler can copy a small function into
/// each crate that uses it, and then `f as usize` differs between crates.
static ANCHOR: u8 = 0;

/// A second fixed point, in a writable section, far from [`ANCHOR`]'s.
static LAYOUT_PROBE: AtomicU8 = AtomicU8::new(0);

fn anchor() -> usize {
    std::ptr::addr_of!(ANCHOR) as usize
}

fn layout() -> usize {
    (std::ptr::addr_of!(LAYOUT_PROBE) as usize).wrapping_sub(anchor())
}

/// An address as an offset from the anchor, and back.
fn offset(address: usize) -> usize {
    address.wrapping_sub(anchor())
}

fn address(offset: usize) -> usize {
    anchor().wrapping_add(offset)
}

fn shim<A: DeserializeOwned, R: Serialize>(func: usize, arg: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: `func` came from `ErasedFn::new::<A, R>`, which stored a
    // `fn(A) -> R` together with this very instantiation of `shim`, and
    // `ErasedFn::call` checked that this process's image is laid out as the
    // sender's, so the rebased address is that function's.
    let func = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    let arg: A =
        postcard::from_bytes(arg).map_err(|e| format!("cannot decode the argument: {e}"))?;
    postcard::to_stdvec(&func(arg)).map_err(|e| format!("cannot encode the result: {e}"))
}

fn shim_nullary(func: usize, _: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: as in `shim`, for a `fn()` stored by `ErasedFn::nullary`.
    let func = unsafe { std::mem::transmute::<usize, fn()>(func) };
    func();
    Ok(Vec::new())
}

fn chunk_shim<A, R, X: RunChunk>(func: usize, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
{
    // SAFETY: as in `shim`, for a `fn(A) -> R` stored by `ErasedFn::chunked`.
    let func = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    X::run(|a| Ok(func(a)), chunk, answer);
}

fn chunk_shim_fallible<A, R, E, X: RunChunk>(func: usize, chunk: &Chunk<'_>, answer: &mut Vec<u8>)
where
    A: DeserializeOwned + 'static,
    R: Serialize + 'static,
    E: Serialize + std::fmt::Display,
{
    // SAFETY: as in `shim`, for a `fn(A) -> Result<R, E>` stored by
    // `ErasedFn::chunked_fallible`.
    let func = unsafe { std::mem::transmute::<usize, fn(A) -> Result<R, E>>(func) };
    X::run(|a| func(a).map_err(|e| Failure::of(&e)), chunk, answer);
}

impl ErasedFn {
    fn from_addresses(shim: Shim, func: usize) -> ErasedFn {
        ErasedFn {
            layout: layout(),
            shim: offset(shim as usize),
            func: offset(func),
            chunked: false,
        }
    }

    fn from_chunk_shim(shim: ChunkShim, func: usize) -> ErasedFn {
        ErasedFn {
            layout: layout(),
            shim: offset(shim as usize),
            func: offset(func),
            chunked: true,
        }
    }

    /// Erases `func` for a pool: called on a chunk of items at once (see
    /// [`ErasedFn::call_chunk`]), which `X` runs it over.
    pub(crate) fn chunked<A, R, X: RunChunk>(func: fn(A) -> R) -> ErasedFn
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        ErasedFn::from_chunk_shim(chunk_shim::<A, R, X>, func as usize)
    }

    /// Erases `func`, which returns `Result`, for a pool: an item whose
    /// call returns an error fails with the error's message (see
    /// [`Failure`]).
    pub(crate) fn chunked_fallible<A, R, E, X: RunChunk>(func: fn(A) -> Result<R, E>) -> ErasedFn
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: Serialize + std::fmt::Display,
    {
        ErasedFn::from_chunk_shim(chunk_shim_fallible::<A, R, E, X>, func as usize)
    }

    /// Runs the function over `chunk`, writing its answer after what
    /// `answer` holds. An error when the function was not made by
    /// [`ErasedFn::chunked`] here (another binary's, or not a chunk one).
    pub(crate) fn call_chunk(self, chunk: &Chunk<'_>, answer: &mut Vec<u8>) -> Result<(), String> {
        if self.layout != layout() {
            return Err("the function was sent by a process running another binary".into());
        }
        if !self.chunked {
            return Err("the function was not erased for a pool".into());
        }
        // SAFETY: `shim` is the offset of a `ChunkShim` stored by
        // `from_chunk_shim` (checked by `chunked`), and the layout check
        // shows that this image is laid out as the sender's.
        let shim = unsafe { std::mem::transmute::<usize, ChunkShim>(address(self.shim)) };
        shim(address(self.func), chunk, answer);
        Ok(())
    }

    /// Erases `func`'s type; `A` and `R` are remembered by the shim.
    pub(crate) fn new<A: DeserializeOwned, R: Serialize>(func: fn(A) -> R) -> ErasedFn {
        ErasedFn::from_addresses(shim::<A, R>, func as usize)
    }

    /// Erases a function of no arguments, called with an encoded `()`.
    pub(crate) fn nullary(func: fn()) -> ErasedFn {
        ErasedFn::from_addresses(shim_nullary, func as usize)
    }

    /// Decodes `arg`, calls the function and encodes its result. A panic in
    /// the function unwinds out of this call.
    pub(crate) fn call(self, arg: &[u8]) -> Result<Vec<u8>, String> {
        if self.layout != layout() {
            return Err("the function was sent by a process running another binary".into());
        }
        if self.chunked {
            return Err("the function was erased for a pool's chunks".into());
        }
        // SAFETY: `shim` is the offset of a `Shim` stored by `from_addresses`,
        // and the layout check shows that this image is laid out as the
        // sender's, so the rebased address is that shim.
        let shim = unsafe { std::mem::transmute::<usize, Shim>(address(self.shim)) };
        shim(address(self.func), arg)
    }
}
