/* The frontend's profiles against the signer's pinned keys: a profile the signer would refuse certificates of
 * (its issuer the label of no key, a name outside the key's leaf_permitted or ca_permitted, an EKU, key usage
 * or validity beyond the pin, a CA profile under a key that may not sign CAs or deeper than its max_pathlen or
 * outside its ca_permitted_dn) otherwise shows up only as a 502 per request. Run offline by `hsmca-signer
 * check-config --profiles` over the signer's config, and by the frontend at start-up over the pins the running
 * signer sends in its HELLO reply (policy/pinwire.h). */
#ifndef HSMCA_PROFCHECK_H
#define HSMCA_PROFCHECK_H

#include <stddef.h>
#include <stdio.h>

#include "policy.h"
#include "profile.h"

/* One signer key: name (how messages call it: its config section, or its label), label (what a profile's
 * issuer names), pin; all borrowed. */
struct profcheck_key {
	const char *name;
	const char *label;
	const struct policy_profile *pin;
};

/* Writes one line "error: profile NAME: ..." to out for each mismatch; returns how many. unfit: NULL, or where
 * the number of profiles with at least one mismatch goes. */
unsigned profcheck_run(const struct profcheck_key *keys, size_t n_keys, const struct profiles *ps, FILE *out,
		       unsigned *unfit);

#endif
