/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-host.h"
#include "tsr-network.h"
#include "tsr-settings-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-vm-private.h"
#include "tsr-xml-private.h"

static const char *
bool_text (gboolean value)
{
  return value ? "True" : "False";
}

static void
add_pref (GPtrArray  *prefs,
          const char *name,
          const char *value,
          const char *default_value)
{
  TsrPref *pref = g_new0 (TsrPref, 1);

  pref->name = g_strdup (name);
  pref->value = g_strdup (value ? value : "");
  pref->default_value = g_strdup (default_value);
  pref->is_default = default_value != NULL && g_strcmp0 (pref->value, default_value) == 0;
  pref->read_only = tsr_pref_is_read_only (name);
  g_ptr_array_add (prefs, pref);
}

static GPtrArray *
prefs_to_list (const Prefs *p,
               TsrVm       *vm)
{
  GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_pref_free);
  g_autofree char *memory = g_strdup_printf ("%" G_GUINT64_FORMAT, p->memory);
  g_autofree char *maxmem = g_strdup_printf ("%" G_GUINT64_FORMAT, p->maxmem);
  g_autofree char *vcpus = g_strdup_printf ("%u", p->vcpus);
  /* In bytes, as qvm-prefs lists sizes; set with a unit (4GiB) or GiB. */
  g_autofree char *private_size = g_strdup_printf ("%" G_GUINT64_FORMAT, p->private_size);
  g_autofree char *keep = g_strdup_printf ("%d", p->revisions_to_keep);

  for (guint i = 0; tsr_pref_names[i] != NULL; i++)
    {
      const char *n = tsr_pref_names[i];

      if (g_str_equal (n, "autostart")) add_pref (list, n, bool_text (p->autostart), "False");
      else if (g_str_equal (n, "class")) add_pref (list, n, p->klass, NULL);
      else if (g_str_equal (n, "debug")) add_pref (list, n, bool_text (p->debug), "False");
      else if (g_str_equal (n, "default_user")) add_pref (list, n, p->default_user, "user");
      else if (g_str_equal (n, "firmware")) add_pref (list, n, p->firmware, "bios");
      else if (g_str_equal (n, "include_in_backups"))
        add_pref (list, n, bool_text (p->include_in_backups), "True");
      else if (g_str_equal (n, "ip")) add_pref (list, n, vm ? tsr_vm_get_ip (vm) : NULL, NULL);
      else if (g_str_equal (n, "kernel")) add_pref (list, n, p->kernel, "");
      else if (g_str_equal (n, "kernelopts"))
        add_pref (list, n, p->kernelopts, *p->kernel ? TSR_DEFAULT_KERNELOPTS : "");
      else if (g_str_equal (n, "label")) add_pref (list, n, p->label, NULL);
      else if (g_str_equal (n, "mac"))
        {
          add_pref (list, n, p->mac, NULL);
          ((TsrPref *) g_ptr_array_index (list, list->len - 1))->is_default = !p->mac_fixed;
        }
      else if (g_str_equal (n, "maxmem")) add_pref (list, n, maxmem, "0");
      else if (g_str_equal (n, "memory")) add_pref (list, n, memory, "400");
      else if (g_str_equal (n, "name")) add_pref (list, n, p->name, NULL);
      else if (g_str_equal (n, "netvm")) add_pref (list, n, p->netvm, tsr_settings_default_netvm ());
      else if (g_str_equal (n, "storage")) add_pref (list, n, p->storage, NULL);
      else if (g_str_equal (n, "os")) add_pref (list, n, p->os, "");
      else if (g_str_equal (n, "private_size") && p->private_size > 0)
        add_pref (list, n, private_size, NULL);
      else if (g_str_equal (n, "revisions_to_keep") && p->revisions_to_keep >= 0)
        add_pref (list, n, keep, "1");
      else if (g_str_equal (n, "template")) add_pref (list, n, p->template_name, NULL);
      else if (g_str_equal (n, "uuid")) add_pref (list, n, p->uuid, NULL);
      else if (g_str_equal (n, "vcpus")) add_pref (list, n, vcpus, "2");
      else if (g_str_equal (n, "virt_mode")) add_pref (list, n, p->virt_mode, "hvm");
      else if (g_str_equal (n, "visible_gateway"))
        add_pref (list, n, vm ? tsr_vm_get_gateway (vm) : NULL, NULL);
      else if (g_str_equal (n, "visible_netmask"))
        add_pref (list, n, vm ? tsr_vm_get_netmask (vm) : NULL, NULL);
    }

  return list;
}

