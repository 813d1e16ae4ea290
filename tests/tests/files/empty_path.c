/* empty_path: the stat calls glibc's fstat makes (AT_EMPTY_PATH), which
 * moat lets run natively, and the same flag with a path, which the kernel
 * then resolves as the caller: each line must read as under runc. Run as
 * root; it makes /tmp/locked (0700) and drops to uid 1000 for the rest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show_stat(const char *what, int dirfd, const char *path) {
  struct stat st;
  if (syscall(SYS_newfstatat, dirfd, path, &st, AT_EMPTY_PATH))
    printf("%s newfstatat: %s\n", what, strerror(errno));
  else
    printf("%s newfstatat: mode %o uid %u size %lld\n", what, st.st_mode, st.st_uid, (long long)st.st_size);
}

static void show_statx(const char *what, int dirfd, const char *path) {
  struct statx sx;
  if (syscall(SYS_statx, dirfd, path, AT_EMPTY_PATH, STATX_BASIC_STATS, &sx))
    printf("%s statx: %s\n", what, strerror(errno));
  else
    printf("%s statx: mode %o uid %u size %llu\n", what, sx.stx_mode, sx.stx_uid, (unsigned long long)sx.stx_size);
}

static void both(const char *what, int dirfd, const char *path) {
  show_stat(what, dirfd, path);
  show_statx(what, dirfd, path);
}

int main(void) {
  if (mkdir("/tmp/locked", 0700) || close(open("/tmp/locked/f", O_CREAT | O_WRONLY, 0644)))
    return perror("setup"), 1;
  int fd = open("/etc/passwd", O_RDONLY);
  if (fd < 0) return perror("open"), 1;
  both("fd", fd, "");
  both("path", AT_FDCWD, "/etc/passwd");
  both("mountinfo", AT_FDCWD, "/proc/self/mountinfo");
  both("missing", AT_FDCWD, "/nonexistent");
  if (setgid(1000) || setuid(1000)) return perror("setuid"), 1;
  both("locked as 1000", AT_FDCWD, "/tmp/locked/f");
  both("fd as 1000", fd, "");
  return 0;
}
