/*
 * ptp_load.c
 *		A quarter of CMS's PTP edits, from the staging table its four parts
 *		were copied into, stored one row per column 1 code with the edits as
 *		parallel arrays sorted by column 2; and finding a pair in such a row.
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
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "cms_file.h"
#include "cpt_code.h"

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

/* The relation's own name in the extension's schema. */
static Oid
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

/* The element i (from 0) of a one-dimensional array, or NULL. */
static inline Datum
ptp_element(ArrayType *a, int i, int16 len, bool byval, char align, bool *isnull)
{
	int			sub = ARR_LBOUND(a)[0] + i;

	return array_get_element(PointerGetDatum(a), 1, &sub, -1, len, byval, align, isnull);
}

/* What the lookups of one query keep: the relations and the key's equality. */
typedef struct PtpLookupCache
{
	Oid			quarter_rel;
	Oid			edit_rel;
	Oid			edit_key;
	Oid			rationale_rel;
	RegProcedure code_eq;
} PtpLookupCache;

static PtpLookupCache *
ptp_lookup_cache(FunctionCallInfo fcinfo)
{
	PtpLookupCache *c = (PtpLookupCache *) fcinfo->flinfo->fn_extra;
	Relation	index;
	Oid			opr;

	if (c != NULL)
		return c;
	c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(PtpLookupCache));
	c->quarter_rel = ptp_relid("ptp_quarter");
	c->edit_rel = ptp_relid("ptp_edit_loaded");
	c->edit_key = ptp_relid("ptp_edit_loaded_pkey");
	c->rationale_rel = ptp_relid("ptp_rationale");
	if (!OidIsValid(c->quarter_rel) || !OidIsValid(c->edit_rel) || !OidIsValid(c->edit_key) ||
		!OidIsValid(c->rationale_rel))
		elog(ERROR, "the PTP tables of cpt_rules are missing");
	/* read directly, so the privileges are checked here */
	{
		const Oid	rels[3] = {c->quarter_rel, c->edit_rel, c->rationale_rel};

		for (int i = 0; i < 3; i++)
		{
			AclResult	aclresult = pg_class_aclcheck(rels[i], GetUserId(), ACL_SELECT);

			if (aclresult != ACLCHECK_OK)
				aclcheck_error(aclresult, OBJECT_TABLE, get_rel_name(rels[i]));
		}
	}
	index = index_open(c->edit_key, AccessShareLock);
	opr = get_opfamily_member(index->rd_opfamily[1], index->rd_opcintype[1], index->rd_opcintype[1],
							  BTEqualStrategyNumber);
	if (!OidIsValid(opr))
		elog(ERROR, "no equality for the codes of ptp_edit_loaded_pkey");
	c->code_eq = get_opcode(opr);
	index_close(index, AccessShareLock);
	fcinfo->flinfo->fn_extra = c;
	return c;
}

/*
 * The quarter judging a date: the latest of the program and setting in
 * force on it, or the first (its files hold the history).  False if none.
 */
static bool
ptp_find_quarter(Oid relid, text *program, text *setting, DateADT on_date, Snapshot snapshot,
				 int16 *id, DateADT *effective)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		have_before = false;
	bool		have_first = false;
	int16		before_id = 0;
	int16		first_id = 0;
	DateADT		before = 0;
	DateADT		first = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		text	   *p;
		text	   *s;
		DateADT		e;

		slot_getsomeattrs(slot, 4);
		if (slot->tts_isnull[0] || slot->tts_isnull[1] || slot->tts_isnull[2] || slot->tts_isnull[3])
			continue;
		p = DatumGetTextPP(slot->tts_values[1]);
		s = DatumGetTextPP(slot->tts_values[2]);
		if (VARSIZE_ANY_EXHDR(p) != VARSIZE_ANY_EXHDR(program) ||
			memcmp(VARDATA_ANY(p), VARDATA_ANY(program), VARSIZE_ANY_EXHDR(p)) != 0 ||
			VARSIZE_ANY_EXHDR(s) != VARSIZE_ANY_EXHDR(setting) ||
			memcmp(VARDATA_ANY(s), VARDATA_ANY(setting), VARSIZE_ANY_EXHDR(s)) != 0)
			continue;
		e = DatumGetDateADT(slot->tts_values[3]);
		if (e <= on_date && (!have_before || e > before))
		{
			have_before = true;
			before = e;
			before_id = DatumGetInt16(slot->tts_values[0]);
		}
		if (!have_first || e < first)
		{
			have_first = true;
			first = e;
			first_id = DatumGetInt16(slot->tts_values[0]);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	*id = have_before ? before_id : first_id;
	*effective = have_before ? before : first;
	return have_first;
}

