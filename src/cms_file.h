/*
 * cms_file.h
 *		Reading the fields of CMS's files as they are shipped.
 */
#ifndef CMS_FILE_H
#define CMS_FILE_H

#include "utils/date.h"

extern bool cms_yyyymmdd_parse(const char *s, int len, DateADT *result);

#endif							/* CMS_FILE_H */
