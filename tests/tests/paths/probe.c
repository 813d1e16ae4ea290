/* Runs the steps given as arguments, one per argument, printing each
 * result (a number, "ok", or the errno name): the calls the test image's
 * python cannot make (no ctypes).
 *   init                       inotify_init1(IN_NONBLOCK), becomes fd I
 *   watch PATH MASK            inotify_add_watch(I, PATH, MASK)
 *   watchfd FD PATH MASK       inotify_add_watch(FD, PATH, MASK)
 *   rm WD                      inotify_rm_watch(I, WD)
 *   events                     read I, print (wd mask name) per event
 *   append PATH                append a byte to PATH
 *   touch PATH                 create PATH
 *   chmod PATH MODE
 *   ids UID                    setgid(UID), setuid(UID)
 *   bindfd FD PATH / connectfd FD PATH   bind/connect FD to a path address
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static void show(const char *label, long r) {
    if (r < 0)
        printf("%s %s\n", label, ename(errno));
    else
        printf("%s %ld\n", label, r);
}

static long addr_call(int connect_, int fd, const char *path) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strncpy(a.sun_path, path, sizeof a.sun_path - 1);
    socklen_t n = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
    return connect_ ? connect(fd, (struct sockaddr *)&a, n) : bind(fd, (struct sockaddr *)&a, n);
}

int main(int argc, char **argv) {
    int in = -1;
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        errno = 0;
        if (!strcmp(op, "init")) {
            in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
            show(op, in < 0 ? in : 0);
        } else if (!strcmp(op, "watch") && i + 2 < argc) {
            char label[300];
            snprintf(label, sizeof label, "watch %s %s", argv[i + 1], argv[i + 2]);
            show(label, inotify_add_watch(in, argv[i + 1], strtoul(argv[i + 2], 0, 0)));
            i += 2;
        } else if (!strcmp(op, "watchfd") && i + 3 < argc) {
            char label[300];
            snprintf(label, sizeof label, "watchfd %s %s", argv[i + 1], argv[i + 2]);
            show(label, inotify_add_watch(atoi(argv[i + 1]), argv[i + 2],
                                          strtoul(argv[i + 3], 0, 0)));
            i += 3;
        } else if (!strcmp(op, "rm") && i + 1 < argc) {
            show("rm", inotify_rm_watch(in, atoi(argv[++i])));
        } else if (!strcmp(op, "events")) {
            char buf[4096] __attribute__((aligned(8)));
            ssize_t n = read(in, buf, sizeof buf);
            if (n < 0)
                show("events", n);
            for (ssize_t off = 0; n > 0 && off < n;) {
                struct inotify_event *e = (struct inotify_event *)(buf + off);
                printf("event %d %#x %s\n", e->wd, e->mask, e->len ? e->name : "-");
                off += sizeof *e + e->len;
            }
        } else if (!strcmp(op, "append") && i + 1 < argc) {
            int fd = open(argv[++i], O_WRONLY | O_APPEND);
            show("append", fd < 0 ? fd : write(fd, "x", 1));
            if (fd >= 0)
                close(fd);
        } else if (!strcmp(op, "touch") && i + 1 < argc) {
            int fd = open(argv[++i], O_WRONLY | O_CREAT, 0644);
            show("touch", fd < 0 ? fd : close(fd));
        } else if (!strcmp(op, "chmod") && i + 2 < argc) {
            show("chmod", chmod(argv[i + 1], strtoul(argv[i + 2], 0, 8)));
            i += 2;
        } else if (!strcmp(op, "ids") && i + 1 < argc) {
            int id = atoi(argv[++i]);
            show("ids", setgid(id) < 0 ? -1 : setuid(id));
        } else if ((!strcmp(op, "bindfd") || !strcmp(op, "connectfd")) && i + 2 < argc) {
            show(op, addr_call(op[0] == 'c', atoi(argv[i + 1]), argv[i + 2]));
            i += 2;
        } else {
            fprintf(stderr, "bad step %s\n", op);
            return 2;
        }
    }
    return 0;
}