/* A rationale's label, or NULL. */
static text *
ptp_rationale_text(Oid relid, int16 id, Snapshot snapshot)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	text	   *result = NULL;

	while (result == NULL && table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		slot_getsomeattrs(slot, 2);
		if (!slot->tts_isnull[0] && !slot->tts_isnull[1] && DatumGetInt16(slot->tts_values[0]) == id)
			result = DatumGetTextPCopy(slot->tts_values[1]);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/*
 * The edits of the quarter's row for column 1 code c1 whose column 2 is c2,
 * in force on the date, into the result: the row found by the key, c2 by a
 * binary search of its sorted column 2 codes.
 */
static void
ptp_lookup_order(PtpLookupCache *c, Relation erel, Relation irel, TupleTableSlot *slot,
				 Snapshot snapshot, int16 quarter, DateADT quarter_effective,
				 CptCode c1, CptCode c2, DateADT on_date, ReturnSetInfo *rsinfo)
{
	ScanKeyData keys[2];
	IndexScanDesc scan;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum(quarter));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, c->code_eq, CptCodeGetDatum(c1));
	scan = cpt_index_beginscan(erel, irel, snapshot, 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		ArrayType  *codes_a;
		ArrayType  *eff;
		ArrayType  *del;
		ArrayType  *mod;
		ArrayType  *rat;
		const CptCode *codes;
		bool		isnull;
		int			n;
		int			lo = 0;
		int			hi;

		slot_getsomeattrs(slot, 8);
		for (int a = 2; a < 8; a++)
			if (slot->tts_isnull[a])
				elog(ERROR, "a row of ptp_edit_loaded has a NULL array");
		codes_a = DatumGetArrayTypeP(slot->tts_values[2]);
		if (ARR_NDIM(codes_a) != 1 || ARR_HASNULL(codes_a))
			elog(ERROR, "a row of ptp_edit_loaded has column 2 codes not in a one-dimensional array without NULLs");
		n = ARR_DIMS(codes_a)[0];
		/* ARR_DATA_PTR() of an array without NULLs, which -Wsign-compare spares */
		codes = (const CptCode *) ((const char *) codes_a + ARR_OVERHEAD_NONULLS(1));
		hi = n;
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (codes[mid] < c2)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && codes[lo] == c2)
		{
			eff = DatumGetArrayTypeP(slot->tts_values[3]);
			del = DatumGetArrayTypeP(slot->tts_values[4]);
			mod = DatumGetArrayTypeP(slot->tts_values[5]);
			rat = DatumGetArrayTypeP(slot->tts_values[7]);
			if (ARR_NDIM(eff) != 1 || ARR_NDIM(del) != 1 || ARR_NDIM(mod) != 1 || ARR_NDIM(rat) != 1 ||
				ARR_DIMS(eff)[0] != n || ARR_DIMS(del)[0] != n || ARR_DIMS(mod)[0] != n ||
				ARR_DIMS(rat)[0] != n)
				elog(ERROR, "a row of ptp_edit_loaded has arrays of different lengths");
			for (int i = lo; i < n && codes[i] == c2; i++)
			{
				Datum		values[7];
				bool		nulls[7] = {false, false, false, false, false, false, false};
				int16		m;
				DateADT		e;
				Datum		r;

				m = DatumGetInt16(ptp_element(mod, i, sizeof(int16), true, TYPALIGN_SHORT, &isnull));
				if (isnull || m == 9)
					continue;
				e = DatumGetDateADT(ptp_element(eff, i, sizeof(DateADT), true, TYPALIGN_INT, &isnull));
				if (isnull || e > on_date)
					continue;
				values[5] = ptp_element(del, i, sizeof(DateADT), true, TYPALIGN_INT, &nulls[5]);
				if (!nulls[5] && DatumGetDateADT(values[5]) <= on_date)
					continue;
				values[0] = CptCodeGetDatum(c1);
				values[1] = CptCodeGetDatum(c2);
				values[2] = Int16GetDatum(m);
				r = ptp_element(rat, i, sizeof(int16), true, TYPALIGN_SHORT, &isnull);
				if (!isnull)
				{
					text	   *label = ptp_rationale_text(c->rationale_rel, DatumGetInt16(r), snapshot);

					nulls[3] = label == NULL;
					values[3] = PointerGetDatum(label);
				}
				else
					nulls[3] = true;
				values[4] = DateADTGetDatum(e);
				values[6] = DateADTGetDatum(quarter_effective);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
		ExecClearTuple(slot);
	}
	index_endscan(scan);
}

/*
 * cpt_rules.ptp(code_a, code_b, on_date, setting, program): the edits
 * between two codes, in either order, in force on a date of service.  In
 * C, since a PL/pgSQL function running one query took five times as long.
 */
PG_FUNCTION_INFO_V1(cpt_ptp_lookup);
Datum
cpt_ptp_lookup(PG_FUNCTION_ARGS)
{
	CptCode		a = PG_GETARG_CPT_CODE(0);
	CptCode		b = PG_GETARG_CPT_CODE(1);
	DateADT		on_date = PG_GETARG_DATEADT(2);
	text	   *setting = PG_GETARG_TEXT_PP(3);
	text	   *program = PG_GETARG_TEXT_PP(4);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PtpLookupCache *c;
	Snapshot	snapshot = GetActiveSnapshot();
	int16		quarter;
	DateADT		quarter_effective;
	Relation	erel;
	Relation	irel;
	TupleTableSlot *slot;

	InitMaterializedSRF(fcinfo, 0);
	c = ptp_lookup_cache(fcinfo);
	if (!ptp_find_quarter(c->quarter_rel, program, setting, on_date, snapshot, &quarter, &quarter_effective))
		return (Datum) 0;
	erel = table_open(c->edit_rel, AccessShareLock);
	irel = index_open(c->edit_key, AccessShareLock);
	slot = table_slot_create(erel, NULL);
	ptp_lookup_order(c, erel, irel, slot, snapshot, quarter, quarter_effective, a, b, on_date, rsinfo);
	if (a != b)
		ptp_lookup_order(c, erel, irel, slot, snapshot, quarter, quarter_effective, b, a, on_date, rsinfo);
	ExecDropSingleTupleTableSlot(slot);
	index_close(irel, AccessShareLock);
	table_close(erel, AccessShareLock);
	return (Datum) 0;
}
