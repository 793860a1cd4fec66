-- Procedure-to-procedure (PTP) edits: the tables -----------------------------
--
-- CMS publishes the PTP edits each quarter per setting (practitioner,
-- outpatient hospital; Medicaid also DME), in four tab-separated parts
-- behind an AMA licence that forbids passing them on: the extension ships
-- none, and a user loads their own download with refresh_ptp_edits().  Each
-- quarter's file is cumulative (deleted edits kept with their dates), and
-- each quarter loaded is kept, so that a claim is judged by the file in
-- force on its date of service and, within it, by the edits in force on
-- that date.  New in 1.6: this file is part of the install script and of the
-- update from 1.5.

-- One row per quarter loaded.  Its id is what the edits carry (2 bytes,
-- where the program, setting and date would take 20).
CREATE TABLE cpt_rules.ptp_quarter (
	id			smallint PRIMARY KEY,
	program		text NOT NULL,
	setting		text NOT NULL,
	effective	date NOT NULL,
	edits		integer NOT NULL,
	loaded_by	name NOT NULL DEFAULT current_user,
	loaded_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT ptp_quarter_key UNIQUE (program, setting, effective),
	CONSTRAINT ptp_quarter_program CHECK (program IN ('medicare', 'medicaid')),
	CONSTRAINT ptp_quarter_setting CHECK (setting IN ('practitioner', 'outpatient hospital', 'dme')),
	CONSTRAINT ptp_quarter_dme CHECK (setting <> 'dme' OR program = 'medicaid')
);
COMMENT ON TABLE cpt_rules.ptp_quarter IS
	'the PTP files loaded by cpt_rules.refresh_ptp_edits(): program, setting, first date in force, how many edits';

-- CMS's dozen rationale labels, each stored once.
CREATE TABLE cpt_rules.ptp_rationale (
	id			smallint PRIMARY KEY,
	rationale	text NOT NULL UNIQUE
);
COMMENT ON TABLE cpt_rules.ptp_rationale IS 'the rationale labels of the PTP edits loaded';

-- A quarter's edits packed, one row per column 1 code (11,000 rows for 2.6
-- million edits): the edits as parallel arrays sorted by column 2, CMS's
-- duplicate pairs in file order; a deletion date NULL when not deleted.
-- refresh_ptp_edits() also checks that no edit is deleted before it is
-- effective.
CREATE TABLE cpt_rules.ptp_edit_loaded (
	quarter		smallint NOT NULL,
	column1		@extschema@.cpt_code NOT NULL,
	column2		@extschema@.cpt_code[] NOT NULL,
	effective	date[] NOT NULL,
	deleted		date[] NOT NULL,
	modifier	smallint[] NOT NULL,
	pre_1996	boolean[] NOT NULL,
	rationale	smallint[] NOT NULL,
	CONSTRAINT ptp_edit_loaded_pkey PRIMARY KEY (quarter, column1),
	CONSTRAINT ptp_edit_loaded_arrays CHECK (
		array_ndims(column2) = 1 AND array_lower(column2, 1) = 1
		AND cardinality(effective) = cardinality(column2) AND cardinality(deleted) = cardinality(column2)
		AND cardinality(modifier) = cardinality(column2) AND cardinality(pre_1996) = cardinality(column2)
		AND cardinality(rationale) = cardinality(column2)),
	CONSTRAINT ptp_edit_loaded_modifier CHECK (modifier <@ '{0,1,9}'::smallint[])
);
-- lz4 where the server has it: with pglz, compressing the arrays took half
-- the time of storing them.
DO $$
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_settings
				WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
		ALTER TABLE cpt_rules.ptp_edit_loaded
			ALTER COLUMN column2 SET COMPRESSION lz4, ALTER COLUMN effective SET COMPRESSION lz4,
			ALTER COLUMN deleted SET COMPRESSION lz4, ALTER COLUMN modifier SET COMPRESSION lz4,
			ALTER COLUMN pre_1996 SET COMPRESSION lz4, ALTER COLUMN rationale SET COMPRESSION lz4;
	END IF;
