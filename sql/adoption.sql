-- Where the codes already are: a warehouse's text column, judged and
-- cleaned without converting it (cpt_code_valid, invalid_codes).
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cpt_rules;
SET search_path = public, cpt_rules;

-- the same reading as cpt_code's input: case and surrounding blanks
SELECT v, cpt_code_valid(v) AS valid
  FROM unnest(ARRAY['20933', ' 20933 ', '0054t', 'g0008', '209331', '2093', 'XXXXX', '', ' ',
					'0450', 'J3490', '99213 ', E'\t27447', '2O933']) v;
SELECT cpt_code_valid(NULL);

-- a Tuva-shaped table with the junk real feeds carry
CREATE TABLE medical_claim (claim_id text, claim_line_number int, hcpcs_code text,
							hcpcs_modifier_1 text);
INSERT INTO medical_claim VALUES
	('A', 1, '27447', NULL), ('A', 2, ' 20933', NULL), ('A', 3, '0450', NULL),
	('B', 1, 'XXXXX', NULL), ('B', 2, '', NULL), ('C', 1, 'XXXXX', NULL), ('C', 2, NULL, NULL),
	('D', 1, 'j3490', '59'), ('D', 2, '209331', NULL), ('E', 1, '0450', NULL);
SELECT * FROM cpt_rules.invalid_codes('medical_claim', 'hcpcs_code');
-- any column with a text form
SELECT * FROM cpt_rules.invalid_codes('medical_claim', 'claim_line_number');
SELECT * FROM cpt_rules.invalid_codes('medical_claim', 'no_such_column');
SELECT * FROM cpt_rules.invalid_codes('medical_claim', NULL);
-- a name that needs quoting
CREATE TABLE "Odd Claims" ("HCPCS Code" varchar(10));
INSERT INTO "Odd Claims" VALUES ('27447'), ('bad'), ('bad');
SELECT * FROM cpt_rules.invalid_codes('"Odd Claims"', 'HCPCS Code');
DROP TABLE medical_claim, "Odd Claims";
