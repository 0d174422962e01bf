/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-libvirt.h"
#include "tsr-host.h"
#include "tsr-macs.h"
#include "tsr-network.h"
#include "tsr-rules.h"
#include "tsr-journal.h"
#include "tsr-settings-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* Committing */

/* An AppVM or DisposableVM moves to another TemplateVM while halted; it
 * boots that template's newest root at its next start. A StandaloneVM's
 * template is where its copy came from, history only.
 */
static gboolean
check_template (virConnectPtr   conn,
                const Prefs    *old,
                const Prefs    *p,
                gboolean        running,
                GError        **error)
{
  g_autoptr(virDomain) tpl = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(TsrVmConfig) config = NULL;

  if (g_strcmp0 (old->klass, "AppVM") != 0 && g_strcmp0 (old->klass, "DispVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s: only an AppVM or a DisposableVM runs from a template."),
                   old->name, old->klass);
      return FALSE;
    }
  if (running)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is running: shut it down (qvm-shutdown --wait %s) before giving it "
                     "another template."), old->name, old->name);
      return FALSE;
    }
  tpl = virDomainLookupByName (conn, p->template_name);
  xml = tpl ? virDomainGetXMLDesc (tpl, VIR_DOMAIN_XML_INACTIVE) : NULL;
  config = xml ? tsr_vm_config_parse (xml, NULL, NULL) : NULL;
  virResetLastError ();
  if (config == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("No template named “%s”: run “qvm-ls” to see the TemplateVMs."),
                   p->template_name);
      return FALSE;
    }
  if (g_strcmp0 (config->klass, "TemplateVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s, not a TemplateVM: only a TemplateVM can be a template."),
                   p->template_name, config->klass);
      return FALSE;
    }
  return TRUE;
}

static gboolean
validate_prefs (virConnectPtr   conn,
                const Prefs    *old,
                const Prefs    *p,
                TsrHostCaps    *caps,
                const char     *kernels_dir,
                gboolean        running,
                TsrPrefsFlags   flags,
                char          **warning,
                GError        **error)
{
  if (!g_str_equal (old->name, p->name))
    {
      if (!tsr_check_new_vm_name_sync (conn, p->name, error))
        return FALSE;
      if (running)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                       _("“%s” is running: shut it down (qvm-shutdown --wait %s) before "
                         "renaming it."), old->name, old->name);
          return FALSE;
        }
    }

  if (g_strcmp0 (old->template_name, p->template_name) != 0 &&
      !check_template (conn, old, p, running, error))
    return FALSE;

  if (!tsr_rules_check_label (p->label, error))
    return FALSE;

  if (!tsr_rules_check_resources (p->memory, p->maxmem, p->vcpus, p->kernelopts, caps, error))
    return FALSE;
  /* A kernel the VM already has may have been removed since; that is not this edit's fault. */
  if (g_strcmp0 (p->kernel, old->kernel) != 0 &&
      !tsr_rules_check_kernel_installed (kernels_dir, p->kernel, error))
    return FALSE;

  if (!tsr_rules_check_virt_mode (p->virt_mode, p->kernel, caps, FALSE, error))
    return FALSE;
  if (!g_str_equal (p->virt_mode, "hvm") && p->has_pci)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("This VM has PCI devices assigned, which need virt_mode hvm: detach them "
                     "first to use %s."), p->virt_mode);
      return FALSE;
    }

  /* A VM that already boots UEFI keeps it even where the host's firmware is not listed. */
  if (!tsr_rules_check_firmware (p->firmware, g_str_equal (old->firmware, "uefi") ? NULL : caps,
                                 error))
    return FALSE;

  if (!g_str_equal (p->netvm, "none") && g_strcmp0 (p->netvm, old->netvm) != 0)
    {
      g_autoptr(virNetwork) net = virNetworkLookupByName (conn, p->netvm);

      virResetLastError ();
      if (net == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                       _("No network named “%s”: use an existing libvirt network, or none."),
                       p->netvm);
          return FALSE;
        }
    }

  if (p->mac != NULL && g_strcmp0 (p->mac, old->mac) != 0)
    {
      g_autoptr(GHashTable) macs = tsr_macs_in_use (conn, p->uuid);
      const char *owner = g_hash_table_lookup (macs, p->mac);

      if (owner != NULL && !(flags & TSR_PREFS_FORCE_MAC))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_MAC_IN_USE,
                       _("MAC %s is used by “%s”. To share it on purpose (for example for "
                         "licence activation), insist (qvm-prefs --force); only one of the two "
                         "may run at a time."), p->mac, owner);
          return FALSE;
        }
      if (owner != NULL)
        *warning = g_strdup_printf (_("“%s” uses MAC %s too: only one of the two may run at a "
                                      "time."), owner, p->mac);
    }

  return TRUE;
}

