//! [`Function`]: a function of several parameters given its arguments as
//! one tuple, as Python's `Process(target=f, args=(a, b))` calls `f(a, b)`,
//! and made into a `fn` of that tuple, which [`ErasedFn`](super::ErasedFn)
//! can send to another process of this binary.
//!
//! # Why a function item can be sent although it is a type, not an address
//!
//! A `fn` item (`greet`) and a closure that captures nothing each have a
//! type of their own, of size zero: the type *is* the function. The `fn`
//! that a process is sent here is an instance of a generic trampoline,
//! `spread::<F, ...>`, which makes a value of `F` again from nothing and
//! calls it with the tuple taken apart. Making a value from nothing is
//! sound for a type of size zero that is `Copy` and of which a value
//! exists (the one this trait was called on, in this process or in the one
//! that sent the trampoline, running the same binary): such a value has no
//! bytes, so any is a copy of that one. A `fn` pointer is not zero-sized;
//! one of one parameter is sent as itself, and one of several, like a
//! closure that captures something, can only run in a forked child.

use std::any::Any;

use crate::error::{Error, Result};

/// A function that a [`Process`](crate::Process) or a
/// [`Pool`](crate::Pool) runs with its arguments given as one value, as
/// Python's `args=(a, b)` calls `f(a, b)`: a `fn` (or a closure that
/// captures nothing) of one parameter, given that argument itself, or of 0
/// to 6 parameters, given them as a tuple.
///
/// ```
/// use common::Process;
///
/// fn greet(name: String, count: u32) {
///     for i in 0..count {
///         println!("hello {name} {i}");
///     }
/// }
///
/// let mut p = Process::with_args(greet, ("bob".to_owned(), 3));
/// p.start()?;
/// p.join()?;
/// assert_eq!(p.exitcode(), Some(0));
/// # Ok::<(), common::Error>(())
/// ```
///
/// `Marker` tells the forms apart (a function of one tuple parameter is
/// given the tuple whole); it is inferred, never written. Only what
/// captures nothing can cross to a process started afresh (spawn, the fork server) or to a pool's workers:
/// a closure that captures something, or a `fn` pointer of several
/// parameters, runs in a forked child only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a function of the arguments given",
    label = "not a function of these arguments",
    note = "a function of one parameter is given its argument; one of 0 to 6 parameters is given \
            their tuple, `(a, b)` for `f(a, b)`, each of the parameter's own type (`String`, not `&str`)"
)]
pub trait Function<Args, Marker>: Copy + Send + Sync + 'static {
    /// What the function returns.
    type Output;

    /// Calls the function with `args` taken apart: `f.call((a, b))` is
    /// `f(a, b)`, and `f.call(a)` is `f(a)` for a function of one
    /// parameter.
    fn call(self, args: Args) -> Self::Output;

    /// The function as a `fn` of its arguments in one value, which another
    /// process of this binary can be sent; `None` when it cannot (see the
    /// module docs).
    #[doc(hidden)]
    fn as_fn(self) -> Option<fn(Args) -> Self::Output>;
}

/// `F` again, from its type alone.
///
/// # Safety
///
/// `F` is zero-sized and a value of it exists (see the module docs).
unsafe fn conjure<F: Copy>() -> F {
    debug_assert_eq!(std::mem::size_of::<F>(), 0);
    // SAFETY: reading a zero-sized value reads no bytes, so a dangling
    // (non-null, aligned) pointer is valid for it; the caller vouches that
    // `F` is inhabited (a value of it exists) and `Copy`, so the value
    // read is a copy of that one.
    unsafe { std::ptr::NonNull::<F>::dangling().as_ptr().read() }
}

/// A function of one parameter, given its argument itself.
impl<F, A, R> Function<A, fn(A) -> R> for F
where
    F: Fn(A) -> R + Copy + Send + Sync + 'static,
    A: 'static,
    R: 'static,
{
    type Output = R;

    fn call(self, arg: A) -> R {
        self(arg)
    }

    fn as_fn(self) -> Option<fn(A) -> R> {
        fn direct<F: Fn(A) -> R + Copy, A, R>(arg: A) -> R {
            // SAFETY: `as_fn` hands this out only for a zero-sized `F`,
            // called on a value of it.
            let function = unsafe { conjure::<F>() };
            function(arg)
        }
        if std::mem::size_of::<F>() == 0 {
            return Some(direct::<F, A, R>);
        }
        (&self as &dyn Any).downcast_ref::<fn(A) -> R>().copied()
    }
}

