/* Our declarations (Sources/CNFS/shim.h) against libnfs's own, for one version's headers (the include
 * path given): every function type, the callback, the export list's structs and the constants must be
 * the same, or this does not compile. Run by LibNFSTests for each folder here (headers copied from
 * github.com/sahlberg/libnfs at the tags libnfs-4.0.0 and libnfs-5.0.2; COPYING: LGPL-2.1). */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/time.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include "../../Sources/CNFS/shim.h"

#define SAME_TYPE(a, b) _Static_assert(__builtin_types_compatible_p(a, b), #a " differs from " #b)
SAME_TYPE(rpc_cb, extlib_nfs_rpc_cb);
SAME_TYPE(__typeof__(&rpc_init_context), extlib_nfs_init_context_fn);
SAME_TYPE(__typeof__(&rpc_destroy_context), extlib_nfs_destroy_context_fn);
SAME_TYPE(__typeof__(&rpc_get_fd), extlib_nfs_get_fd_fn);
SAME_TYPE(__typeof__(&rpc_which_events), extlib_nfs_which_events_fn);
SAME_TYPE(__typeof__(&rpc_service), extlib_nfs_service_fn);
SAME_TYPE(__typeof__(&rpc_get_error), extlib_nfs_get_error_fn);
SAME_TYPE(__typeof__(&rpc_connect_async), extlib_nfs_connect_async_fn);
SAME_TYPE(__typeof__(&rpc_pmap2_getport_async), extlib_nfs_pmap2_getport_async_fn);
SAME_TYPE(__typeof__(&rpc_mount3_export_async), extlib_nfs_mount3_export_async_fn);

#define SAME_LAYOUT(theirs, ours, field) \
    _Static_assert(offsetof(struct theirs, field) == offsetof(struct ours, field), #field); \
    _Static_assert(sizeof(((struct theirs *)0)->field) == sizeof(((struct ours *)0)->field), #field)
_Static_assert(sizeof(struct exportnode) == sizeof(struct extlib_nfs_exportnode), "exportnode");
_Static_assert(sizeof(struct groupnode) == sizeof(struct extlib_nfs_groupnode), "groupnode");
SAME_LAYOUT(exportnode, extlib_nfs_exportnode, ex_dir);
SAME_LAYOUT(exportnode, extlib_nfs_exportnode, ex_groups);
SAME_LAYOUT(exportnode, extlib_nfs_exportnode, ex_next);
SAME_LAYOUT(groupnode, extlib_nfs_groupnode, gr_name);
SAME_LAYOUT(groupnode, extlib_nfs_groupnode, gr_next);

_Static_assert(RPC_STATUS_SUCCESS == EXTLIB_NFS_RPC_STATUS_SUCCESS, "RPC_STATUS_SUCCESS");
_Static_assert(RPC_STATUS_ERROR == EXTLIB_NFS_RPC_STATUS_ERROR, "RPC_STATUS_ERROR");
_Static_assert(RPC_STATUS_CANCEL == EXTLIB_NFS_RPC_STATUS_CANCEL, "RPC_STATUS_CANCEL");
_Static_assert(RPC_STATUS_TIMEOUT == EXTLIB_NFS_RPC_STATUS_TIMEOUT, "RPC_STATUS_TIMEOUT");
_Static_assert(MOUNT_PROGRAM == EXTLIB_NFS_MOUNT_PROGRAM, "MOUNT_PROGRAM");
_Static_assert(MOUNT_V3 == EXTLIB_NFS_MOUNT_V3, "MOUNT_V3");
