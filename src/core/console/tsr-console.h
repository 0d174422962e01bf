/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-vm.h"

G_BEGIN_DECLS

/* Whether a connection to URI can hand over file descriptors (a local
 * UNIX socket), which the graphical console needs.
 */
gboolean tsr_uri_can_pass_fds (const char *uri);

/* A socket to VM's display (VNC), opened by libvirt, with no TCP port and
 * no password: the caller owns the descriptor.
 */
void     tsr_console_open_graphics_async  (TsrConnection        *conn,
                                           TsrVm                *vm,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
int      tsr_console_open_graphics_finish (TsrConnection        *conn,
                                           GAsyncResult         *result,
                                           GError              **error);

/* Presses the keys CODES (Linux evdev codes) together, then releases
 * them, through libvirt: Ctrl+Alt+Del and the like, which the host's own
 * desktop would take for itself.
 */
void     tsr_console_send_keys_async      (TsrConnection        *conn,
                                           TsrVm                *vm,
                                           const guint          *codes,
                                           guint                 n_codes,
                                           GCancellable         *cancellable,
                                           GAsyncReadyCallback   callback,
                                           gpointer              user_data);
gboolean tsr_console_send_keys_finish     (TsrConnection        *conn,
                                           GAsyncResult         *result,
                                           GError              **error);

G_END_DECLS
