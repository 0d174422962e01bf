/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "tsr-libvirt.h"

G_BEGIN_DECLS

typedef void (*TsrConnPrepareFunc) (virConnectPtr conn,
                                    gpointer      data);

/* Drops a reference on CONN in the closer threads, never in the caller's:
 * the one way to let go of a virConnect. PREPARE, if any, runs there first
 * (deregistering events talks to the daemon too).
 */
void     tsr_conn_release      (virConnectPtr       conn);
void     tsr_conn_release_full (virConnectPtr       conn,
                                TsrConnPrepareFunc  prepare,
                                gpointer            data);

/* Lookups that say what could not be found, in the worker that asked:
 * libvirt keeps its last error per thread.
 */
virDomainPtr  tsr_domain_lookup_by_uuid  (virConnectPtr   conn,
                                          const char     *uuid,
                                          const char     *name,
                                          GError        **error);
virNetworkPtr tsr_network_lookup_by_name (virConnectPtr   conn,
                                          const char     *name,
                                          GError        **error);

/* libvirt handles freed by g_autoptr, as libvirt's own code does. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virConnect, tsr_conn_release)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNetwork, virNetworkFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStoragePool, virStoragePoolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStorageVol, virStorageVolFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virStream, virStreamFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (virNodeDevice, virNodeDeviceFree)

G_END_DECLS
