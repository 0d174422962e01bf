/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <libvirt/libvirt.h>

#include "tsr-connection.h"
#include "tsr-libvirt-private.h"
#include "tsr-network.h"
#include "tsr-vm-private.h"

G_BEGIN_DECLS

/* Shared by the files of TsrConnection: tsr-connection.c (the object,
 * open, close, reconnect), -load.c (the first read and the one after a
 * reconnect), -events.c (libvirt's callbacks and reading one domain
 * again), -network.c (networks and the addresses VMs get from them) and
 * -actions.c (lifecycle, the managed network, reservations, new names).
 */

/* Leases appear some seconds after a guest boots and libvirt has no event
 * for them, so after a start the lease table is read again this many times.
 */
#define TSR_N_LEASE_RETRIES 5

/* In an event storm, what events change is applied at most once a frame
 * of a 60 Hz screen.
 */
#define TSR_FLUSH_INTERVAL (16 * G_TIME_SPAN_MILLISECOND)

/* Event context: libvirt calls back with this as opaque data. It holds only
 * a weak reference, so an event that arrives while the connection object is
 * going away is dropped instead of touching freed memory.
 */
typedef struct
{
  gatomicrefcount ref;
  GWeakRef        self;
} TsrEventCtx;

/* One domain as read by a worker, for the load and for a refresh. */
typedef struct
{
  virDomainPtr  dom;
  TsrVmConfig  *config;
  TsrVmState    state;
  char         *agent_ip;
  TsrVm        *vm;        /* built by the worker for VMs not listed yet */
} DomainResult;

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
  GHashTable         *generation; /* uuid -> number of the last event about it */
  guint               n_events;
  GHashTable         *pending_refresh;
  guint               refresh_idle;
  gint64              last_refresh;

  /* Event storms: what the events of a burst change in the list waits
   * here and is applied at most once a frame (tsr-connection-events.c).
   */
  GHashTable         *pending_removals;  /* uuids */
  GHashTable         *pending_networks;  /* names of networks to read again */
  GArray             *events;            /* QueuedEvent, not applied yet */
  guint               events_source;
  GHashTable         *address_networks;  /* names whose VMs' addresses wait; "" for all */
  GPtrArray          *address_pass;      /* the VMs of the pass under way */
  guint               address_next;
  guint               address_source;
  guint               n_address_passes;  /* for tests */
  guint               flush_source;
  gint64              last_flush;

  GCancellable       *cancellable;
  guint               reconnect_source;
  guint               reconnect_delay;
  guint               first_delay;
  guint               max_delay;
  gboolean            closed_by_user;

  GMutex              reserve_lock;
  GStrv               recovered;  /* what the last open's recovery did */
  guint               orphan_sweep;
};

static inline void
dom_unref (virDomainPtr dom)
{
  virDomainFree (dom);
}

/* tsr-connection.c */
void _tsr_connection_set_state          (TsrConnection      *self,
                                         TsrConnectionState  state);
void _tsr_connection_set_loaded         (TsrConnection      *self);
void _tsr_connection_set_last_error     (TsrConnection      *self,
                                         const GError       *error);
void _tsr_connection_schedule_reconnect (TsrConnection      *self);
void _tsr_connection_emit_vm_stopped    (TsrConnection      *self,
                                         TsrVm              *vm);
void _tsr_connection_fail               (TsrConnection      *self,
                                         GTask              *task,
                                         GError             *error);

/* tsr-connection-load.c */
void _tsr_connection_start_load          (TsrConnection *self,
                                          gboolean       register_events,
                                          GTask         *outer);
void _tsr_domain_result_clear            (DomainResult  *r);
void _tsr_connection_apply_domain_result (TsrConnection *self,
                                          DomainResult  *r,
                                          GPtrArray     *added);

/* tsr-connection-events.c */
TsrEventCtx *_tsr_event_ctx_new              (TsrConnection *self);
TsrEventCtx *_tsr_event_ctx_ref              (TsrEventCtx   *ctx);
void         _tsr_event_ctx_unref            (void          *data);
void         _tsr_connection_register_events (virConnectPtr  conn,
                                              TsrEventCtx   *ctx,
                                              int           *lifecycle_id,
                                              int           *network_id);
void         _tsr_connection_closed_cb       (virConnectPtr  conn,
                                              int            reason,
                                              void          *opaque);
void         _tsr_connection_drop_handle     (TsrConnection *self);
void         _tsr_connection_drop_events     (TsrConnection *self);
GArray      *_tsr_event_queue_new            (void);

/* tsr-connection-batch.c */
void _tsr_connection_queue_removal         (TsrConnection *self,
                                            const char    *uuid);
