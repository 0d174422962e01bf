/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A valid VM name (DESIGN §4) made from TEXT, an appliance's or a file's
 * name ("Windows 10 (64-bit)" → "Windows-10-64-bit"); "imported" when
 * nothing usable is left.
 */
char *tsr_import_suggest_name (const char *text);

G_END_DECLS
