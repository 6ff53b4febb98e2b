/*
 * CProcessControl: what xsmtools needs from the operating system that Swift's
 * Foundation cannot do for a child process or a signal.
 *
 * - xsm_spawn starts a program as a child that dies with this process
 *   (PR_SET_PDEATHSIG, set in the child before exec, which posix_spawn and
 *   Foundation's Process cannot do), stays in this process group, and runs
 *   with an address-space limit and, on request, unable to start processes
 *   of its own (a seccomp filter that refuses clone, clone3, fork and vfork).
 * - The cleanup registry holds the children and the temporary files alive
 *   at this moment. Once xsm_cleanup_install_handlers has run, SIGINT,
 *   SIGTERM and SIGHUP kill and reap those children, remove those files
 *   (and then those empty directories), and end the process as the
 *   signal's default action would.
 *   The handler does only async-signal-safe calls, on fixed-size tables.
 *   Once it has begun, a thread that would remember a new child or file
 *   waits for the end instead, so nothing new is made behind its back.
 */
#ifndef XSM_PROCESS_CONTROL_H
#define XSM_PROCESS_CONTROL_H

#include <sys/types.h>

/* Starts `path` (an absolute path) with `argv` (NULL-terminated, argv[0]
 * included) and this process's environment, standard input /dev/null,
 * standard output and error on the given descriptors, in `directory` when
 * not NULL. `address_space_bytes` > 0 sets RLIMIT_AS; `forbid_processes`
 * non-zero installs the seccomp filter. Returns the child's pid, or -errno
 * when the child could not be started or its exec failed. The child is
 * remembered for the cleanup handlers before any of their signals can run
 * (they are blocked across fork); `cleanup_slot` receives the slot to pass
 * to xsm_cleanup_forget (-1 when none was taken). */
pid_t xsm_spawn(const char *path, char *const argv[], const char *directory, int stdout_fd, int stderr_fd,
    long long address_space_bytes, int forbid_processes, int *cleanup_slot);

/* pipe2(fds, O_CLOEXEC), which Swift's Glibc module does not export; 0 or -1 and errno. */
int xsm_pipe_cloexec(int fds[2]);

/* Whether this system can install the seccomp filter xsm_spawn uses. */
int xsm_spawn_can_forbid_processes(void);

/* Remembers a child to kill on the signals below; returns a slot for
 * xsm_cleanup_forget, or -1 when the table is full. */
int xsm_cleanup_remember_child(pid_t pid);
/* Remembers a temporary file or directory to remove on those signals (the
 * path is copied; at most 4095 bytes); a slot, or -1 when it cannot. */
int xsm_cleanup_remember_file(const char *path);
/* Forgets a child (kind 0) or a file (kind 1) remembered in `slot`. */
void xsm_cleanup_forget(int kind, int slot);
/* Installs the handlers for SIGINT, SIGTERM and SIGHUP (once; a signal
 * ignored at start stays ignored). */
void xsm_cleanup_install_handlers(void);

#endif
