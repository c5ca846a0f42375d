#ifndef EXTLIB_NET_CSMBCLIENT_SHIM_H
#define EXTLIB_NET_CSMBCLIENT_SHIM_H
#include <libsmbclient.h>

/* struct smbc_dirent ends in a flexible char array, which Swift imports as a
   single CChar; hand Swift a pointer to it instead. */
static inline const char *extlib_smbc_dirent_name(const struct smbc_dirent *d) {
    return d->name;
}
#endif
