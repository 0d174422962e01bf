/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-xml-private.h"

static void
tsr_dhcp_host_free (gpointer data)
{
  TsrDhcpHost *host = data;

  g_free (host->mac);
  g_free (host->ip);
  g_free (host->name);
  g_free (host);
}

void
tsr_network_info_free (TsrNetworkInfo *info)
{
  if (info == NULL)
    return;

  g_free (info->name);
  g_free (info->bridge);
  g_free (info->forward_mode);
  g_free (info->gateway);
  g_free (info->netmask);
  g_free (info->dhcp_start);
  g_free (info->dhcp_end);
  g_clear_pointer (&info->host_index, g_hash_table_unref);
  g_clear_pointer (&info->lease_index, g_hash_table_unref);
  g_clear_pointer (&info->hosts, g_ptr_array_unref);
  g_clear_pointer (&info->leases, g_ptr_array_unref);
  g_free (info);
}

char *
tsr_prefix_to_netmask (guint prefix)
{
  struct in_addr addr;
  guint32 mask = prefix == 0 ? 0 : G_MAXUINT32 << (32 - MIN (prefix, 32));
  char buf[INET_ADDRSTRLEN];

  addr.s_addr = htonl (mask);
  return g_strdup (inet_ntop (AF_INET, &addr, buf, sizeof buf));
}

static guint
netmask_to_prefix (const char *netmask)
{
  struct in_addr addr;

  if (inet_pton (AF_INET, netmask, &addr) != 1)
    return 0;
  return __builtin_popcount (ntohl (addr.s_addr));
}

TsrNetworkInfo *
tsr_network_info_new_from_xml (const char  *xml,
                               GError     **error)
{
  g_autoptr(TsrNetworkInfo) info = g_new0 (TsrNetworkInfo, 1);
  xmlDocPtr doc;
  xmlNodePtr root;

  g_return_val_if_fail (xml != NULL, NULL);

  doc = xmlReadMemory (xml, strlen (xml), "network.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == NULL || (root = xmlDocGetRootElement (doc)) == NULL ||
      !tsr_xml_is (root, "network"))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The network definition is not valid XML."));
      g_clear_pointer (&doc, xmlFreeDoc);
      return NULL;
    }

  info->hosts = g_ptr_array_new_with_free_func (tsr_dhcp_host_free);
  info->leases = g_ptr_array_new_with_free_func (tsr_dhcp_host_free);

  for (xmlNodePtr n = root->children; n; n = n->next)
    {
      if (tsr_xml_is (n, "name"))
        info->name = tsr_xml_text (n);
      else if (tsr_xml_is (n, "bridge"))
        info->bridge = tsr_xml_prop (n, "name");
      else if (tsr_xml_is (n, "forward"))
        {
          info->forward_mode = tsr_xml_prop (n, "mode");
          if (info->forward_mode == NULL)
            info->forward_mode = g_strdup ("nat");
        }
      else if (tsr_xml_is (n, "ip") && info->gateway == NULL)
        {
          g_autofree char *family = tsr_xml_prop (n, "family");
          g_autofree char *prefix = NULL;

          if (family != NULL && g_strcmp0 (family, "ipv4") != 0)
            continue;

          info->gateway = tsr_xml_prop (n, "address");
          info->netmask = tsr_xml_prop (n, "netmask");
          prefix = tsr_xml_prop (n, "prefix");
          if (info->netmask != NULL)
            info->prefix = netmask_to_prefix (info->netmask);
          else
            {
              info->prefix = prefix ? (guint) g_ascii_strtoull (prefix, NULL, 10) : 24;
              info->netmask = tsr_prefix_to_netmask (info->prefix);
            }

          for (xmlNodePtr d = n->children; d; d = d->next)
            {
              if (!tsr_xml_is (d, "dhcp"))
                continue;
              for (xmlNodePtr h = d->children; h; h = h->next)
                {
                  if (tsr_xml_is (h, "range") && info->dhcp_start == NULL)
                    {
                      info->dhcp_start = tsr_xml_prop (h, "start");
                      info->dhcp_end = tsr_xml_prop (h, "end");
                    }
                  else if (tsr_xml_is (h, "host"))
                    {
                      TsrDhcpHost *host = g_new0 (TsrDhcpHost, 1);
                      g_autofree char *mac = tsr_xml_prop (h, "mac");

                      host->mac = mac ? g_ascii_strdown (mac, -1) : NULL;
                      host->ip = tsr_xml_prop (h, "ip");
                      host->name = tsr_xml_prop (h, "name");
                      g_ptr_array_add (info->hosts, host);
                    }
                }
            }
        }
    }

  xmlFreeDoc (doc);

  if (info->name == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The network definition has no name."));
      return NULL;
    }

  info->managed = tsr_network_name_is_managed (info->name);
  tsr_network_info_reindex (info);

  return g_steal_pointer (&info);
}

static GHashTable *
build_index (GPtrArray *array)
{
  GHashTable *index = g_hash_table_new (g_str_hash, g_str_equal);

  /* The first entry for a MAC wins, as in dnsmasq. */
  for (guint i = array ? array->len : 0; i > 0; i--)
    {
      TsrDhcpHost *host = g_ptr_array_index (array, i - 1);

      if (host->mac != NULL)
        g_hash_table_replace (index, host->mac, host);
    }

  return index;
}

/* Lookups by MAC are hashed: a list of 1000 VMs on one network would
 * otherwise compare a million strings.
 */