/* Reading */

typedef struct
{
  TsrCall        call;
  Prefs         *prefs;
} ReadData;

static void
read_data_clear (gpointer user_data)
{
  ReadData *data = user_data;

  tsr_settings_prefs_free (data->prefs);
}

Prefs *
tsr_settings_read_prefs_sync (virConnectPtr   conn,
                              virDomainPtr    dom,
                              const char     *kernels_dir,
                              GError        **error)
{
  g_autofree char *xml = NULL;
  Prefs *p;
  int autostart = 0;

  tsr_assert_worker_thread ();
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  if (xml == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return NULL;
    }
  if (!(p = tsr_settings_prefs_parse (xml, kernels_dir, error)))
    return NULL;
  if (g_strcmp0 (p->klass, "AppVM") == 0 || g_strcmp0 (p->klass, "DispVM") == 0)
    p->private_size = tsr_settings_private_size_sync (conn, dom);
  if (virDomainGetAutostart (dom, &autostart) == 0)
    p->autostart = autostart != 0;
  virResetLastError ();
  return p;
}

static gboolean
read_step (gpointer       task_data,
           GCancellable  *cancellable,
           GError       **error)
{
  ReadData *data = task_data;
  g_autoptr(virDomain) dom = NULL;

  if (!(dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                         data->call.name, error)))
    return FALSE;
  data->prefs = tsr_settings_read_prefs_sync (data->call.conn, dom, data->call.kernels_dir,
                                              error);
  return data->prefs != NULL;
}

void
tsr_connection_get_prefs_async (TsrConnection       *self,
                                TsrVm               *vm,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));
  g_return_if_fail (TSR_IS_VM (vm));

  if (!tsr_connection_call_new (self, vm, sizeof (ReadData), read_data_clear,
                                tsr_connection_get_prefs_async, cancellable, callback, user_data,
                                &task))
    return;

  g_object_set_data_full (G_OBJECT (task), "vm", g_object_ref (vm), g_object_unref);
  tsr_task_run_sync (task, read_step);
}

GPtrArray *
tsr_connection_get_prefs_finish (TsrConnection  *self,
                                 GAsyncResult   *result,
                                 GError        **error)
{
  ReadData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  return prefs_to_list (data->prefs, g_object_get_data (G_OBJECT (result), "vm"));
}

/* Choices */

typedef struct
{
  TsrCall        call;
  GStrv          virt_modes;
  GStrv          kernels;
} ChoicesData;

static void
choices_data_clear (gpointer user_data)
{
  ChoicesData *data = user_data;

  g_strfreev (data->virt_modes);
  g_strfreev (data->kernels);
}

static gboolean
choices_step (gpointer       task_data,
              GCancellable  *cancellable,
              GError       **error)
{
  ChoicesData *data = task_data;
  g_autoptr(TsrHostCaps) caps = NULL;
  g_autoptr(GStrvBuilder) modes = g_strv_builder_new ();

  if (!(caps = tsr_host_caps_read_sync (data->call.conn, data->call.local, error)))
    return FALSE;
  if (caps->hvm)
    {
      g_strv_builder_add (modes, "hvm");
      /* PVH on QEMU is direct kernel boot; on Xen the host must list it. */
      if (!g_str_equal (caps->virt_type, "xen") || caps->xen_pvh)
        g_strv_builder_add (modes, "pvh");
    }
  if (caps->xen_pv)
    g_strv_builder_add (modes, "pv");
  data->virt_modes = g_strv_builder_end (modes);
  data->kernels = tsr_kernels_list (data->call.kernels_dir);
  return TRUE;
}

void
tsr_connection_get_choices_async (TsrConnection       *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (TSR_IS_CONNECTION (self));

  if (tsr_connection_call_new (self, NULL, sizeof (ChoicesData), choices_data_clear,
                               tsr_connection_get_choices_async, cancellable, callback, user_data,
                               &task))
    tsr_task_run_sync (task, choices_step);
}

gboolean
tsr_connection_get_choices_finish (TsrConnection  *self,
                                   GAsyncResult   *result,
                                   GStrv          *virt_modes,
                                   GStrv          *kernels,
                                   GError        **error)
{
  ChoicesData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  data = g_task_get_task_data (G_TASK (result));
  if (virt_modes != NULL)
    *virt_modes = g_steal_pointer (&data->virt_modes);
  if (kernels != NULL)
    *kernels = g_steal_pointer (&data->kernels);
  return TRUE;
}
