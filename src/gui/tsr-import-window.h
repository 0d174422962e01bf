/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-import.h"
#include "tsr-operation-window.h"

G_BEGIN_DECLS

#define TSR_TYPE_IMPORT_WINDOW (tsr_import_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrImportWindow, tsr_import_window, TSR, IMPORT_WINDOW, TsrOperationWindow)

TsrImportWindow     *tsr_import_window_new           (GtkWindow           *parent,
                                                      TsrConnection       *connection,
                                                      GFile               *file);
void                 tsr_import_window_set_file      (TsrImportWindow     *self,
                                                      GFile               *file);
GFile               *tsr_import_window_get_file      (TsrImportWindow     *self);
const char          *tsr_import_window_get_page      (TsrImportWindow     *self);
const TsrImportInfo *tsr_import_window_get_info      (TsrImportWindow     *self);

/* The file chooser for Import…, filtered to what can be imported. */
void                 tsr_import_choose_file_async    (GtkWindow           *parent,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
GFile               *tsr_import_choose_file_finish   (GAsyncResult        *result,
                                                      GError             **error);

G_END_DECLS
