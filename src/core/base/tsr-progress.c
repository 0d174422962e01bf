/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-progress.h"

/* Progress, delivered on the caller's main context */

typedef struct
{
  TsrProgress *progress;
  guint64   done;
  guint64   total;
  char     *stage;
} ProgressUpdate;

static gboolean
progress_dispatch_cb (gpointer user_data)
{
  ProgressUpdate *update = user_data;

  update->progress->func (update->done, update->total, update->stage, update->progress->data);
  return G_SOURCE_REMOVE;
}

static void
progress_update_free (gpointer user_data)
{
  ProgressUpdate *update = user_data;

  g_free (update->stage);
  g_free (update);
}

void
tsr_progress_init (TsrProgress     *progress,
                   TsrProgressFunc  func,
                   gpointer         data)
{
  progress->func = func;
  progress->data = data;
  progress->context = g_main_context_ref_thread_default ();
  progress->last = 0;
}

void
tsr_progress_clear (TsrProgress *progress)
{
  g_clear_pointer (&progress->context, g_main_context_unref);
}

void
tsr_progress_report (TsrProgress *progress,
                     guint64      done,
                     guint64      total,
                     const char  *stage,
                     gboolean     force)
{
  ProgressUpdate *update;
  gint64 now = g_get_monotonic_time ();

  if (progress->func == NULL || (!force && now - progress->last < 100 * 1000))
    return;
  progress->last = now;

  update = g_new0 (ProgressUpdate, 1);
  update->progress = progress;
  update->done = done;
  update->total = total;
  update->stage = g_strdup (stage);
  g_main_context_invoke_full (progress->context, G_PRIORITY_DEFAULT, progress_dispatch_cb,
                              update, progress_update_free);
}

/* Time left */

/* A rate measured over less is mostly the start-up of the copy. */
#define ESTIMATE_AFTER_US (2 * G_USEC_PER_SEC)

gint64
tsr_progress_seconds_left (gint64  started_us,
                           gint64  now_us,
                           guint64 done,
                           guint64 total)
{
  gint64 elapsed = now_us - started_us;
  double rate;

  if (done == 0 || done >= total || elapsed < ESTIMATE_AFTER_US)
    return -1;
  rate = (double) done / ((double) elapsed / G_USEC_PER_SEC);
  return (gint64) ((double) (total - done) / rate + 0.5);
}
