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

/* Operations made of steps */

/* The step's function rides in its source tag. */
static void
step_worker (GTask        *step,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *unused)
{
  TsrTaskStepFunc func = (TsrTaskStepFunc) g_task_get_source_tag (step);
  GError *error = NULL;

  tsr_assert_worker_thread ();
  if (func (task_data, &error))
    g_task_return_boolean (step, TRUE);
  else
    g_task_return_error (step, error);
}

void
tsr_task_run_step (GTask               *outer,
                   TsrTaskStepFunc      func,
                   GAsyncReadyCallback  done)
{
  g_autoptr(GTask) step = g_task_new (NULL, NULL, done, outer);

  g_task_set_source_tag (step, (gpointer) func);
  g_task_set_task_data (step, g_task_get_task_data (outer), NULL);
  g_task_run_in_thread (step, step_worker);
}

typedef struct
{
  TsrTaskValueFunc func;
  GDestroyNotify   value_free;
} ValueJob;

static void
value_worker (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  const ValueJob *job = g_object_get_data (G_OBJECT (task), "tsr-value-job");
  GError *error = NULL;
  gpointer value;

  tsr_assert_worker_thread ();
  value = job->func (task_data, cancellable, &error);
  tsr_task_return_pointer_or_error (task, value, job->value_free, error);
}

void
tsr_task_run_value_in_thread (GTask            *task,
                              TsrTaskValueFunc  func,
                              GDestroyNotify    value_free)
{
  ValueJob *job = g_new (ValueJob, 1);

  job->func = func;
  job->value_free = value_free;
  /* Set before the worker starts, and only read there. */
  g_object_set_data_full (G_OBJECT (task), "tsr-value-job", job, g_free);
  g_task_run_in_thread (task, value_worker);
}

gboolean
tsr_task_step_succeeded (GTask        *outer,
                         GAsyncResult *step)
{
  GError *error = NULL;

  if (g_task_propagate_boolean (G_TASK (step), &error))
    return TRUE;
  g_task_return_error (outer, error);
  return FALSE;
}

void
tsr_task_return_pointer_or_error (GTask          *task,
                                  gpointer        value,
                                  GDestroyNotify  value_free,
                                  GError         *error)
{
  if (value == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, value, value_free);
}

char *
tsr_task_propagate_string_with_note (GAsyncResult  *result,
                                     char         **kept,
                                     char         **note,
                                     GError       **error)
{
  char *value = g_task_propagate_pointer (G_TASK (result), error);

  if (value != NULL && note != NULL && kept != NULL)
    *note = g_steal_pointer (kept);
  return value;
}
