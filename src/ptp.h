/*
 * ptp.h
 *		What the PTP loader (ptp_load.c) and lookup (ptp_lookup.c) share.
 */
#ifndef PTP_H
#define PTP_H

#include "postgres.h"

/* A table of the extension's schema, by name. */
extern Oid	ptp_relid(const char *name);

#endif							/* PTP_H */