/* An automatic MAC is unique. A reset gives back the automatic MAC the
 * fixed one replaced while no other VM has taken it, else a new one: the
 * fixed MAC may be shared on purpose and is never automatic.
 */
static void
choose_automatic_mac (virConnectPtr  conn,
                      const Prefs   *old,
                      Prefs         *p)
{
  g_autoptr(GHashTable) used = NULL;
  const char *original = old->mac_fixed ? old->mac_auto : old->mac;

  g_clear_pointer (&p->mac_auto, g_free);
  if (p->mac == NULL)
    return;

  used = tsr_macs_in_use (conn, p->uuid);
  if (original != NULL && !g_hash_table_contains (used, original))
    {
      tsr_settings_replace (&p->mac, original);
      return;
    }

  do
    {
      g_free (p->mac);
      p->mac = tsr_mac_generate (NULL);
    }
  while (g_hash_table_contains (used, p->mac) || g_strcmp0 (p->mac, old->mac) == 0);
}

typedef struct
{
  TsrCall         call;
  GMutex         *reserve_lock;
  GHashTable     *changes;
  TsrPrefsFlags   flags;
  char           *next_start;
  char           *warning;
  GPtrArray      *infos;
  TsrJournal     *journal;     /* of a rename or reservation move */
} WriteData;

static void
write_data_clear (gpointer user_data)
{
  WriteData *data = user_data;

  g_clear_pointer (&data->changes, g_hash_table_unref);
  g_free (data->next_start);
  g_free (data->warning);
  g_clear_pointer (&data->infos, g_ptr_array_unref);
}

/* Keeps INFO, what a network looks like after a change, for the finish to
 * store; returns TRUE for the callers' convenience.
 */
static gboolean
keep_network_info (WriteData      *data,
                   TsrNetworkInfo *info)
{
  if (info != NULL)
    g_ptr_array_add (data->infos, info);
  return TRUE;
}

/* NET's reservations, from its definition; NULL if there is none. */
static TsrNetworkInfo *
read_reservations (virNetworkPtr net)
{
  g_autofree char *xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;

  return xml ? tsr_network_info_new_from_xml (xml, NULL) : NULL;
}

/* Whether dnsmasq still holds a lease of IP for MAC: it would not hand the
 * address to another client before that lease expires.
 */
static gboolean
is_leased (virNetworkPtr  net,
           const char    *mac,
           const char    *ip)
{
  virNetworkDHCPLeasePtr *leases = NULL;
  int n = virNetworkGetDHCPLeases (net, mac, &leases, 0);
  gboolean leased = FALSE;

  for (int i = 0; i < n; i++)
    {
      leased |= g_strcmp0 (leases[i]->ipaddr, ip) == 0;
      virNetworkDHCPLeaseFree (leases[i]);
    }
  free (leases);
  return leased;
}

/* Releases FROM's reservation. *HAD tells whether FROM had one, *IP the
 * address TO may keep: the same when only the name changes, and for a new
 * MAC unless the old one still holds a lease on it. A MAC shared on
 * purpose shares its reservation: it stays with the other VM, and this
 * one gets an address of its own.
 */
