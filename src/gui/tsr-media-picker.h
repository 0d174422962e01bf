/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tsr-connection.h"
#include "tsr-dialog.h"

G_BEGIN_DECLS

#define TSR_TYPE_MEDIA_PICKER (tsr_media_picker_get_type ())

G_DECLARE_FINAL_TYPE (TsrMediaPicker, tsr_media_picker, TSR, MEDIA_PICKER, TsrDialog)

TsrMediaPicker *tsr_media_picker_new         (GtkWindow      *parent,
                                              TsrConnection  *connection,
                                              const char     *subtitle,
                                              const char     *accept_label);
const char     *tsr_media_picker_get_media   (TsrMediaPicker *self);
gboolean        tsr_media_picker_select      (TsrMediaPicker *self,
                                              const char     *media);

G_END_DECLS
