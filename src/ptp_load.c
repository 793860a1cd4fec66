/*
 * ptp_load.c
 *		A quarter of CMS's PTP edits, from the staging table its four parts
 *		were copied into, stored one row per column 1 code with the edits as
 *		parallel arrays sorted by column 2 (ptp_lookup.c finds a pair there).
 *
 * 2.6 million records: checked, sorted and packed here in one pass over
 * the staging table, since per-record SQL and one index entry per record
 * cost several times the COPY that wrote them.
 */
#include "postgres.h"

#include "pg_compat.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "cms_file.h"
#include "cpt_code.h"
#include "ptp.h"

/* the bad records named in the error, as the SQL check named them */
#define PTP_BAD_SHOWN 100

/* a rationale's id is a smallint */
#define PTP_MAX_LABELS 32000

/* One record as stored, 24 bytes: the sort moves these. */
typedef struct PtpRecord
{
	uint32		column1;
	uint32		column2;
	uint32		seq;			/* file order, for CMS's duplicate pairs */
	DateADT		effective;
	DateADT		deleted;
	uint16		label;			/* rationale label number + 1; 0: none */
	uint8		modifier;
	uint8		flags;
} PtpRecord;

#define PTP_PRE_1996	0x01
#define PTP_NOT_DELETED 0x02

static inline int
ptp_record_cmp(const PtpRecord *a, const PtpRecord *b)
{
	if (a->column1 != b->column1)
		return a->column1 < b->column1 ? -1 : 1;
	if (a->column2 != b->column2)
		return a->column2 < b->column2 ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

#define ST_SORT ptp_sort_records
#define ST_ELEMENT_TYPE PtpRecord
#define ST_COMPARE(a, b) ptp_record_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The distinct rationale labels: a dozen in CMS's files, but a file is not
 * trusted to keep to that, so they are hashed.
 */
typedef struct PtpLabels
{
	char	  **text;
	int		   *len;
	int			n;
	int			cap;
	uint16	   *slot;			/* label number + 1; 0: empty */
	int			nslots;			/* a power of 2, at least twice n */
	int			last;			/* the label matched last: records come in runs */
} PtpLabels;

static void
ptp_labels_init(PtpLabels *lab)
{
	lab->n = 0;
	lab->cap = 16;
	lab->text = palloc(lab->cap * sizeof(char *));
	lab->len = palloc(lab->cap * sizeof(int));
	lab->nslots = 64;
	lab->slot = palloc0(lab->nslots * sizeof(uint16));
	lab->last = -1;
}

static void
ptp_labels_place(PtpLabels *lab, int k)
{
	uint32		mask = lab->nslots - 1;
	uint32		i = hash_bytes((const unsigned char *) lab->text[k], lab->len[k]) & mask;

	while (lab->slot[i] != 0)
		i = (i + 1) & mask;
	lab->slot[i] = k + 1;
}

/* The number of the label of len bytes at s, added when new. */
static int
ptp_label_number(PtpLabels *lab, const char *s, int len)
{
	uint32		mask = lab->nslots - 1;
	uint32		i;
	int			k;

	if (lab->last >= 0 && lab->len[lab->last] == len &&
		memcmp(lab->text[lab->last], s, len) == 0)
		return lab->last;
	for (i = hash_bytes((const unsigned char *) s, len) & mask; lab->slot[i] != 0; i = (i + 1) & mask)
	{
		k = lab->slot[i] - 1;
		if (lab->len[k] == len && memcmp(lab->text[k], s, len) == 0)
			return lab->last = k;
	}
	if (lab->n >= PTP_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("CMS PTP file has more than %d different rationales", PTP_MAX_LABELS)));
	if (lab->n == lab->cap)
	{
		lab->cap *= 2;
		lab->text = repalloc(lab->text, lab->cap * sizeof(char *));
		lab->len = repalloc(lab->len, lab->cap * sizeof(int));
	}
	k = lab->n++;
	lab->text[k] = pnstrdup(s, len);
	lab->len[k] = len;
	if (lab->n * 2 > lab->nslots)
	{
		pfree(lab->slot);
		lab->nslots *= 2;
		lab->slot = palloc0(lab->nslots * sizeof(uint16));
		for (int j = 0; j < lab->n; j++)
			ptp_labels_place(lab, j);
	}
	else
		lab->slot[i] = k + 1;
	return lab->last = k;
}

