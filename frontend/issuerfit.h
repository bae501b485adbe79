/* Whether a profile's certificates fit the CAs above them. Every verifier applies the nameConstraints of the
 * issuer and of each CA above it to the names of a certificate, and most (OpenSSL, GnuTLS, Go, browsers) take
 * an extendedKeyUsage on a CA as the most its certificates may have. A certificate signed outside them is a
 * valid signature on a certificate no client accepts, so the frontend checks both:
 *   - at start-up (issuerfit_check_profile), that every name a profile allows is inside each CA's permitted
 *     subtrees and not wholly inside an excluded one, and that each of its EKUs is on each CA that lists
 *     EKUs: a profile that does not fit stops the frontend, saying which CA and which name or EKU;
 *   - per request (issuerfit_check_names), each name against each CA's constraints with OpenSSL's own
 *     matching (NAME_CONSTRAINTS_check), which catches what a profile cannot say (a name under an excluded
 *     subtree inside an allowed suffix), and the subject's CN, which OpenSSL and GnuTLS check as a DNS name
 *     when the certificate has no DNS name in its subjectAltName.
 * Read-only after start-up: shared by every thread. */
#ifndef HSMCA_ISSUERFIT_H
#define HSMCA_ISSUERFIT_H

#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "profile.h"

#define ISSUERFIT_DEPTH_MAX 9 /* the issuer and up to 8 CAs above it (app.c's chain walk) */

struct issuerfit {
	size_t n;
	X509 *cas[ISSUERFIT_DEPTH_MAX];              /* owned (up-referenced): the issuer first, then upwards */
	NAME_CONSTRAINTS *nc[ISSUERFIT_DEPTH_MAX];   /* owned: cas[i]'s nameConstraints, or NULL */
	EXTENDED_KEY_USAGE *eku[ISSUERFIT_DEPTH_MAX]; /* owned: cas[i]'s extendedKeyUsage, or NULL */
	bool has_nc;                                 /* one of them has nameConstraints */
};

/* Appends ca (up-referenced: the caller keeps its own reference). 0, HSMCA_ERR_LIMIT past
 * ISSUERFIT_DEPTH_MAX, HSMCA_ERR_NOMEM, HSMCA_ERR_PARSE if an extension of ca does not decode. */
int issuerfit_push(struct issuerfit *f, X509 *ca) HSMCA_WUR;
/* Frees what f owns and empties it (f itself is the caller's). */
void issuerfit_clear(struct issuerfit *f);
/* 0, or HSMCA_ERR_CONFIG with err (CONF_ERR_MAX bytes) naming the profile, the CA and what does not fit. */
int issuerfit_check_profile(const struct issuerfit *f, const struct profile *p, char *err) HSMCA_WUR;
/* Checks a request's names (san_types/sans as profile_check_request: 1 DNS, 2 IP, 3 email) and the subject CN
 * it would get (cn, NULL for none) against every CA's nameConstraints; ca_cert: the certificate is a CA's.
 * 0, with *drop_cn set when a leaf must get an empty subject instead of that CN: it has no DNS name and a CA
 * has dNSName subtrees (OpenSSL and GnuTLS then check its CN as a DNS name), or its CN is refused otherwise.
 * HSMCA_ERR_POLICY with "issuer-name-constraints: ..." in why (PROF_WHY_MAX bytes) naming the name and the CA:
 * a name a CA's constraints refuse; a wildcard that could stand for an excluded name; an email address under
 * an empty excluded rfc822Name base; a DNS name or email address with upper-case letters (GnuTLS compares
 * them case-sensitively); a CA certificate's CN under an excluded directoryName. HSMCA_ERR_NOMEM. */
int issuerfit_check_names(const struct issuerfit *f, bool ca_cert, const char *cn, const int *san_types,
			  const char *const *sans, size_t n_sans, bool *drop_cn, char *why) HSMCA_WUR;

#endif
