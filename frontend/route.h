/* Path segments of a request URI after a route prefix, e.g. "/api/v1/approvals/12/approve?x" under
 * "/api/v1/approvals" -> {"12", "approve"}. Segments are 1..ROUTE_SEG_MAX-1 bytes of [A-Za-z0-9._-]
 * (anything else, empty segments or too many: -1), the query string is ignored. */
#ifndef HSMCA_ROUTE_H
#define HSMCA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROUTE_SEG_MAX 72
#define ROUTE_SEGS_MAX 4

/* Returns the number of segments (0 for the prefix itself) or -1. */
int route_split(const char *uri, const char *prefix, char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX]);

#define ROUTE_ID_DIGITS_MAX 18 /* a row id in a path: 1..18 decimal digits (below 2^63) */
/* A row id as a path segment names it: a positive decimal number of 1..ROUTE_ID_DIGITS_MAX digits without a
 * leading zero (one spelling per id: "0007" and "+7" are not 7). False for anything else. */
bool route_id(const char *s, int64_t *out);

#endif
