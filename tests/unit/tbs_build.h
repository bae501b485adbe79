/* Builders for the TBS unit test: a software P-256 issuing CA, leaf TBSCertificates through OpenSSL's X509 API
 * and certbuild_tbs, hand-made TBSCertList and OCSP ResponseData, and small DER surgery helpers. */
#ifndef HSMCA_UNIT_TBS_BUILD_H
#define HSMCA_UNIT_TBS_BUILD_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <time.h>

#include "der.h"
#include "policy.h"
#include "span.h"

#define DAY 86400
#define FX_MAX_RAW_EXT 40

struct fx {
	time_t now;
	EVP_PKEY *ca_key, *leaf_key, *root_key;
	X509 *ca;   /* CN=Test Int, self-signed, now-1d .. now+5y */
	X509 *root; /* another self-signed CA: the "parent" for delegated OCSP */
	struct policy_issuer iss;   /* from ca, no parent */
	struct policy_issuer iss_d; /* from ca with root as parent */
	struct span sigalg;         /* ecdsa-with-SHA256 for the CA key */
	struct policy_profile prof; /* the pinned leaf profile */
	uint8_t root_key_hash[20];
};

/* ecdsa-with-SHA384 AlgorithmIdentifier: a valid algorithm that is not the CA key's */
extern const uint8_t ALG_ECDSA_SHA384[12];

bool fx_init(struct fx *f);
void fx_free(struct fx *f);
/* Self-signed CA certificate for key with CN=cn; with_ski false leaves out the SKI (and AKI). */
X509 *fx_make_ca(EVP_PKEY *key, const char *cn, time_t now, bool with_ski);

enum { AKI_GOOD, AKI_NONE, AKI_WRONG };

struct raw_ext {
	const char *oid; /* dotted */
	bool critical;
	const uint8_t *der; /* extnValue contents */
	size_t len;
};

struct leaf_opts {
	long version;          /* X509_VERSION_3 */
	const char *issuer_cn; /* NULL: the CA's own subject name */
	const char *subject_cn; /* NULL: www.example.test; "": an empty subject */
	const uint8_t *raw_subject; /* non-NULL: the subject's bytes as they are (OpenSSL keeps a name's encoding) */
	size_t raw_subject_len;
	int subject_type;       /* the CN's string type (V_ASN1_PRINTABLESTRING, ...); 0: as OpenSSL picks (UTF8String) */
	int aki;
	struct span sigalg;
	time_t not_before, not_after;
	bool gen_time;         /* encode validity as GeneralizedTime whatever the year */
	const uint8_t *serial; /* INTEGER contents; NULL: certbuild_serial over 16 random bytes */
	size_t serial_len;
	const char *bc, *ku, *eku, *san, *nc; /* X509V3 config values, NULL to leave out */
	bool ski;
	bool dup_san;
	EVP_PKEY *key;         /* the subject key; NULL: f->leaf_key (P-256) */
	size_t n_raw;
	struct raw_ext raw[FX_MAX_RAW_EXT];
};

/* The good leaf: v3, issuer = CA subject, serial 0x01 || 16 random bytes, now-1h .. now+90d, AKI = CA SKI,
 * KU critical digitalSignature, EKU serverAuth, SAN DNS, SKI. */
void leaf_defaults(const struct fx *f, struct leaf_opts *o);
/* Appends the leaf's TBSCertificate DER (through certbuild_tbs); false if OpenSSL refused to build it. */
bool leaf_tbs(const struct fx *f, const struct leaf_opts *o, struct dbuf *out);

struct crl_opts {
	struct span issuer, sigalg;
	time_t this_update, next_update;
	int aki;
	bool number;
	bool revoked;       /* one revoked entry */
	bool empty_revoked; /* revokedCertificates present but empty */
	bool crit_unknown;  /* an unknown critical crlExtension */
	bool no_exts;       /* crlExtensions left out */
	struct span entry_exts; /* the revoked entry's crlEntryExtensions: Extension DERs (len 0: none) */
	struct span entry_serial; /* the revoked entry's serial, an INTEGER's contents (len 0: the certificates') */
	struct span crl_ext;    /* one more crlExtension, a whole Extension DER (len 0: none) */
};
void crl_defaults(const struct fx *f, struct crl_opts *o);
void crl_tbs(const struct fx *f, const struct crl_opts *o, struct dbuf *out);

struct ocsp_opts {
	bool by_key;
	struct span responder; /* Name DER (byName) or key hash (byKey) */
	time_t produced;
	struct span ikh;  /* CertID issuerKeyHash */
	struct span inh;  /* CertID issuerNameHash */
	struct span ikh2; /* a second SingleResponse with this hash (len 0: none) */
	int status;       /* 0 good, 1 revoked, 2 unknown */
	bool version;     /* encode version [0] v1 explicitly */
	bool resp_ext;    /* responseExtensions with a nonce */
	struct span resp_ext_der;   /* responseExtensions with this one Extension DER instead (len 0: as resp_ext) */
	struct span single_ext_der; /* singleExtensions with this one Extension DER (len 0: none) */
	bool reason_set;  /* a revoked status's CRLReason is reason (else keyCompromise, 1) */
	uint8_t reason;
	time_t shift2;    /* added to the second SingleResponse's thisUpdate */
	long validity;    /* nextUpdate - thisUpdate (0: a day) */
	bool no_next;     /* nextUpdate left out */
};
void ocsp_defaults(const struct fx *f, struct ocsp_opts *o);
void ocsp_tbs(const struct ocsp_opts *o, struct dbuf *out);

/* DER helpers */
void der_add_time(struct dbuf *b, time_t t, bool generalized);
/* Splits the contents of the single SEQUENCE in der into its elements; returns how many (0 on error). */
size_t der_split(struct span der, struct span *el, size_t max);
/* SEQUENCE { el[0..n) } */
void der_join(struct dbuf *out, const struct span *el, size_t n);

#endif
