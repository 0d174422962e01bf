/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-libvirt-private.h"
#include "tsr-settings-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* PCI devices */

typedef struct
{
  TsrCall        call;
  char          *device;
  gboolean       attach;
  GPtrArray     *devices;
} PciData;

static void
pci_data_clear (gpointer user_data)
{
  PciData *data = user_data;

  g_free (data->device);
  g_clear_pointer (&data->devices, g_ptr_array_unref);
}

static char *
xml_first_text (xmlNodePtr  node,
                const char *name)
{
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      if (tsr_xml_is (n, name))
        return tsr_xml_text (n);
      if (n->children != NULL)
        {
          char *found = xml_first_text (n, name);

          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

static TsrPciDevice *
pci_from_xml (const char *name,
              const char *xml)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);
  xmlNodePtr root = doc ? xmlDocGetRootElement (doc) : NULL;
  TsrPciDevice *dev;
  g_autofree char *domain = xml_first_text (root, "domain");
  g_autofree char *bus = xml_first_text (root, "bus");
  g_autofree char *slot = xml_first_text (root, "slot");
  g_autofree char *function = xml_first_text (root, "function");
  g_autofree char *vendor = xml_first_text (root, "vendor");
  g_autofree char *product = xml_first_text (root, "product");
  guint d, b, s, f;

  if (domain == NULL || bus == NULL || slot == NULL || function == NULL)
    return NULL;

  d = (guint) g_ascii_strtoull (domain, NULL, 0);
  b = (guint) g_ascii_strtoull (bus, NULL, 0);
  s = (guint) g_ascii_strtoull (slot, NULL, 0);
  f = (guint) g_ascii_strtoull (function, NULL, 0);

  dev = g_new0 (TsrPciDevice, 1);
  dev->name = g_strdup (name);
  dev->address = g_strdup_printf ("%04x:%02x:%02x.%x", d, b, s, f);
  dev->qubes_id = g_strdup_printf ("dom0:%02x_%02x.%x", b, s, f);
  dev->description = g_strdup_printf ("%s %s", vendor ? vendor : "", product ? product : "");
  g_strstrip (dev->description);
  return dev;
}

/* The <hostdev> of a domain's DEVICES that passes the host's PCI device at
 * ADDRESS ("0000:00:1f.2") through, compared as numbers: libvirt writes
 * them in hex with any padding.
 */
static xmlNodePtr
find_hostdev (xmlNodePtr  devices,
              const char *address)
{
  guint d, b, s, f;

  if (sscanf (address, "%x:%x:%x.%x", &d, &b, &s, &f) != 4)
    return NULL;
  for (xmlNodePtr n = devices ? devices->children : NULL; n != NULL; n = n->next)
    {
      xmlNodePtr addr = tsr_xml_is (n, "hostdev") ? tsr_xml_find (n, "source/address") : NULL;
      const char *props[] = { "domain", "bus", "slot", "function" };
      guint want[] = { d, b, s, f };
      gboolean same = addr != NULL;

      for (guint i = 0; i < G_N_ELEMENTS (props) && same; i++)
        {
          g_autofree char *value = tsr_xml_prop (addr, props[i]);

          same = (guint) g_ascii_strtoull (value ? value : "0", NULL, 0) == want[i];
        }
      if (same)
        return n;
    }
  return NULL;
}

static GPtrArray *
list_pci_sync (virConnectPtr   conn,
               GError        **error)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pci_device_free);
  virNodeDevicePtr *devs = NULL;
  virDomainPtr *doms = NULL;
  int n, m;

  tsr_assert_worker_thread ();
  n = virConnectListAllNodeDevices (conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
  if (n < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not list the host’s PCI devices"));
      g_ptr_array_unref (list);
      return NULL;
    }

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virNodeDeviceGetXMLDesc (devs[i], 0);
      TsrPciDevice *dev = xml ? pci_from_xml (virNodeDeviceGetName (devs[i]), xml) : NULL;

      if (dev != NULL)
        g_ptr_array_add (list, dev);
      virNodeDeviceFree (devs[i]);
    }
  free (devs);

  /* Which VM holds each: any domain with a matching <hostdev>. */
  m = virConnectListAllDomains (conn, &doms, 0);
  for (int i = 0; i < m; i++)
    {
      g_autoptr(virDomain) dom = doms[i];
      g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
      g_autoptr(xmlDoc) doc = tsr_xml_parse (xml);
      xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;

      for (guint j = 0; devices != NULL && j < list->len; j++)
        {
          TsrPciDevice *dev = g_ptr_array_index (list, j);

          if (find_hostdev (devices, dev->address) != NULL)
            {
              g_free (dev->assigned_to);
              dev->assigned_to = g_strdup (virDomainGetName (dom));
            }
        }
    }
  free (doms);
  virResetLastError ();

  return list;
}

static gboolean
list_pci_step (gpointer       task_data,
               GCancellable  *cancellable,
               GError       **error)
{
  PciData *data = task_data;

  data->devices = list_pci_sync (data->call.conn, error);
  return data->devices != NULL;
}

