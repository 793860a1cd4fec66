/*
 * ptp_lookup.c
 *		cpt_rules.ptp(): the edit between two codes on a date, found in the
 *		packed rows ptp_load.c stores (one per quarter and column 1 code, the
 *		column 2 codes sorted) by the primary key and a binary search.
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

#include "cpt_code.h"
#include "ptp.h"

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