void
tsr_network_info_reindex (TsrNetworkInfo *info)
{
  g_return_if_fail (info != NULL);

  g_clear_pointer (&info->host_index, g_hash_table_unref);
  g_clear_pointer (&info->lease_index, g_hash_table_unref);
  info->host_index = build_index (info->hosts);
  info->lease_index = build_index (info->leases);
}

static const TsrDhcpHost *
find_in (GHashTable *index,
         const char *mac)
{
  char lower[18];

  if (index == NULL || mac == NULL || strlen (mac) != 17)
    return NULL;

  for (guint i = 0; i < 17; i++)
    lower[i] = g_ascii_tolower (mac[i]);
  lower[17] = '\0';
  return g_hash_table_lookup (index, lower);
}

const TsrDhcpHost *
tsr_network_info_find_host (const TsrNetworkInfo *info,
                            const char           *mac)
{
  g_return_val_if_fail (info != NULL, NULL);

  return find_in (info->host_index, mac);
}

const TsrDhcpHost *
tsr_network_info_find_lease (const TsrNetworkInfo *info,
                             const char           *mac)
{
  g_return_val_if_fail (info != NULL, NULL);

  return find_in (info->lease_index, mac);
}

static gboolean
ip_to_u32 (const char *ip,
           guint32    *out)
{
  struct in_addr addr;

  if (ip == NULL || inet_pton (AF_INET, ip, &addr) != 1)
    return FALSE;
  *out = ntohl (addr.s_addr);
  return TRUE;
}

static gboolean
ip_taken (const TsrNetworkInfo *info,
          guint32               candidate)
{
  GPtrArray *arrays[] = { info->hosts, info->leases };

  for (guint a = 0; a < G_N_ELEMENTS (arrays); a++)
    {
      if (arrays[a] == NULL)
        continue;
      for (guint i = 0; i < arrays[a]->len; i++)
        {
          const TsrDhcpHost *host = g_ptr_array_index (arrays[a], i);
          guint32 used;

          if (ip_to_u32 (host->ip, &used) && used == candidate)
            return TRUE;
        }
    }

  return FALSE;
}

char *
tsr_network_info_next_free_ip (const TsrNetworkInfo  *info,
                               GError               **error)
{
  guint32 gateway, mask, net, broadcast, first, last;
  struct in_addr addr;
  char buf[INET_ADDRSTRLEN];

  g_return_val_if_fail (info != NULL, NULL);

  if (!ip_to_u32 (info->gateway, &gateway) || info->prefix == 0 || info->prefix > 30)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NO_ADDRESS,
                   _("Network “%s” has no IPv4 subnet, so no address can be reserved. "
                     "Give it an <ip> element with a DHCP range, or choose another network."),
                   info->name);
      return NULL;
    }

  mask = G_MAXUINT32 << (32 - info->prefix);
  net = gateway & mask;
  broadcast = net | ~mask;
  first = net + 1;
  last = broadcast - 1;

  /* Reservations stay inside the DHCP range when there is one, so that
   * dnsmasq answers them.
   */
  if (info->dhcp_start != NULL && info->dhcp_end != NULL)
    {
      guint32 s, e;

      if (ip_to_u32 (info->dhcp_start, &s) && ip_to_u32 (info->dhcp_end, &e))
        {
          first = MAX (first, s);
          last = MIN (last, e);
        }
    }

  for (guint32 c = first; c <= last; c++)
    {
      if (c == gateway || ip_taken (info, c))
        continue;
      addr.s_addr = htonl (c);
      return g_strdup (inet_ntop (AF_INET, &addr, buf, sizeof buf));
    }

  g_set_error (error, TSR_ERROR, TSR_ERROR_NO_ADDRESS,
               _("Network “%s” has no free address left: remove unused VMs or widen its "
                 "DHCP range."), info->name);
  return NULL;
}

char *
tsr_network_build_managed_xml (const char *name,
                               const char *subnet_prefix,
                               gboolean    isolated)
{
  g_autoptr(xmlDoc) doc = tsr_xml_new ("network");
  xmlNodePtr root = xmlDocGetRootElement (doc);
  g_autofree char *gateway = g_strconcat (subnet_prefix, ".1", NULL);
  g_autofree char *start = g_strconcat (subnet_prefix, ".2", NULL);
  g_autofree char *end = g_strconcat (subnet_prefix, ".254", NULL);
  xmlNodePtr ip;

  /* No <bridge>: libvirt picks a free virbrN. An isolated network has no
   * <forward> at all, so nothing leaves the host.
   */
  tsr_xml_add (root, "name", name);
  if (!isolated)
    tsr_xml_add_with (root, "forward", "mode", "nat", NULL);
  tsr_xml_add_with (root, "dns", "enable", "yes", NULL);
  ip = tsr_xml_add_with (root, "ip", "address", gateway, "netmask", "255.255.255.0", NULL);
  tsr_xml_add_with (tsr_xml_add (ip, "dhcp", NULL), "range", "start", start, "end", end, NULL);
  return tsr_xml_dump (doc);
}

char *
tsr_network_build_host_xml (const char *mac,
                            const char *name,
                            const char *ip)
{
  g_autoptr(xmlDoc) doc = tsr_xml_new ("host");
  xmlNodePtr host = xmlDocGetRootElement (doc);

  tsr_xml_set (host, "mac", mac);
  if (name != NULL)
    tsr_xml_set (host, "name", name);
  tsr_xml_set (host, "ip", ip);
  return tsr_xml_dump (doc);
}

gboolean
tsr_network_name_is_managed (const char *name)
{
  return g_strcmp0 (name, TSR_MANAGED_NETWORK_NAME) == 0 ||
         (name != NULL && g_str_has_prefix (name, TSR_MANAGED_NETWORK_NAME "-"));
}
