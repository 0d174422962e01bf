/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TSR_MANAGED_NETWORK_NAME    "tessera"
#define TSR_MANAGED_NETWORK_GATEWAY "10.137.0.1"
#define TSR_MANAGED_NETWORK_NETMASK "255.255.255.0"

typedef struct
{
  char *mac;
  char *ip;
  char *name;
} TsrDhcpHost;

typedef struct
{
  char      *name;
  char      *bridge;
  char      *forward_mode;  /* NULL when isolated */
  char      *gateway;       /* the network's own address on the bridge */
  char      *netmask;
  guint      prefix;
  char      *dhcp_start;
  char      *dhcp_end;
  GPtrArray *hosts;         /* of TsrDhcpHost */
  GPtrArray *leases;        /* of TsrDhcpHost, filled from virNetworkGetDHCPLeases */
  gboolean   managed;       /* named tessera or tessera-* */
  gboolean   active;
  GHashTable *host_index;   /* lowercase MAC -> TsrDhcpHost in hosts */
  GHashTable *lease_index;  /* lowercase MAC -> TsrDhcpHost in leases */
} TsrNetworkInfo;

TsrNetworkInfo    *tsr_network_info_new_from_xml   (const char            *xml,
                                                    GError               **error);
void               tsr_network_info_free           (TsrNetworkInfo        *info);
void               tsr_network_info_reindex        (TsrNetworkInfo        *info);
const TsrDhcpHost *tsr_network_info_find_host      (const TsrNetworkInfo  *info,
                                                    const char            *mac);
const TsrDhcpHost *tsr_network_info_find_lease     (const TsrNetworkInfo  *info,
                                                    const char            *mac);
char              *tsr_network_info_next_free_ip   (const TsrNetworkInfo  *info,
                                                    GError               **error);
char              *tsr_network_build_managed_xml   (const char            *name,
                                                    const char            *subnet_prefix,
                                                    gboolean               isolated);
char              *tsr_network_build_host_xml      (const char            *mac,
                                                    const char            *name,
                                                    const char            *ip);
/* Whether NAME is one of Tessera's networks (tessera, tessera-*), where
 * every interface has a fixed address.
 */
gboolean           tsr_network_name_is_managed     (const char            *name);
char              *tsr_prefix_to_netmask           (guint                  prefix);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrNetworkInfo, tsr_network_info_free)

G_END_DECLS
