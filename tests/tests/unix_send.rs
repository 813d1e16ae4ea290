//! `sendto(2)` with a path Unix address: checked by the sentry as the
//! kernel looks the peer up (`ENOENT`, `EACCES` without write permission
//! on the socket file, `ECONNREFUSED` for anything but a socket), then
//! run by the kernel; what the workload sees must be what runc shows.

use moat_tests::*;

const SCRIPT: &str = r#"
import os, socket
def t(label, f):
    try:
        print(label, f())
    except OSError as e:
        print(label, e.strerror)
os.umask(0o022)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
srv.bind("/tmp/dg")
cl = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
t("sendto", lambda: cl.sendto(b"hello", "/tmp/dg"))
print("got", srv.recv(10))
t("relative", lambda: (os.chdir("/tmp"), cl.sendto(b"rel", "dg"))[1])
print("got", srv.recv(10))
open("/tmp/plain", "w").close()
os.mkdir("/tmp/dir")
t("file", lambda: cl.sendto(b"x", "/tmp/plain"))
t("dir", lambda: cl.sendto(b"x", "/tmp/dir"))
t("missing", lambda: cl.sendto(b"x", "/tmp/none"))
t("missing-dir", lambda: cl.sendto(b"x", "/none/dg"))
gone = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
gone.bind("/tmp/gone"); os.unlink("/tmp/gone")
t("removed", lambda: cl.sendto(b"x", "/tmp/gone"))
st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
t("stream", lambda: st.sendto(b"x", "/tmp/none"))
t("inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9)))
if os.getuid() == 0:
    os.chmod("/tmp/dg", 0o755)
    os.setgid(1000); os.setuid(1000)
t("no-write", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", "/tmp/dg"))
"#;

#[test]
fn sendto_a_path_is_checked_as_under_runc() {
    for user in ["0", "1000"] {
        let out = same_as_runc_in(&["--user", user], &["moat-debian", "python3", "-c", SCRIPT]);
        assert!(out.contains("sendto 5\ngot b'hello'"), "{out}");
        assert!(out.contains("file Connection refused"), "{out}");
        assert!(out.contains("removed No such file or directory"), "{out}");
    }
}
