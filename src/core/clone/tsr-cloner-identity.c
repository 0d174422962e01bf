/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "tsr-cloner-private.h"
#include "tsr-storage.h"
#include "tsr-error.h"
#include "tsr-macs.h"
#include "tsr-network.h"
#include "tsr-settings-private.h"
#include "tsr-validate.h"
#include "tsr-xml-private.h"

/* What makes the clone a VM of its own next to its source: new MACs and,
 * on the same networks, new address reservations, made in a thread of
 * their own while the disks are copied; and its own NVRAM.
 */

/* Addresses */

/* A new address on the same network: on Tessera's networks always,
 * elsewhere when the source had one reserved.
 */
static void
plan_reservation (CloneData   *data,
                  xmlNodePtr   source,
                  const char  *old_mac,
                  const char  *mac)
{
  g_autofree char *network = tsr_xml_prop (source, "network");
  g_autoptr(virNetwork) net = network ? virNetworkLookupByName (data->conn, network) : NULL;
  g_autofree char *net_xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;
  g_autoptr(TsrNetworkInfo) info = net_xml ? tsr_network_info_new_from_xml (net_xml, NULL)
                                           : NULL;

  virResetLastError ();
  if (info != NULL &&
      (info->managed || (old_mac && tsr_network_info_find_host (info, old_mac) != NULL)))
    {
      Reservation *r = g_new0 (Reservation, 1);

      r->network = g_steal_pointer (&network);
      r->mac = g_strdup (mac);
      g_ptr_array_add (data->planned, r);
    }
}

/* The source's metadata may say its MAC is fixed and which automatic MAC
 * that replaced. A clone with new MACs has automatic ones: were the entries
 * copied, its MAC would be listed as set, and a reset would hand it the
 * source's original MAC.
 */
static void
forget_fixed_mac (CloneData *data)
{
  xmlNodePtr vm = tsr_settings_tessera_metadata (xmlDocGetRootElement (data->doc), FALSE);

  if (vm == NULL)
    return;
  tsr_settings_metadata_set (vm, "mac-fixed", NULL);
  tsr_settings_metadata_set (vm, "mac-auto", NULL);
}

gboolean
tsr_cloner_plan_interfaces (CloneData   *data,
                            xmlNodePtr   devices,
                            const char  *oui,
                            GError     **error)
{
  g_autoptr(GHashTable) macs = tsr_macs_in_use (data->conn, NULL);
  g_autoptr(GString) kept = g_string_new (NULL);

  if (!data->spec->keep_mac)
    forget_fixed_mac (data);

  for (xmlNodePtr n = devices->children; n; n = n->next)
    {
      g_autofree char *type = NULL;
      g_autofree char *old_mac = NULL;
      g_autofree char *mac = NULL;
      xmlNodePtr mac_node, source;

      if (!tsr_xml_is (n, "interface"))
        continue;

      mac_node = tsr_xml_child (n, "mac");
      if (mac_node == NULL)
        mac_node = tsr_xml_add (n, "mac", NULL);
      old_mac = tsr_xml_prop (mac_node, "address");
      if (old_mac != NULL)
        {
          char *lower = g_ascii_strdown (old_mac, -1);

          g_free (old_mac);
          old_mac = lower;
        }

      if (data->spec->keep_mac && old_mac != NULL)
        {
          g_string_append_printf (kept, "%s%s", kept->len ? ", " : "", old_mac);
          continue;
        }

      do
        {
          g_free (mac);
          mac = tsr_mac_generate (oui);
        }
      while (g_hash_table_contains (macs, mac));
      g_hash_table_replace (macs, g_strdup (mac), NULL);
      tsr_xml_set (mac_node, "address", mac);

      type = tsr_xml_prop (n, "type");
      source = tsr_xml_child (n, "source");
      if (g_strcmp0 (type, "network") == 0 && source != NULL)
        plan_reservation (data, source, old_mac, mac);
    }

  if (kept->len > 0)
    {
      g_autofree char *text =
        g_strdup_printf (_("“%s” has the same MAC address as “%s” (%s), and so the same IP "
                           "address: only one of the two can be on the network at a time."),
                         data->spec->name, data->source_name, kept->str);

      tsr_cloner_add_warning (data, text);
    }

  return TRUE;
}

/* Until joined, only this thread touches planned, reserved, infos and
 * reserve_error.
 */
static gpointer
reserve_thread_func (gpointer user_data)
{
  CloneData *data = user_data;

  while (data->planned->len > 0)
    {
      Reservation *r = g_ptr_array_index (data->planned, 0);
      g_autofree char *ip = NULL;
      TsrNetworkInfo *info = NULL;

      if (!tsr_reserve_address_sync (data->reserve_lock, data->conn, r->network, r->mac,
                                     data->spec->name, &ip, &info, &data->reserve_error))
        break;
      g_ptr_array_add (data->reserved, g_ptr_array_steal_index (data->planned, 0));
      if (info != NULL)
        g_ptr_array_add (data->infos, info);
    }

  return NULL;
}

void
tsr_cloner_start_reservations (CloneData *data)
{
  /* libvirt updates a live network slowly (it reloads dnsmasq and the
   * network's firewall rules): the addresses are reserved while the disks
   * are copied or linked.
   */
  if (data->planned->len > 0)
    data->reserve_thread = g_thread_new ("tsr-clone-reserve", reserve_thread_func, data);
}

gboolean
tsr_cloner_join_reservations (CloneData  *data,
                              GError    **error)
{
  if (data->reserve_thread != NULL)
    g_thread_join (g_steal_pointer (&data->reserve_thread));
  if (data->reserve_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&data->reserve_error));
      return FALSE;
    }
  return TRUE;
}

/* NVRAM */

/* The clone's NVRAM next to the source's: "<clone>_VARS.fd". */
gboolean
tsr_cloner_plan_nvram (CloneData   *data,
                       xmlNodePtr   os,
                       char       **src_out,
                       char       **dst_out,
                       GError     **error)
{
  xmlNodePtr nvram = os ? tsr_xml_child (os, "nvram") : NULL;
  g_autofree char *src = nvram ? tsr_xml_text (nvram) : NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *dst = NULL;
  gsize len = strlen (data->source_name);

  if (src == NULL || *src == '\0')
    return TRUE;

  dir = g_path_get_dirname (src);
  base = g_path_get_basename (src);
  if (g_str_has_prefix (base, data->source_name) && base[len] == '_')
    dst = g_strdup_printf ("%s/%s%s", dir, data->spec->name, base + len);
  else
    dst = g_strdup_printf ("%s/%s_VARS.fd", dir, data->spec->name);

  if (data->local && g_file_test (dst, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                   _("The firmware settings file %s already exists (left by an older VM?): "
                     "remove it, or choose another name for the clone."), dst);
      return FALSE;
    }

  tsr_xml_set_text (nvram, dst);
  *src_out = g_steal_pointer (&src);
  *dst_out = g_steal_pointer (&dst);
  return TRUE;
}

gboolean
tsr_cloner_copy_nvram (CloneData   *data,
                       const char  *src,
                       const char  *dst,
                       GError     **error)
{
  gboolean copied;

  if (!data->local)
    {
      g_autofree char *text =
        g_strdup_printf (_("The firmware settings (NVRAM) of “%s” could not be copied over a "
                           "remote connection: “%s” starts with fresh ones."),
                         data->source_name, data->spec->name);

      tsr_cloner_add_warning (data, text);
      return TRUE;
    }
  if (!tsr_storage_copy_nvram (src, dst, &copied, error))
    return FALSE;
  if (copied)
    data->nvram_copy = g_strdup (dst);
  return TRUE;
}
