//! Primitive encoding: little-endian integers, length-prefixed byte
//! strings, validated names, and the strict reader that refuses short,
//! long and malformed input.

use crate::ProtoError;

/// The largest message, request or reply, in bytes.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// The longest file name (one path component), in bytes.
pub const MAX_NAME: usize = 255;
/// The longest symlink target, in bytes (`PATH_MAX - 1`).
pub const MAX_TARGET: usize = 4095;

/// One path component: 1 to 255 bytes, no `/`, no NUL, not `.` or `..`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name(Vec<u8>);

impl Name {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Name, ProtoError> {
        let b = bytes.into();
        let bad = b.is_empty()
            || b.len() > MAX_NAME
            || b == b"."
            || b == b".."
            || b.iter().any(|&c| c == b'/' || c == 0);
        if bad {
            return Err(ProtoError::BadName);
        }
        Ok(Name(b))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl TryFrom<&str> for Name {
    type Error = ProtoError;
    fn try_from(s: &str) -> Result<Name, ProtoError> {
        Name::new(s.as_bytes())
    }
}

/// Bytes without NUL, `1..=max` long (xattr names, symlink targets).
pub(crate) fn check_cstr(b: &[u8], max: usize, what: &'static str) -> Result<(), ProtoError> {
    if b.is_empty() || b.len() > max || b.contains(&0) {
        return Err(ProtoError::BadValue(what));
    }
    Ok(())
}

/// Reads one message front to back; every read checks the length left.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        if self.buf.len() < n {
            return Err(ProtoError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ProtoError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProtoError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, ProtoError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ProtoError::BadValue("bool")),
        }
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ProtoError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, ProtoError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ProtoError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, ProtoError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A `u32` length, then that many bytes (at most what is left).
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub(crate) fn name(&mut self) -> Result<Name, ProtoError> {
        let n = usize::from(self.u8()?);
        Name::new(self.take(n)?)
    }

    /// The end: anything left over is an error.
    pub(crate) fn finish(self) -> Result<(), ProtoError> {
        match self.buf.len() {
            0 => Ok(()),
            n => Err(ProtoError::Trailing(n)),
        }
    }
}

/// Builds one message.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Lengths past `u32::MAX` cannot fit a message anyway: `finish`
    /// refuses the message.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(b);
    }

    pub(crate) fn name(&mut self, n: &Name) {
        // A Name is at most 255 bytes.
        self.u8(n.0.len() as u8);
        self.buf.extend_from_slice(&n.0);
    }

    pub(crate) fn finish(self) -> Result<Vec<u8>, ProtoError> {
        if self.buf.len() > MAX_MESSAGE {
            return Err(ProtoError::TooLarge(self.buf.len()));
        }
        Ok(self.buf)
    }
}
