/* surface: what a workload learns from the kernel surface it reaches.
 * usage: surface mounts      listmount(2)+statmount(2) of the caller's
 *                            mount namespace: one line per mount with the
 *                            strings statmount returns (root, mount point,
 *                            type, source, options), or "listmount: errno=N"
 *        surface nr N...     syscall N with zero arguments for each N:
 *                            "N: ok" or "N: errno=E"
 * Raw syscalls, no libc wrappers: Debian 12's headers predate them. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_statmount 457
#define NR_listmount 458
#define LSMT_ROOT 0xffffffffffffffffULL
/* STATMOUNT_SB_BASIC | MNT_BASIC | MNT_ROOT | MNT_POINT | FS_TYPE |
 * MNT_OPTS | SB_SOURCE */
#define STATMOUNT_MASK (0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x80 | 0x200)
/* struct statmount's fixed part (Linux 6.8..6.18): the strings follow. */
#define STATMOUNT_HEADER 512

struct mnt_id_req {
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};

static int mounts(void) {
  uint64_t ids[512];
  struct mnt_id_req req = {.size = sizeof req, .mnt_id = LSMT_ROOT};
  long n = syscall(NR_listmount, &req, ids, 512, 0);
  if (n < 0) {
    printf("listmount: errno=%d\n", errno);
    return 0;
  }
  static char buf[1 << 16];
  for (long i = 0; i < n; i++) {
    struct mnt_id_req q = {.size = sizeof q, .mnt_id = ids[i], .param = STATMOUNT_MASK};
    memset(buf, 0, sizeof buf);
    if (syscall(NR_statmount, &q, buf, sizeof buf, 0) < 0) {
      printf("statmount %llu: errno=%d\n", (unsigned long long)ids[i], errno);
      continue;
    }
    uint32_t size = *(uint32_t *)buf;
    if (size > sizeof buf) size = sizeof buf;
    printf("%llu:", (unsigned long long)ids[i]);
    /* Every NUL-terminated string of the string area. */
    for (uint32_t at = STATMOUNT_HEADER; at < size;) {
      size_t len = strnlen(buf + at, size - at);
      if (len) printf(" %.*s", (int)len, buf + at);
      at += len + 1;
    }
    printf("\n");
  }
  printf("listed %ld\n", n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "mounts")) return mounts();
  if (argc >= 2 && !strcmp(argv[1], "nr")) {
    for (int i = 2; i < argc; i++) {
      long nr = strtol(argv[i], NULL, 0);
      errno = 0;
      long r = syscall(nr, 0, 0, 0, 0, 0, 0);
      if (r < 0)
        printf("%ld: errno=%d\n", nr, errno);
      else
        printf("%ld: ok\n", nr);
    }
    return 0;
  }
  fprintf(stderr, "usage: surface mounts | surface nr N...\n");
  return 2;
}
