#ifndef EXTLIB_NET_CLINUX_SHIM_H
#define EXTLIB_NET_CLINUX_SHIM_H
/* Linux calls Swift's Glibc module does not offer (and, in shim.c, the signal handler): setns and posix_spawn_file_actions_addclosefrom_np
 * are only declared with _GNU_SOURCE, and capget/capset and syscall are variadic or absent. */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Marks the process not dumpable: no core file, even through a piped core_pattern (Ubuntu's apport),
 * which RLIMIT_CORE does not stop, and no ptrace attach by other processes of the same user. prctl is
 * variadic, so Swift cannot call it. */
static inline int extlib_net_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* The terminal a password prompt changed, put back by every signal that ends the process (shim.c: plain
 * C state and a C handler, so a signal runs nothing of Swift's runtime). */
/* Call with the settings in force just before the echo goes off. */
void extlib_net_terminal_will_change(const struct termios *saved);
/* Call once the settings are back. */
void extlib_net_terminal_restored(void);
/* Puts the terminal back if a prompt changed it and this process is in the foreground. Async-signal-safe. */
void extlib_net_restore_terminal(void);
/* SIGINT exits with `interrupted_status`; SIGTERM and SIGHUP end the process by that signal; each puts the
 * terminal back first. */
void extlib_net_install_signal_handlers(int interrupted_status);

/* glibc 2.34 and later. */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

/* Makes the child close every descriptor from `from` up before it runs the program. */
static inline int extlib_net_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

#define EXTLIB_NET_CLONE_NEWNS 0x00020000
extern int setns(int fd, int nstype);

/* Enters the mount namespace open at fd (the calling process must be single-threaded). */
static inline int extlib_net_enter_mount_namespace(int fd) {
    return setns(fd, EXTLIB_NET_CLONE_NEWNS);
}

/* Removes the given capabilities (bit numbers below 64) from the effective, permitted and
 * inheritable sets of the calling thread. */
static inline int extlib_net_drop_capabilities(unsigned long long mask) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        unsigned int keep = ~(unsigned int)(mask >> (32 * i));
        data[i].effective &= keep;
        data[i].permitted &= keep;
        data[i].inheritable &= keep;
    }
    return (int)syscall(SYS_capset, &header, data);
}

/* Closes every descriptor from `from` up, in a child after fork: a child stuck in the kernel on a dead
 * server must not hold the parent's lock or pipes. close_range (Linux 5.9), else one close each. */
static inline void extlib_net_close_from(int from) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) == 0) return;
#endif
    for (int fd = from; fd < 65536; fd++) syscall(SYS_close, fd);
}

/* Whether the directory at path holds anything but "." and "..": 1 yes, 0 no, -errno on failure.
 * Only open, getdents64 and close (raw system calls, no allocation): safe in a child after fork in a
 * multithreaded process, which is where it runs, so a dead server can only hang the child. */
static inline int extlib_net_directory_has_entries(const char *path) {
    int fd = (int)syscall(SYS_openat, -100 /* AT_FDCWD */, path, 0200000 /* O_DIRECTORY */ | 02000000 /* O_CLOEXEC */, 0);
    if (fd < 0) return -errno;
    char buffer[4096];
    long count = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    int result = 0;
    while (count > 0 && result == 0) {
        for (long offset = 0; offset < count;) {
            unsigned short length = *(unsigned short *)(buffer + offset + 16);
            const char *name = buffer + offset + 19;
            if (length == 0) break;
            if (!(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))) { result = 1; break; }
            offset += length;
        }
        if (result == 0) count = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    }
    int failure = count < 0 ? errno : 0;
    syscall(SYS_close, fd);
    return failure ? -failure : result;
}
/* The new mount API (Linux 5.2 and 5.12), called through syscall() because glibc's wrappers came with 2.36.
 * A bind made read-only *before* it is attached is read-only in every namespace it propagates to (the
 * snap's); a later remount,bind,ro does not reach slave namespaces. Numbers are the same on every
 * architecture (the unified syscall table). */
#define EXTLIB_NET_SYS_OPEN_TREE 428
#define EXTLIB_NET_SYS_MOVE_MOUNT 429
#define EXTLIB_NET_SYS_MOUNT_SETATTR 442

/* open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC): a detached copy of the mount at path. */
static inline int extlib_net_clone_mount(const char *path) {
    return (int)syscall(EXTLIB_NET_SYS_OPEN_TREE, -100 /* AT_FDCWD */, path, 1u /* OPEN_TREE_CLONE */ | 02000000u /* O_CLOEXEC */);
}

/* mount_setattr(fd, "", AT_EMPTY_PATH, {RDONLY | NOSUID | NODEV | NOEXEC}) on a detached mount. */
static inline int extlib_net_make_mount_read_only(int fd) {
    struct { unsigned long long attr_set, attr_clr, propagation, userns_fd; } attr = { 0x1 | 0x2 | 0x4 | 0x8, 0, 0, 0 };
    return (int)syscall(EXTLIB_NET_SYS_MOUNT_SETATTR, fd, "", 0x1000 /* AT_EMPTY_PATH */, &attr, sizeof attr);
}

/* move_mount(fd, "", folder, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH): attaches a detached
 * mount onto the folder open at `folder` (reached without following links), on top of what is mounted there. */
static inline int extlib_net_attach_mount_onto(int fd, int folder) {
    return (int)syscall(EXTLIB_NET_SYS_MOVE_MOUNT, fd, "", folder, "", 0x4u | 0x40u /* MOVE_MOUNT_T_EMPTY_PATH */);
}

/* openat(folder, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC): a handle on the folder `name` that
 * opens nothing of a file system mounted on it (O_PATH is declared only with _GNU_SOURCE); a link is refused
 * (ENOTDIR). */
#include <fcntl.h>
#ifndef O_PATH
#define O_PATH 010000000 /* asm-generic, as on x86_64 and arm64 */
#endif
static inline int extlib_net_open_path_folder(int folder, const char *name) {
    return openat(folder, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH): attaches a detached mount at path, on top
 * of whatever is mounted there. */
static inline int extlib_net_attach_mount(int fd, const char *path) {
    return (int)syscall(EXTLIB_NET_SYS_MOVE_MOUNT, fd, "", -100 /* AT_FDCWD */, path, 0x4u /* MOVE_MOUNT_F_EMPTY_PATH */);
}

#endif