static gboolean
release_from (WriteData    *data,
              const Prefs  *from,
              const Prefs  *to,
              gboolean     *had,
              char        **ip,
              GError      **error)
{
  g_autoptr(GHashTable) used = NULL;
  g_autoptr(virNetwork) net = NULL;
  g_autoptr(TsrNetworkInfo) from_info = NULL;
  g_autoptr(TsrNetworkInfo) info = NULL;
  const TsrDhcpHost *host;
  gboolean shared;

  *had = FALSE;
  if (g_str_equal (from->netvm, "none") || from->mac == NULL)
    return TRUE;

  used = tsr_macs_in_use (data->call.conn, from->uuid);
  shared = g_hash_table_contains (used, from->mac);
  net = virNetworkLookupByName (data->call.conn, from->netvm);
  from_info = read_reservations (net);
  host = from_info ? tsr_network_info_find_host (from_info, from->mac) : NULL;
  virResetLastError ();
  if (host == NULL)
    return TRUE;
  *had = TRUE;

  if (!shared && g_str_equal (from->netvm, to->netvm) &&
      (g_strcmp0 (from->mac, to->mac) == 0 || !is_leased (net, from->mac, host->ip)))
    *ip = g_strdup (host->ip);
  virResetLastError ();
  if (shared)
    return TRUE;

  tsr_journal_held (data->journal, from->netvm, from->mac, host->ip, host->name);
  if (!tsr_release_address_sync (data->reserve_lock, data->call.conn, from->netvm, from->mac,
                                 &info, error))
    return FALSE;
  return keep_network_info (data, g_steal_pointer (&info));
}

/* Gives TO a reservation: IP if there is one to keep, else the lowest free
 * address. A MAC shared on purpose with another VM shares its reservation
 * too; a stale entry holding the name makes the new one go without a name.
 */
static gboolean
reserve_to (WriteData    *data,
            const Prefs  *to,
            const char   *ip,
            GError      **error)
{
  g_autoptr(virNetwork) net = virNetworkLookupByName (data->call.conn, to->netvm);
  g_autoptr(TsrNetworkInfo) to_info = read_reservations (net);
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autofree char *host_xml = NULL;
  const char *host_name = to->name;

  virResetLastError ();
  if (to_info != NULL && tsr_network_info_find_host (to_info, to->mac) != NULL)
    return TRUE;
  tsr_journal_reservation (data->journal, to->netvm, to->mac);
  for (guint i = 0; to_info != NULL && i < to_info->hosts->len; i++)
    if (g_strcmp0 (((TsrDhcpHost *) g_ptr_array_index (to_info->hosts, i))->name, to->name) == 0)
      host_name = NULL;

  if (ip == NULL)
    {
      g_autofree char *new_ip = NULL;

      if (!tsr_reserve_address_sync (data->reserve_lock, data->call.conn, to->netvm, to->mac,
                                     to->name, &new_ip, &info, error))
        return FALSE;
      return keep_network_info (data, g_steal_pointer (&info));
    }

  host_xml = tsr_network_build_host_xml (to->mac, host_name, ip);
  locker = g_mutex_locker_new (data->reserve_lock);
  if (net == NULL ||
      !tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host_xml))
    {
      tsr_error_set_from_libvirt (error, _("Could not move the address reservation"));
      return FALSE;
    }
  return keep_network_info (data, read_reservations (net));
}

/* Moves the DHCP host entry of OLD (mac, network, name) to P; UNDO moves
 * it back.
 */
static gboolean
move_reservation (WriteData    *data,
                  const Prefs  *old,
                  const Prefs  *p,
                  gboolean      undo,
                  GError      **error)
{
  const Prefs *from = undo ? p : old;
  const Prefs *to = undo ? old : p;
  g_autofree char *ip = NULL;
  gboolean had;

  if (!release_from (data, from, to, &had, &ip, error))
    return FALSE;
  if (g_str_equal (to->netvm, "none") || to->mac == NULL)
    return TRUE;
  /* On Tessera's networks every interface has its fixed address, also
   * one that had none before (netvm none → tessera, or a definition made
   * elsewhere); elsewhere a reservation only moves.
   */
  if (!had && !tsr_network_name_is_managed (to->netvm))
    return TRUE;
  return reserve_to (data, to, ip, error);
}

