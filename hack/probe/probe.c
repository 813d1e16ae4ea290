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
#include "escape.h"
#include <pthread.h>
#include <sys/utsname.h>
#include <time.h>

static volatile int flood_stop;
static void *flood_thread(void *arg) {
  struct utsname u;
  long *n = arg;
  while (!flood_stop) { uname(&u); (*n)++; }
  return NULL;
}

/* flood:T:S  T threads calling uname(2) (intercepted) for S seconds. */
static void flood(const char *spec) {
  int threads = 16, secs = 5;
  sscanf(spec, "%d:%d", &threads, &secs);
  if (threads < 1 || threads > 256) threads = 16;
  pthread_t t[256];
  long counts[256] = {0};
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, flood_thread, &counts[i]);
  sleep(secs);
  flood_stop = 1;
  long total = 0;
  for (int i = 0; i < threads; i++) { pthread_join(t[i], NULL); total += counts[i]; }
  printf("flood: %ld calls\n", total);
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return x < y ? -1 : x > y;
}

/* lat:N  N uname(2) calls, one every millisecond: median and max in µs. */
static void latency(const char *spec) {
  int n = atoi(spec);
  if (n < 1 || n > 100000) n = 1000;
  long *us = calloc(n, sizeof *us);
  struct utsname u;
  for (int i = 0; i < n; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    uname(&u);
    clock_gettime(CLOCK_MONOTONIC, &b);
    us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
    usleep(1000);
  }
  qsort(us, n, sizeof *us, cmp_long);
  printf("lat: median=%ld p99=%ld max=%ld\n", us[n / 2], us[n * 99 / 100], us[n - 1]);
  free(us);
}

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
  if (!strcmp(name, "ptrace")) {
    /* SEIZE does not stop pid 1 (the probe's own parent here). */
    long r = syscall(SYS_ptrace, PTRACE_SEIZE, 1, 0, 0);
    if (r == 0) syscall(SYS_ptrace, PTRACE_DETACH, 1, 0, 0);
    return r;
  }
  if (!strcmp(name, "unshare-user")) return syscall(SYS_unshare, CLONE_NEWUSER);
  if (!strcmp(name, "unshare-net")) return syscall(SYS_unshare, CLONE_NEWNET);
  if (!strcmp(name, "clone3")) return syscall(SYS_clone3, NULL, 0);
  if (!strcmp(name, "af_packet")) return socket(AF_PACKET, SOCK_RAW, 0);
  if (!strcmp(name, "raw_inet")) return socket(AF_INET, SOCK_RAW, 1 /* ICMP */);
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
  if (!strcmp(name, "mount-proc")) return mkdir("/tmp/m", 0700), mount("proc", "/tmp/m", "proc", 0, NULL);
  if (!strcmp(name, "mount-sysfs")) return mkdir("/tmp/m", 0700), mount("sysfs", "/tmp/m", "sysfs", 0, NULL);
  if (!strcmp(name, "int80")) return int80_getpid();
  if (!strcmp(name, "x32")) return x32_getpid();
  if (!strcmp(name, "runtime-exe")) return runtime_exe_write();
  if (!strcmp(name, "fds")) return leaked_fds();
  if (!strcmp(name, "cwd")) return cwd_outside();
  if (!strcmp(name, "shocker")) return shocker();
  if (!strcmp(name, "native-create")) return native_create();
  if (!strcmp(name, "release-agent")) return release_agent();
  if (!strcmp(name, "mount-devpts")) return mkdir("/tmp/m", 0700), mount("devpts", "/tmp/m", "devpts", 0, "newinstance");
  if (!strcmp(name, "blockdev")) return any_block_device();
  if (!strcmp(name, "core_pattern")) return open_write("/proc/sys/kernel/core_pattern");
  if (!strcmp(name, "modprobe")) return open_write("/proc/sys/kernel/modprobe");
  if (!strcmp(name, "sysrq")) return open_write("/proc/sysrq-trigger");
  if (!strcmp(name, "kcore")) return read_some("/proc/kcore");
  if (!strcmp(name, "sys-write")) return open_write("/sys/kernel/uevent_helper");
  if (!strcmp(name, "dev-mem")) return device("/dev/mem", 1, 1, S_IFCHR, O_RDONLY);
  if (!strcmp(name, "dev-kmsg")) return device("/dev/kmsg", 1, 11, S_IFCHR, O_RDONLY);
  if (!strcmp(name, "dev-tty0")) return device("/dev/tty0", 4, 0, S_IFCHR, O_WRONLY);
  if (!strcmp(name, "setns-pid1")) return setns_pid1();
  if (!strcmp(name, "ptrace-outside")) return ptrace_outside();
  if (!strcmp(name, "vm-writev-outside")) return vm_writev_outside();
  if (!strcmp(name, "signal-outside")) return signal_outside();
  if (!strncmp(name, "mknod-open:", 11)) {
    int ma = 0, mi = 0;
    sscanf(name + 11, "%d:%d", &ma, &mi);
    unlink("/tmp/hostdisk");
    if (mknod("/tmp/hostdisk", S_IFBLK | 0600, makedev(ma, mi)) < 0) return -1;
    return read_some("/tmp/hostdisk");
  }
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
    if (!strncmp(argv[i], "flood:", 6)) { flood(argv[i] + 6); fflush(stdout); continue; }
    if (!strncmp(argv[i], "lat:", 4)) { latency(argv[i] + 4); fflush(stdout); continue; }
    if (!strcmp(argv[i], "sysinfo")) {
      struct sysinfo si;
      if (sysinfo(&si) == 0)
        printf("sysinfo: totalram=%llu\n", (unsigned long long)si.totalram * si.mem_unit);
      else
        printf("sysinfo: errno=%d (%s)\n", errno, strerror(errno));
      continue;
    }
    /* Each technique in a child of its own, so that one that changes the
     * process (a new user namespace, setns) cannot spoil the next; the
     * i386 entry runs in the probe itself, which it must kill. */
    fflush(stdout);
    pid_t child = strcmp(argv[i], "int80") ? fork() : 0;
    if (child > 0) {
      int st = 0;
      waitpid(child, &st, 0);
      if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", argv[i], WTERMSIG(st));
      continue;
    }
    errno = 0;
    long r = call(argv[i]);
    if (r == -2) printf("%s: unknown probe\n", argv[i]);
    else if (r < 0) printf("%s: errno=%d (%s)\n", argv[i], errno, strerror(errno));
    else printf("%s: ok\n", argv[i]);
    fflush(stdout);
    if (child == 0 && strcmp(argv[i], "int80")) _exit(0);
  }
  printf("alive\n");
  return 0;
}
