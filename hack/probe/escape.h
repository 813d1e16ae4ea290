/* Escape attempts for hack/probe/probe.c, one function per technique of
 * moat's escape suite (tests/tests/escape.rs). Each returns >= 0 when the
 * technique worked, -1 with errno set when it failed. None of them changes
 * host state when it works: files are opened for writing but never
 * written, signals are signal 0, memory writes target an unmapped address. */
#include <dirent.h>
#include <sys/ptrace.h>

static int comm_of(int pid, char *out, size_t n) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%d/comm", pid);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t r = read(fd, out, n - 1);
  close(fd);
  if (r <= 0) return -1;
  out[r] = 0;
  if (r > 0 && out[r - 1] == '\n') out[r - 1] = 0;
  return 0;
}

static int same_link(const char *a, const char *b) {
  char x[256] = {0}, y[256] = {0};
  if (readlink(a, x, sizeof x - 1) < 0 || readlink(b, y, sizeof y - 1) < 0) return -1;
  return strcmp(x, y) == 0;
}

/* A process outside the sandbox, as the workload can see it: a runtime or
 * host daemon by name, or any process in another pid namespace. 0 if none. */
static int find_outside(void) {
  static const char *names[] = {"moat-sentry", "moat", "runc", "containerd", "dockerd",
                                "containerd-shim", "containerd-shim-runc-v2", "systemd", NULL};
  DIR *d = opendir("/proc");
  if (!d) return 0;
  struct dirent *e;
  int found = 0, self = getpid();
  while (!found && (e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == self) continue;
    char comm[64], ns[64];
    if (comm_of(pid, comm, sizeof comm) == 0)
      for (int i = 0; names[i]; i++)
        if (!strcmp(comm, names[i])) found = pid;
    snprintf(ns, sizeof ns, "/proc/%d/ns/pid", pid);
    if (same_link(ns, "/proc/self/ns/pid") == 0) found = pid;
  }
  closedir(d);
  return found;
}

static long no_target(void) { errno = ESRCH; return -1; }

/* CVE-2019-5736: reach a runtime binary through /proc/<pid>/exe and open it
 * for writing, directly or by reopening an O_PATH descriptor. */
static long runtime_exe_write(void) {
  DIR *d = opendir("/proc");
  if (!d) return -1;
  struct dirent *e;
  int seen = 0, err = ESRCH;
  long res = -1;
  while ((e = readdir(d))) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char link[64], target[512] = {0};
    snprintf(link, sizeof link, "/proc/%d/exe", pid);
    if (readlink(link, target, sizeof target - 1) < 0) {
      char comm[64];
      /* A non-dumpable runtime process: its exe link is closed. */
      if (comm_of(pid, comm, sizeof comm) == 0 && (strstr(comm, "moat") || strstr(comm, "runc")))
        { seen++; err = errno; }
      continue;
    }
    if (!strstr(target, "moat") && !strstr(target, "runc") && !strstr(target, "containerd")) continue;
    seen++;
    int fd = open(link, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { close(fd); res = 0; break; }
    err = errno;
    int pfd = open(link, O_PATH | O_CLOEXEC);
    if (pfd < 0) continue;
    char via[64];
    snprintf(via, sizeof via, "/proc/self/fd/%d", pfd);
    fd = open(via, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { close(fd); close(pfd); res = 0; break; }
    err = errno;
    close(pfd);
  }
  closedir(d);
  if (res < 0) errno = seen ? err : ESRCH;
  return res;
}

/* CVE-2024-21626: any descriptor beyond stdio the workload starts with, or
 * stdio naming a directory, is a leak. */
static long leaked_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  struct dirent *e;
  long leaked = -1;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    char link[64], target[512] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    readlink(link, target, sizeof target - 1);
    struct stat st;
    if (fd > 2 || (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))) {
      printf("  leaked fd %d -> %s\n", fd, target);
      leaked = 0;
    }
  }
  closedir(d);
  if (leaked < 0) errno = ENOENT;
  return leaked;
}

/* CVE-2024-21626: a working directory outside the container's root. Walk
 * ".." from the cwd: the top must be the root we see as "/". */
static long cwd_outside(void) {
  struct stat root, cur, up;
  if (stat("/", &root) < 0) return -1;
  int fd = open(".", O_PATH | O_DIRECTORY);
  if (fd < 0) return -1;
  for (int i = 0; i < 256; i++) {
    if (fstat(fd, &cur) < 0) break;
    int next = openat(fd, "..", O_PATH | O_DIRECTORY);
    if (next < 0) break;
    fstat(next, &up);
    close(fd);
    fd = next;
    if (up.st_ino == cur.st_ino && up.st_dev == cur.st_dev) break;
  }
  fstat(fd, &cur);
  close(fd);
  if (cur.st_ino == root.st_ino && cur.st_dev == root.st_dev) { errno = ENOENT; return -1; }
  return 0;
}

/* "Shocker": a file handle for inode 2 (the root of an ext4 file system)
 * opened relative to a bind-mounted host file. */
static long shocker(void) {
  struct { struct file_handle h; unsigned char b[64]; } fh;
  fh.h.handle_bytes = 64;
  int mnt;
  if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/hosts", &fh.h, &mnt, 0) < 0) return -1;
  unsigned int ino2[2] = {2, 0};
  memcpy(fh.h.f_handle, ino2, sizeof ino2);
  fh.h.handle_bytes = 8;
  int at = open("/etc/hosts", O_RDONLY);
  long fd = syscall(SYS_open_by_handle_at, at, &fh.h, O_RDONLY);
  if (fd >= 0) close(fd);
  close(at);
  return fd;
}

/* CVE-2022-0492: a cgroup v1 hierarchy (existing or freshly mounted) whose
 * release_agent opens for writing. */
