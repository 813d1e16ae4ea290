/* Makes the mount calls busybox cannot make as asked, printing each
 * result ("ok" or the errno name), and times mount+umount of a tmpfs.
 *   mount SRC TARGET TYPE FLAGS    mount(2); "-" for a NULL string,
 *                                  FLAGS in hex
 *   umount TARGET FLAGS            umount2(2), FLAGS in hex
 *   chroot PATH                    chroot(2)
 *   bench N TARGET                 N tmpfs mounts and umounts: us each
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    default: return "other";
    }
}

static const char *str(const char *s) { return strcmp(s, "-") ? s : NULL; }

static void result(int r) { puts(r == 0 ? "ok" : ename(errno)); }

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "mount") && i + 4 < argc) {
            unsigned long flags = strtoul(argv[i + 4], NULL, 16);
            result(mount(str(argv[i + 1]), argv[i + 2], str(argv[i + 3]), flags, NULL));
            i += 4;
        } else if (!strcmp(op, "umount") && i + 2 < argc) {
            result(umount2(argv[i + 1], (int)strtoul(argv[i + 2], NULL, 16)));
            i += 2;
        } else if (!strcmp(op, "chroot") && i + 1 < argc) {
            result(chroot(argv[i + 1]));
            i += 1;
        } else if (!strcmp(op, "bench") && i + 2 < argc) {
            int n = atoi(argv[i + 1]);
            double t = now_us();
            for (int k = 0; k < n; k++) {
                if (mount("none", argv[i + 2], "tmpfs", 0, NULL) || umount2(argv[i + 2], 0)) {
                    printf("bench: %s\n", ename(errno));
                    return 1;
                }
            }
            printf("mount+umount2: %.1f us\n", (now_us() - t) / n);
            i += 2;
        } else {
            fprintf(stderr, "bad step %s\n", op);
            return 2;
        }
    }
    return 0;
}