/* A text field of the staging table, NULL or not. */
typedef struct PtpField
{
	const char *s;
	int			len;
	bool		isnull;
} PtpField;

static inline void
ptp_field(TupleTableSlot *slot, int attno, PtpField *f)
{
	text	   *t;

	f->isnull = attno < 0 || slot->tts_isnull[attno];
	if (f->isnull)
	{
		f->s = "";
		f->len = 0;
		return;
	}
	t = DatumGetTextPP(slot->tts_values[attno]);
	f->s = VARDATA_ANY(t);
	f->len = VARSIZE_ANY_EXHDR(t);
}

/* btrim()'s reading: blanks, and only blanks, off both ends */
static inline PtpField
ptp_btrim(const PtpField *f)
{
	PtpField	r = *f;

	while (r.len > 0 && r.s[0] == ' ')
		r.s++, r.len--;
	while (r.len > 0 && r.s[r.len - 1] == ' ')
		r.len--;
	return r;
}

static inline bool
ptp_field_is(const PtpField *f, const char *lit)
{
	int			n = strlen(lit);

	return !f->isnull && f->len == n && memcmp(f->s, lit, n) == 0;
}

static inline bool
ptp_field_begins(const PtpField *f, const char *lit)
{
	int			n = strlen(lit);

	return !f->isnull && f->len >= n && memcmp(f->s, lit, n) == 0;
}

/* quote_literal() of the field, or NULL, as the SQL check wrote them */
static char *
ptp_quoted(const PtpField *f)
{
	if (f->isnull)
		return pstrdup("NULL");
	return quote_literal_cstr(pnstrdup(f->s, f->len));
}

static inline bool
ptp_code(const PtpField *f, uint32 *code)
{
	uint32_t	packed;

	if (f->isnull)
		return false;
	if (f->len == CPT_CODE_LEN && cpt_code_parse_five(f->s, &packed))
	{
		*code = packed;
		return true;
	}
	if (cpt_code_parse(f->s, f->len, &packed) != CPT_PARSE_OK)
		return false;
	*code = packed;
	return true;
}

/*
 * Check one record, in the order of the SQL check it replaces, and fill
 * *rec.  False when it is bad; then *problem, if asked for, says why.
 */
static bool
ptp_check_record(const PtpField *c1, const PtpField *c2, const PtpField *pre, const PtpField *eff,
				 const PtpField *del, const PtpField *mod, PtpRecord *rec, char **problem)
{
	PtpField	t;
	PtpField	del_t = ptp_btrim(del);
	bool		del_star = !del->isnull && del_t.len == 1 && del_t.s[0] == '*';

	if (!ptp_code(c1, &rec->column1))
	{
		if (problem)
			*problem = psprintf("column 1 code %s is not a valid code", ptp_quoted(c1));
		return false;
	}
	if (!ptp_code(c2, &rec->column2))
	{
		if (problem)
			*problem = psprintf("column 2 code %s is not a valid code", ptp_quoted(c2));
		return false;
	}
	rec->flags = 0;
	t = ptp_btrim(pre);
	if (t.len == 1 && t.s[0] == '*')
		rec->flags |= PTP_PRE_1996;
	else if (t.len != 0)
	{
		if (problem)
			*problem = psprintf("pre-1996 flag %s is not * or empty", ptp_quoted(pre));
		return false;
	}
	if (eff->isnull || !cms_yyyymmdd_parse(eff->s, eff->len, &rec->effective))
	{
		if (problem)
			*problem = psprintf("effective date %s is not a date YYYYMMDD", ptp_quoted(eff));
		return false;
	}
	if (del_star)
	{
		rec->flags |= PTP_NOT_DELETED;
		rec->deleted = 0;
	}
	else if (del->isnull || !cms_yyyymmdd_parse(del->s, del->len, &rec->deleted))
	{
		if (problem)
			*problem = psprintf("deletion date %s is neither a date YYYYMMDD nor *", ptp_quoted(del));
		return false;
	}
	else if (rec->deleted < rec->effective)
	{
		if (problem)
		{
			PtpField	eff_t = ptp_btrim(eff);

			*problem = psprintf("deletion date %.*s is before effective date %.*s",
								del_t.len, del_t.s, eff_t.len, eff_t.s);
		}
		return false;
	}
	t = ptp_btrim(mod);
	if (t.len != 1 || (t.s[0] != '0' && t.s[0] != '1' && t.s[0] != '9'))
	{
		if (problem)
			*problem = psprintf("modifier indicator %s is not 0, 1 or 9", ptp_quoted(mod));
		return false;
	}
	rec->modifier = t.s[0] - '0';
	return true;
}

