/* GET /api/v1/certificates/{serial} (JOB_CERT_GET). */
#ifndef HSMCA_CERTGET_H
#define HSMCA_CERTGET_H

#include "db_lifecycle.h"
#include "pool.h"

void certget_request(struct worker *w, struct job *j);
/* Appends `, "key": "YYYY-MM-DDTHH:MM:SSZ"` (UTC) to a JSON object being written. */
void certget_json_time(struct dbuf *b, const char *key, time_t t);
/* Sets a 200 JSON reply describing c (with the PEM certificate once issued). */
void certget_reply(struct job *j, const struct db_cert_row *c);

#endif
