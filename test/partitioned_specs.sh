#!/usr/bin/env bash
# Make hash- and range-partitioned variants of the isolation specs in DIR
# (DIR/specs, DIR/expected): the same permutations must give the same output
# (or, where noted in expected/NAME-VARIANT.out, an equally safe one)
# when claim_lines is partitioned by hash of the claim (claims whole in one
# partition) or by range of the code (every claim spans partitions: 20933 in
# one, its primaries in the other).  Usage: test/partitioned_specs.sh DIR
set -euo pipefail
cd "$(dirname "$0")"
out=$1
mkdir -p "$out/specs" "$out/expected"
for spec in specs/*.spec; do
	name=$(basename "$spec" .spec)
	grep -q "CREATE TABLE claim_lines" "$spec" || continue
	sed -E 's/^(\s*CREATE TABLE claim_lines \([^)]*\));/\1 PARTITION BY HASH (claim_id);\
	CREATE TABLE claim_lines_h0 PARTITION OF claim_lines FOR VALUES WITH (MODULUS 2, REMAINDER 0);\
	CREATE TABLE claim_lines_h1 PARTITION OF claim_lines FOR VALUES WITH (MODULUS 2, REMAINDER 1);/' \
		"$spec" >"$out/specs/$name-hash.spec"
	sed -E "s/^(\s*CREATE TABLE claim_lines \([^)]*\));/\1 PARTITION BY RANGE (code);\\
	CREATE TABLE claim_lines_low PARTITION OF claim_lines FOR VALUES FROM (MINVALUE) TO ('25000');\\
	CREATE TABLE claim_lines_high PARTITION OF claim_lines FOR VALUES FROM ('25000') TO (MAXVALUE);\\
	CREATE TABLE claim_lines_other PARTITION OF claim_lines DEFAULT;/" \
		"$spec" >"$out/specs/$name-range.spec"
	for v in hash range; do
		grep -q "PARTITION BY" "$out/specs/$name-$v.spec" || { echo "no CREATE TABLE claim_lines in $spec" >&2; exit 1; }
		# a variant's own expected output, where SSI reports a conflict
		# differently (at the statement or at COMMIT; never a violation)
		if [ -f "expected/$name-$v.out" ]; then
			cp "expected/$name-$v.out" "$out/expected/$name-$v.out"
		else
			cp "expected/$name.out" "$out/expected/$name-$v.out"
		fi
	done
done
ls "$out/specs" | sed 's/\.spec$//' | tr '\n' ' '
