/* hsm/p11_keyprot: which protection flags make a token key fit for a CA key (the signer's check). */
#include <stddef.h>

#include "check.h"
#include "p11_keyprot.h"

/* what the ceremony's template gives */
static struct p11_key_prot fit(void)
{
	return (struct p11_key_prot){ .sensitive = 1, .always_sensitive = 1, .extractable = 0, .never_extractable = 1,
				      .sign = 1, .decrypt = 0, .unwrap = 0, .derive = 0, .sign_recover = 0, .private_ = 1 };
}

static void check_refused(struct p11_key_prot p, const char *want, const char *what)
{
	const char *why = p11_key_prot_refusal(&p);
	CHECKF(why && check_prefix(why, want), "%s: %s", what, why ? why : "(accepted)");
}

int main(void)
{
	struct p11_key_prot p = fit();
	CHECK(p11_key_prot_refusal(&p) == NULL);
	CHECK(p11_key_prot_advice(&p) == NULL);
	/* a token that does not report the two history flags draws a warning; any other unknown flag refuses */
	p.always_sensitive = P11_PROT_UNKNOWN;
	CHECK(p11_key_prot_refusal(&p) == NULL);
	CHECK(p11_key_prot_advice(&p) != NULL);
	p = fit();
	p.never_extractable = P11_PROT_UNKNOWN;
	CHECK(p11_key_prot_advice(&p) != NULL);

	struct {
		size_t off;
		int8_t v;
		const char *want;
	} bad[] = {
		{ offsetof(struct p11_key_prot, private_), 0, "the key is not private" },
		{ offsetof(struct p11_key_prot, private_), P11_PROT_UNKNOWN, "the token does not say whether the key is private" },
		{ offsetof(struct p11_key_prot, sensitive), 0, "the key is not sensitive" },
		{ offsetof(struct p11_key_prot, sensitive), P11_PROT_UNKNOWN, "the token does not say whether the key is sensitive" },
		{ offsetof(struct p11_key_prot, extractable), 1, "the key is extractable" },
		{ offsetof(struct p11_key_prot, extractable), P11_PROT_UNKNOWN, "the token does not say whether the key is extractable" },
		{ offsetof(struct p11_key_prot, always_sensitive), 0, "the key was not always sensitive" },
		{ offsetof(struct p11_key_prot, never_extractable), 0, "the key was once extractable" },
		{ offsetof(struct p11_key_prot, sign), 0, "the key may not sign" },
		{ offsetof(struct p11_key_prot, decrypt), 1, "the key may decrypt" },
		{ offsetof(struct p11_key_prot, unwrap), 1, "the key may unwrap" },
		{ offsetof(struct p11_key_prot, derive), 1, "the key may derive" },
		{ offsetof(struct p11_key_prot, sign_recover), 1, "the key may sign with recovery" },
		{ offsetof(struct p11_key_prot, sign), P11_PROT_UNKNOWN, "the token does not say whether the key may sign" },
		{ offsetof(struct p11_key_prot, decrypt), P11_PROT_UNKNOWN, "the token does not say whether the key may decrypt" },
		{ offsetof(struct p11_key_prot, unwrap), P11_PROT_UNKNOWN, "the token does not say whether the key may unwrap" },
		{ offsetof(struct p11_key_prot, derive), P11_PROT_UNKNOWN, "the token does not say whether the key may derive" },
		{ offsetof(struct p11_key_prot, sign_recover), P11_PROT_UNKNOWN, "the token does not say whether the key may sign with" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = fit();
		((int8_t *)&p)[bad[i].off] = bad[i].v;
		check_refused(p, bad[i].want, bad[i].want);
	}
	return check_done("unit_keyprot");
}
