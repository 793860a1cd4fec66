/*
 * cpt_code.c
 *		SQL interface of the cpt_code type: I/O, casts, comparison, hashing.
 */
#include "postgres.h"

#include "cpt_code.h"
#include "cpt_code_parse.h"

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/sortsupport.h"

#define VALID_CODE_HINT \
	"A procedure code is five characters: five digits or four digits followed by A (CPT Category I), " \
	"four digits followed by F, T, U or M (CPT Category II, Category III, PLA, MAAA), " \
	"or a letter followed by four digits (HCPCS Level II)."

void
cpt_code_to_cstring(CptCode code, char *buf)
{
	cpt_code_format(code, buf);
}

/*
 * Parse, or report 22P02: as an ERROR, or softly into escontext when the
 * caller asks (false is returned then).  "shown" is the value as the user
 * wrote it, or NULL when it should not be echoed (binary input may hold
 * arbitrary bytes).
 */
static bool
parse_or_error(const char *str, size_t len, const char *shown, Node *escontext,
			   CptCode *code)
{
	uint32_t	packed;
	CptParseResult result = cpt_code_parse(str, len, &packed);

	if (result != CPT_PARSE_OK)
	{
		if (shown)
			cpt_ereturn(escontext, false,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type %s: \"%s\"",
							"cpt_code", shown),
					 errdetail("Invalid procedure code: %s.",
							   cpt_parse_result_text(result)),
					 errhint(VALID_CODE_HINT)));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid binary value for type %s", "cpt_code"),
					 errdetail("Invalid procedure code: %s.",
							   cpt_parse_result_text(result)),
					 errhint(VALID_CODE_HINT)));
	}
	*code = (CptCode) packed;
	return true;
}

/* Text input reports a bad code softly when its caller asks (16 and later). */
PG_FUNCTION_INFO_V1(cpt_code_in);
Datum
cpt_code_in(PG_FUNCTION_ARGS)
{
	const char *str = PG_GETARG_CSTRING(0);
	CptCode		code;

	if (!parse_or_error(str, strlen(str), str, fcinfo->context, &code))
		return (Datum) 0;
	PG_RETURN_CPT_CODE(code);
}

PG_FUNCTION_INFO_V1(cpt_code_out);
Datum
cpt_code_out(PG_FUNCTION_ARGS)
{
	char	   *buf = palloc(CPT_CODE_LEN + 1);

	cpt_code_format(PG_GETARG_CPT_CODE(0), buf);
	PG_RETURN_CSTRING(buf);
}

/* Binary form: the five canonical ASCII characters, validated on receipt. */
PG_FUNCTION_INFO_V1(cpt_code_recv);
Datum
cpt_code_recv(PG_FUNCTION_ARGS)
{
	StringInfo	msg = (StringInfo) PG_GETARG_POINTER(0);
	int			len = msg->len - msg->cursor;
	const char *bytes = pq_getmsgbytes(msg, len);
	CptCode		code;

	(void) parse_or_error(bytes, (size_t) len, NULL, NULL, &code);
	PG_RETURN_CPT_CODE(code);
}

PG_FUNCTION_INFO_V1(cpt_code_send);
Datum
cpt_code_send(PG_FUNCTION_ARGS)
{
	char		buf[CPT_CODE_LEN + 1];
	StringInfoData out;

	cpt_code_format(PG_GETARG_CPT_CODE(0), buf);
	pq_begintypsend(&out);
	pq_sendbytes(&out, buf, CPT_CODE_LEN);
	PG_RETURN_BYTEA_P(pq_endtypsend(&out));
}

/* text, varchar and bpchar share the varlena layout, so one function serves. */
PG_FUNCTION_INFO_V1(cpt_code_from_text);
Datum
cpt_code_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *data = VARDATA_ANY(t);
	size_t		len = VARSIZE_ANY_EXHDR(t);
	uint32_t	packed;
	CptCode		code;

	/* fast path: no copy needed unless we must quote the value in an error */
	if (cpt_code_parse(data, len, &packed) == CPT_PARSE_OK)
		PG_RETURN_CPT_CODE(packed);
	(void) parse_or_error(data, len, text_to_cstring(t), NULL, &code);
	PG_RETURN_CPT_CODE(code);
}

