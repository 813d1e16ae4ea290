/* probe: call system calls a sandbox must refuse, print what happened.
 * usage: probe NAME...   prints "NAME: ok" or "NAME: errno=N (text)" per
 * name, then "alive" (the process survived every attempt). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/sysinfo.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <linux/if_ether.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>

/* getpid through the i386 entry; a sandbox must not serve it. */
static long int80_getpid(void) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(20) : "memory");
  if (r < 0) { errno = -r; return -1; }
  return r;
}

static long clone_user(void) {
  long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) waitpid(r, NULL, 0);
  return r < 0 ? -1 : 0;
}

static long setns_host_mnt(void) {
  int fd = open("/proc/1/ns/mnt", O_RDONLY);
  if (fd < 0) return -1;
  return syscall(SYS_setns, fd, 0);
}

static long vm_writev_pid1(void) {
  char buf[8] = {0};
  struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
  return syscall(SYS_process_vm_writev, 1, &local, 1, &remote, 1, 0);
}

static long call(const char *name) {
  if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0, NULL, 0);
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, 0, 0, 0, 0);
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "k", "v", 1, -2);
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 0);
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(name, "io_uring_setup")) return syscall(SYS_io_uring_setup, 1, NULL);
  if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
  if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0, "");
  if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, NULL, 0);
  if (!strcmp(name, "ptrace")) return syscall(SYS_ptrace, 0x10 /* ATTACH */, 1, 0, 0);
  if (!strcmp(name, "unshare-user")) return syscall(SYS_unshare, CLONE_NEWUSER);
  if (!strcmp(name, "unshare-net")) return syscall(SYS_unshare, CLONE_NEWNET);
  if (!strcmp(name, "clone3")) return syscall(SYS_clone3, NULL, 0);
  if (!strcmp(name, "af_packet")) return socket(AF_PACKET, SOCK_RAW, 0);
  if (!strcmp(name, "unknown")) return syscall(1000);
  if (!strcmp(name, "clone-user")) return clone_user();
  if (!strcmp(name, "setns-host")) return setns_host_mnt();
  if (!strcmp(name, "process_vm_writev")) return vm_writev_pid1();
  if (!strcmp(name, "reboot")) return syscall(SYS_reboot, 0xfee1dead, 672274793, 0 /* CAD_OFF */, 0);
  if (!strcmp(name, "swapon")) return syscall(SYS_swapon, "/nonexistent", 0);
  if (!strcmp(name, "acct")) return syscall(SYS_acct, NULL);
  if (!strcmp(name, "quotactl")) return syscall(SYS_quotactl, 0, "/dev/null", 0, NULL);
  if (!strcmp(name, "kexec_file_load")) return syscall(SYS_kexec_file_load, -1, -1, 0, "", 0);
  if (!strcmp(name, "mknod-blk")) return mknod("/tmp/hostdisk", S_IFBLK | 0600, makedev(8, 0));
  if (!strcmp(name, "mount-proc")) return mount("proc", "/mnt", "proc", 0, NULL);
  if (!strcmp(name, "mount-sysfs")) return mount("sysfs", "/mnt", "sysfs", 0, NULL);
  if (!strcmp(name, "int80")) return int80_getpid();
  errno = EINVAL;
  return -2;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "alloc:", 6)) {
      /* Allocate and touch N MiB; an OOM kill ends the process here. */
      long mib = atol(argv[i] + 6);
      for (long m = 0; m < mib; m++) {
        char *p = malloc(1 << 20);
        if (!p) { printf("alloc: failed at %ld MiB\n", m); break; }
        memset(p, 1, 1 << 20);
      }
      printf("alloc: %ld MiB ok\n", mib);
      fflush(stdout);
      continue;
    }
    if (!strncmp(argv[i], "fork:", 5)) {
      /* Fork up to N sleeping children; report the first failure. */
      long n = atol(argv[i] + 5), made = 0;
      pid_t kids[4096];
      for (; made < n && made < 4096; made++) {
        pid_t c = fork();
        if (c == 0) { pause(); _exit(0); }
        if (c < 0) { printf("fork: errno=%d (%s) after %ld\n", errno, strerror(errno), made); break; }
        kids[made] = c;
      }
      if (made == n) printf("fork: %ld ok\n", made);
      for (long k = 0; k < made; k++) { kill(kids[k], SIGKILL); waitpid(kids[k], NULL, 0); }
      continue;
    }
    if (!strcmp(argv[i], "sysinfo")) {
      struct sysinfo si;
      if (sysinfo(&si) == 0)
        printf("sysinfo: totalram=%llu\n", (unsigned long long)si.totalram * si.mem_unit);
      else
        printf("sysinfo: errno=%d (%s)\n", errno, strerror(errno));
      continue;
    }
    errno = 0;
    long r = call(argv[i]);
    if (r == -2) printf("%s: unknown probe\n", argv[i]);
    else if (r < 0) printf("%s: errno=%d (%s)\n", argv[i], errno, strerror(errno));
    else printf("%s: ok\n", argv[i]);
  }
  printf("alive\n");
  return 0;
}
