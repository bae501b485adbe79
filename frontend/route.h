/* Path segments of a request URI after a route prefix, e.g. "/api/v1/approvals/12/approve?x" under
 * "/api/v1/approvals" -> {"12", "approve"}. Segments are 1..ROUTE_SEG_MAX-1 bytes of [A-Za-z0-9._-]
 * (anything else, empty segments or too many: -1), the query string is ignored. */
#ifndef HSMCA_ROUTE_H
#define HSMCA_ROUTE_H

#include <stddef.h>

#define ROUTE_SEG_MAX 72
#define ROUTE_SEGS_MAX 4

/* Returns the number of segments (0 for the prefix itself) or -1. */
int route_split(const char *uri, const char *prefix, char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX]);

#endif
