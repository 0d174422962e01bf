/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-task.h"
#include "tsr-threads.h"

typedef struct
{
  TsrTaskSyncFunc func;
} SyncFunc;

static void
sync_worker (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SyncFunc *sync = g_object_get_data (G_OBJECT (task), "tsr-task-sync-func");
  GError *error = NULL;
  gboolean ok;

  tsr_assert_worker_thread_at (G_STRFUNC);
  ok = sync->func (task_data, cancellable, &error);
  tsr_task_return_result (task, ok, error);
}

/* Most workers only turn a blocking call's boolean and GError into the
 * task's result; they are written as FUNC and run through here.
 */
void
tsr_task_run_sync (GTask           *task,
                   TsrTaskSyncFunc  func)
{
  SyncFunc *sync = g_new0 (SyncFunc, 1);

  sync->func = func;
  g_object_set_data_full (G_OBJECT (task), "tsr-task-sync-func", sync, g_free);
  g_task_run_in_thread (task, sync_worker);
}

/* Takes ERROR, which is set exactly when OK is FALSE. */
void
tsr_task_return_result (GTask    *task,
                        gboolean  ok,
                        GError   *error)
{
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

gboolean
tsr_task_propagate_boolean (gpointer       source_object,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source_object), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
