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

/* Reports go to FUNC with DATA on the calling thread's main context. */
void               tsr_progress_init       (TsrProgress       *progress,
                                            TsrProgressFunc    func,
                                            gpointer           data);
void               tsr_progress_clear      (TsrProgress       *progress);
void               tsr_progress_report     (TsrProgress       *progress,
                                            guint64            done,
                                            guint64            total,
                                            const char        *stage,
                                            gboolean           force);

/* Seconds until TOTAL bytes are done, at the average rate since
 * STARTED_US (monotonic, like NOW_US) at which DONE counted from 0; -1
 * while that says nothing: in the first 2 s, before any byte, or once
 * everything is done.
 */
gint64             tsr_progress_seconds_left (gint64         started_us,
                                              gint64         now_us,
                                              guint64        done,
                                              guint64        total);

G_END_DECLS
