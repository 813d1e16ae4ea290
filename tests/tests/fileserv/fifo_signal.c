/* fifo_signal: an open of a FIFO with no writer blocks; a caught signal
 * must interrupt it as natively. Prints what happened, one line a case:
 *   eintr:   SIGALRM's handler without SA_RESTART: the open fails, EINTR
 *   restart: with SA_RESTART: the handler runs, the open goes on and
 *            succeeds once a child opens the other end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t caught;
static void on_alarm(int sig) { (void)sig; caught++; }

static void handle(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = flags;
  sigaction(SIGALRM, &sa, NULL);
}

int main(void) {
  if (mkfifo("/tmp/fifo", 0600)) return perror("mkfifo"), 1;
  handle(0);
  caught = 0;
  alarm(1);
  int fd = open("/tmp/fifo", O_RDONLY);
  printf("eintr: open %s, handler ran %d time(s)\n", fd < 0 ? strerror(errno) : "succeeded", (int)caught);
  if (fd >= 0) close(fd);

  handle(SA_RESTART);
  caught = 0;
  pid_t writer = fork();
  if (writer == 0) {
    sleep(2);
    int w = open("/tmp/fifo", O_WRONLY);
    _exit(w < 0);
  }
  alarm(1);
  fd = open("/tmp/fifo", O_RDONLY);
  printf("restart: open %s, handler ran %d time(s)\n", fd < 0 ? strerror(errno) : "succeeded", (int)caught);
  int status;
  waitpid(writer, &status, 0);
  return 0;
}
