/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TSR_TYPE_OPERATION (tsr_operation_get_type ())

G_DECLARE_FINAL_TYPE (TsrOperation, tsr_operation, TSR, OPERATION, GObject)

TsrOperation *tsr_operation_new              (const char    *title,
                                              gboolean       estimate_time);
void          tsr_operation_set_parent_cancellable (TsrOperation *self,
                                                    GCancellable *parent);
const char   *tsr_operation_get_title        (TsrOperation  *self);
const char   *tsr_operation_get_success_title (TsrOperation *self);
void          tsr_operation_set_success_title (TsrOperation *self,
                                               const char   *title);
GCancellable *tsr_operation_get_cancellable  (TsrOperation  *self);
void          tsr_operation_cancel           (TsrOperation  *self);
gboolean      tsr_operation_get_cancelling   (TsrOperation  *self);

/* A TsrProgressFunc: USER_DATA is the operation. */
void          tsr_operation_progress_cb      (guint64        done,
                                              guint64        total,
                                              const char    *stage,
                                              gpointer       user_data);
void          tsr_operation_report_at        (TsrOperation  *self,
                                              guint64        done,
                                              guint64        total,
                                              const char    *stage,
                                              gint64         now_us);
double        tsr_operation_get_fraction     (TsrOperation  *self);
const char   *tsr_operation_get_stage        (TsrOperation  *self);
const char   *tsr_operation_get_detail       (TsrOperation  *self);

void          tsr_operation_complete         (TsrOperation  *self,
                                              const char    *result,
                                              const char    *notice,
                                              const GError  *error);
gboolean      tsr_operation_get_finished     (TsrOperation  *self);
const char   *tsr_operation_get_result       (TsrOperation  *self);
const char   *tsr_operation_get_notice       (TsrOperation  *self);
const GError *tsr_operation_get_error        (TsrOperation  *self);
gboolean      tsr_operation_was_cancelled    (TsrOperation  *self);
gboolean      tsr_operation_get_reported     (TsrOperation  *self);
void          tsr_operation_set_reported     (TsrOperation  *self,
                                              gboolean       reported);

char         *tsr_format_time_left           (gint64         seconds);

G_END_DECLS
