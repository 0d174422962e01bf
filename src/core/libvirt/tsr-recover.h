/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* Crash recovery: the intent records (tsr-journal.h) of CONN's operations
 * whose process is gone are finished, each forward when the operation had
 * passed its point of no return (the domain it defines exists, the domain
 * it removes is gone, or it said so), else back; then whatever the record
 * names that nothing uses any more is deleted: volumes, files,
 * reservations. Adds a line to REPORT for each thing done. Workers only.
 */
void     tsr_recover_sync              (virConnectPtr   conn,
                                        GMutex         *reserve_lock,
                                        GPtrArray      *report);

/* `tessera-cli repair`: recovery, then every orphan reservation of the
 * host's Tessera networks. The lines of what was fixed (none on a clean
 * host).
 */
void     tsr_connection_repair_async   (TsrConnection        *self,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
GStrv    tsr_connection_repair_finish  (TsrConnection        *self,
                                        GAsyncResult         *result,
                                        GError              **error);

G_END_DECLS
