/* /api/v1/approvals: administrators list held requests and approve or reject them (a second person:
 * never the requester). Approval commits held -> pending with its audit row, then signs like any intent. */
#ifndef HSMCA_APPROVE_H
#define HSMCA_APPROVE_H

#include "pool.h"

void approve_request(struct worker *w, struct job *j);
/* Expires pending approvals past their time (their certificates fail), each with an audit row. out_n: how
 * many. Called by the periodic recovery pass. */
int approve_expire(struct worker *w, unsigned *out_n) HSMCA_WUR;

#define APPROVE_REASON_MAX 200
/* The optional body of a decision (j->body, j->body_len): empty, {} or {"reason": text of 1..199 bytes}
 * (reject only). 0 with reason NUL-terminated ("" if none), or HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX).
 * Used by approve_request; declared here for tests/fuzz/fuzz_approve.c. */
int approve_body(const struct job *j, bool approve, char reason[APPROVE_REASON_MAX], char *why) HSMCA_WUR;

#endif