/* Renames the VM's volumes named NAME-… in their pools' folders, and the
 * disk paths in DOC with them.
 */
static gboolean
rename_volumes (WriteData   *data,
                xmlDocPtr    doc,
                const char  *from,
                const char  *to,
                GError     **error)
{
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
  g_autofree char *prefix = g_strconcat (from, "-", NULL);

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      xmlNodePtr source = tsr_xml_is (d, "disk") ? tsr_xml_child (d, "source") : NULL;
      g_autofree char *path = source ? tsr_xml_prop (source, "file") : NULL;
      g_autofree char *base = path ? g_path_get_basename (path) : NULL;
      g_autofree char *dir = path ? g_path_get_dirname (path) : NULL;
      g_autofree char *new_base = NULL;
      g_autofree char *new_path = NULL;
      g_autoptr(virStorageVol) vol = NULL;

      if (base == NULL || !g_str_has_prefix (base, prefix))
        continue;
      vol = virStorageVolLookupByPath (data->call.conn, path);
      virResetLastError ();
      if (vol == NULL)
        continue;

      new_base = g_strconcat (to, base + strlen (from), NULL);
      new_path = g_build_filename (dir, new_base, NULL);
      if (g_file_test (new_path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE,
                       _("A volume “%s” already exists: remove it or choose another name."),
                       new_path);
          return FALSE;
        }
      tsr_journal_moved (data->journal, path, new_path);
      if (g_rename (path, new_path) != 0)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("Could not rename “%s”: %s"),
                       path, g_strerror (errno));
          return FALSE;
        }
      xmlSetProp (source, (const xmlChar *) "file", (const xmlChar *) new_path);
    }

  return TRUE;
}

static void
undo_rename_volumes (xmlDocPtr   doc,
                     const char *from,
                     const char *to)
{
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
  g_autofree char *prefix = g_strconcat (to, "-", NULL);

  for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next)
    {
      xmlNodePtr source = tsr_xml_is (d, "disk") ? tsr_xml_child (d, "source") : NULL;
      g_autofree char *path = source ? tsr_xml_prop (source, "file") : NULL;
      g_autofree char *base = path ? g_path_get_basename (path) : NULL;
      g_autofree char *dir = path ? g_path_get_dirname (path) : NULL;

      if (base == NULL || !g_str_has_prefix (base, prefix))
        continue;
      {
        g_autofree char *joined = g_strconcat (dir, "/", from, base + strlen (to), NULL);

        if (g_rename (path, joined) == 0)
          xmlSetProp (source, (const xmlChar *) "file", (const xmlChar *) joined);
      }
    }
}

static void
refresh_pools (virConnectPtr conn)
{
  virStoragePoolPtr *pools = NULL;
  int n = virConnectListAllStoragePools (conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);

  for (int i = 0; i < n; i++)
    {
      virStoragePoolRefresh (pools[i], 0);
      virStoragePoolFree (pools[i]);
    }
  free (pools);
  virResetLastError ();
}

/* HVM boots what is on the disk or the install media: choosing it alone
 * leaves the kernel; asking for both at once is a contradiction.
 */
static gboolean
settle_boot (GHashTable   *changes,
             const Prefs  *old,
             Prefs        *p,
             GError      **error)
{
  if (!g_str_equal (p->virt_mode, "hvm") || *p->kernel == '\0')
    return TRUE;

  if (g_hash_table_contains (changes, "kernel") && g_hash_table_contains (changes, "virt_mode"))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("virt_mode hvm boots from the disk or install media, so it takes "
                             "no kernel: use virt_mode pvh to boot a kernel directly."));
      return FALSE;
    }
  if (g_hash_table_contains (changes, "virt_mode"))
    tsr_settings_replace (&p->kernel, "");
  else if (!g_str_equal (old->virt_mode, "hvm") || *old->kernel == '\0')
    {
      /* Setting a kernel on an HVM VM: it becomes PVH, as in Qubes. */
      tsr_settings_replace (&p->virt_mode, "pvh");
    }
  return TRUE;
}

