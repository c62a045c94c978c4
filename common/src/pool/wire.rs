//! What crosses the pipes between the pool and its workers: jobs, their
//! items' encoded arguments, and one outcome per item.

use crate::error::{Error, Result};
use crate::sys::ErasedFn;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A job as sent to a worker.
#[derive(Serialize)]
pub(super) struct JobOut<'a> {
    pub(super) func: ErasedFn,
    pub(super) items: &'a [Vec<u8>],
}

/// A job as a worker receives it (the same bytes as [`JobOut`]).
#[derive(Deserialize)]
pub(super) struct JobIn {
    pub(super) func: ErasedFn,
    pub(super) items: Vec<Vec<u8>>,
}

/// What a worker sends back for each item of a job, in order.
#[derive(Serialize, Deserialize)]
pub(super) enum Outcome {
    Done(Vec<u8>),
    Panicked(String),
    Codec(String),
}

pub(super) fn encode_all<T: Serialize>(items: impl IntoIterator<Item = T>) -> Result<Vec<Vec<u8>>> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            postcard::to_stdvec(&item).map_err(|e| Error::Codec {
                index,
                message: crate::crossing::take_refusal()
                    .map_or_else(|| e.to_string(), str::to_owned),
            })
        })
        .collect()
}

pub(super) fn decode<R: DeserializeOwned>(index: usize, bytes: Vec<u8>) -> Result<R> {
    postcard::from_bytes(&bytes).map_err(|e| Error::Codec {
        index,
        message: e.to_string(),
    })
}
