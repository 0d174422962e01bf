/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-template.h"
#include "tsr-media.h"
#include "tsr-media-vm.h"
#include "tsr-journal.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* Start with install media, for one boot */

typedef struct
{
  TsrCall        call;
  TsrMedia      *media;
  TsrProgress    progress;
} MediaData;

static void
media_data_clear (gpointer user_data)
{
  MediaData *data = user_data;

  tsr_media_free (data->media);
  tsr_progress_clear (&data->progress);
}

static gboolean
resolve_media (virConnectPtr   conn,
               TsrMedia       *media,
               GError        **error)
{
  g_autoptr(virStoragePool) pool = NULL;
  g_autoptr(virStorageVol) vol = NULL;

  if (media->kind == TSR_MEDIA_FILE || media->kind == TSR_MEDIA_BLOCK)
    return tsr_media_check_local (media, error);

  pool = virStoragePoolLookupByName (conn, media->owner);
  virResetLastError ();
  if (pool == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("No storage pool named “%s” for install media “%s”: use POOL:VOLUME, or a "
                     "path."), media->owner, media->spec);
      return FALSE;
    }

  vol = virStorageVolLookupByName (pool, media->volume);
  virResetLastError ();
  if (vol == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Pool “%s” has no volume “%s”."), media->owner, media->volume);
      return FALSE;
    }
  media->path = virStorageVolGetPath (vol);

  return media->path != NULL;
}

/* Per-device boot order replaces <os><boot>: the disks boot in their
 * order from 2 on, after the cdrom. Returns the target names in use.
 */
static GHashTable *
renumber_boot (xmlNodePtr os,
               xmlNodePtr devices)
{
  GHashTable *used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint order = 2;

  tsr_xml_remove_children (os, "boot");
  for (xmlNodePtr node = devices->children; node != NULL; node = node->next)
    {
      xmlNodePtr target;
      g_autofree char *device = NULL;

      if (!tsr_xml_is (node, "disk") && !tsr_xml_is (node, "interface"))
        continue;
      tsr_xml_remove_children (node, "boot");
      if (!tsr_xml_is (node, "disk"))
        continue;
      target = tsr_xml_child (node, "target");
      if (target != NULL)
        g_hash_table_add (used, tsr_xml_prop (target, "dev"));
      device = tsr_xml_prop (node, "device");
      if (device == NULL || g_str_equal (device, "disk"))
        {
          g_autofree char *num = g_strdup_printf ("%u", order++);

          tsr_xml_add_with (node, "boot", "order", num, NULL);
        }
    }
  return used;
}

static void
add_cdrom (xmlNodePtr      devices,
           const TsrMedia *media,
           GHashTable     *used,
           gboolean        sata)
{
  static const char * const sata_devs[] = { "sdz", "sdy", "sdx", "sdw", NULL };
  static const char * const ide_devs[] = { "hdc", "hdd", "hdb", NULL };
  const char * const *candidates = sata ? sata_devs : ide_devs;
  gboolean block = media->kind == TSR_MEDIA_BLOCK;
  const char *dev = NULL;
  xmlNodePtr cdrom;

  for (guint i = 0; candidates[i] && dev == NULL; i++)
    if (!g_hash_table_contains (used, candidates[i]))
      dev = candidates[i];

  cdrom = tsr_xml_add_with (devices, "disk", "type", block ? "block" : "file",
                            "device", "cdrom", NULL);
  tsr_xml_add_with (cdrom, "driver", "name", "qemu", "type", "raw", NULL);
  tsr_xml_add_with (cdrom, "source", block ? "dev" : "file", media->path, NULL);
  tsr_xml_add_with (cdrom, "target", "dev", dev, "bus", sata ? "sata" : "ide", NULL);
  tsr_xml_add (cdrom, "readonly", NULL);
  tsr_xml_add_with (cdrom, "boot", "order", "1", NULL);
}

/* The live definition gets a read-only cdrom and boots it first, then the
 * disk; the persistent one is left alone, so the next plain start boots
 * from disk. libvirt runs a defined, inactive domain from the XML given to
 * virDomainCreateXML without touching its persistent definition.
 */
