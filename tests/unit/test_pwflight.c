/* pwflight (frontend/pwflight.c): a herd with the same credentials runs scrypt once and every member gets the
 * verifier's answer; a wrong password is refused to all; a result the cache already holds costs nothing;
 * with more distinct logins at once than the table has slots, each still gets its own right answer; the
 * caller's limits (begin) bound the scrypt runs whatever the timing, and only callers that would run one ask. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "auth.h"
#include "check.h"
#include "db.h"
#include "pwflight.h"

#define HERD 8
#define DISTINCT (PWFLIGHT_SLOTS + 2)

/* The caller's cache, as auth.c keeps it: good verifications by tag. */
struct good {
	pthread_mutex_t mu;
	uint8_t tags[DISTINCT + 1][PWFLIGHT_TAG];
	unsigned n;
};

struct login {
	struct good *good;
	const uint8_t *tag;
};

static bool good_known(void *arg)
{
	struct login *l = arg;
	bool hit = false;
	pthread_mutex_lock(&l->good->mu);
	for (unsigned i = 0; i < l->good->n && !hit; i++)
		hit = memcmp(l->good->tags[i], l->tag, PWFLIGHT_TAG) == 0;
	pthread_mutex_unlock(&l->good->mu);
	return hit;
}

static void good_record(void *arg, bool ok)
{
	struct login *l = arg;
	pthread_mutex_lock(&l->good->mu);
	if (ok && l->good->n < DISTINCT + 1)
		memcpy(l->good->tags[l->good->n++], l->tag, PWFLIGHT_TAG);
	pthread_mutex_unlock(&l->good->mu);
}

static struct pwflight *flight;
static struct good good = { .mu = PTHREAD_MUTEX_INITIALIZER };
static char hash[DB_HASH_MAX];
static atomic_ulong verified;
static pthread_barrier_t start;

struct member {
	uint8_t tag[PWFLIGHT_TAG];
	const char *pw;
	bool (*begin)(void *arg);
	bool ok;
};

/* The caller's limits, as auth.c reserves them: a budget of verifications, never given back here. */
static atomic_int budget;
static atomic_uint begun;

static bool budget_begin(void *arg)
{
	(void)arg;
	atomic_fetch_add(&begun, 1);
	return atomic_fetch_sub(&budget, 1) > 0;
}

static void *member_run(void *arg)
{
	struct member *m = arg;
	struct login l = { &good, m->tag };
	const struct pwflight_cache cache = { good_known, good_record, m->begin, &l };
	pthread_barrier_wait(&start);
	m->ok = good_known(&l) || pwflight_verify(flight, m->tag, hash, m->pw, strlen(m->pw), &cache, &verified);
	return NULL;
}

/* n members at once (tags: same, or one each); returns how many scrypt runs they made */
static unsigned long herd(struct member *m, unsigned n)
{
	pthread_t t[DISTINCT];
	unsigned long before = atomic_load(&verified);
	pthread_barrier_init(&start, NULL, n);
	for (unsigned i = 0; i < n; i++)
		CHECK(pthread_create(&t[i], NULL, member_run, &m[i]) == 0);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	return atomic_load(&verified) - before;
}

int main(void)
{
	static struct member m[DISTINCT];
	CHECK((flight = pwflight_new()) != NULL);
	CHECK(auth_hash_password("right horse", 11, hash) == 0);

	/* a wrong password: refused to every member, nothing recorded */
	for (unsigned i = 0; i < HERD; i++)
		m[i] = (struct member){ .tag = { 1 }, .pw = "wrong horse" };
	unsigned long n = herd(m, HERD);
	for (unsigned i = 0; i < HERD; i++)
		CHECKF(!m[i].ok, "wrong password, member %u", i);
	CHECKF(n >= 1 && good.n == 0, "wrong password: %lu runs, %u recorded", n, good.n);

	/* the right one: one scrypt for the herd, every member in */
	for (unsigned i = 0; i < HERD; i++)
		m[i] = (struct member){ .tag = { 2 }, .pw = "right horse" };
	n = herd(m, HERD);
	for (unsigned i = 0; i < HERD; i++)
		CHECKF(m[i].ok, "right password, member %u", i);
	CHECKF(n == 1, "a herd of %d ran scrypt %lu times", HERD, n);

	/* known to the cache: no scrypt at all */
	CHECK(herd(m, 1) == 0 && m[0].ok);

	/* more distinct logins at once than slots: each verified, each right (the last ones verify alone) */
	for (unsigned i = 0; i < DISTINCT; i++)
		m[i] = (struct member){ .tag = { 3, (uint8_t)i }, .pw = i % 2 ? "right horse" : "wrong horse" };
	n = herd(m, DISTINCT);
	for (unsigned i = 0; i < DISTINCT; i++)
		CHECKF(m[i].ok == (i % 2 == 1), "distinct login %u", i);
	CHECKF(n == DISTINCT, "%d distinct logins ran scrypt %lu times", DISTINCT, n);

	/* a budget of one: a herd of wrong logins runs one scrypt, whether the others join it or come after it
	 * and are refused; all are refused */
	atomic_store(&budget, 1);
	for (unsigned i = 0; i < HERD; i++)
		m[i] = (struct member){ .tag = { 4 }, .pw = "wrong horse", .begin = budget_begin };
	n = herd(m, HERD);
	for (unsigned i = 0; i < HERD; i++)
		CHECKF(!m[i].ok, "budget of one, member %u", i);
	CHECKF(n == 1, "a herd with a budget of one ran scrypt %lu times", n);

	/* a budget of two for distinct logins (all with the right password): two run, the others are refused
	 * without a verification */
	atomic_store(&budget, 2);
	atomic_store(&begun, 0);
	unsigned in = 0;
	for (unsigned i = 0; i < DISTINCT; i++)
		m[i] = (struct member){ .tag = { 5, (uint8_t)i }, .pw = "right horse", .begin = budget_begin };
	n = herd(m, DISTINCT);
	for (unsigned i = 0; i < DISTINCT; i++)
		in += m[i].ok;
	CHECKF(n == 2 && in == 2, "%d distinct logins with a budget of two: %lu runs, %u let in", DISTINCT, n, in);
	CHECKF(atomic_load(&begun) == DISTINCT, "begin asked %u times, want %d", atomic_load(&begun), DISTINCT);

	pwflight_free(flight);
	return check_done("unit_pwflight");
}
