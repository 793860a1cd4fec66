/*
 * cpt_code.h
 *		The cpt_code datum: a packed HCPCS code stored as a 4-byte
 *		pass-by-value integer (see cpt_code_parse.h for the packing).
 */
#ifndef CPT_CODE_H
#define CPT_CODE_H

#include "postgres.h"
#include "fmgr.h"

#include "pg_compat.h"

typedef uint32 CptCode;

#define DatumGetCptCode(X)		((CptCode) DatumGetUInt32(X))
#define CptCodeGetDatum(X)		UInt32GetDatum(X)
#define PG_GETARG_CPT_CODE(n)	DatumGetCptCode(PG_GETARG_DATUM(n))
#define PG_RETURN_CPT_CODE(x)	return CptCodeGetDatum(x)

/* Canonical text of a code into a caller-supplied buffer of 6 bytes. */
extern void cpt_code_to_cstring(CptCode code, char *buf);

#endif							/* CPT_CODE_H */
