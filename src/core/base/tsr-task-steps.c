/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-task-steps.h"
#include "tsr-threads.h"

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

  if (value != NULL && note != NULL)
    *note = g_steal_pointer (kept);
  return value;
}

gboolean
tsr_task_set_cancelled (GCancellable  *cancellable,
                        const char    *message,
                        GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, message);
  return TRUE;
}
