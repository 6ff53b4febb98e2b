/* CProcessControl: see include/xsm_process_control.h. */
#define _GNU_SOURCE
#include "xsm_process_control.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#endif

extern char **environ;

#if defined(__linux__) && defined(__x86_64__)
#define XSM_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__linux__) && defined(__aarch64__)
#define XSM_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int xsm_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int xsm_spawn_can_forbid_processes(void) {
#ifdef XSM_AUDIT_ARCH
  return 1;
#else
  return 0;
#endif
}

#ifdef XSM_AUDIT_ARCH
/* Refuses (EPERM) every system call that makes a process: the program runs,
 * but anything it would start (m4's esyscmd and syscmd run /bin/sh) fails. */
static int forbid_new_processes(void) {
  struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, XSM_AUDIT_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    /* Each test jumps to the refusal, the last statement. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 4, 0),
#ifdef __NR_clone3
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 3, 0),
#else
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 3, 0),
#endif
#ifdef __NR_fork
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fork, 2, 0),
#else
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 2, 0),
#endif
#ifdef __NR_vfork
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_vfork, 1, 0),
#else
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
#endif
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
  };
  struct sock_fprog program = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}
#endif

/* In the child between fork and exec: only async-signal-safe calls. */
static void become_child(const char *path, char *const argv[], const char *directory, int stdout_fd, int stderr_fd,
    long long address_space_bytes, int forbid_processes, pid_t parent, int report_fd) {
  int error = 0;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++) sigaction(reset[i], &fallback, NULL);
#ifdef __linux__
  /* Killed when the thread that started it ends (with this process). */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) goto failed;
  if (getppid() != parent) _exit(127);
#endif
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) goto failed;
  /* Nothing else of this process leaks into the program. */
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
#endif
  {
    for (int fd = 3; fd < 4096; fd++)
      if (fd != report_fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (directory != NULL && chdir(directory) != 0) goto failed;
  if (address_space_bytes > 0) {
    struct rlimit limit = {(rlim_t)address_space_bytes, (rlim_t)address_space_bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) goto failed;
  }
  if (forbid_processes) {
#ifdef XSM_AUDIT_ARCH
    if (forbid_new_processes() != 0) goto failed;
#else
    errno = ENOSYS;
    goto failed;
#endif
  }
  execve(path, argv, environ);
failed:
  error = errno;
  while (write(report_fd, &error, sizeof error) < 0 && errno == EINTR) {}
  _exit(127);
}

pid_t xsm_spawn(const char *path, char *const argv[], const char *directory, int stdout_fd, int stderr_fd,
    long long address_space_bytes, int forbid_processes, int *cleanup_slot) {
  *cleanup_slot = -1;
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return -errno;
  pid_t parent = getpid();
  /* The ending signals wait while the child is forked and remembered: a
   * handler running between fork and xsm_cleanup_remember_child would end
   * this process without killing a child it does not know of yet. The child
   * clears its mask before exec (become_child). */
  sigset_t ending_signals, previous_mask;
  sigemptyset(&ending_signals);
  sigaddset(&ending_signals, SIGINT);
  sigaddset(&ending_signals, SIGTERM);
  sigaddset(&ending_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &ending_signals, &previous_mask);
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    pthread_sigmask(SIG_SETMASK, &previous_mask, NULL);
    close(report[0]);
    close(report[1]);
    return -error;
  }
  if (pid == 0) {
    close(report[0]);
    become_child(path, argv, directory, stdout_fd, stderr_fd, address_space_bytes, forbid_processes, parent,
        report[1]);
  }
  *cleanup_slot = xsm_cleanup_remember_child(pid);
  pthread_sigmask(SIG_SETMASK, &previous_mask, NULL);
  close(report[1]);
  /* The report pipe closes at a successful exec; an errno on it means none happened. */
  int error = 0;
  ssize_t got;
  do got = read(report[0], &error, sizeof error);
  while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == (ssize_t)sizeof error) {
    xsm_cleanup_forget(0, *cleanup_slot);
    *cleanup_slot = -1;
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return -(error != 0 ? error : ECHILD);
  }
  return pid;
}