bool
cpt_code_of_text(Datum value, CptCode *code)
{
	text	   *t = DatumGetTextPP(value);
	uint32_t	packed;
	bool		ok;

	ok = cpt_code_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &packed) == CPT_PARSE_OK;
	if ((Pointer) t != DatumGetPointer(value))
		pfree(t);
	*code = ok ? (CptCode) packed : 0;
	return ok;
}

/* What a text code column holds for the rules: the code, or NULL for none. */
PG_FUNCTION_INFO_V1(cpt_code_or_null);
Datum
cpt_code_or_null(PG_FUNCTION_ARGS)
{
	CptCode		code;

	if (!cpt_code_of_text(PG_GETARG_DATUM(0), &code))
		PG_RETURN_NULL();
	PG_RETURN_CPT_CODE(code);
}

PG_FUNCTION_INFO_V1(cpt_code_to_text);
Datum
cpt_code_to_text(PG_FUNCTION_ARGS)
{
	char		buf[CPT_CODE_LEN + 1];

	cpt_code_format(PG_GETARG_CPT_CODE(0), buf);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, CPT_CODE_LEN));
}

PG_FUNCTION_INFO_V1(cpt_code_set);
Datum
cpt_code_set(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(
									 cpt_code_set_name(cpt_code_set_of(PG_GETARG_CPT_CODE(0)))));
}

/* Comparison: packed values order exactly like the canonical text in C. */
static inline int
cpt_code_cmp_internal(CptCode a, CptCode b)
{
	return (a > b) - (a < b);
}

#define CPT_CODE_COMPARISON(name, op) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL(PG_GETARG_CPT_CODE(0) op PG_GETARG_CPT_CODE(1)); \
}

CPT_CODE_COMPARISON(cpt_code_eq, ==)
CPT_CODE_COMPARISON(cpt_code_ne, !=)
CPT_CODE_COMPARISON(cpt_code_lt, <)
CPT_CODE_COMPARISON(cpt_code_le, <=)
CPT_CODE_COMPARISON(cpt_code_gt, >)
CPT_CODE_COMPARISON(cpt_code_ge, >=)

PG_FUNCTION_INFO_V1(cpt_code_cmp);
Datum
cpt_code_cmp(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(cpt_code_cmp_internal(PG_GETARG_CPT_CODE(0),
										  PG_GETARG_CPT_CODE(1)));
}

PG_FUNCTION_INFO_V1(cpt_code_larger);
Datum
cpt_code_larger(PG_FUNCTION_ARGS)
{
	CptCode		a = PG_GETARG_CPT_CODE(0);
	CptCode		b = PG_GETARG_CPT_CODE(1);

	PG_RETURN_CPT_CODE(a > b ? a : b);
}

PG_FUNCTION_INFO_V1(cpt_code_smaller);
Datum
cpt_code_smaller(PG_FUNCTION_ARGS)
{
	CptCode		a = PG_GETARG_CPT_CODE(0);
	CptCode		b = PG_GETARG_CPT_CODE(1);

	PG_RETURN_CPT_CODE(a < b ? a : b);
}

/*
 * Packed codes use 30 bits, so they are non-negative as int32 and the
 * server's int32 comparator sorts them correctly without an fmgr call.
 */
PG_FUNCTION_INFO_V1(cpt_code_sortsupport);
Datum
cpt_code_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = ssup_datum_int32_cmp;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(cpt_code_hash);
Datum
cpt_code_hash(PG_FUNCTION_ARGS)
{
	return hash_uint32(PG_GETARG_CPT_CODE(0));
}

PG_FUNCTION_INFO_V1(cpt_code_hash_extended);
Datum
cpt_code_hash_extended(PG_FUNCTION_ARGS)
{
	return hash_uint32_extended(PG_GETARG_CPT_CODE(0), PG_GETARG_INT64(1));
}

PG_FUNCTION_INFO_V1(cpt_code_valid);
Datum
cpt_code_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	uint32_t	packed;

	PG_RETURN_BOOL(cpt_code_parse(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
								  &packed) == CPT_PARSE_OK);
}
