# Turns the shipped MUE CSV (hcpcs_code, mue_value,
# mue_adjudication_indicator, mue_rationale; no quoted fields) into one
# INSERT for the extension's scripts: the practitioner table in force from
# 2026-07-01.
function sql_text(s) {
	if (s == "") return "NULL"
	gsub(/'/, "''", s)
	return "'" s "'"
}
BEGIN {
	FS = ","
	print "INSERT INTO cpt_rules.mue_edit_shipped"
	print "\t(setting, effective, code, mue_value, indicator, rationale) VALUES"
	sep = ""
}
NR == 1 { next }
{
	sub(/\r$/, "")
	if (NF != 4 || length($1) != 5 || $1 !~ /^[0-9A-Z]+$/ || $2 !~ /^[0-9]+$/ || $3 !~ /^[123]$/) {
		print "bad MUE row " NR ": " $0 > "/dev/stderr"
		exit 1
	}
	printf "%s\t('practitioner', '2026-07-01', '%s', %s, %s, %s)", sep, $1, $2, $3, sql_text($4)
	sep = ",\n"
}
END {
	print ";"
	print "INSERT INTO cpt_rules.mue_file_shipped (setting, effective, codes)"
	print "\tSELECT setting, effective, count(*) FROM cpt_rules.mue_edit_shipped GROUP BY setting, effective;"
}
