/* Certificates this process had signed whose issued state could not be committed (a result batch that failed
 * on a passing fault: PostgreSQL restarting, a deadlock, a statement timeout, memory). Their rows stay
 * pending, and the recovery pass completes them with the certificate kept here instead of signing the TBS a
 * second time, so the database ends up holding the very certificate the signer made (and the signer's log one
 * signature of it). Kept in memory only: after a restart the pass signs again, as it must. At most
 * UNRECORDED_MAX at once, the oldest forgotten first (it is signed again instead). Thread-safe. */
#ifndef HSMCA_UNRECORDED_H
#define HSMCA_UNRECORDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "der.h"

#define UNRECORDED_MAX 256

/* Keeps a copy of the certificate der for serial (hex), replacing one kept for it before; nothing if memory
 * runs out. */
void unrecorded_put(const char *serial, const uint8_t *der, size_t len);
/* Moves the certificate kept for serial into out (emptied first) and forgets it: true if there was one and its
 * TBSCertificate is exactly tbs (one that is not is dropped: the row is signed again). */
bool unrecorded_take(const char *serial, const uint8_t *tbs, size_t tbs_len, struct dbuf *out);
/* Forgets the certificate kept for serial, if any (its issued state is committed). */
void unrecorded_drop(const char *serial);
/* Certificates kept now. */
size_t unrecorded_count(void);

#endif
