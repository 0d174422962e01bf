/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* An AppVM's private disk (its second disk, which persists across starts):
 * its size, and growing it. Shrinking is refused, as in Qubes: the file
 * system on it would lose its end.
 */

void     tsr_connection_get_private_size_async  (TsrConnection        *self,
                                                 TsrVm                *vm,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
/* The capacity in bytes; FALSE with TSR_ERROR_NOT_SUPPORTED for a VM that
 * has no private disk of its own.
 */
gboolean tsr_connection_get_private_size_finish (TsrConnection        *self,
                                                 GAsyncResult         *result,
                                                 guint64              *size,
                                                 GError              **error);

/* Grows the private disk to SIZE bytes, the running VM's too (the guest
 * sees the larger disk; its file system is grown in the guest).
 */
void     tsr_connection_grow_private_async      (TsrConnection        *self,
                                                 TsrVm                *vm,
                                                 guint64               size,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
gboolean tsr_connection_grow_private_finish     (TsrConnection        *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);

/* The same in a worker that has DOM: the private disk's size (0 when it
 * has none), and growing it (refused below its size; a running VM's
 * through QEMU). Shared with qvm-prefs private_size.
 */
guint64  tsr_private_volume_size_sync           (virConnectPtr         conn,
                                                 virDomainPtr          dom);
gboolean tsr_private_volume_grow_sync           (virConnectPtr         conn,
                                                 virDomainPtr          dom,
                                                 guint64               size,
                                                 GError              **error);

G_END_DECLS
