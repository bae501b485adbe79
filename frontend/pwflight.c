#include "pwflight.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"

struct flight {
	unsigned refs; /* the verifier and its waiters; 0: the slot is free */
	bool done, ok;
	uint8_t tag[PWFLIGHT_TAG];
	char hash[DB_HASH_MAX];
};

struct pwflight {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast when a verification finishes */
	struct flight slots[PWFLIGHT_SLOTS];
};

struct pwflight *pwflight_new(void)
{
	struct pwflight *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

void pwflight_free(struct pwflight *f)
{
	if (!f)
		return;
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
}

/* Under mu: one reference less; the last one frees the slot. */
static void pwflight_put(struct flight *s)
{
	if (--s->refs == 0)
		OPENSSL_cleanse(s, sizeof(*s));
}

bool pwflight_verify(struct pwflight *f, const uint8_t tag[PWFLIGHT_TAG], const char *hash, const char *pw,
		     size_t pw_len, const struct pwflight_cache *cache, atomic_ulong *verified)
{
	size_t hl = strlen(hash);
	struct flight *mine = NULL, *free_slot = NULL;
	bool ok;
	if (hl >= DB_HASH_MAX)
		return false;
	pthread_mutex_lock(&f->mu);
	for (unsigned i = 0; i < PWFLIGHT_SLOTS && !mine; i++) {
		struct flight *s = &f->slots[i];
		if (!s->refs) {
			if (!free_slot)
				free_slot = s;
		} else if (!s->done && CRYPTO_memcmp(s->tag, tag, PWFLIGHT_TAG) == 0 && strcmp(s->hash, hash) == 0) {
			mine = s;
		}
	}
	if (mine) { /* join: the running verification's answer is ours */
		mine->refs++;
		while (!mine->done)
			pthread_cond_wait(&f->cv, &f->mu);
		ok = mine->ok;
		pwflight_put(mine);
		pthread_mutex_unlock(&f->mu);
		return ok;
	}
	/* a verifier records its result before its slot goes (below), so one that ended since the caller
	 * looked is in the cache now */
	if (cache->known_good(cache->arg)) {
		pthread_mutex_unlock(&f->mu);
		return true;
	}
	if (cache->begin && !cache->begin(cache->arg)) { /* refused before anything is claimed or run */
		pthread_mutex_unlock(&f->mu);
		return false;
	}
	if (free_slot) {
		free_slot->refs = 1;
		free_slot->done = false;
		memcpy(free_slot->tag, tag, PWFLIGHT_TAG);
		memcpy(free_slot->hash, hash, hl + 1);
	}
	pthread_mutex_unlock(&f->mu);
	atomic_fetch_add(verified, 1);
	ok = auth_verify_password(hash, pw, pw_len);
	cache->record(cache->arg, ok);
	if (!free_slot) /* the table is full: verified alone */
		return ok;
	pthread_mutex_lock(&f->mu);
	free_slot->done = true;
	free_slot->ok = ok;
	pthread_cond_broadcast(&f->cv);
	pwflight_put(free_slot);
	pthread_mutex_unlock(&f->mu);
	return ok;
}
