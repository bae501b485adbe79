/* The frontend's profiles against the signer's pinned keys, for `hsmca-signer check-config --profiles`: a
 * profile the signer would refuse certificates of (a name outside the key's leaf_permitted or ca_permitted,
 * an EKU, key usage or validity beyond the pin, a CA profile under a key that may not sign CAs) otherwise
 * shows up only as a 502 per request. Offline: the signer never reads the profiles when it runs. */
#ifndef HSMCA_SGN_PROFCHECK_H
#define HSMCA_SGN_PROFCHECK_H

#include <stdio.h>

#include "config.h"
#include "profile.h"

/* Writes one line "error: profile NAME: ..." to out for each mismatch; returns how many. */
unsigned sgn_profiles_check(const struct sgn_config *c, const struct profiles *ps, FILE *out);

#endif
