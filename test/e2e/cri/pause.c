/*
 * The pod sandbox's process for Switchyard's CRI tests (the "pause" container): it holds
 * the pod's namespaces, reaps orphans when it is PID 1 of a shared PID namespace, and
 * exits 0 on SIGTERM or SIGINT. Built statically by test/e2e/lib/cri-image.ts, so the
 * image needs no libc:  cc -static -Os -s -o pause pause.c
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop;
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) return 1;
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  if (sigaction(SIGCHLD, &sa, NULL) != 0) return 1;
  for (;;) pause();
}
