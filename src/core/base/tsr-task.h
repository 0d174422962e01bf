/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The shapes the core's GTask calls share: a worker that ends with a
 * boolean or an error, and a _finish that only propagates it.
 */
/* A worker's body: the task's data in, a boolean or an error out. */
typedef gboolean (*TsrTaskSyncFunc) (gpointer       task_data,
                                     GCancellable  *cancellable,
                                     GError       **error);

void     tsr_task_run_sync          (GTask           *task,
                                     TsrTaskSyncFunc  func);
void     tsr_task_return_result     (GTask         *task,
                                     gboolean       ok,
                                     GError        *error);
gboolean tsr_task_propagate_boolean (gpointer       source_object,
                                     GAsyncResult  *result,
                                     GError       **error);

/* An operation made of steps, some in a worker and some on the main
 * context, all sharing the task data of one OUTER task.
 */

/* A step that blocks: DATA is the outer task's data. */
typedef gboolean (*TsrTaskStepFunc) (gpointer   data,
                                     GError   **error);

/* Runs FUNC in a worker with OUTER's task data; DONE gets the step's
 * boolean result and takes over OUTER as its user data.
 */
void      tsr_task_run_step             (GTask               *outer,
                                         TsrTaskStepFunc      func,
                                         GAsyncReadyCallback  done);

/* A worker's whole job: a new value, or NULL with ERROR set. */
typedef gpointer (*TsrTaskValueFunc) (gpointer       data,
                                      GCancellable  *cancellable,
                                      GError       **error);

/* Runs FUNC in a worker with TASK's data and cancellable; what it returns
 * is TASK's result, freed with VALUE_FREE when nobody takes it.
 */
void      tsr_task_run_value_in_thread  (GTask               *task,
                                         TsrTaskValueFunc     func,
                                         GDestroyNotify       value_free);

/* A worker step ended: FALSE when it failed, after OUTER returned its
 * error.
 */
gboolean  tsr_task_step_succeeded       (GTask               *outer,
                                         GAsyncResult        *step);

/* Returns VALUE on TASK, or ERROR when VALUE is NULL. */
void      tsr_task_return_pointer_or_error (GTask            *task,
                                            gpointer          value,
                                            GDestroyNotify    value_free,
                                            GError           *error);

/* The string RESULT holds; on success *NOTE (may be NULL) takes over
 * *KEPT, the note its task data kept for the caller.
 */
char     *tsr_task_propagate_string_with_note (GAsyncResult  *result,
                                               char         **kept,
                                               char         **note,
                                               GError       **error);

G_END_DECLS
