#ifndef EXTLIB_NET_CNFS_SHIM_H
#define EXTLIB_NET_CNFS_SHIM_H
/* libnfs is loaded at run time (dlopen of libnfs.so.14, then libnfs.so.13: LibNFS.swift), so nothing
 * links it and building needs none of its headers. These are the few declarations listing exports uses,
 * as libnfs 4.0 (soname 13: Debian 12, Ubuntu 22.04) and 5.0 (soname 14: Debian 13, Ubuntu 24.04) declare
 * them in libnfs.h, libnfs-raw.h and libnfs-raw-mount.h; they are the same in both, and
 * Tests/libnfs-abi/check compiles them against each version's own headers. libnfs 6 and 7 (sonames 16,
 * 17) renamed these calls (rpc_*_task) and are not loaded. Our names are prefixed, so the check can
 * include libnfs's headers beside this one. */
struct rpc_context;

/* rpc_cb */
typedef void (*extlib_nfs_rpc_cb)(struct rpc_context *rpc, int status, void *data, void *private_data);

/* struct groupnode and struct exportnode (MOUNT3 EXPORT's answer, from mount.x) */
struct extlib_nfs_groupnode {
    char *gr_name;
    struct extlib_nfs_groupnode *gr_next;
};
struct extlib_nfs_exportnode {
    char *ex_dir;
    struct extlib_nfs_groupnode *ex_groups;
    struct extlib_nfs_exportnode *ex_next;
};

/* The functions, as pointer types for dlsym. */
typedef struct rpc_context *(*extlib_nfs_init_context_fn)(void);
typedef void (*extlib_nfs_destroy_context_fn)(struct rpc_context *rpc);
typedef int (*extlib_nfs_get_fd_fn)(struct rpc_context *rpc);
typedef int (*extlib_nfs_which_events_fn)(struct rpc_context *rpc);
typedef int (*extlib_nfs_service_fn)(struct rpc_context *rpc, int revents);
typedef char *(*extlib_nfs_get_error_fn)(struct rpc_context *rpc);
typedef int (*extlib_nfs_connect_async_fn)(struct rpc_context *rpc, const char *server, int port, extlib_nfs_rpc_cb cb, void *private_data);
typedef int (*extlib_nfs_pmap2_getport_async_fn)(struct rpc_context *rpc, int program, int version, int protocol, extlib_nfs_rpc_cb cb, void *private_data);
typedef int (*extlib_nfs_mount3_export_async_fn)(struct rpc_context *rpc, extlib_nfs_rpc_cb cb, void *private_data);

/* RPC_STATUS_*, MOUNT_PROGRAM, MOUNT_V3 */
enum {
    EXTLIB_NFS_RPC_STATUS_SUCCESS = 0,
    EXTLIB_NFS_RPC_STATUS_ERROR = 1,
    EXTLIB_NFS_RPC_STATUS_CANCEL = 2,
    EXTLIB_NFS_RPC_STATUS_TIMEOUT = 3,
    EXTLIB_NFS_MOUNT_PROGRAM = 100005,
    EXTLIB_NFS_MOUNT_V3 = 3
};
#endif
