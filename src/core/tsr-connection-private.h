/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libvirt/libvirt.h>

#include "tsr-connection.h"
#include "tsr-network.h"

G_BEGIN_DECLS

typedef struct _TsrEventCtx TsrEventCtx;

/* For tests only: the raw libvirt handle, to make changes behind the
 * connection's back and watch them arrive as events. NULL while
 * disconnected.
 */
gpointer tsr_connection_get_handle (TsrConnection *self);

GMutex  *tsr_connection_get_reserve_lock  (TsrConnection   *self);
void     tsr_connection_refresh_vm        (TsrConnection   *self,
                                           const char      *uuid);
void     tsr_connection_take_network_info (TsrConnection   *self,
                                           TsrNetworkInfo  *info);
gboolean tsr_reserve_address_sync         (GMutex          *lock,
                                           virConnectPtr    conn,
                                           const char      *network,
                                           const char      *mac,
                                           const char      *vm_name,
                                           char           **ip_out,
                                           TsrNetworkInfo **info_out,
                                           GError         **error);
gboolean tsr_release_address_sync         (GMutex          *lock,
                                           virConnectPtr    conn,
                                           const char      *network,
                                           const char      *mac,
                                           TsrNetworkInfo **info_out,
                                           GError         **error);

G_END_DECLS