/* OLD with the changes applied, checked against the rules. */
static Prefs *
plan_prefs (WriteData    *data,
            const Prefs  *old,
            gboolean      running,
            GError      **error)
{
  g_autoptr(Prefs) p = tsr_settings_prefs_copy (old);
  g_autoptr(TsrHostCaps) caps = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, data->changes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!tsr_settings_prefs_apply (p, key, value, error))
      return NULL;
  if (g_hash_table_contains (data->changes, "mac") &&
      tsr_settings_mac_is_auto (g_hash_table_lookup (data->changes, "mac")))
    choose_automatic_mac (data->call.conn, old, p);
  if (!settle_boot (data->changes, old, p, error))
    return NULL;

  /* A VM gaining a network needs a MAC. */
  if (!g_str_equal (p->netvm, "none") && p->mac == NULL)
    p->mac = tsr_mac_generate (NULL);

  if (!(caps = tsr_host_caps_read_sync (data->call.conn, data->call.local, error)) ||
      !validate_prefs (data->call.conn, old, p, caps, data->call.kernels_dir, running, data->flags,
                       &data->warning, error) ||
      !tsr_settings_check_private_size (old, p, running, error))
    return NULL;
  return g_steal_pointer (&p);
}

/* What commit_prefs has done, for roll_back. */
typedef struct
{
  gboolean renamed_volumes;
  gboolean reservation_moved;
  gboolean defined;
} Done;

static gboolean
commit_prefs (WriteData     *data,
              virDomainPtr   dom,
              const Prefs   *old,
              const Prefs   *p,
              xmlDocPtr      doc,
              Done          *done,
              GError       **error)
{
  gboolean rename = !g_str_equal (old->name, p->name);
  g_autoptr(virDomain) redefined = NULL;
  g_autofree char *new_xml = NULL;
  xmlChar *dump = NULL;
  int dump_len = 0;

  if (rename)
    {
      if (!rename_volumes (data, doc, old->name, p->name, error))
        return FALSE;
      done->renamed_volumes = TRUE;
      tsr_journal_step ("rename:volumes");
    }

  if (g_strcmp0 (old->mac, p->mac) != 0 || g_strcmp0 (old->netvm, p->netvm) != 0 || rename)
    {
      if (!move_reservation (data, old, p, FALSE, error))
        return FALSE;
      done->reservation_moved = TRUE;
      tsr_journal_step ("rename:reservation");
    }

  xmlDocDumpMemory (doc, &dump, &dump_len);
  new_xml = g_strndup ((const char *) dump, dump_len);
  xmlFree (dump);
  if (!(redefined = virDomainDefineXML (data->call.conn, new_xml)))
    {
      tsr_error_set_from_libvirt (error, _("The new settings were refused"));
      return FALSE;
    }
  done->defined = TRUE;
  tsr_journal_step ("rename:defined");

  if (rename && virDomainRename (dom, p->name, 0) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not rename the VM"));
      return FALSE;
    }
  tsr_journal_commit (data->journal);
  tsr_journal_step ("rename:renamed");
  if (done->renamed_volumes)
    refresh_pools (data->call.conn);
  return TRUE;
}

static void
roll_back (WriteData   *data,
           const Prefs *old,
           const Prefs *p,
           const char  *old_xml,
           xmlDocPtr    doc,
           const Done  *done)
{
  /* Best effort: the error that made this necessary is the one to report. */
  if (done->defined)
    {
      g_autoptr(virDomain) back = virDomainDefineXML (data->call.conn, old_xml);
    }
  if (done->reservation_moved)
    {
      g_autoptr(GError) ignored = NULL;

      move_reservation (data, old, p, TRUE, &ignored);
    }
  if (done->renamed_volumes)
    {
      undo_rename_volumes (doc, old->name, p->name);
      refresh_pools (data->call.conn);
    }
  virResetLastError ();
}

