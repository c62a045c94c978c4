//! [`Namespace`]: named attributes a manager keeps, like the proxy
//! `manager.Namespace()` returns.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::proxy::{Remote, encode, proxy};
use super::wire::Request;
use crate::error::Result;

/// Named attributes a [`Manager`](super::Manager) keeps, like
/// `manager.Namespace()`: `ns.set("x", &1)` is `ns.x = 1`, and each
/// attribute may have a type of its own.
///
/// ```
/// let manager = common::Manager::new()?;
/// let ns = manager.namespace()?;
/// ns.set("count", &3u32)?;
/// ns.set("label", "ready")?;
/// assert_eq!(ns.get::<u32>("count")?, Some(3));
/// assert_eq!(ns.get::<String>("label")?, Some("ready".to_owned()));
/// assert_eq!(ns.get::<u32>("missing")?, None);
/// # Ok::<(), common::Error>(())
/// ```
pub struct Namespace {
    remote: Arc<Remote>,
    id: u64,
    types: PhantomData<()>,
}

proxy!(Namespace:);

impl Namespace {
    /// Attribute `name`, like `ns.name` (`None` where Python raises
    /// `AttributeError`).
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        self.remote.value(&Request::Get(self.id, encode(name)?))
    }

    /// Sets attribute `name`, like `ns.name = value`.
    pub fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.remote
            .tell(&Request::Set(self.id, encode(name)?, encode(value)?))
    }
}
