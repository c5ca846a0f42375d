#ifndef EXTLIB_NET_CNFS_SHIM_H
#define EXTLIB_NET_CNFS_SHIM_H
/* libnfs.h needs these types declared before it is included. */
#include <stdint.h>
#include <sys/types.h>
#include <sys/time.h>
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#endif
