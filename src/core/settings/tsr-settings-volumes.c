/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-libvirt.h"
#include "tsr-libvirt-private.h"
#include "tsr-private-volume.h"
#include "tsr-settings-private.h"
#include "tsr-task.h"
#include "tsr-template.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"

/* Volumes of template-based VMs: an AppVM's private size (qvm-prefs),
 * qvm-volume list and qvm-volume revert.
 */

guint64
tsr_settings_private_size_sync (virConnectPtr  conn,
                                virDomainPtr   dom)
{
  tsr_assert_worker_thread ();
  return tsr_private_volume_size_sync (conn, dom);
}

gboolean
tsr_settings_check_private_size (const Prefs  *old,
                                 const Prefs  *p,
                                 gboolean      running,
                                 GError      **error)
{
  g_autofree char *was = NULL;
  g_autofree char *wanted = NULL;

  if (p->private_size == old->private_size)
    return TRUE;
  was = g_format_size_full (old->private_size, G_FORMAT_SIZE_IEC_UNITS);
  wanted = g_format_size_full (p->private_size, G_FORMAT_SIZE_IEC_UNITS);
  if (p->private_size < old->private_size)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The private volume of “%s” can only grow: it has %s, not less (%s)."),
                   old->name, was, wanted);
      return FALSE;
    }
  if (running)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING,
                   _("“%s” is running: shut it down (qvm-shutdown --wait %s) before growing its "
                     "private volume."), old->name, old->name);
      return FALSE;
    }
  /* qcow2's own limit; the pool's room is not taken until written. */
  if (p->private_size > (G_GUINT64_CONSTANT (2) << 50))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("A private volume of %s is more than a qcow2 volume holds (2 PiB)."), wanted);
      return FALSE;
    }
  return TRUE;
}

/* Through libvirt, so that it works for an ordinary user too (the
 * window's Settings use the same call).
 */
gboolean
tsr_settings_grow_private_sync (virConnectPtr   conn,
                                virDomainPtr    dom,
                                guint64         size,
                                GError        **error)
{
  tsr_assert_worker_thread ();
  return tsr_private_volume_grow_sync (conn, dom, size, error);
}

/* qvm-volume list */

typedef struct
{
  TsrCall    call;
  GPtrArray *rows;
} VolumesData;

static void
volumes_data_clear (gpointer user_data)
{
  VolumesData *data = user_data;

  g_clear_pointer (&data->rows, g_ptr_array_unref);
}

static gboolean
add_rows (VolumesData   *data,
          virDomainPtr   dom,
          GError       **error)
{
  g_autoptr(GPtrArray) rows = tsr_template_volumes_sync (dom, error);

  if (rows == NULL)
    return FALSE;
  g_ptr_array_set_free_func (rows, NULL);
  g_ptr_array_extend_and_steal (data->rows, g_steal_pointer (&rows));
  return TRUE;
}

static gboolean
volumes_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  VolumesData *data = task_data;
  virDomainPtr *doms = NULL;
  int n;

  data->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_volume_row_free);
  if (data->call.uuid != NULL)
    {
      g_autoptr(virDomain) dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                                            data->call.name, error);

      return dom != NULL && add_rows (data, dom, error);
    }
  if ((n = virConnectListAllDomains (data->call.conn, &doms, 0)) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not list the VMs"));
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      /* One that went meanwhile is not listed. */
      add_rows (data, doms[i], NULL);
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();
  return TRUE;
}

void
tsr_connection_list_volumes_async (TsrConnection       *self,
                                   TsrVm               *vm,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (vm == NULL || TSR_IS_VM (vm));

  if (tsr_connection_call_new (self, vm, sizeof (VolumesData), volumes_data_clear,
                               tsr_connection_list_volumes_async, cancellable, callback,
                               user_data, &task))
    tsr_task_run_sync (task, volumes_step);
}

GPtrArray *
tsr_connection_list_volumes_finish (TsrConnection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  VolumesData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return g_steal_pointer (&data->rows);
}

/* qvm-volume revert */

typedef struct
{
  TsrCall  call;
  char    *volume;
  guint    revision;
} RevertData;

static void
revert_data_clear (gpointer user_data)
{
  RevertData *data = user_data;

  g_free (data->volume);
}

static gboolean
revert_step (gpointer       task_data,
             GCancellable  *cancellable,
             GError       **error)
{
  RevertData *data = task_data;
  g_autoptr(virDomain) dom = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(TsrVmConfig) config = NULL;
  int lock;
  gboolean ok;

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid, data->call.name, error)))
    return FALSE;
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  config = xml ? tsr_vm_config_parse (xml, NULL, NULL) : NULL;
  if (config == NULL || g_strcmp0 (config->klass, "TemplateVM") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a %s: only a TemplateVM’s root has revisions to go back to."),
                   virDomainGetName (dom), config && config->klass ? config->klass : "VM");
      return FALSE;
    }
  if (!g_str_equal (data->volume, "root"))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s:%s” has no revisions: only a TemplateVM’s root does (%s:root)."),
                   virDomainGetName (dom), data->volume, virDomainGetName (dom));
      return FALSE;
    }
  /* The same lock as a settings change: one change of the VM at a time. */
  lock = data->call.local ? tsr_local_lock_acquire (data->call.uuid) : -1;
  ok = tsr_template_revert_sync (dom, &data->revision, error);
  tsr_local_lock_release (lock);
  return ok;
}

void
tsr_connection_revert_volume_async (TsrConnection       *self,
                                    TsrVm               *vm,
                                    const char          *volume,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  RevertData *data;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (volume != NULL);

  data = tsr_connection_call_new (self, vm, sizeof (RevertData), revert_data_clear,
                                  tsr_connection_revert_volume_async, cancellable, callback,
                                  user_data, &task);
  if (data == NULL)
    return;
  data->volume = g_strdup (volume);
  tsr_task_run_sync (task, revert_step);
}

gboolean
tsr_connection_revert_volume_finish (TsrConnection  *self,
                                     GAsyncResult   *result,
                                     guint          *revision,
                                     GError        **error)
{
  RevertData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (revision != NULL)
    *revision = data->revision;
  return TRUE;
}
