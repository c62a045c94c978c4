//! [`Scalar`]: the plain numbers shared memory holds, Python's typecodes.

/// A plain number that [`Value`](crate::Value), [`Array`](crate::Array)
/// and [`ShareableList`](crate::ShareableList) hold, as Python's typecodes
/// name them: `i8` is `'b'`, `u8` `'B'`, `i16` `'h'`, `u16` `'H'`, `i32`
/// `'i'`, `u32` `'I'`, `i64` `'q'`, `u64` `'Q'`, `f32` `'f'`, `f64` `'d'`,
/// and `bool` (ctypes' `c_bool`). Sealed: these are all.
///
/// ```
/// use common::Scalar;
///
/// assert_eq!(f64::TYPECODE, 'd');
/// assert_eq!(f64::from_bits(2.5f64.to_bits()), 2.5);
/// ```
pub trait Scalar:
    Copy + PartialEq + std::fmt::Debug + Send + Sync + 'static + sealed::Sealed
{
    /// Python's typecode for it.
    const TYPECODE: char;

    /// The value as the 64 bits a shared word holds.
    fn to_bits(self) -> u64;

    /// The value a shared word's 64 bits hold.
    fn from_bits(bits: u64) -> Self;

    /// `self + delta`, wrapping for integers.
    fn plus(self, delta: Self) -> Self;

    /// Whether adding is one atomic add on the word (integers), rather than
    /// a compare-and-swap loop (floats, `bool`).
    const ADDS_AS_BITS: bool;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! integer {
    ($($t:ty => $code:literal as $wide:ty),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            const TYPECODE: char = $code;
            const ADDS_AS_BITS: bool = true;
            fn to_bits(self) -> u64 {
                // Widened with its sign, so that a 64-bit add wraps as the
                // narrow type does once cut back.
                <$wide>::from(self) as u64
            }
            fn from_bits(bits: u64) -> Self {
                bits as Self
            }
            fn plus(self, delta: Self) -> Self {
                self.wrapping_add(delta)
            }
        }
    )*};
}

integer! {
    i8 => 'b' as i64,
    u8 => 'B' as u64,
    i16 => 'h' as i64,
    u16 => 'H' as u64,
    i32 => 'i' as i64,
    u32 => 'I' as u64,
    i64 => 'q' as i64,
    u64 => 'Q' as u64,
}

impl sealed::Sealed for f64 {}
impl Scalar for f64 {
    const TYPECODE: char = 'd';
    const ADDS_AS_BITS: bool = false;
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn plus(self, delta: Self) -> Self {
        self + delta
    }
}

impl sealed::Sealed for f32 {}
impl Scalar for f32 {
    const TYPECODE: char = 'f';
    const ADDS_AS_BITS: bool = false;
    fn to_bits(self) -> u64 {
        u64::from(f32::to_bits(self))
    }
    fn from_bits(bits: u64) -> Self {
        f32::from_bits(u32::try_from(bits & 0xffff_ffff).unwrap_or(0))
    }
    fn plus(self, delta: Self) -> Self {
        self + delta
    }
}

impl sealed::Sealed for bool {}
impl Scalar for bool {
    const TYPECODE: char = '?';
    const ADDS_AS_BITS: bool = false;
    fn to_bits(self) -> u64 {
        u64::from(self)
    }
    fn from_bits(bits: u64) -> Self {
        bits != 0
    }
    fn plus(self, delta: Self) -> Self {
        self || delta
    }
}
