#include "acceptguard.h"

#include <errno.h>
#include <stdbool.h>
#include <event2/listener.h>
#include <string.h>
#include <time.h>

#include "log.h"

static struct {
	struct ag_entry {
		struct evconnlistener *lev;
		struct event *resume;
	} e[ACCEPTGUARD_MAX];
	unsigned n;
	unsigned long pauses;
	time_t logged_at;
} ag;

static void ag_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evconnlistener_enable(((struct ag_entry *)arg)->lev);
}

static void ag_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	time_t now = time(NULL);
	bool resources = err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
	(void)arg; /* evhttp's */
	for (unsigned i = 0; i < ag.n; i++) {
		if (ag.e[i].lev != lev)
			continue;
		if (resources) {
			static const struct timeval pause = { 0, ACCEPTGUARD_PAUSE_MS * 1000 };
			evconnlistener_disable(lev);
			evtimer_add(ag.e[i].resume, &pause);
			ag.pauses++;
		}
		break;
	}
	if (now != ag.logged_at) { /* at most a line a second */
		ag.logged_at = now;
		log_event(resources ? "warn" : "error", resources ? "accept_paused" : "accept_failed",
			  "why=\"%s\" pause_ms=%d pauses=%lu", strerror(err), resources ? ACCEPTGUARD_PAUSE_MS : 0,
			  ag.pauses);
	}
}

int acceptguard_watch(struct event_base *base, struct evhttp_bound_socket *bound)
{
	struct evconnlistener *lev = bound ? evhttp_bound_socket_get_listener(bound) : NULL;
	if (!lev || ag.n >= ACCEPTGUARD_MAX)
		return HSMCA_ERR_STATE;
	struct ag_entry *e = &ag.e[ag.n];
	if (!(e->resume = evtimer_new(base, ag_resume, e)))
		return HSMCA_ERR_NOMEM;
	e->lev = lev;
	ag.n++;
	evconnlistener_set_error_cb(lev, ag_error);
	return 0;
}

void acceptguard_stop(void)
{
	for (unsigned i = 0; i < ag.n; i++)
		event_free(ag.e[i].resume);
	memset(&ag, 0, sizeof(ag));
}

unsigned long acceptguard_pauses(void)
{
	return ag.pauses;
}
