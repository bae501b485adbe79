/* The serials being issued in this process (see inflight.h). */
#include "inflight.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define INFLIGHT_BUCKETS 1024 /* a power of two */

struct inflight_entry {
	char serial[DB_SERIAL_HEX_MAX]; /* lowercase */
	struct inflight_entry *next;
};

static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static struct inflight_entry *inflight_table[INFLIGHT_BUCKETS];

/* serial in lowercase into out; false if it is too long */
static bool inflight_norm(const char *serial, char *out)
{
	size_t n = strlen(serial);
	if (n >= DB_SERIAL_HEX_MAX)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)serial[i]);
	return true;
}

static unsigned inflight_bucket(const char *norm)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *norm; norm++)
		h = (h ^ (uint8_t)*norm) * 16777619u;
	return h & (INFLIGHT_BUCKETS - 1);
}

int inflight_add(const char *serial)
{
	struct inflight_entry *e = malloc(sizeof(*e));
	if (!e)
		return HSMCA_ERR_NOMEM;
	if (!inflight_norm(serial, e->serial)) {
		free(e);
		return HSMCA_ERR_LIMIT;
	}
	unsigned b = inflight_bucket(e->serial);
	pthread_mutex_lock(&inflight_mu);
	e->next = inflight_table[b];
	inflight_table[b] = e;
	pthread_mutex_unlock(&inflight_mu);
	return 0;
}

void inflight_del(const char *serial)
{
	char norm[DB_SERIAL_HEX_MAX];
	struct inflight_entry *gone = NULL;
	if (!inflight_norm(serial, norm))
		return;
	pthread_mutex_lock(&inflight_mu);
	for (struct inflight_entry **p = &inflight_table[inflight_bucket(norm)]; *p; p = &(*p)->next)
		if (strcmp((*p)->serial, norm) == 0) {
			gone = *p;
			*p = gone->next;
			break;
		}
	pthread_mutex_unlock(&inflight_mu);
	free(gone);
}

bool inflight_has(const char *serial)
{
	char norm[DB_SERIAL_HEX_MAX];
	bool found = false;
	if (!inflight_norm(serial, norm))
		return false;
	pthread_mutex_lock(&inflight_mu);
	for (struct inflight_entry *e = inflight_table[inflight_bucket(norm)]; e && !found; e = e->next)
		found = strcmp(e->serial, norm) == 0;
	pthread_mutex_unlock(&inflight_mu);
	return found;
}
