/* tmpfile: an O_TMPFILE file given names, for tests/tests/tmpfile.rs.
 *   tmpfile DIR MODE [excl]
 * opens DIR with O_TMPFILE|O_RDWR (|O_EXCL), writes "hello", links it as
 * DIR/by-proc (linkat of /proc/self/fd/N, AT_SYMLINK_FOLLOW) and as
 * DIR/by-fd (linkat AT_EMPTY_PATH); prints each step's result and the
 * names' mode, owner, size, link count and content. Exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void result(const char *what, int r) {
  if (r < 0)
    printf("%s: %s\n", what, strerror(errno));
  else
    printf("%s: ok\n", what);
}

static void show(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) {
    printf("%s: %s\n", path, strerror(errno));
    return;
  }
  char buf[16] = {0};
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf - 1) < 0) buf[0] = 0;
    close(fd);
  }
  printf("%s: %o %u:%u size %lld links %lu \"%s\"\n", path, st.st_mode, st.st_uid, st.st_gid,
         (long long)st.st_size, (unsigned long)st.st_nlink, buf);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *dir = argv[1];
  int flags = O_TMPFILE | O_RDWR | (argc > 3 ? O_EXCL : 0);
  int fd = open(dir, flags, (mode_t)strtol(argv[2], NULL, 8));
  if (fd < 0) {
    result("open", -1);
    return 0;
  }
  result("open", fd);
  result("write", write(fd, "hello", 5) == 5 ? 0 : -1);
  char proc[64], by_proc[4096], by_fd[4096];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  snprintf(by_proc, sizeof by_proc, "%s/by-proc", dir);
  snprintf(by_fd, sizeof by_fd, "%s/by-fd", dir);
  result("link by /proc", linkat(AT_FDCWD, proc, AT_FDCWD, by_proc, AT_SYMLINK_FOLLOW));
  result("link by fd", linkat(fd, "", AT_FDCWD, by_fd, AT_EMPTY_PATH));
  result("link again", linkat(fd, "", AT_FDCWD, by_proc, AT_EMPTY_PATH));
  show(by_proc);
  show(by_fd);
  unlink(by_proc);
  unlink(by_fd);
  return 0;
}
