/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define TSR_TYPE_WINDOW (tsr_window_get_type ())

G_DECLARE_FINAL_TYPE (TsrWindow, tsr_window, TSR, WINDOW, AdwApplicationWindow)

TsrWindow  *tsr_window_new     (GtkApplication *application,
                                const char     *uri);
const char *tsr_window_get_uri (TsrWindow      *self);

G_END_DECLS