/* What libvirt can change in a running VM changes now; the rest waits
 * for the next start, and is named in data->next_start.
 */
static void
apply_live (WriteData    *data,
            virDomainPtr  dom,
            const Prefs  *old,
            const Prefs  *p)
{
  g_autoptr(GString) later = g_string_new (NULL);

  if (p->memory != old->memory &&
      (p->memory > MAX (old->maxmem, old->memory) ||
       virDomainSetMemoryFlags (dom, p->memory * 1024, VIR_DOMAIN_AFFECT_LIVE) != 0))
    g_string_append (later, "memory, ");
  if (p->maxmem != old->maxmem) g_string_append (later, "maxmem, ");
  if (p->vcpus != old->vcpus) g_string_append (later, "vcpus, ");
  if (g_strcmp0 (p->virt_mode, old->virt_mode) != 0) g_string_append (later, "virt_mode, ");
  if (g_strcmp0 (p->kernel, old->kernel) != 0) g_string_append (later, "kernel, ");
  if (g_strcmp0 (p->kernelopts, old->kernelopts) != 0) g_string_append (later, "kernelopts, ");
  if (g_strcmp0 (p->mac, old->mac) != 0) g_string_append (later, "mac, ");
  if (g_strcmp0 (p->netvm, old->netvm) != 0) g_string_append (later, "netvm, ");
  if (g_strcmp0 (p->firmware, old->firmware) != 0) g_string_append (later, "firmware, ");
  if (p->debug != old->debug) g_string_append (later, "debug, ");
  virResetLastError ();

  if (later->len > 0)
    {
      g_string_truncate (later, later->len - 2);
      data->next_start = g_string_free (g_steal_pointer (&later), FALSE);
    }
}

/* The names of the changed properties, for messages. */
static char *
changes_list (GHashTable *changes)
{
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (changes, NULL);

  return g_strjoinv (", ", (char **) keys);
}

/* Whether the definition is still OLD_XML: another program (or another
 * host's client) may have defined the VM since it was read.
 */
static gboolean
unchanged_since (virDomainPtr  dom,
                 const char   *old_xml)
{
  g_autofree char *now = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);

  virResetLastError ();
  return now != NULL && g_str_equal (now, old_xml);
}

/* One read-modify-write. FALSE with *CHANGED set when the definition
 * changed between the read and the write: nothing was written, and the
 * caller reads again and applies the same changes on top.
 */
static gboolean
write_once (WriteData  *data,
            gboolean   *changed,
            GError    **error)
{
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(Prefs) old = NULL;
  g_autoptr(Prefs) p = NULL;
  g_autofree char *old_xml = NULL;
  Done done = { FALSE, };
  xmlDocPtr doc;
  gboolean running;

  *changed = FALSE;
  g_clear_pointer (&data->warning, g_free);
  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                         data->call.name, error)))
    return FALSE;

  running = virDomainIsActive (dom) == 1;
  old_xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (old_xml == NULL)
    tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
  if (old_xml == NULL ||
      !(old = tsr_settings_read_prefs_sync (data->call.conn, dom, data->call.kernels_dir,
                                            error)) ||
      !(p = plan_prefs (data, old, running, error)))
    return FALSE;

  if (!unchanged_since (dom, old_xml))
    {
      *changed = TRUE;
      return FALSE;
    }

  /* A private volume grows first: nothing else changes if it cannot. */
  if (p->private_size != old->private_size &&
      !tsr_settings_grow_private_sync (data->call.conn, dom, p->private_size, error))
    return FALSE;

  /* Everything checked: now change. Several steps (a rename, an address
   * moved) are recorded first, for the recovery after a crash.
   */
  if (!g_str_equal (old->name, p->name) || g_strcmp0 (old->mac, p->mac) != 0 ||
      g_strcmp0 (old->netvm, p->netvm) != 0)
    {
      data->journal = tsr_journal_begin_for (data->call.conn,
                                             g_str_equal (old->name, p->name)
                                             ? "address change" : "rename", old->name);
      tsr_journal_restore (data->journal, data->call.uuid, old_xml);
      tsr_journal_step ("rename:journaled");
    }
  doc = xmlReadMemory (old_xml, strlen (old_xml), "d.xml", NULL, XML_PARSE_NONET);
  tsr_settings_prefs_write_xml (doc, old, p, data->call.kernels_dir);
  if (!commit_prefs (data, dom, old, p, doc, &done, error))
    {
      roll_back (data, old, p, old_xml, doc, &done);
      xmlFreeDoc (doc);
      tsr_journal_end_on (g_steal_pointer (&data->journal), data->call.conn);
      return FALSE;
    }
  xmlFreeDoc (doc);
  tsr_journal_end_on (g_steal_pointer (&data->journal), data->call.conn);

  if (p->autostart != old->autostart)
    virDomainSetAutostart (dom, p->autostart ? 1 : 0);
  if (running)
    apply_live (data, dom, old, p);
  return TRUE;
}

