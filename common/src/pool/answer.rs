//! [`Answer`]: a job's answer as the parent reads it from the worker (see
//! `wire` for its frame and tags) and keeps it in its batch until a caller
//! decodes it, into the results' own type.

use std::any::TypeId;

use serde::de::DeserializeOwned;

use super::item::{Reader, take_varint, vector_as};
use super::wire::{ALL, CODEC, DONE, EACH, FAILED, LONE, PANICKED, Taken};
use crate::error::{Error, Result};

/// Reads an [`EACH`] answer's payload into one result per item (`pid` is
/// the worker's, for the panics and errors), the first being item
/// `start`; `None` if it is malformed.
fn parse_each(mut payload: &[u8], start: usize, pid: u32) -> Option<Vec<Result<Vec<u8>>>> {
    let mut items = Vec::new();
    while let Some((&tag, rest)) = payload.split_first() {
        let (len, rest) = take_varint(rest)?;
        let len = usize::try_from(len).ok()?;
        let bytes = rest.get(..len)?;
        payload = &rest[len..];
        let index = start + items.len();
        let message = || String::from_utf8_lossy(bytes).into_owned();
        items.push(match tag {
            DONE => Ok(bytes.to_vec()),
            PANICKED => Err(Error::TaskPanicked {
                index,
                pid,
                message: message(),
            }),
            CODEC => Err(Error::Codec {
                index,
                message: message(),
            }),
            FAILED => {
                let (len, rest) = take_varint(bytes)?;
                let len = usize::try_from(len).ok()?;
                let text = rest.get(..len)?;
                Err(Error::TaskFailed {
                    index,
                    pid,
                    message: String::from_utf8_lossy(text).into_owned(),
                    error: rest[len..].to_vec(),
                })
            }
            _ => return None,
        });
    }
    Some(items)
}

/// A whole answer, as the parent stores it until a caller decodes it.
#[derive(Debug)]
pub(super) enum Answer {
    /// Every item's result, encoded one after another from `bytes[from..]`.
    All {
        len: usize,
        bytes: Vec<u8>,
        from: usize,
    },
    /// Each item's result or error.
    Each(Vec<Result<Vec<u8>>>),
    /// The one item's result, a byte vector, as it is (see [`LONE`]).
    Lone(Vec<u8>),
}

impl Answer {
    /// `taken`, read as the answer of a job of `len` items whose first is
    /// input item `start`, from worker `pid`; `None` if it makes no sense
    /// (a tag that is none, or the wrong count).
    pub(super) fn read(taken: Taken, start: usize, len: usize, pid: u32) -> Option<Answer> {
        match taken.tag {
            ALL => Some(Answer::All {
                len,
                bytes: taken.bytes,
                from: taken.from,
            }),
            EACH => match parse_each(&taken.bytes[taken.from..], start, pid) {
                Some(items) if items.len() == len => Some(Answer::Each(items)),
                _ => None,
            },
            LONE if len == 1 => {
                let mut bytes = taken.bytes;
                bytes.drain(..taken.from);
                Some(Answer::Lone(bytes))
            }
            _ => None,
        }
    }

    /// How many items it answers.
    pub(super) fn len(&self) -> usize {
        match self {
            Answer::All { len, .. } => *len,
            Answer::Each(items) => items.len(),
            Answer::Lone(_) => 1,
        }
    }

    /// Whether some item failed.
    pub(super) fn failed(&self) -> bool {
        matches!(self, Answer::Each(items) if items.iter().any(Result::is_err))
    }

