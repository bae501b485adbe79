/* GET /api/v1/certificates/{serial} (JOB_CERT_GET). */
#ifndef HSMCA_CERTGET_H
#define HSMCA_CERTGET_H

#include "db_lifecycle.h"
#include "pool.h"

void certget_request(struct worker *w, struct job *j);
/* Sets a 200 JSON reply describing c (with the PEM certificate once issued). */
void certget_reply(struct job *j, const struct db_cert_row *c);

#endif