void
tsr_connection_list_pci_async (TsrConnection       *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (tsr_connection_call_new (self, NULL, sizeof (PciData), pci_data_clear,
                               tsr_connection_list_pci_async, cancellable, callback, user_data,
                               &task))
    tsr_task_run_sync (task, list_pci_step);
}

GPtrArray *
tsr_connection_list_pci_finish (TsrConnection  *self,
                                GAsyncResult   *result,
                                GError        **error)
{
  PciData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return g_steal_pointer (&data->devices);
}

/* DOMAIN_XML with DEV's <hostdev> added or removed: one new persistent
 * definition, as for every other setting.
 */
static char *
pci_edit_definition (const char          *domain_xml,
                     const TsrPciDevice  *dev,
                     gboolean             attach,
                     GError             **error)
{
  g_autoptr(xmlDoc) doc = tsr_xml_parse (domain_xml);
  xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;
  xmlNodePtr match = find_hostdev (devices, dev->address);
  guint d, b, s, f;

  if (devices == NULL || attach == (match != NULL) ||
      sscanf (dev->address, "%x:%x:%x.%x", &d, &b, &s, &f) != 4)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   attach ? _("%s is already assigned to this VM.")
                          : _("%s is not assigned to this VM."),
                   dev->address);
      return NULL;
    }

  if (attach)
    {
      xmlNodePtr hostdev = tsr_xml_add_with (devices, "hostdev", "mode", "subsystem",
                                             "type", "pci", "managed", "yes", NULL);
      g_autofree char *sd = g_strdup_printf ("0x%04x", d);
      g_autofree char *sb = g_strdup_printf ("0x%02x", b);
      g_autofree char *ss = g_strdup_printf ("0x%02x", s);
      g_autofree char *sf = g_strdup_printf ("0x%x", f);

      tsr_xml_add_with (tsr_xml_add (hostdev, "source", NULL), "address", "domain", sd,
                        "bus", sb, "slot", ss, "function", sf, NULL);
    }
  else
    {
      xmlUnlinkNode (match);
      xmlFreeNode (match);
    }
  return tsr_xml_dump (doc);
}

/* The device by any of the names qvm-pci lists, or NULL. */
static TsrPciDevice *
find_pci_device (GPtrArray  *devices,
                 const char *name)
{
  for (guint i = 0; i < devices->len; i++)
    {
      TsrPciDevice *dev = g_ptr_array_index (devices, i);

      if (g_str_equal (dev->name, name) || g_str_equal (dev->address, name) ||
          g_str_equal (dev->qubes_id, name) || g_str_equal (dev->address + 5, name))
        return dev;
    }
  return NULL;
}

static gboolean
pci_attach_sync (gpointer       task_data,
                 GCancellable  *cancellable,
                 GError       **error)
{
  PciData *data = task_data;
  g_autoptr(GPtrArray) devices = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *new_xml = NULL;
  g_autoptr(Prefs) prefs = NULL;
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(virDomain) defined = NULL;
  TsrPciDevice *found;

  if (!(devices = list_pci_sync (data->call.conn, error)))
    return FALSE;
  if (!(found = find_pci_device (devices, data->device)))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("No host PCI device “%s”: run “qvm-pci” to list them."),
                   data->device);
      return FALSE;
    }

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                         data->call.name, error)))
    return FALSE;

  if (data->attach && found->assigned_to != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("%s is already assigned to “%s”: detach it there first."),
                   found->address, found->assigned_to);
      return FALSE;
    }

  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  /* Only the virt mode matters here, not which kernel it boots. */
  prefs = xml ? tsr_settings_prefs_parse (xml, NULL, NULL) : NULL;
  if (data->attach && prefs != NULL && !g_str_equal (prefs->virt_mode, "hvm"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("PCI devices need virt_mode hvm, and “%s” uses %s: set virt_mode "
                     "hvm and kernel (none) first."), virDomainGetName (dom),
                   prefs->virt_mode);
      return FALSE;
    }

  if (!(new_xml = pci_edit_definition (xml, found, data->attach, error)))
    return FALSE;
  defined = virDomainDefineXML (data->call.conn, new_xml);
  if (defined == NULL)
    {
      tsr_error_set_from_libvirt (error, data->attach ? _("Could not attach the device")
                                                      : _("Could not detach the device"));
      return FALSE;
    }

  return TRUE;
}

void
tsr_connection_pci_attach_async (TsrConnection       *self,
                                 TsrVm               *vm,
                                 const char          *device,
                                 gboolean             attach,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PciData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (device != NULL);

  data = tsr_connection_call_new (self, vm, sizeof (PciData), pci_data_clear,
                                  tsr_connection_pci_attach_async, cancellable, callback,
                                  user_data, &task);
  if (data == NULL)
    return;

  data->device = g_strdup (device);
  data->attach = attach;
  tsr_task_run_sync (task, pci_attach_sync);
}

gboolean
tsr_connection_pci_attach_finish (TsrConnection  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  return tsr_task_propagate_boolean (self, result, error);
}