/// A function of `$a...` parameters, given them as a tuple.
macro_rules! spread {
    ($($a:ident $x:ident),*) => {
        impl<F, R, $($a),*> Function<($($a,)*), fn($($a),*) -> R> for F
        where
            F: Fn($($a),*) -> R + Copy + Send + Sync + 'static,
            R: 'static,
            $($a: 'static,)*
        {
            type Output = R;

            fn call(self, ($($x,)*): ($($a,)*)) -> R {
                self($($x),*)
            }

            fn as_fn(self) -> Option<fn(($($a,)*)) -> R> {
                fn spread<F: Fn($($a),*) -> R + Copy, R, $($a),*>(($($x,)*): ($($a,)*)) -> R {
                    // SAFETY: `as_fn` hands this out only for a zero-sized
                    // `F`, called on a value of it.
                    let function = unsafe { conjure::<F>() };
                    function($($x),*)
                }
                (std::mem::size_of::<F>() == 0).then_some(spread::<F, R, $($a),*> as fn(($($a,)*)) -> R)
            }
        }
    };
}

spread!();
spread!(A a);
spread!(A a, B b);
spread!(A a, B b, C c);
spread!(A a, B b, C c, D d);
spread!(A a, B b, C c, D d, E e);
spread!(A a, B b, C c, D d, E e, G g);

/// What a [`Process`](crate::Process)'s target may return, as `main` may:
/// nothing, or a `Result` whose error ends the child with exit code 1
/// after printing `Error: ` and the error's `Debug` form on stderr, as
/// `main` does (Python prints the exception's traceback, and the exit
/// code is 1 too).
///
/// ```
/// use common::{Process, Queue};
///
/// fn producer(q: Queue<u32>) -> common::Result<()> {
///     for i in 0..3 {
///         q.put(&i)?;
///     }
///     Ok(())
/// }
///
/// fn refuse(reason: String) -> Result<(), String> {
///     Err(reason)
/// }
///
/// let q = Queue::new()?;
/// let mut p = Process::with_args(producer, q.clone());
/// p.start()?;
/// p.join()?;
/// assert_eq!(p.exitcode(), Some(0));
/// let mut p = Process::with_args(refuse, "no".to_owned());
/// p.start()?;
/// p.join()?;
/// assert_eq!(p.exitcode(), Some(1));
/// # Ok::<(), common::Error>(())
/// ```
pub trait Outcome: 'static {
    /// The child's exit code: 0 for success; 1, having said why on
    /// stderr, for an error.
    fn exit_code(self) -> i32;
}

impl Outcome for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl<E: std::fmt::Debug + 'static> Outcome for std::result::Result<(), E> {
    fn exit_code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(error) => {
                eprintln!("Error: {error:?}");
                1
            }
        }
    }
}

/// `target` as a `fn` a process started afresh can be sent, which calls
/// it and returns the child's exit code, encoded; or, for a `fn` pointer
/// that returns nothing, the pointer itself (its encoded result is empty:
/// exit code 0). `None` for what cannot be sent (see the module docs).
pub(crate) fn reporting<F, Args: 'static, M>(target: F) -> Option<ErasedOutcome<Args>>
where
    F: Function<Args, M>,
    F::Output: Outcome,
{
    fn report<F, Args, M>(args: Args) -> i32
    where
        F: Function<Args, M>,
        F::Output: Outcome,
    {
        // SAFETY: `reporting` hands this out only for a zero-sized `F`,
        // called on a value of it.
        let target = unsafe { conjure::<F>() };
        target.call(args).exit_code()
    }
    if std::mem::size_of::<F>() == 0 {
        return Some(ErasedOutcome::Code(report::<F, Args, M>));
    }
    let pointer = target.as_fn()?;
    let unit: &dyn Any = &pointer;
    unit.downcast_ref::<fn(Args) -> ()>()
        .copied()
        .map(ErasedOutcome::Unit)
}

/// What [`reporting`] gives: a `fn` that returns the exit code, or one that
/// returns nothing (exit code 0).
pub(crate) enum ErasedOutcome<Args> {
    Code(fn(Args) -> i32),
    Unit(fn(Args)),
}

/// `function` as a `fn` a pool's workers can be sent, or
/// [`Error::Unsendable`] naming it.
pub(crate) fn sendable<F, Args, M>(function: F) -> Result<fn(Args) -> F::Output>
where
    F: Function<Args, M>,
{
    function.as_fn().ok_or(Error::Unsendable {
        function: std::any::type_name::<F>(),
    })
}
