/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes done of TOTAL in a long operation, and what it is doing now. */
typedef void (*TsrProgressFunc) (guint64     done,
                                 guint64     total,
                                 const char *stage,
                                 gpointer    user_data);

/* Progress of a worker, delivered on the context that started it, at most
 * every 100 ms unless forced.
 */
typedef struct
{
  TsrProgressFunc  func;
  gpointer         data;
  GMainContext    *context;
  gint64           last;
} TsrProgress;

void               tsr_progress_report     (TsrProgress       *progress,
                                            guint64            done,
                                            guint64            total,
                                            const char        *stage,
                                            gboolean           force);

G_END_DECLS
