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

G_END_DECLS