#define WRITE_ATTEMPTS 5

/* No lost update: Tessera's processes on this machine take the VM's lock
 * for the whole read-modify-write; anything else that defines the VM
 * meanwhile (virsh, another host's client) is seen by comparing the
 * definition before writing, and the same changes are applied again on
 * top of the new one. Changes to different properties both stay; on the
 * same property the later write wins, as if it came second.
 */
static gboolean
write_step (gpointer       task_data,
            GCancellable  *cancellable,
            GError       **error)
{
  WriteData *data = task_data;

  for (guint attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++)
    {
      const char *new_name = g_hash_table_lookup (data->changes, "name");
      int lock = data->call.local ? tsr_local_lock_acquire (data->call.uuid) : -1;
      /* A rename takes the new name as a create would (same order of locks
       * as a linked clone: the VM's, then the name's).
       */
      int name_lock = data->call.local && new_name != NULL ? tsr_local_lock_name (new_name) : -1;
      gboolean changed, ok;

      ok = write_once (data, &changed, error);
      tsr_local_lock_release (name_lock);
      tsr_local_lock_release (lock);
      if (ok || !changed)
        return ok;
      g_info ("%s: the definition changed elsewhere while it was written; applying the "
              "changes again on top (attempt %u)", data->call.uuid, attempt + 1);
    }

  {
    g_autofree char *names = changes_list (data->changes);

    g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                 _("The VM’s definition kept changing elsewhere while %s was written: nothing "
                   "was changed. Try again when the other program is done."), names);
  }
  return FALSE;
}

void
tsr_connection_set_prefs_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GHashTable          *changes,
                                TsrPrefsFlags        flags,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  WriteData *data;
  GHashTableIter iter;
  gpointer key, value;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (changes != NULL);

  data = tsr_connection_call_new (self, vm, sizeof (WriteData), write_data_clear,
                                  tsr_connection_set_prefs_async, cancellable, callback,
                                  user_data, &task);
  if (data == NULL)
    return;

  data->reserve_lock = tsr_connection_get_reserve_lock (self);
  data->flags = flags;
  data->infos = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_network_info_free);
  data->changes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, changes);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (data->changes, g_strdup (key), g_strdup (value));
  tsr_task_run_sync (task, write_step);
}

gboolean
tsr_connection_set_prefs_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 char          **next_start,
                                 char          **warning,
                                 GError        **error)
{
  WriteData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  data = g_task_get_task_data (G_TASK (result));
  if (data != NULL)
    while (data->infos->len > 0)
      tsr_connection_take_network_info (self, g_ptr_array_steal_index (data->infos, 0));

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  tsr_connection_refresh_vm (self, data->call.uuid);
  if (next_start != NULL)
    *next_start = g_steal_pointer (&data->next_start);
  if (warning != NULL)
    *warning = g_steal_pointer (&data->warning);
  return TRUE;
}
