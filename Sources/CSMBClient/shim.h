#ifndef EXTLIB_NET_CSMBCLIENT_SHIM_H
#define EXTLIB_NET_CSMBCLIENT_SHIM_H
/* libsmbclient-dev installs the header here; its pkg-config file is not used (see module.modulemap). */
#include <samba-4.0/libsmbclient.h>

/* struct smbc_dirent ends in a flexible char array, which Swift imports as a
   single CChar; hand Swift a pointer to it instead. */
static inline const char *extlib_smbc_dirent_name(const struct smbc_dirent *d) {
    return d->name;
}
#endif
