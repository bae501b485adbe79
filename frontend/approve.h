/* /api/v1/approvals: administrators list held requests and approve or reject them (a second person:
 * never the requester). Approval commits held -> pending with its audit row, then signs like any intent. */
#ifndef HSMCA_APPROVE_H
#define HSMCA_APPROVE_H

#include "pool.h"

void approve_request(struct worker *w, struct job *j);
/* Expires pending approvals past their time (their certificates fail), each with an audit row. out_n: how
 * many. Called by the periodic recovery pass. */
int approve_expire(struct worker *w, unsigned *out_n) HSMCA_WUR;

#endif
