/* Bounded parsers for the three to-be-signed structures the signer accepts: TBSCertificate (RFC 5280 4.1),
 * TBSCertList (RFC 5280 5.1) and OCSP ResponseData (RFC 6960 4.2.1). Strict DER; trailing bytes rejected.
 * All spans borrow the input. */
#ifndef HSMCA_TBS_H
#define HSMCA_TBS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "der.h"
#include "span.h"

#define TBS_MAX_EXT 32
#define TBS_MAX_EKU 16
#define TBS_WHY_MAX 160

/* keyUsage bits as we hold them: bit n of the BIT STRING = (1 << n) */
enum {
	TBS_KU_DIGITAL_SIGNATURE = 1 << 0,
	TBS_KU_NON_REPUDIATION = 1 << 1,
	TBS_KU_KEY_ENCIPHERMENT = 1 << 2,
	TBS_KU_DATA_ENCIPHERMENT = 1 << 3,
	TBS_KU_KEY_AGREEMENT = 1 << 4,
	TBS_KU_KEY_CERT_SIGN = 1 << 5,
	TBS_KU_CRL_SIGN = 1 << 6,
	TBS_KU_ENCIPHER_ONLY = 1 << 7,
	TBS_KU_DECIPHER_ONLY = 1 << 8,
};

struct tbs_ext {
	struct span oid; /* OID contents */
	bool critical;
	struct span value; /* OCTET STRING contents */
};

struct tbs_cert {
	struct span serial; /* INTEGER contents */
	struct span sigalg; /* whole AlgorithmIdentifier */
	struct span issuer; /* whole Name */
	time_t not_before, not_after;
	struct span subject; /* whole Name */
	struct span spki;    /* whole SubjectPublicKeyInfo */
	size_t n_ext;
	struct tbs_ext ext[TBS_MAX_EXT];
	/* decoded known extensions */
	bool has_bc, ca, has_pathlen;
	uint64_t pathlen;
	bool has_ku;
	uint16_t ku;
	size_t n_eku;
	struct span eku[TBS_MAX_EKU]; /* OID contents */
	bool has_aki;
	struct span aki_keyid;
	bool has_ski;
	struct span ski;
};

struct tbs_crl {
	struct span sigalg, issuer;
	time_t this_update, next_update;
	size_t n_revoked;
	size_t n_ext;
	struct tbs_ext ext[TBS_MAX_EXT];
	bool has_aki;
	struct span aki_keyid;
	bool has_number;
	/* the first revoked entry (0-based entry_refused_at) with an extension hsmca does not write, or a reason
	 * it never gives: entry_refused says which (static text), NULL if every entry is plain; policy_check_crl
	 * refuses the CRL */
	const char *entry_refused;
	size_t entry_refused_at;
};

struct tbs_ocsp {
	bool by_key;
	struct span responder; /* whole Name (by name) or key hash contents (by key) */
	time_t produced_at;
	size_t n_responses;
	/* every CertID's issuerKeyHash and issuerNameHash must equal these (checked by the parser: all equal; its
	 * hashAlgorithm is SHA-1, the only one the signer knows the issuer's hashes in) */
	struct span issuer_key_hash, issuer_name_hash;
	/* the SingleResponses' times: earliest and latest thisUpdate, the longest nextUpdate - thisUpdate (0 if
	 * none is after its thisUpdate), and whether one has no nextUpdate or one not after its thisUpdate */
	time_t this_update_min, this_update_max;
	uint64_t longest_validity;
	bool next_update_missing, next_update_not_after;
};

#define CRL_REASON_REMOVE 8 /* removeFromCRL: only in a delta CRL, where it un-revokes */
#define CRL_REASON_MAX 10   /* aACompromise; 7 is unassigned */

/* Each returns false with a short reason in why (TBS_WHY_MAX) on anything malformed. */
bool tbs_cert_parse(struct span in, struct tbs_cert *out, char *why);
bool tbs_crl_parse(struct span in, struct tbs_crl *out, char *why);
bool tbs_ocsp_parse(struct span in, struct tbs_ocsp *out, char *why);

/* Parses an Extensions SEQUENCE into ext[]: rejects duplicates, DEFAULT FALSE encoded, too many. */
bool tbs_exts_parse(struct span seq, struct tbs_ext *ext, size_t *n_ext, char *why);
/* Finds a parsed extension by OID contents; NULL if absent. */
const struct tbs_ext *tbs_ext_find(const struct tbs_ext *ext, size_t n, const uint8_t *oid, size_t oid_len);
/* Decodes AuthorityKeyIdentifier value: a keyIdentifier and nothing else (no authorityCertIssuer, serial). */
bool tbs_aki_parse(struct span value, struct span *keyid);

#define TBS_MAX_SUBTREES 65 /* a CA profile's most: 16 DNS suffixes x 3 name types + 16 IP ranges + its DN */
/* One GeneralSubtree's base: its GeneralName tag byte (context class, e.g. 0x82 dNSName, 0x87 iPAddress)
 * and contents. */
struct tbs_subtree {
	uint8_t tag;
	struct span value;
};
struct tbs_nc {
	size_t n_permitted, n_excluded;
	struct tbs_subtree permitted[TBS_MAX_SUBTREES], excluded[TBS_MAX_SUBTREES];
};
/* Decodes a NameConstraints value (RFC 5280 4.2.1.10): at least one of permittedSubtrees [0] and
 * excludedSubtrees [1], each non-empty; a GeneralSubtree's minimum and maximum must be absent (the DEFAULT 0
 * and the profile's "MUST be absent"); at most TBS_MAX_SUBTREES of each. */
bool tbs_nc_parse(struct span value, struct tbs_nc *out, char *why);

/* OID contents of the extensions we know */
extern const uint8_t OID_BC[3], OID_KU[3], OID_EKU[3], OID_SKI[3], OID_AKI[3], OID_SAN[3], OID_NC[3], OID_CP[3],
	OID_CRLDP[3], OID_AIA[8], OID_CRL_NUMBER[3], OID_PC[3], OID_ANY_EKU[4];

#endif
