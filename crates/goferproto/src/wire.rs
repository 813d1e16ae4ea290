//! Reading and writing the fields of a message.

/// A message that does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("message too short")]
    Short,
    #[error("{0} bytes left over after the message")]
    Trailing(usize),
    #[error("unknown message tag {0}")]
    Tag(u32),
    #[error("a string of {0} bytes is longer than allowed")]
    TooLong(usize),
    #[error("{0} is not a boolean (0 or 1)")]
    Bool(u32),
}

/// A cursor over a received message.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        if self.buf.len() < n {
            return Err(ProtoError::Short);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProtoError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ProtoError> {
        let lo = u64::from(self.u32()?);
        let hi = u64::from(self.u32()?);
        Ok(lo | hi << 32)
    }

    /// A boolean, as a `u32` that is 0 or 1 (so each message has one encoding).
    pub(crate) fn bool(&mut self) -> Result<bool, ProtoError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(ProtoError::Bool(n)),
        }
    }

    /// A `u32` length then that many bytes, at most `max`.
    pub(crate) fn bytes(&mut self, max: usize) -> Result<Vec<u8>, ProtoError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(ProtoError::TooLong(n));
        }
        Ok(self.take(n)?.to_vec())
    }

    /// The whole message was read.
    pub(crate) fn end(&self) -> Result<(), ProtoError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(ProtoError::Trailing(n)),
        }
    }
}

/// Appending fields to a message being built.
pub(crate) trait Writer {
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
    fn bytes(&mut self, v: &[u8]);
}

impl Writer for Vec<u8> {
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, v: &[u8]) {
        // Callers bound every string far below 4 GiB.
        self.u32(v.len() as u32);
        self.extend_from_slice(v);
    }
}
