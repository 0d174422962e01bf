/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-vm.h"

G_BEGIN_DECLS

#define TSR_TYPE_SERIAL (tsr_serial_get_type ())

G_DECLARE_FINAL_TYPE (TsrSerial, tsr_serial, TSR, SERIAL, GObject)

/* A VM's serial console (virDomainOpenConsole), driven on the main
 * context by libvirt's stream events: nothing here blocks the caller.
 *
 * Signals:
 *   "received" (GBytes *data): bytes the guest wrote.
 *   "closed" (const GError *error): emitted once, when the guest stopped,
 *     the stream broke or tsr_serial_close() was called; ERROR is NULL for a
 *     clean end and for tsr_serial_close().
 */

void        tsr_serial_open_async  (TsrConnection        *conn,
                                    TsrVm                *vm,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data);
TsrSerial  *tsr_serial_open_finish (TsrConnection        *conn,
                                    GAsyncResult         *result,
                                    GError              **error);

/* Queued, and written whenever the stream can take it. */
void        tsr_serial_write       (TsrSerial            *self,
                                    const void           *data,
                                    gsize                 len);
/* Ends the console; "closed" is emitted with a NULL error unless it was
 * closed already.
 */
void        tsr_serial_close       (TsrSerial            *self);
gboolean    tsr_serial_get_open    (TsrSerial            *self);
/* The VM's name, as it was when the console was opened. */
const char *tsr_serial_get_name    (TsrSerial            *self);
/* Bytes written with tsr_serial_write() and not yet taken by the stream. */
gsize       tsr_serial_get_pending (TsrSerial            *self);

G_END_DECLS
