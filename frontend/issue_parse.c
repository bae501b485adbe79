/* Bounded parsers of issuance's text: the request body, a CFSSL "hosts" list (typed as cfssl types them) and a
 * stored SAN list (a renewal's names; fuzzed: tests/fuzz/fuzz_sanstext.c, fuzz_csrpolicy.c). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "issue_priv.h"
#include "json.h"
#include "pool.h"

/* The request body: exactly {"csr": "...", "profile": "..."} */
int issue_body(const struct job *j, struct json_doc **doc, const char **csr, size_t *csr_len, const char **profile,
		      char *why)
{
	char err[128];
	if (json_parse((const char *)j->body, j->body_len, doc, err, sizeof(err)) != 0) {
		snprintf(why, ISSUE_WHY_MAX, "request body is not valid JSON (%s)", err);
		return HSMCA_ERR_PARSE;
	}
	const struct json_node *root = json_root(*doc);
	if (json_type(root) != JSON_OBJECT || json_object_len(root) != 2 ||
	    !(*csr = json_string(json_get(root, "csr"), csr_len)) ||
	    !(*profile = json_string(json_get(root, "profile"), NULL))) {
		snprintf(why, ISSUE_WHY_MAX, "expected exactly {\"csr\": PEM, \"profile\": name}");
		return HSMCA_ERR_PARSE;
	}
	return 0;
}

/* The type cfssl gives a "hosts" entry (signer.OverrideHosts): an IP address; else an email address (one
 * mail.ParseAddress takes: here anything with an '@', which the profile's email rule then checks); else a URI
 * (one url.ParseRequestURI takes: a scheme's ':' or a leading '/'; the profiles allow none, so it is refused
 * as such, not as a malformed DNS name); else a DNS name. */
static enum csr_san_type issue_host_type(const char *h)
{
	uint8_t addr[16];
	if (inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1)
		return CSR_SAN_IP;
	if (strchr(h, '@'))
		return CSR_SAN_EMAIL;
	if (strchr(h, ':') || h[0] == '/')
		return CSR_SAN_URI;
	return CSR_SAN_DNS;
}

/* An IP address as the CSR's path writes it (inet_ntop: IPv6 in RFC 5952's form, "2001:db8::1"), in place:
 * "2001:DB8:0:0:0:0:0:1" became the CN and the stored name as typed, one address under two spellings. */
static int issue_ip_canonical(char value[CSR_SAN_MAX])
{
	uint8_t addr[16];
	char text[INET6_ADDRSTRLEN];
	int af = strchr(value, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, value, addr) != 1 || !inet_ntop(af, addr, text, sizeof(text)))
		return HSMCA_ERR_PARSE;
	snprintf(value, CSR_SAN_MAX, "%s", text);
	return 0;
}

/* Replaces the CSR's names with a CFSSL-style "hosts" list, typed as cfssl types them (issue_host_type). The
 * list's shape was checked as it was parsed (cfssl_hosts_parse), before any token was claimed; checked again
 * here since the CSR's table is fixed-size. */
int issue_hosts(struct csr *csr, const struct issue_hostlist *hosts, char *why)
{
	if (hosts->n == 0 || hosts->n > CSR_MAX_SANS) {
		snprintf(why, ISSUE_WHY_MAX, "hosts: 1..%d names", CSR_MAX_SANS);
		return HSMCA_ERR_PARSE;
	}
	for (size_t i = 0; i < hosts->n; i++) {
		size_t len = hosts->len[i];
		if (len == 0 || len >= CSR_SAN_MAX || memchr(hosts->name[i], '\0', len)) {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is not a name", i);
			return HSMCA_ERR_PARSE;
		}
		memcpy(csr->sans[i].value, hosts->name[i], len);
		csr->sans[i].value[len] = '\0';
		csr->sans[i].type = issue_host_type(csr->sans[i].value);
		if (csr->sans[i].type == CSR_SAN_IP && issue_ip_canonical(csr->sans[i].value)) {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is not an IP address", i);
			return HSMCA_ERR_PARSE;
		}
	}
	csr->n_sans = hosts->n;
	return 0;
}

int issue_sans_text(struct csr *csr, const char *text, char *why)
{
	size_t n = 0;
	const char *s = text;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		enum csr_san_type t = !strncmp(s, "DNS:", 4) ? CSR_SAN_DNS
				      : !strncmp(s, "IP:", 3)  ? CSR_SAN_IP
				      : !strncmp(s, "email:", 6) ? CSR_SAN_EMAIL
								 : 0;
		size_t skip = t == CSR_SAN_DNS ? 4 : t == CSR_SAN_IP ? 3 : 6;
		if (!t || n == CSR_MAX_SANS || len <= skip || len - skip >= CSR_SAN_MAX) {
			snprintf(why, ISSUE_WHY_MAX, "the stored names of the certificate cannot be reused");
			return HSMCA_ERR_STATE;
		}
		csr->sans[n].type = t;
		memcpy(csr->sans[n].value, s + skip, len - skip);
		csr->sans[n].value[len - skip] = 0;
		n++;
		s += len + (end ? 1 : 0);
		if (end && !*s) { /* a comma with nothing after it: not a list the frontend wrote */
			snprintf(why, ISSUE_WHY_MAX, "the stored names of the certificate cannot be reused");
			return HSMCA_ERR_STATE;
		}
	}
	if (n == 0) {
		snprintf(why, ISSUE_WHY_MAX, "the certificate has no names to renew");
		return HSMCA_ERR_STATE;
	}
	csr->n_sans = n;
	return 0;
}
