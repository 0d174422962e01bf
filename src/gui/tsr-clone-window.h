/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-operation-window.h"

G_BEGIN_DECLS

#define TSR_TYPE_CLONE_WINDOW (tsr_clone_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrCloneWindow, tsr_clone_window, TSR, CLONE_WINDOW, TsrOperationWindow)

TsrCloneWindow *tsr_clone_window_new           (GtkWindow      *parent,
                                                TsrConnection  *connection,
                                                TsrVm          *source);
TsrVm          *tsr_clone_window_get_source    (TsrCloneWindow *self);

G_END_DECLS
