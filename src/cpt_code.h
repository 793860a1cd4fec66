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
#include "cpt_code_parse.h"

typedef uint32 CptCode;

#define DatumGetCptCode(X)		((CptCode) DatumGetUInt32(X))
#define CptCodeGetDatum(X)		UInt32GetDatum(X)
#define PG_GETARG_CPT_CODE(n)	DatumGetCptCode(PG_GETARG_DATUM(n))
#define PG_RETURN_CPT_CODE(x)	return CptCodeGetDatum(x)

/* Canonical text of a code into a caller-supplied buffer of 6 bytes. */
extern void cpt_code_to_cstring(CptCode code, char *buf);

/*
 * A text, varchar or char(n) value read as cpt_code input reads it: false
 * when it is no valid code.
 */
extern bool cpt_code_of_text(Datum value, CptCode *code);

/*
 * A code column's value, the column being a cpt_code (or a domain over it)
 * or of a text type (text_form): false when it holds no valid code.
 */
static inline bool
cpt_code_of_column(Datum value, bool text_form, CptCode *code)
{
	const struct varlena *v = (const struct varlena *) DatumGetPointer(value);

	if (!text_form)
	{
		*code = DatumGetCptCode(value);
		return true;
	}
	/* five characters stored inline, the usual value, read here */
	if (VARATT_IS_SHORT(v) && VARSIZE_SHORT(v) == VARHDRSZ_SHORT + CPT_CODE_LEN &&
		cpt_code_parse_five(VARDATA_SHORT(v), code))
		return true;
	return cpt_code_of_text(value, code);
}

#endif							/* CPT_CODE_H */
