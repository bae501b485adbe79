/* app_wipe (frontend/app.c): the secrets the frontend keeps in struct app are zero after it; the profiles'
 * authsign keys (cfssl_key) were left in memory until a review found them. */
#include <stdint.h>
#include <stdlib.h>

#include "app.h"
#include "check.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int main(void)
{
	struct app *a = calloc(1, sizeof(*a)); /* rl NULL: nothing of the credential cache to wipe here */
	CHECK(a != NULL);
	if (!a)
		return check_done("unit_app");
	memset(a->renew_key, 0xa5, sizeof(a->renew_key));
	memset(a->intent_key, 0xa5, sizeof(a->intent_key));
	memset(a->intent_key_accept, 0xa5, sizeof(a->intent_key_accept));
	a->profiles.n = 2;
	for (unsigned i = 0; i < PROF_MAX; i++) {
		memset(a->profiles.p[i].cfssl_key, 0x5a, sizeof(a->profiles.p[i].cfssl_key));
		a->profiles.p[i].cfssl_key_len = sizeof(a->profiles.p[i].cfssl_key);
	}
	app_wipe(a);
	CHECK(all_zero(a->renew_key, sizeof(a->renew_key)));
	CHECK(all_zero(a->intent_key, sizeof(a->intent_key)));
	CHECK(all_zero(a->intent_key_accept, sizeof(a->intent_key_accept)));
	for (unsigned i = 0; i < PROF_MAX; i++)
		CHECKF(all_zero(a->profiles.p[i].cfssl_key, sizeof(a->profiles.p[i].cfssl_key)), "profile slot %u", i);
	free(a);
	return check_done("unit_app");
}
