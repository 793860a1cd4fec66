-- Medically unlikely edits (MUE): the tables --------------------------------
--
-- CMS publishes one MUE table per setting (practitioner, outpatient
-- hospital, DME supplier) each quarter, a full snapshot in force from the
-- quarter's first day: a claim is judged by the table of its setting in
-- force on its date of service, and a code absent from that table has no
-- known limit (some values are confidential).  As for the add-on edits,
-- what ships with the extension (mue_edit_shipped, made by CREATE
-- EXTENSION, never dumped) is kept apart from what a refresh loads
-- (mue_edit_loaded and mue_file, dumped in full); a quarter loaded for the
-- same setting and date as a shipped one replaces it.  New in 1.6: this
-- file is part of the install script and of the update from 1.5.

CREATE TABLE cpt_rules.mue_edit_shipped (
	setting		text NOT NULL,
	effective	date NOT NULL,
	code		@extschema@.cpt_code NOT NULL,
	mue_value	integer NOT NULL,
	indicator	smallint NOT NULL,
	rationale	text,
	CONSTRAINT mue_edit_shipped_pkey PRIMARY KEY (setting, code, effective),
	CONSTRAINT mue_edit_shipped_setting CHECK (setting IN ('practitioner', 'outpatient hospital', 'dme')),
	CONSTRAINT mue_edit_shipped_value CHECK (mue_value >= 0),
	CONSTRAINT mue_edit_shipped_indicator CHECK (indicator IN (1, 2, 3))
);
COMMENT ON TABLE cpt_rules.mue_edit_shipped IS
	'CMS MUE tables shipped with this version of the extension (read-only baseline)';

CREATE TABLE cpt_rules.mue_edit_loaded (LIKE cpt_rules.mue_edit_shipped);
ALTER TABLE cpt_rules.mue_edit_loaded
	ADD CONSTRAINT mue_edit_loaded_pkey PRIMARY KEY (setting, code, effective),
	ADD CONSTRAINT mue_edit_loaded_setting CHECK (setting IN ('practitioner', 'outpatient hospital', 'dme')),
	ADD CONSTRAINT mue_edit_loaded_value CHECK (mue_value >= 0),
	ADD CONSTRAINT mue_edit_loaded_indicator CHECK (indicator IN (1, 2, 3));
COMMENT ON TABLE cpt_rules.mue_edit_loaded IS
	'CMS MUE tables loaded by cpt_rules.refresh_mue_edits(), one full table per setting and quarter';

-- One row per table shipped (filled beside mue_edit_shipped), and per table
-- a refresh loaded.
CREATE TABLE cpt_rules.mue_file_shipped (
	setting		text NOT NULL,
	effective	date NOT NULL,
	codes		integer NOT NULL,
	CONSTRAINT mue_file_shipped_pkey PRIMARY KEY (setting, effective)
);
COMMENT ON TABLE cpt_rules.mue_file_shipped IS
	'the MUE tables shipped with this version: setting, first date in force, how many codes';

CREATE TABLE cpt_rules.mue_file (
	setting		text NOT NULL,
	effective	date NOT NULL,
	codes		integer NOT NULL,
	loaded_by	name NOT NULL DEFAULT current_user,
	loaded_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT mue_file_pkey PRIMARY KEY (setting, effective),
	CONSTRAINT mue_file_setting CHECK (setting IN ('practitioner', 'outpatient hospital', 'dme'))
);
COMMENT ON TABLE cpt_rules.mue_file IS
	'the MUE tables loaded by a refresh: setting, first date in force, how many codes';

SELECT pg_catalog.pg_extension_config_dump('cpt_rules.mue_edit_loaded', '');
SELECT pg_catalog.pg_extension_config_dump('cpt_rules.mue_file', '');

-- The tables in force: every quarter loaded, and every shipped quarter no
-- load replaced; each in force from its date until the next one's.
CREATE VIEW cpt_rules.mue_quarter AS
SELECT q.setting, q.effective,
	   pg_catalog.lead(q.effective) OVER (PARTITION BY q.setting ORDER BY q.effective) AS ends,
	   q.source, q.codes
  FROM (SELECT f.setting, f.effective, 'loaded'::text AS source, f.codes
		  FROM cpt_rules.mue_file f
		UNION ALL
		SELECT s.setting, s.effective, 'shipped', s.codes
		  FROM cpt_rules.mue_file_shipped s
		 WHERE NOT EXISTS (SELECT 1 FROM cpt_rules.mue_file f
							WHERE f.setting = s.setting AND f.effective = s.effective)) q;
COMMENT ON VIEW cpt_rules.mue_quarter IS
	'the MUE tables in force, per setting: each from effective until ends (NULL: until further notice), shipped or loaded';

CREATE VIEW cpt_rules.mue_edit AS
SELECT l.setting, l.effective, l.code, l.mue_value, l.indicator, l.rationale
  FROM cpt_rules.mue_edit_loaded l
UNION ALL
SELECT s.setting, s.effective, s.code, s.mue_value, s.indicator, s.rationale
  FROM cpt_rules.mue_edit_shipped s
 WHERE NOT EXISTS (SELECT 1 FROM cpt_rules.mue_file f
					WHERE f.setting = s.setting AND f.effective = s.effective);
COMMENT ON VIEW cpt_rules.mue_edit IS
	'CMS medically unlikely edits in force: per setting and quarter, the most units of service of a code for one patient from one provider, per line (indicator 1) or per date of service (2: policy, 3: clinical)';

REVOKE ALL ON cpt_rules.mue_edit_shipped, cpt_rules.mue_edit_loaded, cpt_rules.mue_file,
	cpt_rules.mue_file_shipped, cpt_rules.mue_quarter, cpt_rules.mue_edit FROM PUBLIC;
GRANT SELECT ON cpt_rules.mue_edit_shipped, cpt_rules.mue_edit_loaded, cpt_rules.mue_file,
	cpt_rules.mue_file_shipped, cpt_rules.mue_quarter, cpt_rules.mue_edit TO PUBLIC;

-- CMS's CSV, as \copy reads it: four text fields, the notice and the
-- header included (refresh_mue_edits skips and checks them).
CREATE TABLE cpt_rules.cms_mue_file (
	hcpcs_code	text,
	mue_value	text,
	indicator	text,
	rationale	text
);
COMMENT ON TABLE cpt_rules.cms_mue_file IS
	'the layout of a CMS MUE CSV file for \copy, to use as CREATE TEMP TABLE ... (LIKE cpt_rules.cms_mue_file)';
GRANT SELECT ON cpt_rules.cms_mue_file TO PUBLIC;
