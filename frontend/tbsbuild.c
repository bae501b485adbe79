/* The leaf TBSCertificate the frontend asks the signer to sign, built from a verified CSR and a profile,
 * and linted with the very rules the signer applies (policy/check.c). */
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "certbuild.h"
#include "issue.h"
#include "log.h"

#define DAY 86400L

static void tb_list(char *out, size_t max, const char *item)
{
	size_t n = strlen(out);
	snprintf(out + n, max - n, "%s%s", n ? "," : "", item);
}

static int tb_extensions(const struct profile *p, const struct csr *csr, X509 *x, X509 *issuer)
{
	static const char *const ku_names[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
						"dataEncipherment", "keyAgreement" };
	static const char *const san_prefix[] = { "", "DNS:", "IP:", "email:", "URI:" };
	char ku[256] = "critical", eku[256] = "", san[CSR_MAX_SANS * (CSR_SAN_MAX + 8)] = "", aia[600];
	int rc;
	for (unsigned i = 0; i < sizeof(ku_names) / sizeof(ku_names[0]); i++)
		if (p->key_usage & (1u << i))
			tb_list(ku, sizeof(ku), ku_names[i]);
	for (size_t i = 0; i < p->n_eku; i++)
		tb_list(eku, sizeof(eku), p->eku[i]);
	for (size_t i = 0; i < csr->n_sans; i++) {
		char item[CSR_SAN_MAX + 8];
		snprintf(item, sizeof(item), "%s%s", san_prefix[csr->sans[i].type], csr->sans[i].value);
		if (strchr(csr->sans[i].value, ','))
			return HSMCA_ERR_POLICY; /* would split the OpenSSL list */
		tb_list(san, sizeof(san), item);
	}
	if ((rc = certbuild_add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE")) ||
	    (rc = certbuild_add_ext(x, issuer, NID_key_usage, ku)) || (rc = certbuild_add_ext(x, issuer, NID_ext_key_usage, eku)) ||
	    (rc = certbuild_add_ext(x, issuer, NID_subject_alt_name, san)) ||
	    (rc = certbuild_add_ext(x, issuer, NID_subject_key_identifier, "hash")) ||
	    (rc = certbuild_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always")))
		return rc;
	if (p->crl_url[0]) {
		snprintf(aia, sizeof(aia), "URI:%s", p->crl_url);
		if ((rc = certbuild_add_ext(x, issuer, NID_crl_distribution_points, aia)))
			return rc;
	}
	if (p->ocsp_url[0]) {
		snprintf(aia, sizeof(aia), "OCSP;URI:%s", p->ocsp_url);
		if ((rc = certbuild_add_ext(x, issuer, NID_info_access, aia)))
			return rc;
	}
	return 0;
}

/* The pinned-profile view of a frontend profile: the same rules the signer will apply. */
static void tb_policy(const struct profile *p, struct policy_profile *out)
{
	memset(out, 0, sizeof(*out));
	out->allow_cert = true;
	out->ku_allowed = p->key_usage;
	out->max_validity_days = p->max_validity_days;
	for (size_t i = 0; i < p->n_eku && i < TBS_MAX_EKU; i++) {
		struct span oid;
		if (policy_eku_oid(p->eku[i], &oid)) {
			memcpy(out->eku[out->n_eku], oid.data, oid.len);
			out->eku_len[out->n_eku++] = oid.len;
		}
	}
}

int issue_build_tbs(const struct app *a, unsigned pi, const struct csr *csr, struct dbuf *out_tbs,
		    char out_serial_hex[DB_SERIAL_HEX_MAX], time_t out_validity[2], char *why)
{
	const struct profile *p = &a->profiles.p[pi];
	const struct app_issuer *iss = &a->issuers[pi];
	uint8_t rnd[ISSUE_SERIAL_LEN];
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	ASN1_INTEGER *serial = NULL;
	time_t now = time(NULL), nb = now - 60, na;
	struct policy_profile pol;
	struct tbs_cert t;
	int rc = HSMCA_ERR_CRYPTO;
	if (nb < iss->facts.not_before)
		nb = iss->facts.not_before;
	na = nb + (time_t)p->max_validity_days * DAY;
	if (na > iss->facts.not_after)
		na = iss->facts.not_after; /* never outlive the issuer */
	if (!x || !subj || RAND_bytes(rnd, sizeof(rnd)) != 1 || !(serial = certbuild_serial(rnd, sizeof(rnd))))
		goto out;
	/* the subject is the first SAN; the CSR's own subject is not trusted */
	if (!X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)csr->sans[0].value, -1, -1, 0) ||
	    !X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, serial) || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(iss->cert)) || !X509_set_pubkey(x, csr->pubkey) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) || !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na))
		goto out;
	if ((rc = tb_extensions(p, csr, x, iss->cert))) {
		snprintf(why, TBS_WHY_MAX, "san: a name the certificate cannot carry");
		goto out;
	}
	if ((rc = certbuild_tbs(x, span_make(iss->facts.sigalg, iss->facts.sigalg_len), out_tbs)))
		goto out;
	tb_policy(p, &pol);
	if (!tbs_cert_parse(span_make(out_tbs->data, out_tbs->len), &t, why)) {
		rc = HSMCA_ERR_POLICY;
		goto out;
	}
	if ((rc = policy_check_cert(&t, &iss->facts, &pol, why)))
		goto out;
	out_validity[0] = t.not_before;
	out_validity[1] = t.not_after;
	for (size_t i = 0; i < t.serial.len && 2 * i + 2 < DB_SERIAL_HEX_MAX; i++)
		snprintf(out_serial_hex + 2 * i, 3, "%02x", t.serial.data[i]);
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return rc;
}
