# cpt_rules: PGXS build.  Usage: make && make install && make installcheck
EXTENSION = cpt_rules
MODULE_big = cpt_rules
OBJS = \
	src/cpt_code_parse.o \
	src/cpt_code.o \
	src/rules_cache.o \
	src/rules_funcs.o \
	src/cms_file.o \
	src/ptp_load.o \
	src/ptp_lookup.o \
	src/ptp_modifiers.o \
	src/rules_selectivity.o \
	src/rule_binding.o \
	src/rule_index.o \
	src/partition_set.o \
	src/rule_info.o \
	src/rule_markers.o \
	src/group_map.o \
	src/group_check.o \
	src/rule_kind.o \
	src/rule_trigger.o \
	src/addon_kind.o \
	src/mue_cache.o \
	src/mue_sweep.o \
	src/mue_kind.o \
	src/rule_sql.o \
	src/rule_audit.o \
	src/rule_report.o \
	src/rule_validate.o \
	src/validation_progress.o \
	src/ddl_guard.o \
	src/citus_meta.o \
	src/citus_guard.o \
	src/cpt_rules.o
PGFILEDESC = "cpt_rules - CPT/HCPCS codes and add-on code rules"

# The version lives in the control file; everything else is derived.  The
# current version's install script, and its upgrade from the previous one,
# are built from src/sql and data/; released scripts are kept as shipped in
# src/sql/released (on release, copy the two built scripts there).
EXTVERSION := $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
PREVVERSION = 1.5
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql
DATA = $(wildcard src/sql/released/*.sql)
EXTRA_CLEAN = $(DATA_built) META.json

REGRESS = cpt_code rules refresh constraint security trust lifecycle layouts trust_more engine adoption soft_errors text_codes online mue mue_rule ptp ptp_audit
REGRESS_OPTS = --inputdir=. --outputdir=build/regress
ISOLATION = addon-insert-delete addon-two-primaries addon-update-primary addon-snapshot addon-savepoint rules-cache rules-cache-stale \
	enforce-old-snapshot nested-partitions validate-online mue-concurrent
ISOLATION_OPTS = --inputdir=test --outputdir=build/isolation --load-extension=cpt_rules

# -fno-semantic-interposition lets calls within the module be inlined and
# skip the PLT: the rule lookups run once per row.
PG_CFLAGS = -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror=vla \
	-fno-semantic-interposition

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXN's metadata carries the same version.
all: META.json
META.json: META.json.in $(EXTENSION).control
	sed 's/@VERSION@/$(EXTVERSION)/g' $< > $@

INSTALL_PARTS = src/sql/header.sql src/sql/type.sql src/sql/rules.sql src/sql/refresh.sql \
	src/sql/constraint.sql src/sql/refresh_edits.sql src/sql/adoption.sql src/sql/mue_tables.sql src/sql/mue.sql src/sql/mue_rule.sql \
	src/sql/ptp_tables.sql src/sql/ptp.sql
MUE_DATA = data/medicare-mue-practitioner-v2026q3.csv data/mue_csv_to_sql.awk
$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) data/medicare-aoc-v2026q3.csv data/aoc_csv_to_sql.awk $(MUE_DATA)
	{ sed 's/@VERSION@/$(EXTVERSION)/' src/sql/header.sql; cat src/sql/type.sql src/sql/rules.sql; \
	  echo '-- Medicare AOC edits V2026Q3 (7,743 rows)'; \
	  awk -f data/aoc_csv_to_sql.awk data/medicare-aoc-v2026q3.csv; \
	  cat src/sql/refresh.sql src/sql/constraint.sql src/sql/refresh_edits.sql src/sql/adoption.sql \
		src/sql/mue_tables.sql; \
	  echo '-- Medicare practitioner MUE table 2026 Q3 (15,162 codes)'; \
	  awk -f data/mue_csv_to_sql.awk data/medicare-mue-practitioner-v2026q3.csv; \
	  cat src/sql/mue.sql src/sql/mue_rule.sql src/sql/ptp_tables.sql src/sql/ptp.sql; } > $@.tmp && mv $@.tmp $@

# The MUE and PTP tables and the shipped MUE rows are new in 1.6: the update from 1.5
# makes them (a later update leaves mue_tables.sql, ptp_tables.sql and the data out).
UPGRADE_PARTS = src/sql/upgrade-header.sql src/sql/constraint.sql src/sql/refresh_edits.sql \
	src/sql/adoption.sql src/sql/mue_tables.sql src/sql/mue.sql src/sql/mue_rule.sql src/sql/ptp_tables.sql src/sql/ptp.sql \
	src/sql/upgrade-$(PREVVERSION)-$(EXTVERSION).sql
$(EXTENSION)--$(PREVVERSION)--$(EXTVERSION).sql: $(UPGRADE_PARTS) $(MUE_DATA)
	{ sed 's/@VERSION@/$(EXTVERSION)/g; s/@PREVVERSION@/$(PREVVERSION)/g' src/sql/upgrade-header.sql; \
	  cat src/sql/constraint.sql src/sql/refresh_edits.sql src/sql/adoption.sql src/sql/mue_tables.sql; \
	  echo '-- Medicare practitioner MUE table 2026 Q3 (15,162 codes)'; \
	  awk -f data/mue_csv_to_sql.awk data/medicare-mue-practitioner-v2026q3.csv; \
	  cat src/sql/mue.sql src/sql/mue_rule.sql src/sql/ptp_tables.sql src/sql/ptp.sql \
		src/sql/upgrade-$(PREVVERSION)-$(EXTVERSION).sql; } > $@.tmp && mv $@.tmp $@

# pg_regress writes its results under build/ (REGRESS_OPTS).
installcheck: | build/regress
build/regress build/isolation:
	mkdir -p $@

# Separate entry points so the test runner can count each suite.
installcheck-regress:
	@mkdir -p build/regress build/isolation
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation:
	@mkdir -p build/regress build/isolation
	$(if $(ISOLATION),$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION),@echo "no isolation tests")

# The same specs against hash- and range-partitioned claim tables.
installcheck-isolation-partitioned:
	@rm -rf build/isolation-partitioned
	$(pg_isolation_regress_installcheck) --inputdir=build/isolation-partitioned \
		--outputdir=build/isolation-partitioned/out --load-extension=cpt_rules \
		$$(bash test/partitioned_specs.sh $(CURDIR)/build/isolation-partitioned)

.PHONY: installcheck-regress installcheck-isolation installcheck-isolation-partitioned

# PGXS tracks no header dependencies: a changed struct must rebuild every
# object that includes it.
$(OBJS): $(wildcard src/*.h)