END $$;
COMMENT ON TABLE cpt_rules.ptp_edit_loaded IS
	'CMS PTP edits as loaded, one row per quarter and column 1 code, the edits as parallel arrays sorted by column 2; see the view cpt_rules.ptp_edit';

SELECT pg_catalog.pg_extension_config_dump('cpt_rules.ptp_quarter', '');
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.ptp_rationale', '');
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.ptp_edit_loaded', '');

-- The quarters, each in force from its date until the next one's of its
-- program and setting (the first also for the dates before it: its files
-- hold the edits' history).
CREATE VIEW cpt_rules.ptp_quarter_period AS
SELECT q.id, q.program, q.setting, q.effective,
	   pg_catalog.lead(q.effective) OVER w AS ends,
	   pg_catalog.row_number() OVER w = 1 AS first, q.edits
  FROM cpt_rules.ptp_quarter q
WINDOW w AS (PARTITION BY q.program, q.setting ORDER BY q.effective);
COMMENT ON VIEW cpt_rules.ptp_quarter_period IS
	'the PTP files loaded, each judging the dates of service from effective until ends (NULL: until further notice), the first of a program and setting also those before it';

CREATE VIEW cpt_rules.ptp_edit AS
SELECT q.program, q.setting, q.effective AS quarter, e.column1, u.column2, u.effective, u.deleted,
	   u.modifier AS modifier_indicator, u.pre_1996, r.rationale
  FROM cpt_rules.ptp_edit_loaded e
 CROSS JOIN LATERAL unnest(e.column2, e.effective, e.deleted, e.modifier, e.pre_1996, e.rationale)
		 u(column2, effective, deleted, modifier, pre_1996, rationale)
  JOIN cpt_rules.ptp_quarter q ON q.id = e.quarter
  LEFT JOIN cpt_rules.ptp_rationale r ON r.id = u.rationale;
COMMENT ON VIEW cpt_rules.ptp_edit IS
	'CMS PTP edits loaded: column 1 and column 2 codes, in force from effective until the day before deleted (NULL: not deleted); modifier indicator 0 (no modifier allows the pair), 1 (a PTP-associated modifier may), 9 (deleted retroactively, never in force)';

REVOKE ALL ON cpt_rules.ptp_quarter, cpt_rules.ptp_rationale, cpt_rules.ptp_edit_loaded,
	cpt_rules.ptp_quarter_period, cpt_rules.ptp_edit FROM PUBLIC;
GRANT SELECT ON cpt_rules.ptp_quarter, cpt_rules.ptp_rationale, cpt_rules.ptp_edit_loaded,
	cpt_rules.ptp_quarter_period, cpt_rules.ptp_edit TO PUBLIC;

-- CMS's files, as \copy reads them: one text field per column, the header
-- lines included (refresh_ptp_edits skips and checks them).  Medicare's
-- layout has the pre-1996 column, Medicaid's does not.
CREATE TABLE cpt_rules.cms_ptp_file (
	column1		text,
	column2		text,
	pre_1996	text,
	effective	text,
	deleted		text,
	modifier	text,
	rationale	text
);
COMMENT ON TABLE cpt_rules.cms_ptp_file IS
	'the layout of a CMS Medicare PTP file for \copy, to use as CREATE TEMP TABLE ... (LIKE cpt_rules.cms_ptp_file)';
CREATE TABLE cpt_rules.cms_ptp_file_medicaid (
	column1		text,
	column2		text,
	effective	text,
	deleted		text,
	modifier	text,
	rationale	text
);
COMMENT ON TABLE cpt_rules.cms_ptp_file_medicaid IS
	'the layout of a CMS Medicaid PTP file (no pre-1996 column) for \copy';
GRANT SELECT ON cpt_rules.cms_ptp_file, cpt_rules.cms_ptp_file_medicaid TO PUBLIC;