Oid
ptp_relid(const char *name)
{
	return get_relname_relid(name, get_namespace_oid("cpt_rules", false));
}

static char *
ptp_regclass_text(Oid relid)
{
	return DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(relid)));
}

static int
ptp_label_cmp(const void *a, const void *b, void *arg)
{
	PtpLabels  *lab = (PtpLabels *) arg;

	return strcmp(lab->text[*(const int *) a], lab->text[*(const int *) b]);
}

/*
 * The rationale ids of the labels (index: label number), the new labels
 * added to ptp_rationale in C-collation order after the ids taken.  Within
 * SPI.
 */
static int16 *
ptp_rationale_ids(PtpLabels *lab, MemoryContext cxt)
{
	int16	   *ids = MemoryContextAlloc(cxt, Max(lab->n, 1) * sizeof(int16));
	int		   *fresh = palloc(Max(lab->n, 1) * sizeof(int));
	int			nfresh = 0;
	int			maxid = 0;

	if (SPI_execute("SELECT id, rationale FROM cpt_rules.ptp_rationale", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading cpt_rules.ptp_rationale failed");
	for (int k = 0; k < lab->n; k++)
		ids[k] = 0;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		int16		id = DatumGetInt16(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		char	   *text = SPI_getvalue(tup, SPI_tuptable->tupdesc, 2);

		maxid = Max(maxid, id);
		for (int k = 0; k < lab->n; k++)
			if (strcmp(lab->text[k], text) == 0)
				ids[k] = id;
	}
	for (int k = 0; k < lab->n; k++)
		if (ids[k] == 0)
			fresh[nfresh++] = k;
	qsort_arg(fresh, nfresh, sizeof(int), ptp_label_cmp, lab);
	for (int i = 0; i < nfresh; i++)
	{
		Oid			types[2] = {INT2OID, TEXTOID};
		Datum		values[2];

		if (maxid + 1 + i > PG_INT16_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("cpt_rules.ptp_rationale has no id left for rationale \"%s\"",
							lab->text[fresh[i]])));
		ids[fresh[i]] = maxid + 1 + i;
		values[0] = Int16GetDatum(ids[fresh[i]]);
		values[1] = CStringGetTextDatum(lab->text[fresh[i]]);
		if (SPI_execute_with_args("INSERT INTO cpt_rules.ptp_rationale (id, rationale) VALUES ($1, $2)",
								  2, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "adding a PTP rationale failed");
	}
	return ids;
}

/*
 * cpt_rules.ptp_load(staging regclass, medicare_layout boolean, quarter
 * smallint, program text, setting text, previous_effective date,
 * previous_edits integer, allow_shrink boolean): the body of
 * refresh_ptp_edits() from its check of the records to the edits stored;
 * returns the parts, the edits and how many of each modifier indicator.
 */
PG_FUNCTION_INFO_V1(cpt_ptp_load);
Datum
cpt_ptp_load(PG_FUNCTION_ARGS)
{
	Oid			relid;
	bool		medicare;
	int16		quarter;
	char	   *program;
	char	   *setting;
	bool		allow_shrink;
	TupleDesc	result_desc;
	MemoryContext cxt;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	Relation	rel;
	Relation	dest;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AclResult	aclresult;
	PtpLabels	labels;
	PtpRecord  *recs;
	int64		nrecs = 0;
	int64		caprecs = 65536;
	int64		parts = 0;
	int64		data = 0;
	int64		nbad = 0;
	int64		nmod[10] = {0};
	int64		rownum = 0;
	int64		copyright_row = 0;
	StringInfoData bad;
	int			att_c1;
	int			att_c2;
	int			att_pre;
	int			att_eff;
	int			att_del;
	int			att_mod;
	int			att_rat;
	Datum		result[5];
	bool		result_null[5] = {false, false, false, false, false};

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(4) || PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("only the previous quarter's arguments may be NULL")));
	relid = PG_GETARG_OID(0);
	medicare = PG_GETARG_BOOL(1);
	quarter = PG_GETARG_INT16(2);
	program = text_to_cstring(PG_GETARG_TEXT_PP(3));
	setting = text_to_cstring(PG_GETARG_TEXT_PP(4));
	allow_shrink = PG_GETARG_BOOL(7);
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	cxt = AllocSetContextCreate(CurrentMemoryContext, "PTP load", ALLOCSET_DEFAULT_SIZES);
	rowcxt = AllocSetContextCreate(cxt, "PTP load record", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	rel = table_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION && rel->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("staging table %s is not a table", ptp_regclass_text(relid)),
				 errhint("Create it as CREATE TEMP TABLE ... (LIKE cpt_rules.cms_ptp_file).")));
	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	/* the scan below reads every row: it must be every row the user may see */
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("staging table %s has row-level security for this user", ptp_regclass_text(relid)),
				 errhint("Copy the files into a table without row security policies, as CREATE TEMP TABLE ... (LIKE cpt_rules.cms_ptp_file).")));

	/* the columns of cms_ptp_file or cms_ptp_file_medicaid, as checked */
	{
		TupleDesc	desc = RelationGetDescr(rel);
		int			live[7];
		int			nlive = 0;

		for (int a = 0; a < desc->natts && nlive < 7; a++)
			if (!TupleDescAttr(desc, a)->attisdropped)
				live[nlive++] = a;
		if (nlive < (medicare ? 7 : 6))
			elog(ERROR, "staging table %s has too few columns", ptp_regclass_text(relid));
		att_c1 = live[0];
		att_c2 = live[1];
		att_pre = medicare ? live[2] : -1;
		att_eff = live[medicare ? 3 : 2];
		att_del = live[medicare ? 4 : 3];
		att_mod = live[medicare ? 5 : 4];
		att_rat = live[medicare ? 6 : 5];
	}

	ptp_labels_init(&labels);
	initStringInfo(&bad);
	recs = MemoryContextAllocHuge(cxt, caprecs * sizeof(PtpRecord));

	/* from block 0 on: physical order is the order the parts were copied in */
	scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		PtpField	c1,
					c2,
					pre,
					eff,
					del,
					mod,
					rat;
		PtpRecord	rec;
		bool		header;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(rowcxt);
		MemoryContextSwitchTo(rowcxt);
		slot_getallattrs(slot);
		rownum++;
		ptp_field(slot, att_c1, &c1);
		ptp_field(slot, att_c2, &c2);

		/* CMS's six header lines of each part, as the SQL check knew them */
		if (c1.isnull)
			header = c2.isnull;
		else
			header = c1.len > 0 && c1.s[0] == 'C' &&
				(ptp_field_begins(&c1, "CPT only copyright") ||
				 ptp_field_is(&c1, "Column1/Column2 Edits") || ptp_field_is(&c1, "Column 1"));
		if (header)
		{
			if (ptp_field_begins(&c1, "CPT only copyright"))
			{
				parts++;
				copyright_row = rownum;
			}
			MemoryContextSwitchTo(cxt);
			continue;
		}
		data++;
		ptp_field(slot, att_pre, &pre);
		ptp_field(slot, att_eff, &eff);
		ptp_field(slot, att_del, &del);
		ptp_field(slot, att_mod, &mod);
		if (!ptp_check_record(&c1, &c2, &pre, &eff, &del, &mod, &rec, NULL))
		{
			nbad++;
			if (nbad <= PTP_BAD_SHOWN)
			{
				char	   *problem = NULL;

				ptp_check_record(&c1, &c2, &pre, &eff, &del, &mod, &rec, &problem);
				MemoryContextSwitchTo(cxt);
				if (bad.len > 0)
					appendStringInfoChar(&bad, '\n');
				/* before any copyright line the SQL check had no line number */
				if (copyright_row > 0)
					appendStringInfo(&bad, "part " INT64_FORMAT ", line " INT64_FORMAT ": %s",
									 parts, rownum - copyright_row + 1, problem);
				else
					appendStringInfo(&bad, "part " INT64_FORMAT ", line : %s", parts, problem);
			}
			MemoryContextSwitchTo(cxt);
			continue;
		}
		nmod[rec.modifier]++;
		if (nbad > 0)
		{
			MemoryContextSwitchTo(cxt);
			continue;
		}
		ptp_field(slot, att_rat, &rat);
		rat = ptp_btrim(&rat);
		MemoryContextSwitchTo(cxt);
		rec.label = rat.len > 0 ? ptp_label_number(&labels, rat.s, rat.len) + 1 : 0;
		rec.seq = (uint32) nrecs;
		if (nrecs == caprecs)
		{
			caprecs *= 2;
			recs = repalloc_huge(recs, caprecs * sizeof(PtpRecord));
		}
		recs[nrecs++] = rec;
	}
	MemoryContextSwitchTo(cxt);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, NoLock);

	if (parts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("no copyright line in %s: CMS's PTP files begin each part with one",
						ptp_regclass_text(relid)),
				 errhint("Load each part as CMS ships it: \\copy staging FROM 'ccipra-v322r0-f1.TXT' WITH (FORMAT csv, DELIMITER E'\\t', ENCODING 'LATIN1')")));
	if (nbad > 0)
	{
		if (nbad > PTP_BAD_SHOWN)
			appendStringInfo(&bad, "\n... and " INT64_FORMAT " more", nbad - PTP_BAD_SHOWN);
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("CMS PTP file has " INT64_FORMAT " bad record(s); the PTP tables were not changed", nbad),
				 errdetail("%s", bad.data),
				 errhint("Lines are counted from 1 in each part as its file has them, the six header lines included; parts in the order they were loaded.")));
	}

	/* a part left out or cut short */
	if (!PG_ARGISNULL(6) && !allow_shrink && data < PG_GETARG_INT32(6) / 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the files list " INT64_FORMAT " edit(s), against %d in the %s %s quarter of %s",
						data, PG_GETARG_INT32(6), program, setting,
						PG_ARGISNULL(5) ? "" :
						DatumGetCString(DirectFunctionCall1(date_out, PG_GETARG_DATUM(5)))),
				 errdetail("A part left out or cut short would drop most of the edits."),
				 errhint("Load all four parts, or pass allow_shrink => true if that is intended.")));

	ptp_sort_records(recs, nrecs);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		int16	   *ids = ptp_rationale_ids(&labels, cxt);
		Oid			destid = ptp_relid("ptp_edit_loaded");
		Oid			code_type;
		Oid			code_array;
		Oid			types[8];
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		SPIPlanPtr	plan;
		Datum	   *e_c2;
		Datum	   *e_eff;
		Datum	   *e_del;
		bool	   *n_del;
		Datum	   *e_mod;
		Datum	   *e_pre;
		Datum	   *e_rat;
		bool	   *n_rat;
		int64		maxgroup = 0;

		if (!OidIsValid(destid))
			elog(ERROR, "cpt_rules.ptp_edit_loaded is missing");
		dest = table_open(destid, AccessShareLock);
		code_array = TupleDescAttr(RelationGetDescr(dest), 2)->atttypid;
		table_close(dest, AccessShareLock);
		code_type = get_element_type(code_array);
		if (!OidIsValid(code_type))
			elog(ERROR, "cpt_rules.ptp_edit_loaded.column2 is no array");

		types[0] = INT2OID;
		types[1] = code_type;
		types[2] = code_array;
		types[3] = DATEARRAYOID;
		types[4] = DATEARRAYOID;
		types[5] = INT2ARRAYOID;
		types[6] = BOOLARRAYOID;
		types[7] = INT2ARRAYOID;

		/* a quarter loaded again is replaced */
		values[0] = Int16GetDatum(quarter);
		if (SPI_execute_with_args("DELETE FROM cpt_rules.ptp_edit_loaded WHERE quarter = $1",
								  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "deleting the quarter's PTP edits failed");

		plan = SPI_prepare("INSERT INTO cpt_rules.ptp_edit_loaded "
						   "(quarter, column1, column2, effective, deleted, modifier, pre_1996, rationale) "
						   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, types);
		if (plan == NULL)
			elog(ERROR, "preparing the PTP insert failed: %s", SPI_result_code_string(SPI_result));

		for (int64 i = 0, j; i < nrecs; i = j)
		{
			for (j = i + 1; j < nrecs && recs[j].column1 == recs[i].column1; j++)
				;
			maxgroup = Max(maxgroup, j - i);
		}
		e_c2 = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		e_eff = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		e_del = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		n_del = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(bool));
		e_mod = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		e_pre = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		e_rat = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(Datum));
		n_rat = MemoryContextAllocHuge(cxt, Max(maxgroup, 1) * sizeof(bool));

		for (int64 i = 0, j; i < nrecs; i = j)
		{
			int			n;
			int			dims[1];
			int			lbs[1] = {1};
			MemoryContext spicxt;

			CHECK_FOR_INTERRUPTS();
			for (j = i; j < nrecs && recs[j].column1 == recs[i].column1; j++)
			{
				const PtpRecord *r = &recs[j];
				int64		k = j - i;

				e_c2[k] = CptCodeGetDatum(r->column2);
				e_eff[k] = DateADTGetDatum(r->effective);
				n_del[k] = (r->flags & PTP_NOT_DELETED) != 0;
				e_del[k] = DateADTGetDatum(r->deleted);
				e_mod[k] = Int16GetDatum(r->modifier);
				e_pre[k] = BoolGetDatum((r->flags & PTP_PRE_1996) != 0);
				n_rat[k] = r->label == 0;
				e_rat[k] = Int16GetDatum(r->label == 0 ? 0 : ids[r->label - 1]);
			}
			n = (int) (j - i);
			dims[0] = n;
			spicxt = MemoryContextSwitchTo(rowcxt);
			MemoryContextReset(rowcxt);
			values[0] = Int16GetDatum(quarter);
			values[1] = CptCodeGetDatum(recs[i].column1);
			values[2] = PointerGetDatum(construct_md_array(e_c2, NULL, 1, dims, lbs, code_type,
														   sizeof(CptCode), true, TYPALIGN_INT));
			values[3] = PointerGetDatum(construct_md_array(e_eff, NULL, 1, dims, lbs, DATEOID,
														   sizeof(DateADT), true, TYPALIGN_INT));
			values[4] = PointerGetDatum(construct_md_array(e_del, n_del, 1, dims, lbs, DATEOID,
														   sizeof(DateADT), true, TYPALIGN_INT));
			values[5] = PointerGetDatum(construct_md_array(e_mod, NULL, 1, dims, lbs, INT2OID,
														   sizeof(int16), true, TYPALIGN_SHORT));
			values[6] = PointerGetDatum(construct_md_array(e_pre, NULL, 1, dims, lbs, BOOLOID,
														   sizeof(bool), true, TYPALIGN_CHAR));
			values[7] = PointerGetDatum(construct_md_array(e_rat, n_rat, 1, dims, lbs, INT2OID,
														   sizeof(int16), true, TYPALIGN_SHORT));
			MemoryContextSwitchTo(spicxt);
			if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "storing the PTP edits failed");
		}
	}
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);

	result[0] = Int64GetDatum(parts);
	result[1] = Int64GetDatum(data);
	result[2] = Int64GetDatum(nmod[0]);
	result[3] = Int64GetDatum(nmod[1]);
	result[4] = Int64GetDatum(nmod[9]);
	result_desc = BlessTupleDesc(result_desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, result, result_null)));
}
