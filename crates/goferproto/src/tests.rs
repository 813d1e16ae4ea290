//! Round trips of every message, a table of malformed frames, descriptor
//! donation across a socketpair, and the serving loop's error replies.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType as NixSockType};

use crate::*;

fn name(s: &str) -> Name {
    Name::try_from(s).expect("valid test name")
}

fn stat() -> Stat {
    let t = |s| Time {
        sec: s,
        nsec: 999_999_999,
    };
    Stat {
        dev: 1,
        ino: u64::MAX,
        mode: 0o100644,
        nlink: 2,
        uid: 1000,
        gid: 1001,
        rdev: 7,
        size: 1 << 40,
        blksize: 4096,
        blocks: 8,
        atime: t(-1),
        mtime: t(2),
        ctime: t(i64::MAX),
        acl: Some(
            Acl::new(&[
                AclEntry {
                    tag: ACL_USER_OBJ,
                    perm: 6,
                    id: u32::MAX,
                },
                AclEntry {
                    tag: ACL_USER,
                    perm: 4,
                    id: 1000,
                },
                AclEntry {
                    tag: ACL_MASK,
                    perm: 7,
                    id: u32::MAX,
                },
            ])
            .expect("valid test ACL"),
        ),
        default_acl: true,
    }
}

fn all_requests() -> Vec<Request> {
    use Request::*;
    let n = || name("file.txt");
    let attr = SetAttr {
        mode: Some(0o4755),
        uid: None,
        gid: Some(5),
        size: Some(12),
        atime: Some(SetTime::Now),
        mtime: Some(SetTime::At(Time { sec: 3, nsec: 4 })),
    };
    vec![
        Version { version: VERSION },
        Walk { dir: 1, name: n() },
        WalkStat { dir: 2, name: n() },
        WalkPath {
            dir: 2,
            names: vec![n(), name("b")],
        },
        Stat { node: 3 },
        Open {
            node: 4,
            flags: libc::O_RDWR as u32,
        },
        LinkFile { dir: 1, name: n() },
        Tmpfile {
            dir: 1,
            flags: (libc::O_RDWR | libc::O_EXCL) as u32,
            mode: 0o600,
            uid: 1000,
            gid: 1000,
        },
        Create {
            dir: 1,
            name: n(),
            flags: 2,
            mode: 0o644,
            uid: 1,
            gid: 2,
        },
        Mkdir {
            dir: 1,
            name: n(),
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
        Mknod {
            dir: 1,
            name: n(),
            kind: NodeKind::Fifo,
            mode: 0o600,
            uid: 3,
            gid: 4,
        },
        Mknod {
            dir: 1,
            name: n(),
            kind: NodeKind::Socket,
            mode: 0o600,
            uid: 3,
            gid: 4,
        },
        Symlink {
            dir: 1,
            name: n(),
            target: b"../x/y".to_vec(),
            uid: 5,
            gid: 6,
        },
        Link {
            node: 9,
            dir: 1,
            name: n(),
        },
        Unlink {
            dir: 1,
            name: n(),
            dir_only: true,
        },
        Rename {
            old_dir: 1,
            old_name: n(),
            new_dir: 2,
            new_name: name("b"),
            flags: libc::RENAME_NOREPLACE,
        },
        Readlink { node: 5 },
        SetStat { node: 6, attr },
        SetStat {
            node: 6,
            attr: SetAttr::default(),
        },
        Statfs { node: 7 },
        Getdents {
            dir: 1,
            offset: 77,
            count: 4096,
        },
        GetXattr {
            node: 1,
            name: b"user.a".to_vec(),
        },
        SetXattr {
            node: 1,
            name: b"user.a".to_vec(),
            value: vec![0; 100],
            flags: 1,
        },
        ListXattr { node: 1 },
        RemoveXattr {
            node: 1,
            name: b"user.a".to_vec(),
        },
        Bind {
            dir: 1,
            name: n(),
            sock_type: SockType::Stream,
            mode: 0o777,
            uid: 0,
            gid: 0,
        },
        Connect {
            dir: 1,
            name: n(),
            sock_type: SockType::SeqPacket,
        },
        Close {
            nodes: vec![1, 2, u64::MAX],
        },
        Close { nodes: vec![] },
        Adopt,
    ]
}

fn all_replies() -> Vec<Reply> {
    let statfs = Statfs {
        fs_type: 0xef53,
        bsize: 4096,
        blocks: 9,
        bfree: 8,
        bavail: 7,
        files: 6,
        ffree: 5,
        namelen: 255,
        frsize: 4096,
        flags: 1,
        fsid: 0x1234_5678_9abc,
    };
    let d = |n: &str, off| Dirent {
        ino: 42,
        off,
        kind: libc::DT_REG,
        name: name(n),
    };
    vec![
        Reply::Error {
            errno: libc::ENOENT,
        },
        Reply::Version {
            version: VERSION,
            root: 1,
            stat: stat(),
        },
        Reply::Walked { node: 3 },
        Reply::Steps {
            steps: vec![(5, stat()), (6, stat())],
            errno: libc::ENOENT,
        },
        Reply::Steps {
            steps: vec![],
            errno: 0,
        },
        Reply::Node {
            node: 4,
            stat: stat(),
        },
        Reply::Ok,
        Reply::Opened,
        Reply::Stat(stat()),
        Reply::Readlink {
            target: b"/etc/passwd".to_vec(),
        },
        Reply::Statfs(statfs),
        Reply::Dirents(vec![d("a", 1), d("bb", 2)]),
        Reply::Dirents(vec![]),
        Reply::Xattr {
            value: b"v\0w".to_vec(),
        },
        Reply::Xattr { value: vec![] },
    ]
}

#[test]
fn every_request_round_trips() {
    let reqs = all_requests();
    let mut tags: Vec<u8> = Vec::new();
    for r in &reqs {
        let bytes = r.encode().unwrap_or_else(|e| panic!("{r:?}: {e}"));
        assert_eq!(&Request::decode(&bytes).as_ref(), &Ok(r), "{r:?}");
        tags.push(bytes[0]);
    }
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(
        tags,
        (1..=27).collect::<Vec<u8>>(),
        "every request tag is covered"
    );
}

#[test]
fn every_reply_round_trips() {
    let mut tags: Vec<u8> = Vec::new();
    for r in all_replies() {
        let bytes = r.encode().expect("encodes");
        assert_eq!(Reply::decode(&bytes), Ok(r.clone()), "{r:?}");
        assert!(
            Request::decode(&bytes).is_err(),
            "a reply is never a request"
        );
        tags.push(bytes[0]);
    }
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags, (0x80..=0x8b).collect::<Vec<u8>>());
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    for r in all_requests() {
        let bytes = r.encode().expect("encodes");
        for cut in 0..bytes.len() {
            assert!(
                Request::decode(&bytes[..cut]).is_err(),
                "{r:?} cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            Request::decode(&long),
            Err(ProtoError::Trailing(1)),
            "{r:?}"
        );
    }
    for r in all_replies() {
        let bytes = r.encode().expect("encodes");
        for cut in 0..bytes.len() {
            assert!(Reply::decode(&bytes[..cut]).is_err(), "{r:?} cut at {cut}");
        }
    }
}

/// A walk request for a name given as raw bytes.
fn walk_frame(name: &[u8]) -> Vec<u8> {
    let mut v = vec![2u8];
    v.extend_from_slice(&1u64.to_le_bytes());
    v.push(name.len() as u8);
    v.extend_from_slice(name);
    v
}

#[test]
fn malformed_frames_are_errors() {
    let mut huge_close = vec![23u8];
    huge_close.extend_from_slice(&u32::MAX.to_le_bytes());
    let mut big_xattr = vec![18u8];
    big_xattr.extend_from_slice(&1u64.to_le_bytes());
    big_xattr.extend_from_slice(&6u32.to_le_bytes());
    big_xattr.extend_from_slice(b"user.a");
    big_xattr.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    let mut bad_mode = Request::Mkdir {
        dir: 1,
        name: name("d"),
        mode: 0,
        uid: 0,
        gid: 0,
    }
    .encode()
    .unwrap_or_default();
    bad_mode[11..15].copy_from_slice(&0o170000u32.to_le_bytes());
    let mut bad_bool = Request::Unlink {
        dir: 1,
        name: name("d"),
        dir_only: false,
    }
    .encode()
    .unwrap_or_default();
    *bad_bool.last_mut().unwrap_or(&mut 0) = 2;
    let table: Vec<(&str, Vec<u8>, ProtoError)> = vec![
        ("empty", vec![], ProtoError::Empty),
        ("unknown tag 0", vec![0], ProtoError::UnknownTag(0)),
        ("unknown tag 28", vec![28, 0, 0], ProtoError::UnknownTag(28)),
        ("adopt with a field", vec![27, 0], ProtoError::Trailing(1)),
        (
            "walk of no names",
            vec![24, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ProtoError::BadValue("walk length"),
        ),
        ("reply tag", vec![0x84], ProtoError::UnknownTag(0x84)),
        ("short version", vec![1, 1, 0], ProtoError::Truncated),
        ("name with slash", walk_frame(b"a/b"), ProtoError::BadName),
        ("name with NUL", walk_frame(b"a\0b"), ProtoError::BadName),
        ("dot", walk_frame(b"."), ProtoError::BadName),
        ("dot dot", walk_frame(b".."), ProtoError::BadName),
        ("empty name", walk_frame(b""), ProtoError::BadName),
        (
            "name past its length",
            {
                let mut f = walk_frame(b"ab");
                f[9] = 3;
                f
            },
            ProtoError::Truncated,
        ),
        (
            "huge close count",
            huge_close,
            ProtoError::BadValue("close count"),
        ),
        (
            "xattr length past the end",
            big_xattr,
            ProtoError::Truncated,
        ),
        (
            "mode with file type",
            bad_mode,
            ProtoError::BadValue("mode"),
        ),
        ("bool 2", bad_bool, ProtoError::BadValue("bool")),
        (
            "oversized",
            vec![1; MAX_MESSAGE + 1],
            ProtoError::TooLarge(MAX_MESSAGE + 1),
        ),
    ];
    for (what, frame, want) in table {
        assert_eq!(Request::decode(&frame), Err(want), "{what}");
    }
    assert!(Reply::decode(&[0x80, 0, 0, 0, 0]).is_err(), "errno 0");
    assert!(Reply::decode(&[0x7f]).is_err());
}

/// A `Stat` reply whose ACL is `acl` as raw wire bytes (count, entries).
fn stat_with_acl(acl: &[u8]) -> Vec<u8> {
    let mut st = stat();
    st.acl = None;
    st.default_acl = false;
    let mut frame = Reply::Stat(st).encode().unwrap_or_default();
    frame.truncate(frame.len().saturating_sub(2));
    frame.push(1);
    frame.extend_from_slice(acl);
    frame.push(0);
    frame
}

#[test]
fn malformed_acls_are_errors() {
    let entry = |tag: u8, perm: u8| [tag, perm, 0, 0, 0, 0];
    let mut long = (MAX_ACL_ENTRIES as u32 + 1).to_le_bytes().to_vec();
    for _ in 0..=MAX_ACL_ENTRIES {
        long.extend_from_slice(&entry(ACL_USER, 7));
    }
    let table: Vec<(&str, Vec<u8>, ProtoError)> = vec![
        ("too long", long, ProtoError::BadValue("ACL length")),
        (
            "unknown tag",
            [&1u32.to_le_bytes()[..], &entry(3, 7)].concat(),
            ProtoError::BadValue("ACL entry"),
        ),
        (
            "bits past rwx",
            [&1u32.to_le_bytes()[..], &entry(ACL_OTHER, 8)].concat(),
            ProtoError::BadValue("ACL entry"),
        ),
        (
            "entries past the end",
            [&2u32.to_le_bytes()[..], &entry(ACL_OTHER, 7)].concat(),
            ProtoError::Truncated,
        ),
    ];
    for (what, acl, want) in table {
        assert_eq!(Reply::decode(&stat_with_acl(&acl)), Err(want), "{what}");
    }
    let one = [&1u32.to_le_bytes()[..], &entry(ACL_OTHER, 5)].concat();
    assert!(Reply::decode(&stat_with_acl(&one)).is_ok());
}

#[test]
fn invalid_fields_do_not_encode() {
    use Request::*;
    let bad = [
        Rename {
            old_dir: 1,
            old_name: name("a"),
            new_dir: 1,
            new_name: name("b"),
            flags: 1 << 7,
        },
        Symlink {
            dir: 1,
            name: name("a"),
            target: vec![],
            uid: 0,
            gid: 0,
        },
        Symlink {
            dir: 1,
            name: name("a"),
            target: b"a\0".to_vec(),
            uid: 0,
            gid: 0,
        },
        GetXattr {
            node: 1,
            name: vec![b'x'; 256],
        },
        SetXattr {
            node: 1,
            name: b"user.a".to_vec(),
            value: vec![0; MAX_XATTR_VALUE + 1],
            flags: 0,
        },
        Create {
            dir: 1,
            name: name("a"),
            flags: 0,
            mode: 0o10000,
            uid: 0,
            gid: 0,
        },
        Tmpfile {
            dir: 1,
            flags: 2,
            mode: 0o100600,
            uid: 0,
            gid: 0,
        },
    ];
    for r in bad {
        assert!(r.encode().is_err(), "{r:?}");
    }
    for s in ["", ".", "..", "a/b", "a\0"] {
        assert_eq!(Name::try_from(s), Err(ProtoError::BadName));
    }
    assert!(Name::new(vec![b'a'; 256]).is_err());
    assert!(Name::new(vec![b'a'; 255]).is_ok());
    let big = Reply::Xattr {
        value: vec![0; MAX_MESSAGE],
    };
    assert!(matches!(big.encode(), Err(ProtoError::TooLarge(_))));
}

fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        NixSockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair")
}

#[test]
fn descriptors_cross_a_socketpair() {
    let (a, b) = pair();
    let file = tempfile_fd();
    send(a.as_fd(), b"hello", Some(file.as_fd())).expect("send");
    let mut buf = [0u8; 16];
    let got = recv(b.as_fd(), &mut buf).expect("recv");
    assert_eq!(&buf[..got.len], b"hello");
    let fd = got.fd.expect("a descriptor arrived");
    let st = nix::sys::stat::fstat(&fd).expect("fstat");
    assert_eq!(
        st.st_ino,
        nix::sys::stat::fstat(&file).expect("fstat").st_ino
    );
    send(a.as_fd(), &[1; 32], None).expect("send");
    let got = recv(b.as_fd(), &mut buf).expect("recv");
    assert!(got.truncated && got.fd.is_none());
    drop(a);
    let got = recv(b.as_fd(), &mut buf).expect("recv");
    assert_eq!(got.len, 0);
    assert!(peer_closed(b.as_fd()));
}

fn tempfile_fd() -> OwnedFd {
    let f = std::fs::File::open("/proc/self/exe").expect("open own executable");
    f.into()
}

/// A handler that knows one node and fails everything else.
struct Toy;

impl Handler for Toy {
    fn root(&mut self) -> Result<(Handle, Stat), Errno> {
        Ok((1, stat()))
    }

    fn handle(&mut self, req: Request) -> Result<Response, Errno> {
        match req {
            Request::Stat { node: 1 } => Ok(Reply::Stat(stat()).into()),
            Request::Open { node: 1, .. } => Ok(Response {
                reply: Reply::Opened,
                fd: Some(tempfile_fd()),
            }),
            Request::Getdents { .. } => Ok(Reply::Xattr {
                value: vec![0; MAX_MESSAGE],
            }
            .into()),
            _ => Err(Errno::ENOENT),
        }
    }
}

#[test]
fn serve_answers_errors_and_keeps_going() {
    let (a, b) = pair();
    let server = std::thread::spawn(move || serve(b.as_fd(), &mut Toy));
    let mut raw = Client::without_handshake(a);
    // Before the handshake.
    assert_eq!(
        raw.call(&Request::Stat { node: 1 })
            .map(|_| ())
            .map_err(|e| e.errno()),
        Err(Errno::EPROTO)
    );
    let bad = Request::Version { version: 99 };
    assert_eq!(
        raw.call(&bad).map(|_| ()).map_err(|e| e.errno()),
        Err(Errno::EPROTONOSUPPORT)
    );
    let mut c = raw.handshake().expect("handshake");
    assert_eq!(c.root(), (1, stat()));
    assert_eq!(c.stat(1).expect("stat"), stat());
    assert_eq!(c.stat(2).map_err(|e| e.errno()), Err(Errno::ENOENT));
    for frame in [
        vec![],
        vec![0xff],
        walk_frame(b".."),
        vec![3; MAX_MESSAGE + 10],
    ] {
        let want = if frame.len() > MAX_MESSAGE {
            Errno::EMSGSIZE
        } else {
            Errno::EINVAL
        };
        assert_eq!(
            c.call_raw(&frame).map(|_| ()).map_err(|e| e.errno()),
            Err(want),
            "{frame:?}"
        );
    }
    assert_eq!(
        c.getdents(1, 0, 10).map_err(|e| e.errno()),
        Err(Errno::E2BIG),
        "oversized reply"
    );
    let fd = c.open(1, libc::O_RDONLY).expect("open donates");
    assert!(nix::sys::stat::fstat(&fd).is_ok());
    assert_eq!(c.stat(1).expect("still serving"), stat());
    drop(c);
    assert!(
        server.join().expect("no panic").is_ok(),
        "serve returns when the peer closes"
    );
}

/// A small stand-in for the fuzz target (`fuzz/`), run with the unit
/// tests: mutated valid frames never panic, and whatever decodes encodes
/// back to the same bytes.
#[test]
fn mutated_frames_decode_canonically_or_not_at_all() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let frames: Vec<Vec<u8>> = all_requests()
        .iter()
        .filter_map(|r| r.encode().ok())
        .chain(all_replies().iter().filter_map(|r| r.encode().ok()))
        .collect();
    let mut decoded = 0;
    for i in 0..200_000 {
        let mut f = frames[i % frames.len()].clone();
        for _ in 0..1 + rand() % 3 {
            let pos = (rand() as usize) % f.len().max(1);
            match rand() % 4 {
                0 if !f.is_empty() => f[pos] = rand() as u8,
                1 if !f.is_empty() => f[pos] ^= 1 << (rand() % 8),
                2 => f.insert(pos.min(f.len()), rand() as u8),
                _ if !f.is_empty() => {
                    f.remove(pos);
                }
                _ => {}
            }
        }
        if let Ok(r) = Request::decode(&f) {
            assert_eq!(r.encode().as_deref(), Ok(&f[..]), "{r:?}");
            decoded += 1;
        }
        if let Ok(r) = Reply::decode(&f) {
            assert_eq!(r.encode().as_deref(), Ok(&f[..]), "{r:?}");
            decoded += 1;
        }
    }
    assert!(
        decoded > 1000,
        "mutations should often stay valid ({decoded})"
    );
}
