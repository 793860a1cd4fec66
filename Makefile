# cpt_rules: PGXS build.  Usage: make && make install && make installcheck
EXTENSION = cpt_rules
MODULE_big = cpt_rules
OBJS = \
	src/cpt_code_parse.o \
	src/cpt_code.o \
	src/rules_cache.o \
	src/rules_funcs.o \
	src/rules_selectivity.o \
	src/checked_groups.o \
	src/group_reader.o \
	src/addon_trigger.o \
	src/cpt_rules.o
PGFILEDESC = "cpt_rules - CPT/HCPCS codes and add-on code rules"

# The current version's script is built from src/sql and data/; released
# versions and upgrade scripts are kept as they were shipped.
DATA_built = cpt_rules--1.1.sql
DATA = src/sql/released/cpt_rules--1.0.sql src/sql/cpt_rules--1.0--1.1.sql
EXTRA_CLEAN = cpt_rules--1.1.sql

REGRESS = cpt_code rules refresh constraint security
REGRESS_OPTS = --inputdir=. --outputdir=build/regress
ISOLATION = addon-insert-delete addon-two-primaries addon-update-primary addon-snapshot addon-savepoint rules-cache
ISOLATION_OPTS = --inputdir=test --outputdir=build/isolation --load-extension=cpt_rules

# -fno-semantic-interposition lets calls within the module be inlined and
# skip the PLT: the rule lookups run once per row.
PG_CFLAGS = -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror=vla \
	-fno-semantic-interposition

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

INSTALL_PARTS = src/sql/header.sql src/sql/type.sql src/sql/rules.sql src/sql/refresh.sql src/sql/constraint.sql
cpt_rules--1.1.sql: $(INSTALL_PARTS) data/medicare-aoc-v2026q3.csv data/aoc_csv_to_sql.awk
	{ cat src/sql/header.sql src/sql/type.sql src/sql/rules.sql; \
	  echo '-- Medicare AOC edits V2026Q3 (7,743 rows)'; \
	  awk -f data/aoc_csv_to_sql.awk data/medicare-aoc-v2026q3.csv; \
	  cat src/sql/refresh.sql src/sql/constraint.sql; } > $@.tmp && mv $@.tmp $@

# Separate entry points so the test runner can count each suite.
installcheck-regress:
	@mkdir -p build/regress build/isolation
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-isolation:
	@mkdir -p build/regress build/isolation
	$(if $(ISOLATION),$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION),@echo "no isolation tests")

.PHONY: installcheck-regress installcheck-isolation
