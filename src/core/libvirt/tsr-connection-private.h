/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libvirt/libvirt.h>

#include "tsr-connection.h"
#include "tsr-libvirt-private.h"
#include "tsr-network.h"

G_BEGIN_DECLS

typedef struct _TsrEventCtx TsrEventCtx;

/* Shared by the files of TsrConnection (tsr-connection.c: open, load,
 * events, reconnect; tsr-connection-actions.c: lifecycle, networks and
 * reservations).
 */
struct _TsrConnection
{
  GObject             parent_instance;

  char               *uri;
  char               *kernels_dir;
  TsrConnectionState  state;
  GError             *last_error;
  gboolean            loaded;

  virConnectPtr       conn;
  TsrEventCtx        *ctx;
  int                 lifecycle_id;
  int                 network_id;

  GListStore         *vms;
  GHashTable         *by_uuid;    /* uuid -> TsrVm (borrowed from vms) */
  GHashTable         *domains;    /* uuid -> virDomainPtr */
  GHashTable         *networks;   /* name -> TsrNetworkInfo */
  GHashTable         *agent_ips;  /* uuid -> char* ip/prefix from the guest agent or ARP */
  GHashTable         *generation; /* uuid -> event counter */
  GHashTable         *pending_refresh;
  guint               refresh_idle;

  GCancellable       *cancellable;
  guint               reconnect_source;
  guint               reconnect_delay;
  guint               first_delay;
  guint               max_delay;
  gboolean            closed_by_user;

  GMutex              reserve_lock;
};

static inline void
dom_unref (virDomainPtr dom)
{
  virDomainFree (dom);
}

void            _tsr_connection_store_network       (TsrConnection  *self,
                                                     TsrNetworkInfo *info);
void            _tsr_connection_recompute_addresses (TsrConnection  *self,
                                                     const char     *network);
TsrNetworkInfo *_tsr_fetch_network_info             (virNetworkPtr   net,
                                                     GError        **error);

/* For tests only: the raw libvirt handle, to make changes behind the
 * connection's back and watch them arrive as events. NULL while
 * disconnected.
 */
gpointer tsr_connection_get_handle (TsrConnection *self);

virConnectPtr tsr_connection_ref_handle (TsrConnection *self,
                                         GTask         *task);

gboolean tsr_check_new_vm_name_sync (virConnectPtr   conn,
                                     const char     *name,
                                     GError        **error);

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
