/* syscall NR ARG...: run one raw system call and print "ok" or the errno's
 * name (the test image's Python has no ctypes). An argument is a number,
 * "null", "s:TEXT" (a pointer to TEXT) or "t:A,B,C,D" (a pointer to up to
 * four longs: two timespecs, two timevals, a utimbuf). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long a[6] = {0}, longs[6][4] = {{0}};
  if (argc < 2 || argc > 8) {
    fprintf(stderr, "usage: syscall NR [ARG...]\n");
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    char *s = argv[i], *p;
    int k = i - 2;
    if (!strncmp(s, "s:", 2)) {
      a[k] = (long)(s + 2);
    } else if (!strcmp(s, "null")) {
      a[k] = 0;
    } else if (!strncmp(s, "t:", 2)) {
      p = s + 2;
      for (int j = 0; j < 4 && *p; j++) {
        longs[k][j] = strtol(p, &p, 10);
        if (*p == ',') p++;
      }
      a[k] = (long)longs[k];
    } else {
      a[k] = strtol(s, NULL, 10);
    }
  }
  if (syscall(strtol(argv[1], NULL, 10), a[0], a[1], a[2], a[3], a[4], a[5]) < 0) {
    printf("%s\n", strerrorname_np(errno));
    return 1;
  }
  printf("ok\n");
  return 0;
}
