#ifndef EXTLIB_NET_CLINUX_SHIM_H
#define EXTLIB_NET_CLINUX_SHIM_H
/* Linux calls Swift's Glibc module does not offer: setns and posix_spawn_file_actions_addclosefrom_np
 * are only declared with _GNU_SOURCE, and capget/capset and syscall are variadic or absent. */
#include <linux/capability.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* The effective capability set, as a 64-bit mask (-1 on failure). */
static inline long long extlib_net_effective_capabilities(void) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    return (long long)data[0].effective | ((long long)data[1].effective << 32);
}
#endif
