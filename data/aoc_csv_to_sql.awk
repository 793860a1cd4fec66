# Turns the shipped AOC edit CSV (aoc_edit_type, addon_code, primary_code,
# edit_effective_date, special_instruction_notes) into one INSERT for the
# extension's install script.  Fields may be double-quoted; quotes are not
# escaped inside fields in this file.
function sql_text(s) {
	if (s == "") return "NULL"
	gsub(/'/, "''", s)
	return "'" s "'"
}
function split_csv(line, out,    n, i, c, field, quoted) {
	n = 0; field = ""; quoted = 0
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (quoted) {
			if (c == "\"") quoted = 0; else field = field c
		} else if (c == "\"") {
			quoted = 1
		} else if (c == ",") {
			out[++n] = field; field = ""
		} else {
			field = field c
		}
	}
	out[++n] = field
	return n
}
BEGIN {
	print "INSERT INTO cpt_rules.aoc_edit_shipped"
	print "\t(aoc_type, addon, primary_code, edit_effective, notes) VALUES"
	sep = ""
}
NR == 1 { next }
{
	sub(/\r$/, "")
	if (split_csv($0, f) != 5) {
		print "bad line " NR ": " $0 > "/dev/stderr"; exit 1
	}
	primary = (f[3] == "CCCCC") ? "NULL" : sql_text(f[3])
	printf "%s(%d, %s, %s, %s, %s)", sep, f[1], sql_text(f[2]), primary, sql_text(f[4]), sql_text(f[5])
	sep = ",\n"
}
END { print ";" }
