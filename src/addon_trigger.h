/*
 * addon_trigger.h
 *		The constraint trigger that keeps every add-on code beside an
 *		eligible primary code of the same group.
 */
#ifndef ADDON_TRIGGER_H
#define ADDON_TRIGGER_H

extern void addon_trigger_init(void);

#endif							/* ADDON_TRIGGER_H */
