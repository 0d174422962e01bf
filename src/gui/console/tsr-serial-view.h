/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>
#include <vte/vte.h>

#include "tsr-serial.h"

G_BEGIN_DECLS

#define TSR_TYPE_SERIAL_VIEW (tsr_serial_view_get_type ())

G_DECLARE_FINAL_TYPE (TsrSerialView, tsr_serial_view, TSR, SERIAL_VIEW, GtkWidget)

/* A terminal showing a TsrSerial: what the guest writes appears, what the
 * user types goes to the guest. Ctrl+Shift+C and Ctrl+Shift+V copy and
 * paste, as in GNOME's terminals; the right-click menu has both too.
 */
GtkWidget   *tsr_serial_view_new          (void);
/* Shows SERIAL (the view keeps a reference) from now on, after what the
 * terminal holds already; NULL detaches. The serial console is not closed
 * by being detached, only by dropping its last reference.
 */
void         tsr_serial_view_attach       (TsrSerialView *self,
                                           TsrSerial     *serial);
TsrSerial   *tsr_serial_view_get_serial   (TsrSerialView *self);
VteTerminal *tsr_serial_view_get_terminal (TsrSerialView *self);

G_END_DECLS
