# Files with POSIX access ACLs, made as root, then opened, listed and
# checked with access() by other users: prints one line per result.
import errno, os, struct, sys

USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
NONE = 0xFFFFFFFF


def acl(*entries):
    """The system.posix_acl_access value of (tag, perm, id) entries."""
    return struct.pack('<I', 2) + b''.join(
        struct.pack('<HHI', t, p, NONE if i is None else i) for t, p, i in entries)


def make(path, value, data=b'x\n', directory=False):
    if directory:
        os.mkdir(path)
        with open(os.path.join(path, 'f'), 'wb') as f:
            f.write(data)
        os.chmod(os.path.join(path, 'f'), 0o644)
    else:
        with open(path, 'wb') as f:
            f.write(data)
    os.setxattr(path, 'system.posix_acl_access', value)


CASES = {
    # 0644 with user:1000:---: uid 1000 may not read what others may.
    'deny': acl((USER_OBJ, 6, None), (USER, 0, 1000), (GROUP_OBJ, 4, None),
                (MASK, 4, None), (OTHER, 4, None)),
    # 0640-like with user:1000:r--: uid 1000 may read, others not.
    'allow': acl((USER_OBJ, 6, None), (USER, 4, 1000), (GROUP_OBJ, 0, None),
                 (MASK, 4, None), (OTHER, 0, None)),
    # group:2000:rw-: members of 2000 read and write.
    'group': acl((USER_OBJ, 6, None), (GROUP_OBJ, 0, None), (GROUP, 6, 2000),
                 (MASK, 6, None), (OTHER, 0, None)),
    # group:2000:---: a member is refused what others may do.
    'groupdeny': acl((USER_OBJ, 6, None), (GROUP_OBJ, 4, None), (GROUP, 0, 2000),
                     (MASK, 4, None), (OTHER, 4, None)),
    # user:1000:rw- limited by mask::r--.
    'mask': acl((USER_OBJ, 6, None), (USER, 6, 1000), (GROUP_OBJ, 4, None),
                (MASK, 4, None), (OTHER, 0, None)),
    # user:1000:rwx with mask::rw-: nobody executes (root neither).
    'noexec': acl((USER_OBJ, 6, None), (USER, 7, 1000), (GROUP_OBJ, 4, None),
                  (MASK, 6, None), (OTHER, 0, None)),
    # user:1000:rwx with mask::rwx.
    'exec': acl((USER_OBJ, 6, None), (USER, 7, 1000), (GROUP_OBJ, 4, None),
                (MASK, 7, None), (OTHER, 0, None)),
}
# A directory uid 1000 may list but not search.
DIR = acl((USER_OBJ, 7, None), (USER, 4, 1000), (GROUP_OBJ, 5, None),
          (MASK, 5, None), (OTHER, 5, None))


# A directory whose default ACL new files inherit (the umask then unused).
DEFAULT = acl((USER_OBJ, 7, None), (USER, 6, 1000), (GROUP_OBJ, 7, None),
              (MASK, 7, None), (OTHER, 5, None))


def inherit(base):
    d = os.path.join(base, 'inherit')
    os.mkdir(d)
    os.setxattr(d, 'system.posix_acl_default', DEFAULT)
    old = os.umask(0o022)
    os.close(os.open(os.path.join(d, 'f'), os.O_CREAT | os.O_WRONLY, 0o666))
    os.mkdir(os.path.join(d, 'd'), 0o777)
    os.mkfifo(os.path.join(d, 'p'), 0o666)
    os.umask(old)
    for n in 'dfp':
        p = os.path.join(d, n)
        print('inherit', n, oct(os.stat(p).st_mode),
              os.getxattr(p, 'system.posix_acl_access').hex())


def attempt(what, fn):
    try:
        r = fn()
        print(what, 'ok' if r is None else r)
    except OSError as e:
        print(what, errno.errorcode[e.errno])


def read(p):
    with open(p, 'rb') as f:
        f.read()


def write(p):
    with open(p, 'r+b') as f:
        f.write(b'y')


def probe(base):
    for name in CASES:
        p = os.path.join(base, name)
        attempt(name + ' read', lambda: read(p))
        attempt(name + ' write', lambda: write(p))
        for m, c in ((os.R_OK, 'r'), (os.W_OK, 'w'), (os.X_OK, 'x')):
            print(name, 'access', c, os.access(p, m),
                  os.access(p, m, effective_ids=True))
    d = os.path.join(base, 'dir')
    attempt('dir list', lambda: sorted(os.listdir(d)))
    attempt('dir open', lambda: read(os.path.join(d, 'f')))
    attempt('dir stat', lambda: os.stat(os.path.join(d, 'f')).st_size)
    print('dir access x', os.access(d, os.X_OK))
    f = os.path.join(base, 'inherit', 'f')
    attempt('inherited read', lambda: read(f))
    attempt('inherited write', lambda: write(f))


def as_user(uid, gid, groups, base):
    pid = os.fork()
    if pid == 0:
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
        print('--', uid, gid, groups, base)
        probe(base)
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)


def setup(base):
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    for name, value in CASES.items():
        make(os.path.join(base, name), value)
    make(os.path.join(base, 'dir'), DIR, directory=True)
    inherit(base)
    for name in sorted(os.listdir(base)):
        print(name, oct(os.stat(os.path.join(base, name)).st_mode))
    sys.stdout.flush()


def run(base):
    setup(base)
    print('-- root', base)
    probe(base)
    sys.stdout.flush()
    as_user(1000, 1000, [], base)
    as_user(1001, 1001, [], base)
    as_user(1001, 1001, [2000], base)
