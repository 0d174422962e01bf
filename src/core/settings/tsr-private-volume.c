/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-libvirt-private.h"
#include "tsr-private-volume.h"
#include "tsr-task.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

/* An AppVM's private disk, found in its persistent definition: the second
 * disk, as the creator attaches it (root, private, volatile).
 */

typedef struct
{
  TsrCall  call;
  guint64  size;     /* grow: the new size; get: the size read */
} PrivateData;

static char *
private_disk_target (xmlNodePtr  root,
                     char      **path)
{
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  guint n = 0;

  for (xmlNodePtr disk = devices ? devices->children : NULL; disk != NULL; disk = disk->next)
    {
      g_autofree char *device = tsr_xml_prop (disk, "device");

      if (!tsr_xml_is (disk, "disk") || (device != NULL && !g_str_equal (device, "disk")))
        continue;
      if (n++ == 1)
        {
          *path = tsr_xml_find_prop (disk, "source", "file");
          return tsr_xml_find_prop (disk, "target", "dev");
        }
    }
  return NULL;
}

/* The private volume of DOM, and its disk's target (vdb). */
static virStorageVolPtr
lookup_private_volume (virConnectPtr   conn,
                       virDomainPtr    dom,
                       char          **target,
                       GError        **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_autoptr(TsrVmConfig) config = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  g_autofree char *path = NULL;
  virStorageVolPtr vol;

  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return NULL;
    }
  if (!(config = tsr_vm_config_parse (xml, NULL, error)))
    return NULL;
  if (g_strcmp0 (config->klass, "AppVM") != 0 && g_strcmp0 (config->klass, "DispVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” is a %s: only an AppVM or a DisposableVM has a private disk of its "
                     "own."),
                   config->name, config->klass);
      return NULL;
    }
  doc = tsr_xml_parse (xml);
  *target = doc ? private_disk_target (xmlDocGetRootElement (doc), &path) : NULL;
  if (*target == NULL || path == NULL)
    {
      g_clear_pointer (target, g_free);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("“%s” has no private disk: its second disk is missing."), config->name);
      return NULL;
    }
  if (!(vol = virStorageVolLookupByPath (conn, path)))
    {
      g_clear_pointer (target, g_free);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _("The private disk of “%s”, %s, is in no storage pool: refresh its pool "
                     "or grow it with qemu-img."), config->name, path);
      virResetLastError ();
      return NULL;
    }
  return vol;
}

static gboolean
get_private_size_sync (gpointer       task_data,
                       GCancellable  *cancellable,
                       GError       **error)
{
  PrivateData *data = task_data;
  g_autoptr(virDomain) dom = NULL;
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *target = NULL;
  virStorageVolInfo info = { 0 };

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid, data->call.name, error)) ||
      !(vol = lookup_private_volume (data->call.conn, dom, &target, error)))
    return FALSE;
  if (virStorageVolGetInfo (vol, &info) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the size of the private disk"));
      return FALSE;
    }
  data->size = info.capacity;
  return TRUE;
}

gboolean
tsr_private_volume_grow_sync (virConnectPtr   conn,
                              virDomainPtr    dom,
                              guint64         size,
                              GError        **error)
{
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *target = NULL;
  virStorageVolInfo info = { 0 };
  int ret;

  if (!(vol = lookup_private_volume (conn, dom, &target, error)))
    return FALSE;
  if (virStorageVolGetInfo (vol, &info) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the size of the private disk"));
      return FALSE;
    }
  if (size < info.capacity)
    {
      g_autofree char *now = g_format_size_full (info.capacity, G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The private disk can only grow: it has %s now. Shrinking it would cut "
                     "off the end of its file system."), now);
      return FALSE;
    }
  if (size == info.capacity)
    return TRUE;

  /* A running VM's disk is grown by QEMU, which then tells the guest;
   * qemu-img must not touch an image in use.
   */
  if (virDomainIsActive (dom) == 1)
    ret = virDomainBlockResize (dom, target, size, VIR_DOMAIN_BLOCK_RESIZE_BYTES);
  else
    ret = virStorageVolResize (vol, size, 0);
  if (ret < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not grow the private disk"));
      return FALSE;
    }
  return TRUE;
}

guint64
tsr_private_volume_size_sync (virConnectPtr  conn,
                              virDomainPtr   dom)
{
  g_autoptr(virStorageVol) vol = NULL;
  g_autofree char *target = NULL;
  virStorageVolInfo info = { 0 };

  if ((vol = lookup_private_volume (conn, dom, &target, NULL)) != NULL)
    virStorageVolGetInfo (vol, &info);
  virResetLastError ();
  return info.capacity;
}

static gboolean
grow_private_sync (gpointer       task_data,
                   GCancellable  *cancellable,
                   GError       **error)
{
  PrivateData *data = task_data;
  g_autoptr(virDomain) dom = NULL;

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid, data->call.name, error)))
    return FALSE;
  return tsr_private_volume_grow_sync (data->call.conn, dom, data->size, error);
}

void
tsr_connection_get_private_size_async (TsrConnection       *self,
                                       TsrVm               *vm,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  if (tsr_connection_call_new (self, vm, sizeof (PrivateData), NULL,
                               tsr_connection_get_private_size_async, cancellable, callback,
                               user_data, &task) == NULL)
    return;
  tsr_task_run_sync (task, get_private_size_sync);
}

gboolean
tsr_connection_get_private_size_finish (TsrConnection  *self,
                                        GAsyncResult   *result,
                                        guint64        *size,
                                        GError        **error)
{
  PrivateData *data;

  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!tsr_task_propagate_boolean (self, result, error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (size != NULL)
    *size = data->size;
  return TRUE;
}

void
tsr_connection_grow_private_async (TsrConnection       *self,
                                   TsrVm               *vm,
                                   guint64              size,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  PrivateData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  data = tsr_connection_call_new (self, vm, sizeof (PrivateData), NULL,
                                  tsr_connection_grow_private_async, cancellable, callback,
                                  user_data, &task);
  if (data == NULL)
    return;
  data->size = size;
  tsr_task_run_sync (task, grow_private_sync);
}

gboolean
tsr_connection_grow_private_finish (TsrConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (TSR_IS_CONNECTION (self), FALSE);

  return tsr_task_propagate_boolean (self, result, error);
}
