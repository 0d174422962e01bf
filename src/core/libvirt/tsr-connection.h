/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-vm.h"

G_BEGIN_DECLS

typedef enum
{
  TSR_CONNECTION_STATE_DISCONNECTED,
  TSR_CONNECTION_STATE_CONNECTING,
  TSR_CONNECTION_STATE_CONNECTED,
} TsrConnectionState;

#define TSR_TYPE_CONNECTION (tsr_connection_get_type ())

G_DECLARE_FINAL_TYPE (TsrConnection, tsr_connection, TSR, CONNECTION, GObject)

void                tsr_init                             (void);

TsrConnection      *tsr_connection_new                   (const char           *uri);
const char         *tsr_connection_get_uri               (TsrConnection        *self);
const char         *tsr_connection_get_kernels_dir       (TsrConnection        *self);
void                tsr_connection_set_kernels_dir       (TsrConnection        *self,
                                                          const char           *dir);
TsrConnectionState  tsr_connection_get_state             (TsrConnection        *self);
const GError       *tsr_connection_get_last_error        (TsrConnection        *self);
gboolean            tsr_connection_get_loaded            (TsrConnection        *self);
GListModel         *tsr_connection_get_vms               (TsrConnection        *self);
gboolean            tsr_connection_check_new_vm_name     (TsrConnection        *self,
                                                          const char           *name,
                                                          GError              **error);
TsrVm              *tsr_connection_lookup_vm             (TsrConnection        *self,
                                                          const char           *name);
/* What recovery did when the connection was last opened (the
 * ::recovered signal's lines), or NULL.
 */
const char * const *tsr_connection_get_recovered         (TsrConnection        *self);
void                tsr_connection_set_reconnect_delays  (TsrConnection        *self,
                                                          guint                 first_ms,
                                                          guint                 max_ms);

void                tsr_connection_open_async            (TsrConnection        *self,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_open_finish           (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
void                tsr_connection_close                 (TsrConnection        *self);

void                tsr_connection_start_vm_async        (TsrConnection        *self,
                                                          TsrVm                *vm,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_start_vm_finish       (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
void                tsr_connection_shutdown_vm_async     (TsrConnection        *self,
                                                          TsrVm                *vm,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_shutdown_vm_finish    (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
void                tsr_connection_force_off_vm_async    (TsrConnection        *self,
                                                          TsrVm                *vm,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_force_off_vm_finish   (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);

void                tsr_connection_pause_vm_async        (TsrConnection        *self,
                                                          TsrVm                *vm,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_pause_vm_finish       (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
void                tsr_connection_resume_vm_async       (TsrConnection        *self,
                                                          TsrVm                *vm,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_resume_vm_finish      (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);

void                tsr_connection_ensure_network_async  (TsrConnection        *self,
                                                          const char           *name,
                                                          gboolean              isolated,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_ensure_network_finish (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);
void                tsr_connection_reserve_address_async (TsrConnection        *self,
                                                          const char           *network,
                                                          const char           *mac,
                                                          const char           *vm_name,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
char               *tsr_connection_reserve_address_finish (TsrConnection       *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);
void                tsr_connection_release_address_async (TsrConnection        *self,
                                                          const char           *network,
                                                          const char           *mac,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            tsr_connection_release_address_finish (TsrConnection       *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);

G_END_DECLS
