/* sysbench: system-call and file-IO costs inside a container, for hack/bench.
 * usage: sysbench calls ITERS            -> "name ns_per_call" lines
 *        sysbench readdir DIR N          -> "readdir_N ns_per_entry"
 *        sysbench seqio DIR MIB          -> "write_MB/s X" and "read_MB/s Y"
 *        sysbench threads N ITERS DIR    -> "threadsN_calls/s X": N threads
 *          together, each ITERS times stat + open + mkdir + rmdir (close
 *          not counted) under DIR
 *        sysbench eintr ITERS            -> "eintr_per_1k_signals X": opens
 *          a file ITERS times while a 1 kHz timer's handler (no SA_RESTART)
 *          interrupts; how many of 1000 signals made an open fail with
 *          EINTR (natively none: the window before a supervised call is
 *          received, docs/limitations.md)
 * Built static so one binary runs in every image. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

#define BENCH(name, iters, body)                                   \
  do {                                                              \
    double t0 = now();                                              \
    for (long i_ = 0; i_ < (iters); i_++) { body; }                 \
    printf("%s %.1f\n", name, (now() - t0) / (double)(iters));      \
  } while (0)

static int calls(long n) {
  struct utsname u;
  struct stat st;
  char buf[4096];
  int p[2];
  const char *file = "/tmp/sysbench.dat";
  int fd = open(file, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0 || write(fd, memset(buf, 7, sizeof buf), sizeof buf) != sizeof buf) return perror("setup"), 1;
  unlink("/tmp/sysbench.link");
  if (symlink(file, "/tmp/sysbench.link")) return perror("symlink"), 1;
  if (pipe(p)) return perror("pipe"), 1;
  BENCH("getpid", n, syscall(SYS_getpid));
  BENCH("open_close", n / 4, close(open(file, O_RDONLY)));
  BENCH("stat", n / 4, stat(file, &st));
  BENCH("readlink", n / 4, readlink("/tmp/sysbench.link", buf, sizeof buf));
  BENCH("uname", n / 4, uname(&u));
  BENCH("read_4k", n / 4, pread(fd, buf, sizeof buf, 0));
  BENCH("pipe_rw", n / 4, { write(p[1], buf, 1); read(p[0], buf, 1); });
  BENCH("mmap_munmap", n / 4, {
    char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    munmap(m, 4096);
  });
  BENCH("fork_wait", n / 200 + 1, {
    pid_t c = fork();
    if (c == 0) _exit(0);
    waitpid(c, NULL, 0);
  });
  close(fd);
  unlink(file);
  unlink("/tmp/sysbench.link");
  return 0;
}

static int readdir_bench(const char *dir, long n) {
  char path[4096];
  mkdir(dir, 0755);
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%06ld", dir, i);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return perror("create"), 1;
    close(fd);
  }
  long seen = 0;
  double t0 = now();
  for (int r = 0; r < 5; r++) {
    DIR *d = opendir(dir);
    if (!d) return perror("opendir"), 1;
    while (readdir(d)) seen++;
    closedir(d);
  }
  printf("readdir_%ld %.1f\n", n, (now() - t0) / (double)seen);
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%06ld", dir, i);
    unlink(path);
  }
  rmdir(dir);
  return 0;
}

static int seqio(const char *dir, long mib) {
  char path[4096];
  static char buf[1 << 20];
  memset(buf, 3, sizeof buf);
  snprintf(path, sizeof path, "%s/sysbench.io", dir);
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) return perror("open"), 1;
  double t0 = now();
  for (long i = 0; i < mib; i++)
    if (write(fd, buf, sizeof buf) != sizeof buf) return perror("write"), 1;
  fsync(fd);
  double t1 = now();
  lseek(fd, 0, SEEK_SET);
  for (long i = 0; i < mib; i++)
    if (read(fd, buf, sizeof buf) != sizeof buf) return perror("read"), 1;
  double t2 = now();
  printf("write_MB/s %.1f\nread_MB/s %.1f\n", mib / ((t1 - t0) / 1e9), mib / ((t2 - t1) / 1e9));
  close(fd);
  unlink(path);
  return 0;
}

struct mt_arg {
  pthread_barrier_t *start;
  const char *dir;
  long iters, id, failed;
};

static void *mt_worker(void *p) {
  struct mt_arg *a = p;
  char file[4096], sub[4096];
  struct stat st;
  snprintf(file, sizeof file, "%s/shared", a->dir);
  snprintf(sub, sizeof sub, "%s/t%ld", a->dir, a->id);
  if (mkdir(sub, 0755)) a->failed++; /* each thread's own parent: no shared directory lock */
  strcat(sub, "/d");
  pthread_barrier_wait(a->start);
  for (long i = 0; i < a->iters; i++) {
    if (stat(file, &st)) a->failed++;
    int fd = open(file, O_RDONLY);
    if (fd < 0) a->failed++;
    else close(fd);
    if (mkdir(sub, 0755) || rmdir(sub)) a->failed++;
  }
  return NULL;
}

static int threads_bench(long n, long iters, const char *dir) {
  char file[4096];
  if (n < 1 || n > 1024) return fprintf(stderr, "threads: 1..1024\n"), 2;
  mkdir(dir, 0755);
  snprintf(file, sizeof file, "%s/shared", dir);
  int fd = open(file, O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return perror("create"), 1;
  close(fd);
  pthread_t t[1024];
  struct mt_arg a[1024];
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, n + 1);
  for (long i = 0; i < n; i++) {
    a[i] = (struct mt_arg){&start, dir, iters, i, 0};
    if (pthread_create(&t[i], NULL, mt_worker, &a[i])) return perror("pthread_create"), 1;
  }
  pthread_barrier_wait(&start);
  double t0 = now();
  long failed = 0;
  for (long i = 0; i < n; i++) {
    pthread_join(t[i], NULL);
    failed += a[i].failed;
  }
  double secs = (now() - t0) / 1e9;
  for (long i = 0; i < n; i++) {
    snprintf(file, sizeof file, "%s/t%ld", dir, i);
    rmdir(file);
  }
  snprintf(file, sizeof file, "%s/shared", dir);
  unlink(file);
  rmdir(dir);
  if (failed) return fprintf(stderr, "threads: %ld calls failed\n", failed), 1;
  printf("threads%ld_calls/s %.0f\n", n, 4.0 * n * iters / secs);
  return 0;
}

static volatile sig_atomic_t caught;
static void on_alarm(int sig) { (void)sig; caught++; }

static int eintr_bench(long n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART */
  struct itimerval it = {{0, 997}, {0, 997}};
  if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL)) return perror("timer"), 1;
  long eintr = 0;
  for (long i = 0; i < n; i++) {
    int fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0) close(fd);
    else if (errno == EINTR) eintr++;
    else return perror("open"), 1;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("eintr_per_1k_signals %.1f\n", caught ? 1000.0 * eintr / caught : 0.0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "calls")) return calls(atol(argv[2]));
  if (argc == 4 && !strcmp(argv[1], "readdir")) return readdir_bench(argv[2], atol(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "seqio")) return seqio(argv[2], atol(argv[3]));
  if (argc == 3 && !strcmp(argv[1], "eintr")) return eintr_bench(atol(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "threads")) return threads_bench(atol(argv[2]), atol(argv[3]), argv[4]);
  fprintf(stderr, "usage: sysbench calls N | readdir DIR N | seqio DIR MIB | threads N ITERS DIR\n");
  return 2;
}
