/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "tsr-task.h"

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
