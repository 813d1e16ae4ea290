//! The messages between moat's sentry and a container's gofer.
//!
//! The gofer is the container's file service: its worker threads receive
//! the workload's seccomp notifications themselves, on a copy of each
//! listener the sentry sends it, and perform the file calls under the
//! caller's credentials. What is not a file call, and the `/proc` files
//! the sandbox writes itself, go back to the sentry, which answers them on
//! its own copy of the same listener. So the protocol is three one-way
//! messages and no request waits for a reply:
//!
//! | message | direction | carries |
//! |---|---|---|
//! | [`Serve`] | sentry → gofer | a listener (`SCM_RIGHTS`) and the number the sentry gave it |
//! | [`Forward`] | gofer → sentry | a notification the sentry answers (`uname`, `syslog`...) |
//! | [`Synthetic`] | gofer → sentry | an open that reached a file the sentry writes |
//!
//! # Transport
//!
//! A connected `SOCK_SEQPACKET` Unix socket, one message per datagram of
//! at most [`MAX_MESSAGE`] bytes. A message is a `u32` tag then its
//! fields in order, little endian, no padding; byte strings are a `u32`
//! length then the bytes. Decoding is strict: a short message, bytes left
//! over, an unknown tag or an overlong string is a [`ProtoError`], never
//! a panic.
//!
//! ```
//! use moat_goferproto::{Message, Serve};
//! let m = Message::Serve(Serve { listener: 7 });
//! assert_eq!(m.encode(), [1, 0, 0, 0, 7, 0, 0, 0]);
//! assert_eq!(Message::decode(&m.encode()), Ok(m));
//! ```

mod message;
pub mod procfile;
mod transport;
mod wire;

pub use message::{Forward, Message, Serve, Synthetic, MAX_MESSAGE, MAX_PROC_PATH};
pub use transport::{peer_closed, recv, send, Received};
pub use wire::ProtoError;