static char *
xml_with_cdrom (const char      *xml,
                const TsrMedia  *media,
                GError         **error)
{
  xmlDocPtr doc = xmlReadMemory (xml, strlen (xml), "d.xml", NULL, XML_PARSE_NONET);
  xmlNodePtr root, os, devices;
  g_autofree char *machine = NULL;
  g_autoptr(GHashTable) used = NULL;
  char *result;

  if (doc == NULL)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The VM’s definition could not be read."));
      return NULL;
    }

  root = xmlDocGetRootElement (doc);
  os = tsr_xml_child (root, "os");
  devices = tsr_xml_child (root, "devices");
  if (os == NULL || devices == NULL)
    {
      xmlFreeDoc (doc);
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The VM’s definition has no <os> or <devices>."));
      return NULL;
    }

  if (tsr_xml_child (os, "kernel") != NULL)
    {
      xmlFreeDoc (doc);
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("This VM boots a kernel directly (virt mode PVH), so it cannot boot "
                             "install media: set its kernel to (none) and virt mode to HVM."));
      return NULL;
    }

  machine = tsr_xml_find_prop (os, "type", "machine");
  used = renumber_boot (os, devices);
  add_cdrom (devices, media, used, machine == NULL || strstr (machine, "q35") != NULL);

  result = tsr_xml_dump (doc);
  xmlFreeDoc (doc);
  return result;
}

static gboolean boot_with_media (MediaData     *data,
                                 virDomainPtr   dom,
                                 GError       **error);

/* Boots the VM once from a copy of its definition with the media first. */
static gboolean
start_with_media (gpointer       task_data,
                  GCancellable  *cancellable,
                  GError       **error)
{
  MediaData *data = task_data;
  g_autoptr(TsrJournal) journal = NULL;
  g_autofree char *copy = NULL;
  g_autoptr(virDomain) dom = NULL;
  gboolean started;

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                         data->call.name, error)))
    return FALSE;

  /* A file inside another VM: copied through that VM's guest agent into
   * a volume that lives as long as this boot (tsr-media-vm.h).
   */
  if (data->media->kind == TSR_MEDIA_VM_FILE)
    {
      if (virDomainIsActive (dom) == 1)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                       _("“%s” is already running: shut it down first to boot it from "
                         "install media."), virDomainGetName (dom));
          return FALSE;
        }
      journal = tsr_journal_begin_for (data->call.conn, "media copy", virDomainGetName (dom));
      copy = tsr_media_vm_fetch (data->call.conn, data->media, virDomainGetName (dom), journal,
                                 &data->progress, cancellable, error);
      if (copy == NULL)
        return FALSE;
    }
  else if (!resolve_media (data->call.conn, data->media, error))
    return FALSE;

  started = boot_with_media (data, dom, error);
  tsr_journal_step ("media:started");
  if (!started && copy != NULL)
    tsr_media_vm_drop (data->call.conn, copy);
  return started;
}

static gboolean
boot_with_media (MediaData     *data,
                 virDomainPtr   dom,
                 GError       **error)
{
  g_autofree char *xml = NULL;
  g_autofree char *live = NULL;
  g_autofree char *name = NULL;
  g_autoptr(virDomain) started = NULL;

  if (virDomainIsActive (dom) == 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is already running: shut it down first to boot it from "
                     "install media."), virDomainGetName (dom));
      return FALSE;
    }

  /* A template installing an update commits its last session first. */
  if (!tsr_template_prepare_start_sync (dom, error))
    return FALSE;
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return FALSE;
    }

  if (!(live = xml_with_cdrom (xml, data->media, error)))
    return FALSE;

  /* The name first: any libvirt call, virDomainGetName too, clears the
   * error the failed start left in this thread.
   */
  name = g_strdup (virDomainGetName (dom));
  tsr_start_vm_network_sync (dom);
  started = virDomainCreateXML (data->call.conn, live, 0);
  if (started == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not start “%s” with %s"), name,
                                               data->media->spec);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }

  return TRUE;
}

void
tsr_connection_start_vm_with_media_async (TsrConnection       *self,
                                          TsrVm               *vm,
                                          const char          *media,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  tsr_connection_start_vm_with_media_full_async (self, vm, media, NULL, NULL, cancellable,
                                                 callback, user_data);
}

void
tsr_connection_start_vm_with_media_full_async (TsrConnection       *self,
                                               TsrVm               *vm,
                                               const char          *media,
                                               TsrProgressFunc      progress_func,
                                               gpointer             progress_data,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrMedia) parsed = NULL;
  MediaData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  if (!(parsed = tsr_media_parse (media, &error)))
    {
      g_task_report_error (self, callback, user_data, tsr_connection_start_vm_with_media_async,
                           g_steal_pointer (&error));
      return;
    }

  data = tsr_connection_call_new (self, vm, sizeof (MediaData), media_data_clear,
                                  tsr_connection_start_vm_with_media_async, cancellable,
                                  callback, user_data, &task);
  if (data == NULL)
    return;

  data->media = g_steal_pointer (&parsed);
  tsr_progress_init (&data->progress, progress_func, progress_data);
  tsr_task_run_sync (task, start_with_media);
}

gboolean
tsr_connection_start_vm_with_media_finish (TsrConnection  *self,
                                           GAsyncResult   *result,
                                           GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}