    /// A lone `Vec<u8>` result taken out of the answer's own buffer (moved
    /// down over the answer's header, no new memory), else the answer back.
    fn into_lone_bytes<R: 'static>(self, start: usize) -> std::result::Result<R, Answer> {
        if let Answer::Lone(bytes) = self {
            return vector_as(bytes).map_err(|message| {
                Answer::Each(vec![Err(Error::Codec {
                    index: start,
                    message,
                })])
            });
        }
        let Answer::All {
            len: 1,
            mut bytes,
            from,
        } = self
        else {
            return Err(self);
        };
        if TypeId::of::<R>() != TypeId::of::<Vec<u8>>() {
            return Err(Answer::All {
                len: 1,
                bytes,
                from,
            });
        }
        let Some((len, rest)) = take_varint(&bytes[from..]) else {
            return Err(Answer::All {
                len: 1,
                bytes,
                from,
            });
        };
        let begin = bytes.len() - rest.len();
        match usize::try_from(len)
            .ok()
            .filter(|&len| begin + len == bytes.len())
        {
            Some(_) => {
                bytes.drain(..begin);
                Ok(vector_as(bytes).expect("R is Vec<u8>"))
            }
            None => Err(Answer::All {
                len: 1,
                bytes,
                from,
            }),
        }
    }

    /// Decodes the items, the first being input item `start`, into `out`.
    pub(super) fn decode<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        out: &mut impl Extend<(usize, Result<R>)>,
    ) {
        let answer = match self.into_lone_bytes::<R>(start) {
            Ok(value) => return out.extend([(start, Ok(value))]),
            Err(answer) => answer,
        };
        match answer {
            Answer::All { len, bytes, from } => {
                let mut items = Reader::new::<R>(&bytes[from..]);
                for index in start..start + len {
                    match items.next::<R>() {
                        Ok(value) => out.extend([(index, Ok(value))]),
                        Err(message) => {
                            // The items after it cannot be found: they fail.
                            out.extend((index..start + len).map(|index| {
                                let message = message.clone();
                                (index, Err(Error::Codec { index, message }))
                            }));
                            return;
                        }
                    }
                }
            }
            Answer::Each(items) => {
                out.extend((start..).zip(items).map(|(index, item)| {
                    let value = item.and_then(|bytes| {
                        Reader::new::<R>(&bytes)
                            .next::<R>()
                            .map_err(|message| Error::Codec { index, message })
                    });
                    (index, value)
                }));
            }
            Answer::Lone(_) => unreachable!("taken by into_lone_bytes"),
        }
    }

    /// Decodes the items into `values` without consuming the answer (for a
    /// callback, while the caller will take them too): the first failure
    /// (a copy) if any.
    pub(super) fn peek<R: DeserializeOwned + 'static>(
        &self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<()> {
        match self {
            Answer::All { len, bytes, from } => {
                Reader::new::<R>(&bytes[*from..])
                    .read_into(*len, values)
                    .map_err(|(at, message)| Error::Codec {
                        index: start + at,
                        message,
                    })?;
            }
            Answer::Lone(bytes) => {
                let value = vector_as(bytes.clone()).map_err(|message| Error::Codec {
                    index: start,
                    message,
                })?;
                values.push(value);
            }
            Answer::Each(items) => {
                for (index, item) in (start..).zip(items) {
                    let bytes = item.as_ref().map_err(Error::duplicate)?;
                    let value = Reader::new::<R>(bytes)
                        .next::<R>()
                        .map_err(|message| Error::Codec { index, message })?;
                    values.push(value);
                }
            }
        }
        Ok(())
    }

    /// Decodes every item, the first being input item `start`, onto the
    /// end of `values`; the first failure if any.
    pub(super) fn decode_values<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<()> {
        self.decode_keeping(start, values).map(drop)
    }

    /// [`decode_values`](Self::decode_values), giving back the answer's
    /// buffer when the values were copied out of it (see `spare`).
    pub(super) fn decode_keeping<R: DeserializeOwned + 'static>(
        self,
        start: usize,
        values: &mut Vec<R>,
    ) -> Result<Option<Vec<u8>>> {
        let answer = match self.into_lone_bytes::<R>(start) {
            Ok(value) => {
                values.push(value);
                return Ok(None);
            }
            Err(answer) => answer,
        };
        match answer {
            // Decoding reads the bytes either way: as `peek` does.
            Answer::All { .. } => {
                answer.peek(start, values)?;
                let Answer::All { bytes, .. } = answer else {
                    unreachable!("matched above")
                };
                Ok(Some(bytes))
            }
            each => {
                let mut out = Vec::new();
                each.decode(start, &mut out);
                for (_, value) in out {
                    values.push(value?);
                }
                Ok(None)
            }
        }
    }
}
