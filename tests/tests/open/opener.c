/* opener: the open calls Python's os module cannot make, for tests/tests/open.rs.
 *   opener open PATH FLAGS [MODE]    open(2) as asked (no O_CLOEXEC added)
 *   opener creat PATH MODE           creat(2)
 *   opener openat2 DIR PATH FLAGS MODE RESOLVE [SIZE [TAIL]]
 *                                    openat2(2) from directory DIR ("-": the
 *                                    cwd); SIZE bytes of open_how (24), the
 *                                    bytes past 24 all equal to TAIL (0)
 * Numbers take C syntax (0x.., 0..). Prints "ok", the descriptor's
 * fdinfo flags and its first bytes, or the errno's name; exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *name(int e) {
  static const struct { int e; const char *n; } t[] = {
    {ENOENT, "ENOENT"}, {EACCES, "EACCES"}, {EPERM, "EPERM"}, {EEXIST, "EEXIST"},
    {EISDIR, "EISDIR"}, {ENOTDIR, "ENOTDIR"}, {ELOOP, "ELOOP"}, {EXDEV, "EXDEV"},
    {EINVAL, "EINVAL"}, {E2BIG, "E2BIG"}, {EAGAIN, "EAGAIN"}, {EROFS, "EROFS"},
    {EBADF, "EBADF"}, {EFAULT, "EFAULT"}, {EIO, "EIO"}, {ENAMETOOLONG, "ENAMETOOLONG"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (t[i].e == e) return t[i].n;
  static char buf[32];
  snprintf(buf, sizeof buf, "errno %d", e);
  return buf;
}

static unsigned long long num(const char *s) { return strtoull(s, NULL, 0); }

static void show(long fd) {
  if (fd < 0) {
    printf("%s\n", name(errno));
    return;
  }
  char path[64], line[128], flags[32] = "?";
  snprintf(path, sizeof path, "/proc/self/fdinfo/%ld", fd);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "flags: %31s", flags) == 1) break;
  if (f) fclose(f);
  char data[17] = {0};
  ssize_t n = read((int)fd, data, 16);
  for (ssize_t i = 0; i < n; i++)
    if (data[i] == '\n') data[i] = '|';
  printf("ok flags=%s data=%s\n", flags, n >= 0 ? data : name(errno));
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "open")) {
    show(syscall(SYS_open, argv[2], (int)num(argv[3]), argc > 4 ? (int)num(argv[4]) : 0));
  } else if (argc == 4 && !strcmp(argv[1], "creat")) {
    show(syscall(SYS_creat, argv[2], (int)num(argv[3])));
  } else if (argc >= 7 && !strcmp(argv[1], "openat2")) {
    int dir = AT_FDCWD;
    if (strcmp(argv[2], "-") && (dir = open(argv[2], O_PATH | O_DIRECTORY)) < 0)
      return printf("dir %s\n", name(errno)), 0;
    size_t size = argc > 7 ? num(argv[7]) : 24;
    unsigned char how[8192];
    uint64_t words[3] = {num(argv[4]), num(argv[5]), num(argv[6])};
    memset(how, argc > 8 ? (int)num(argv[8]) : 0, sizeof how);
    memcpy(how, words, sizeof words);
    show(syscall(SYS_openat2, dir, argv[3], how, size));
  } else {
    fprintf(stderr, "usage: see opener.c\n");
    return 2;
  }
  return 0;
}
