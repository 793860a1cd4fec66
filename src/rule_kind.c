/*
 * rule_kind.c
 *		The kinds of rule the engine knows (rule_kind.h).
 */
#include "postgres.h"

#include "rule_kind.h"

#include "catalog/namespace.h"
#include "utils/lsyscache.h"

static const RuleKind *const kinds[] = {
	&addon_rule_kind,
	&mue_rule_kind,
};

const RuleKind *
rule_kind_by_name(const char *name)
{
	for (size_t k = 0; k < lengthof(kinds); k++)
		if (strcmp(kinds[k]->name, name) == 0)
			return kinds[k];
	return NULL;
}

const RuleKind *
rule_kind_of_marker(const char *fname, int *role)
{
	for (size_t k = 0; k < lengthof(kinds); k++)
		for (int r = 0; r < 3; r++)
			if (strcmp(kinds[k]->markers[r], fname) == 0)
			{
				*role = r;
				return kinds[k];
			}
	return NULL;
}

const RuleKind *
rule_kind_of_trigger_function(Oid fn)
{
	char	   *fname = get_func_name(fn);
	char	   *nspname;

	if (fname == NULL)
		return NULL;
	for (size_t k = 0; k < lengthof(kinds); k++)
		if (strcmp(kinds[k]->trigger_function, fname) == 0)
		{
			nspname = get_namespace_name(get_func_namespace(fn));
			return nspname && strcmp(nspname, "cpt_rules") == 0 ? kinds[k] : NULL;
		}
	return NULL;
}
