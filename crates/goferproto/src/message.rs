//! One type per message, each with its own encoding; [`Message`] is the
//! tag table.

use crate::wire::{ProtoError, Reader, Writer};

/// The largest datagram either side sends or accepts.
pub const MAX_MESSAGE: usize = 4096;

/// The longest `/proc` path a [`Synthetic`] names.
pub const MAX_PROC_PATH: usize = 1024;

/// Serve the listener attached to this message. The sentry numbers its
/// listeners; [`Forward`] and [`Synthetic`] name the one their call came
/// on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Serve {
    pub listener: u32,
}

/// A notification for the sentry to answer (a call the gofer does not
/// serve): the 80 bytes of `struct seccomp_notif`, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub listener: u32,
    pub notif: [u8; 80],
}

/// An open the gofer performed reached a `/proc` file the sentry writes
/// itself: answer notification `id` with the sentry's copy of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthetic {
    pub listener: u32,
    pub id: u64,
    /// The calling thread, as the host's pid namespace numbers it.
    pub tid: u32,
    /// Install the descriptor with `O_CLOEXEC`.
    pub cloexec: bool,
    /// The file opened, relative to the root of its procfs mount, with
    /// pids as the caller's pid namespace numbers them (`meminfo`,
    /// `42/mountinfo`).
    pub path: Vec<u8>,
}

/// Every message, by tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Serve(Serve),
    Forward(Forward),
    Synthetic(Synthetic),
}

const SERVE: u32 = 1;
const FORWARD: u32 = 2;
const SYNTHETIC: u32 = 3;

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        match self {
            Message::Serve(m) => {
                out.u32(SERVE);
                m.write(&mut out);
            }
            Message::Forward(m) => {
                out.u32(FORWARD);
                m.write(&mut out);
            }
            Message::Synthetic(m) => {
                out.u32(SYNTHETIC);
                m.write(&mut out);
            }
        }
        out
    }

    pub fn decode(buf: &[u8]) -> Result<Message, ProtoError> {
        let mut r = Reader::new(buf);
        let m = match r.u32()? {
            SERVE => Message::Serve(Serve::read(&mut r)?),
            FORWARD => Message::Forward(Forward::read(&mut r)?),
            SYNTHETIC => Message::Synthetic(Synthetic::read(&mut r)?),
            tag => return Err(ProtoError::Tag(tag)),
        };
        r.end()?;
        Ok(m)
    }
}

impl Serve {
    fn write(&self, out: &mut Vec<u8>) {
        out.u32(self.listener);
    }

    fn read(r: &mut Reader) -> Result<Serve, ProtoError> {
        Ok(Serve { listener: r.u32()? })
    }
}

impl Forward {
    fn write(&self, out: &mut Vec<u8>) {
        out.u32(self.listener);
        out.extend_from_slice(&self.notif);
    }

    fn read(r: &mut Reader) -> Result<Forward, ProtoError> {
        let listener = r.u32()?;
        let mut notif = [0u8; 80];
        for chunk in notif.chunks_mut(8) {
            chunk.copy_from_slice(&r.u64()?.to_le_bytes());
        }
        Ok(Forward { listener, notif })
    }
}

impl Synthetic {
    fn write(&self, out: &mut Vec<u8>) {
        out.u32(self.listener);
        out.u64(self.id);
        out.u32(self.tid);
        out.u32(u32::from(self.cloexec));
        out.bytes(&self.path);
    }

    fn read(r: &mut Reader) -> Result<Synthetic, ProtoError> {
        Ok(Synthetic {
            listener: r.u32()?,
            id: r.u64()?,
            tid: r.u32()?,
            cloexec: r.bool()?,
            path: r.bytes(MAX_PROC_PATH)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: Message) {
        let bytes = m.encode();
        assert!(bytes.len() <= MAX_MESSAGE);
        assert_eq!(Message::decode(&bytes), Ok(m));
    }

    #[test]
    fn every_message_round_trips() {
        round_trip(Message::Serve(Serve { listener: 3 }));
        let mut notif = [0u8; 80];
        notif.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        round_trip(Message::Forward(Forward { listener: 1, notif }));
        round_trip(Message::Synthetic(Synthetic {
            listener: 2,
            id: u64::MAX - 1,
            tid: 4242,
            cloexec: true,
            path: b"42/mountinfo".to_vec(),
        }));
    }

    #[test]
    fn bad_messages_are_errors() {
        assert_eq!(Message::decode(&[]), Err(ProtoError::Short));
        assert_eq!(Message::decode(&[9, 0, 0, 0]), Err(ProtoError::Tag(9)));
        assert_eq!(
            Message::decode(&[1, 0, 0, 0, 7, 0, 0, 0, 0]),
            Err(ProtoError::Trailing(1))
        );
        let mut long = Message::Synthetic(Synthetic {
            listener: 0,
            id: 0,
            tid: 0,
            cloexec: false,
            path: vec![b'a'; MAX_PROC_PATH + 1],
        })
        .encode();
        assert_eq!(
            Message::decode(&long),
            Err(ProtoError::TooLong(MAX_PROC_PATH + 1))
        );
        let mut two = Message::Synthetic(Synthetic {
            listener: 0,
            id: 0,
            tid: 0,
            cloexec: true,
            path: Vec::new(),
        })
        .encode();
        two[20] = 2;
        assert_eq!(Message::decode(&two), Err(ProtoError::Bool(2)));
        long.truncate(10);
        assert_eq!(Message::decode(&long), Err(ProtoError::Short));
    }
}