static long release_agent(void) {
  static const char *have[] = {"/sys/fs/cgroup/release_agent", "/sys/fs/cgroup/memory/release_agent",
                               "/sys/fs/cgroup/rdma/release_agent", NULL};
  for (int i = 0; have[i]; i++) {
    int fd = open(have[i], O_WRONLY);
    if (fd >= 0) { close(fd); return 0; }
  }
  int err = errno;
  mkdir("/tmp/cg", 0700);
  static const char *ctl[] = {"rdma", "memory", "pids", NULL};
  for (int i = 0; ctl[i]; i++) {
    if (mount("cgroup", "/tmp/cg", "cgroup", 0, ctl[i]) < 0) { err = errno; continue; }
    int fd = open("/tmp/cg/release_agent", O_WRONLY);
    err = errno;
    umount2("/tmp/cg", MNT_DETACH);
    if (fd >= 0) { close(fd); return 0; }
  }
  errno = err;
  return -1;
}

/* Open a device for reading (1 byte must arrive) or writing: the node in
 * /dev if the runtime made one, else one made with mknod. */
static long device(const char *path, int major, int minor, int kind, int flags) {
  int fd = open(path, flags | O_NONBLOCK);
  int err = errno;
  if (fd < 0) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/dev-%d-%d", major, minor);
    unlink(tmp);
    if (mknod(tmp, kind | 0600, makedev(major, minor)) < 0) {
      errno = err == ENOENT ? errno : err;
      return -1;
    }
    fd = open(tmp, flags | O_NONBLOCK);
    if (fd < 0) return -1;
  }
  if ((flags & O_ACCMODE) == O_RDONLY) {
    char c;
    ssize_t r = read(fd, &c, 1);
    int e = errno;
    close(fd);
    if (r == 1) return 0;
    errno = r == 0 ? ENODATA : e;
    return -1;
  }
  close(fd);
  return 0;
}

/* Any block device under /dev that opens and reads: the host's disks. */
static long any_block_device(void) {
  DIR *d = opendir("/dev");
  if (!d) return -1;
  struct dirent *e;
  long res = -1;
  errno = ENOENT;
  int err = ENOENT;
  while (res < 0 && (e = readdir(d))) {
    char p[300];
    struct stat st;
    snprintf(p, sizeof p, "/dev/%s", e->d_name);
    if (stat(p, &st) < 0 || !S_ISBLK(st.st_mode)) continue;
    res = device(p, major(st.st_rdev), minor(st.st_rdev), S_IFBLK, O_RDONLY);
    if (res < 0) err = errno;
  }
  closedir(d);
  if (res < 0) errno = err;
  return res;
}

static long open_write(const char *path) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

static long read_some(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  char b[16];
  ssize_t r = read(fd, b, sizeof b);
  int e = errno;
  close(fd);
  if (r > 0) return 0;
  errno = r == 0 ? ENODATA : e;
  return -1;
}

/* setns into every namespace of pid 1 that differs from ours. */
static long setns_pid1(void) {
  static const char *ns[] = {"mnt", "net", "pid", "uts", "ipc", "cgroup", "user", NULL};
  int joined = 0, tried = 0, err = ENOENT;
  for (int i = 0; ns[i]; i++) {
    char a[64], b[64];
    snprintf(a, sizeof a, "/proc/1/ns/%s", ns[i]);
    snprintf(b, sizeof b, "/proc/self/ns/%s", ns[i]);
    if (same_link(a, b) == 1) continue;
    tried++;
    int fd = open(a, O_RDONLY);
    if (fd < 0) { err = errno; continue; }
    if (syscall(SYS_setns, fd, 0) == 0) joined++;
    else err = errno;
    close(fd);
  }
  if (joined) return 0;
  errno = tried ? err : ESRCH;
  return -1;
}

static long ptrace_outside(void) {
  int pid = find_outside();
  if (!pid) return no_target();
  long r = ptrace(PTRACE_SEIZE, pid, 0, 0);
  if (r == 0) ptrace(PTRACE_DETACH, pid, 0, 0);
  return r;
}

static long vm_writev_outside(void) {
  int pid = find_outside();
  if (!pid) return no_target();
  char buf[8] = {0};
  /* An address no process maps: the call fails with EFAULT if allowed. */
  struct iovec local = {buf, sizeof buf}, remote = {(void *)8, sizeof buf};
  long r = syscall(SYS_process_vm_writev, pid, &local, 1, &remote, 1, 0);
  if (r < 0 && errno == EFAULT) return 0;
  return r;
}

/* Signal 0 to the sentry / runtime: the permission check without a signal. */
static long signal_outside(void) {
  int pid = find_outside();
  if (!pid) return no_target();
  return kill(pid, 0);
}

static long x32_getpid(void) { return syscall(0x40000000 | SYS_getpid); }

/* A change to the rootfs the sentry never sees: a descriptor the kernel
 * opened (O_PATH, left native) given a second name with
 * linkat(AT_EMPTY_PATH). The sentry leaves the link of an O_PATH
 * descriptor to the kernel, as it left its open; Landlock (moat's
 * second wall behind seccomp) refuses the name. (An O_TMPFILE file is
 * the gofer's, named through the sentry's checks.) */
static long native_create(void) {
  int src = open("/tmp/moat-native-src", O_CREAT | O_WRONLY, 0600);
  if (src < 0) return -1;
  close(src);
  int fd = open("/tmp/moat-native-src", O_PATH);
  if (fd < 0) return -1;
  unlink("/tmp/moat-native-create");
  long r = linkat(fd, "", AT_FDCWD, "/tmp/moat-native-create", AT_EMPTY_PATH);
  int e = errno;
  close(fd);
  errno = e;
  return r;
}
