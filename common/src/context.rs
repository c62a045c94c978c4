//! [`Context`]: a start method to make processes and pools with, like the
//! object `multiprocessing.get_context(method)` returns.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::pool::{Pool, PoolBuilder};
use crate::process::Process;
use crate::start::{StartMethod, get_start_method};

/// Makes processes and pools that start by one method, whatever the
/// program's default, like a context from `multiprocessing.get_context`.
///
/// ```
/// use common::StartMethod;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let context = common::get_context(Some(StartMethod::Forkserver))?;
/// assert_eq!(context.start_method(), StartMethod::Forkserver);
/// let mut process = context.process(|| {});
/// process.start()?;
/// process.join()?;
/// assert_eq!(context.pool(2)?.map(square, [1, 2, 3])?, [1, 4, 9]);
/// # Ok::<(), common::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    method: StartMethod,
}

/// The context of `method`, or of the start method in force for `None`,
/// like `multiprocessing.get_context(method)`.
///
/// # Errors
///
/// [`Error::UnknownStartMethod`](crate::Error::UnknownStartMethod) for
/// `None` when `COMMON_START_METHOD` names no method.
///
/// ```
/// let context = common::get_context(None)?;
/// assert_eq!(context.start_method(), common::get_start_method()?);
/// # Ok::<(), common::Error>(())
/// ```
pub fn get_context(method: Option<StartMethod>) -> Result<Context> {
    Ok(Context {
        method: match method {
            Some(method) => method,
            None => get_start_method()?,
        },
    })
}

impl Context {
    /// The context's start method, like `context.get_start_method()`.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// `context.Process(target=f)`: see [`Process::new`].
    pub fn process(&self, target: fn()) -> Process {
        let mut process = Process::new(target);
        process.set_start_method(self.method);
        process
    }

    /// `context.Process(target=f, args=(a,))`: see [`Process::with_args`].
    pub fn process_with_args<A>(&self, target: fn(A), args: A) -> Process
    where
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        let mut process = Process::with_args(target, args);
        process.set_start_method(self.method);
        process
    }

    /// `context.Pool(n)`: see [`Pool::new`].
    ///
    /// # Errors
    ///
    /// As [`Pool::new`].
    pub fn pool(&self, processes: usize) -> Result<Pool> {
        self.pool_builder().processes(processes).build()
    }

    /// A [`PoolBuilder`] with the context's start method, for the pool's
    /// other settings.
    pub fn pool_builder(&self) -> PoolBuilder {
        Pool::builder().start_method(self.method)
    }
}
