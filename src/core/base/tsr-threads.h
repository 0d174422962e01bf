/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Blocking helpers start with this. When TESSERA_DEBUG contains "threads"
 * (the unit tests set it), one called from the thread that runs the
 * default main context is reported as a critical: that call would freeze
 * the window.
 */
#define tsr_assert_worker_thread() tsr_assert_worker_thread_at (G_STRFUNC)

gboolean tsr_debug_threads            (void);
void     tsr_assert_worker_thread_at  (const char *where);

G_END_DECLS
