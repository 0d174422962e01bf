/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

/* The MAC addresses the connection's VMs use, so that creating, cloning and
 * changing a VM can refuse or avoid one that is taken.
 */

GStrv       tsr_macs_of_domain_xml (const char    *domain_xml);
GHashTable *tsr_macs_in_use        (virConnectPtr  conn,
                                    const char    *except_uuid);

G_END_DECLS