/* MARK: The cleanup registry. */

enum { max_children = 64, max_files = 64, max_path = 4096 };
enum { slot_free = 0, slot_filling = 1, slot_ready = 2 };

static pid_t remembered_children[max_children];
/* Set when a handler has begun to end the process: from then on, a thread
 * about to start a child or make a temporary file waits for the end instead. */
static int ending = 0;

static void wait_for_the_end(void) {
  for (;;) pause();
}
static int file_states[max_files];
static char remembered_files[max_files][max_path];

int xsm_cleanup_remember_child(pid_t pid) {
  if (__atomic_load_n(&ending, __ATOMIC_SEQ_CST)) wait_for_the_end();
  for (int slot = 0; slot < max_children; slot++) {
    pid_t free_slot = 0;
    if (__atomic_compare_exchange_n(&remembered_children[slot], &free_slot, pid, 0, __ATOMIC_SEQ_CST,
            __ATOMIC_SEQ_CST))
      return slot;
  }
  return -1;
}

int xsm_cleanup_remember_file(const char *path) {
  size_t length = strlen(path);
  if (length >= max_path) return -1;
  if (__atomic_load_n(&ending, __ATOMIC_SEQ_CST)) wait_for_the_end();
  for (int slot = 0; slot < max_files; slot++) {
    int free_slot = slot_free;
    if (__atomic_compare_exchange_n(&file_states[slot], &free_slot, slot_filling, 0, __ATOMIC_SEQ_CST,
            __ATOMIC_SEQ_CST)) {
      memcpy(remembered_files[slot], path, length + 1);
      __atomic_store_n(&file_states[slot], slot_ready, __ATOMIC_SEQ_CST);
      return slot;
    }
  }
  return -1;
}

void xsm_cleanup_forget(int kind, int slot) {
  if (kind == 0 && slot >= 0 && slot < max_children) __atomic_store_n(&remembered_children[slot], 0, __ATOMIC_SEQ_CST);
  if (kind == 1 && slot >= 0 && slot < max_files) __atomic_store_n(&file_states[slot], slot_free, __ATOMIC_SEQ_CST);
}

/* Removes the remembered files, then the remembered (now empty) directories. */
static void remove_remembered_files(void) {
  for (int slot = 0; slot < max_files; slot++)
    if (__atomic_load_n(&file_states[slot], __ATOMIC_SEQ_CST) == slot_ready) unlink(remembered_files[slot]);
  for (int slot = 0; slot < max_files; slot++)
    if (__atomic_load_n(&file_states[slot], __ATOMIC_SEQ_CST) == slot_ready) rmdir(remembered_files[slot]);
}

static void clean_up_and_end(int signal_number) {
  int saved = errno;
  __atomic_store_n(&ending, 1, __ATOMIC_SEQ_CST);
  for (int slot = 0; slot < max_children; slot++) {
    pid_t pid = __atomic_load_n(&remembered_children[slot], __ATOMIC_SEQ_CST);
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
  }
  /* Other threads run on meanwhile, but make nothing new: remembering waits now. */
  remove_remembered_files();
  /* The default action, once this handler returns and the signal is unblocked. */
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(signal_number, &fallback, NULL);
  kill(getpid(), signal_number);
  errno = saved;
}

void xsm_cleanup_install_handlers(void) {
  static int installed = 0;
  if (__atomic_exchange_n(&installed, 1, __ATOMIC_SEQ_CST)) return;
  const int signals[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    struct sigaction current;
    if (sigaction(signals[i], NULL, &current) != 0 || current.sa_handler == SIG_IGN) continue;
    struct sigaction handler;
    memset(&handler, 0, sizeof handler);
    handler.sa_handler = clean_up_and_end;
    sigfillset(&handler.sa_mask);
    handler.sa_flags = SA_RESTART;
    sigaction(signals[i], &handler, NULL);
  }
}