void _tsr_connection_unqueue_removal       (TsrConnection *self,
                                            const char    *uuid);
void _tsr_connection_queue_network_refresh (TsrConnection *self,
                                            const char    *name);
void _tsr_connection_cancel_flush          (TsrConnection *self);
void _tsr_connection_remove_vms            (TsrConnection *self,
                                            GHashTable    *uuids);
TsrVmState   _tsr_vm_state_from_libvirt      (int            state);

/* tsr-connection-network.c */
void _tsr_connection_refresh_network (TsrConnection *self,
                                      const char    *name,
                                      guint          attempt);
void _tsr_connection_compute_address (TsrConnection *self,
                                      TsrVm         *vm);
void _tsr_compute_address_in         (GHashTable    *networks,
                                      const char    *agent,
                                      TsrVm         *vm);
void            _tsr_connection_store_network       (TsrConnection  *self,
                                                     TsrNetworkInfo *info);
void            _tsr_connection_recompute_addresses (TsrConnection  *self,
                                                     const char     *network);
gboolean        _tsr_connection_addresses_pending   (TsrConnection  *self);
TsrNetworkInfo *_tsr_fetch_network_info             (virNetworkPtr   net,
                                                     GError        **error);

/* For tests only: the raw libvirt handle, to make changes behind the
 * connection's back and watch them arrive as events. NULL while
 * disconnected.
 */
gpointer tsr_connection_get_handle (TsrConnection *self);

virConnectPtr tsr_connection_ref_handle (TsrConnection *self,
                                         GTask         *task);

/* The start of the data of a call about one VM, or the host, run in a
 * worker: a struct whose first member is a TsrCall.
 */
typedef struct
{
  virConnectPtr   conn;
  char           *uuid;         /* the VM's; NULL for calls about the host */
  char           *name;         /* the VM's name when the call was made, for messages */
  char           *kernels_dir;
  gboolean        local;        /* the host is this machine */
  GDestroyNotify  clear;        /* frees the members after the TsrCall */
} TsrCall;

gpointer tsr_connection_call_new (TsrConnection        *self,
                                  TsrVm                *vm,
                                  gsize                 size,
                                  GDestroyNotify        clear,
                                  gpointer              source_tag,
                                  GCancellable         *cancellable,
                                  GAsyncReadyCallback   callback,
                                  gpointer              user_data,
                                  GTask               **task);

GTask *tsr_connection_task_new (TsrConnection        *self,
                                gpointer              source_tag,
                                GCancellable         *cancellable,
                                GAsyncReadyCallback   callback,
                                gpointer              user_data,
                                virConnectPtr        *conn);

gboolean tsr_check_new_vm_name_sync (virConnectPtr   conn,
                                     const char     *name,
                                     GError        **error);

GMutex  *tsr_connection_get_reserve_lock  (TsrConnection   *self);
void     tsr_connection_refresh_vm        (TsrConnection   *self,
                                           const char      *uuid);
void     tsr_connection_take_network_info (TsrConnection   *self,
                                           TsrNetworkInfo  *info);
void     tsr_start_vm_network_sync        (virDomainPtr     dom);
gboolean tsr_reserve_address_sync         (GMutex          *lock,
                                           virConnectPtr    conn,
                                           const char      *network,
                                           const char      *mac,
                                           const char      *vm_name,
                                           char           **ip_out,
                                           TsrNetworkInfo **info_out,
                                           GError         **error);
gboolean tsr_network_update_host          (virNetworkPtr    net,
                                           unsigned int     command,
                                           const char      *host_xml);
gboolean tsr_release_address_sync         (GMutex          *lock,
                                           virConnectPtr    conn,
                                           const char      *network,
                                           const char      *mac,
                                           TsrNetworkInfo **info_out,
                                           GError         **error);

TsrNetworkInfo *_tsr_read_network_for_update (virNetworkPtr    net,
                                              GError         **error);

/* tsr-orphans.c: reservations on Tessera's networks for MACs no domain
 * has and no running operation holds; each released adds a line to REPORT
 * (may be NULL). Workers only.
 */
guint    _tsr_release_orphans_locked      (virConnectPtr    conn,
                                           virNetworkPtr    net,
                                           TsrNetworkInfo  *info,
                                           GPtrArray       *report);
/* A VM on a Tessera network went: its reservation, if nothing of Tessera
 * released it, is released a moment later (once per burst).
 */
void     _tsr_connection_schedule_orphan_sweep (TsrConnection *self);
guint    tsr_release_orphans_sync         (GMutex          *lock,
                                           virConnectPtr    conn,
                                           gboolean         quick,
                                           GPtrArray       *report);

G_END_DECLS
