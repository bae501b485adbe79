#include "unrecorded.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "span.h"

struct unrecorded_entry {
	char serial[DB_SERIAL_HEX_MAX]; /* "" if free */
	uint8_t *der;
	size_t len;
	unsigned long seq; /* order of arrival: the smallest is forgotten first */
};

static struct {
	pthread_mutex_t mu;
	struct unrecorded_entry e[UNRECORDED_MAX];
	unsigned long seq;
	size_t n;
} ur = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void unrecorded_clear(struct unrecorded_entry *e)
{
	free(e->der);
	memset(e, 0, sizeof(*e));
	ur.n--;
}

/* The entry for serial, or NULL. Under mu. */
static struct unrecorded_entry *unrecorded_find(const char *serial)
{
	for (size_t i = 0; i < UNRECORDED_MAX; i++)
		if (ur.e[i].serial[0] && strcasecmp(ur.e[i].serial, serial) == 0)
			return &ur.e[i];
	return NULL;
}

void unrecorded_put(const char *serial, const uint8_t *der, size_t len)
{
	if (!serial || strlen(serial) >= DB_SERIAL_HEX_MAX || !der || len == 0)
		return;
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, der, len);
	pthread_mutex_lock(&ur.mu);
	struct unrecorded_entry *slot = unrecorded_find(serial), *oldest = NULL;
	if (slot)
		unrecorded_clear(slot);
	for (size_t i = 0; !slot && i < UNRECORDED_MAX; i++) {
		if (!ur.e[i].serial[0])
			slot = &ur.e[i];
		else if (!oldest || ur.e[i].seq < oldest->seq)
			oldest = &ur.e[i];
	}
	if (!slot) {
		unrecorded_clear(oldest);
		slot = oldest;
	}
	memcpy(slot->serial, serial, strlen(serial) + 1);
	slot->der = copy;
	slot->len = len;
	slot->seq = ++ur.seq;
	ur.n++;
	pthread_mutex_unlock(&ur.mu);
}

/* The TBSCertificate of a Certificate (the first element of its SEQUENCE, whole). */
static bool unrecorded_tbs_of(const uint8_t *der, size_t len, struct span *tbs)
{
	struct span in = span_make(der, len), cert, rest;
	uint8_t tag;
	if (!der_get(&in, &cert, DER_SEQUENCE) || in.len != 0)
		return false;
	return der_get_any(&cert, &tag, &rest, tbs) && tag == DER_SEQUENCE;
}

bool unrecorded_take(const char *serial, const uint8_t *tbs, size_t tbs_len, struct dbuf *out)
{
	uint8_t *der = NULL;
	size_t len = 0;
	pthread_mutex_lock(&ur.mu);
	struct unrecorded_entry *e = ur.n ? unrecorded_find(serial) : NULL;
	if (e) {
		der = e->der;
		len = e->len;
		e->der = NULL;
		unrecorded_clear(e);
	}
	pthread_mutex_unlock(&ur.mu);
	struct span t;
	bool ok = der && unrecorded_tbs_of(der, len, &t) && t.len == tbs_len && memcmp(t.data, tbs, tbs_len) == 0;
	if (ok) {
		dbuf_free(out);
		dbuf_init(out);
		dbuf_add(out, der, len);
		ok = !out->failed;
	}
	free(der);
	return ok;
}

void unrecorded_drop(const char *serial)
{
	pthread_mutex_lock(&ur.mu);
	struct unrecorded_entry *e = ur.n ? unrecorded_find(serial) : NULL;
	if (e)
		unrecorded_clear(e);
	pthread_mutex_unlock(&ur.mu);
}

size_t unrecorded_count(void)
{
	pthread_mutex_lock(&ur.mu);
	size_t n = ur.n;
	pthread_mutex_unlock(&ur.mu);
	return n;
}
