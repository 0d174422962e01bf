/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>

#include "tsr-connection-private.h"
#include "tsr-console.h"
#include "tsr-error.h"
#include "tsr-task.h"
#include "tsr-threads.h"
#include "tsr-xml-private.h"

/* At most this many keys at once, libvirt's own limit. */
#define MAX_KEYS VIR_DOMAIN_SEND_KEY_MAX_KEYS

gboolean
tsr_uri_can_pass_fds (const char *uri)
{
  g_autoptr(GUri) parsed = NULL;
  const char *scheme;
  const char *plus;

  if (uri == NULL || !(parsed = g_uri_parse (uri, G_URI_FLAGS_NON_DNS, NULL)))
    return FALSE;

  /* "driver" and "driver+unix" talk to libvirtd over a UNIX socket, which
   * carries descriptors; ssh, tls, tcp and ext do not.
   */
  scheme = g_uri_get_scheme (parsed);
  plus = strchr (scheme, '+');
  if (plus != NULL && g_ascii_strcasecmp (plus + 1, "unix") != 0)
    return FALSE;
  return g_uri_get_host (parsed) == NULL || *g_uri_get_host (parsed) == '\0';
}

typedef struct
{
  TsrCall  call;
  char    *uri;
  int      fd;
  guint    codes[MAX_KEYS];
  guint    n_codes;
} ConsoleData;

static void
console_data_clear (gpointer user_data)
{
  ConsoleData *data = user_data;

  if (data->fd >= 0)
    close (data->fd);
  g_free (data->uri);
}

static gpointer
console_data_new (TsrConnection        *conn,
                  TsrVm                *vm,
                  gpointer              source_tag,
                  GCancellable         *cancellable,
                  GAsyncReadyCallback   callback,
                  gpointer              user_data,
                  GTask               **task)
{
  ConsoleData *data = tsr_connection_call_new (conn, vm, sizeof (ConsoleData), console_data_clear,
                                               source_tag, cancellable, callback, user_data, task);

  if (data == NULL)
    return NULL;
  data->fd = -1;
  data->uri = g_strdup (tsr_connection_get_uri (conn));
  return data;
}

/* The running domain, or an error that says how to get there. */
static virDomainPtr
lookup_running (ConsoleData  *data,
                GError      **error)
{
  g_autoptr(virDomain) dom = tsr_domain_lookup_by_uuid (data->call.conn, data->call.uuid,
                                                        data->call.name, error);

  if (dom == NULL)
    return NULL;
  if (virDomainIsActive (dom) != 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING,
                   _("“%s” is not running: start it first (qvm-start %s)."),
                   virDomainGetName (dom), virDomainGetName (dom));
      return NULL;
    }
  return g_steal_pointer (&dom);
}

/* The console speaks VNC only: say what to use for anything else. */
static gboolean
check_display (virDomainPtr   dom,
               GError       **error)
{
  g_autofree char *xml = virDomainGetXMLDesc (dom, 0);
  g_autoptr(xmlDoc) doc = xml ? tsr_xml_parse (xml) : NULL;
  xmlNodePtr devices = doc ? tsr_xml_child (xmlDocGetRootElement (doc), "devices") : NULL;
  xmlNodePtr graphics = devices ? tsr_xml_child (devices, "graphics") : NULL;
  g_autofree char *type = graphics ? tsr_xml_prop (graphics, "type") : NULL;
  const char *name;

  /* Before any other libvirt call: each one clears the thread's last error. */
  if (doc == NULL)
    {
      tsr_error_set_from_libvirt (error, _("Could not read the VM’s definition"));
      return FALSE;
    }
  name = virDomainGetName (dom);
  if (graphics == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” has no graphical display. Use its serial console, or add "
                     "<graphics type='vnc'/> to it with “virsh edit %s” and start it again."),
                   name, name);
      return FALSE;
    }
  if (g_strcmp0 (type, "vnc") != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” shows its screen over %s, which this console does not speak: "
                     "open it with “virt-viewer %s”."), name, type ? type : "?", name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
open_graphics (gpointer       task_data,
               GCancellable  *cancellable,
               GError       **error)
{
  ConsoleData *data = task_data;
  g_autoptr(virDomain) dom = NULL;
  const char *name;

  tsr_assert_worker_thread ();

  if (!(dom = lookup_running (data, error)) || !check_display (dom, error))
    return FALSE;
  /* Read before the call: virDomainGetName() clears the last error. */
  name = virDomainGetName (dom);

  /* Authentication is skipped because libvirt itself hands over the
   * socket: whoever may manage the VM may see its screen.
   */
  data->fd = virDomainOpenGraphicsFD (dom, 0, VIR_DOMAIN_OPEN_GRAPHICS_SKIPAUTH);
  if (data->fd < 0)
    {
      g_autofree char *what = g_strdup_printf (_("Could not open the display of “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }
  return TRUE;
}

void
tsr_console_open_graphics_async (TsrConnection        *conn,
                                 TsrVm                *vm,
                                 GCancellable         *cancellable,
                                 GAsyncReadyCallback   callback,
                                 gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  const char *uri;

  g_return_if_fail (TSR_IS_CONNECTION (conn));
  g_return_if_fail (TSR_IS_VM (vm));

  uri = tsr_connection_get_uri (conn);
  if (!tsr_uri_can_pass_fds (uri))
    {
      g_task_report_new_error (conn, callback, user_data, tsr_console_open_graphics_async,
                               TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                               _("The screen of a VM on another host cannot be shown here yet "
                                 "(%s cannot pass the display’s socket). Open it with "
                                 "“remote-viewer” or “virt-viewer --connect %s %s”."),
                               uri, uri, tsr_vm_get_name (vm));
      return;
    }

  if (console_data_new (conn, vm, tsr_console_open_graphics_async, cancellable,
                        callback, user_data, &task) != NULL)
    tsr_task_run_sync (task, open_graphics);
}

int
tsr_console_open_graphics_finish (TsrConnection  *conn,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  ConsoleData *data;
  int fd;

  if (!tsr_task_propagate_boolean (conn, result, error))
    return -1;
  data = g_task_get_task_data (G_TASK (result));
  fd = data->fd;
  data->fd = -1;
  return fd;
}

static gboolean
send_keys (gpointer       task_data,
           GCancellable  *cancellable,
           GError       **error)
{
  ConsoleData *data = task_data;
  g_autoptr(virDomain) dom = NULL;
  const char *name;

  tsr_assert_worker_thread ();

  if (!(dom = lookup_running (data, error)))
    return FALSE;
  /* Read before the call: virDomainGetName() clears the last error. */
  name = virDomainGetName (dom);
  if (virDomainSendKey (dom, VIR_KEYCODE_SET_LINUX, 0, data->codes, data->n_codes, 0) < 0)
    {
      g_autofree char *what = g_strdup_printf (_("Could not send the keys to “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
      return FALSE;
    }
  return TRUE;
}

void
tsr_console_send_keys_async (TsrConnection        *conn,
                             TsrVm                *vm,
                             const guint          *codes,
                             guint                 n_codes,
                             GCancellable         *cancellable,
                             GAsyncReadyCallback   callback,
                             gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  ConsoleData *data;

  g_return_if_fail (TSR_IS_CONNECTION (conn));
  g_return_if_fail (TSR_IS_VM (vm));
  g_return_if_fail (n_codes > 0 && n_codes <= MAX_KEYS);

  data = console_data_new (conn, vm, tsr_console_send_keys_async, cancellable,
                           callback, user_data, &task);
  if (data == NULL)
    return;
  memcpy (data->codes, codes, n_codes * sizeof (guint));
  data->n_codes = n_codes;
  tsr_task_run_sync (task, send_keys);
}

gboolean
tsr_console_send_keys_finish (TsrConnection  *conn,
                              GAsyncResult   *result,
                              GError        **error)
{
  return tsr_task_propagate_boolean (conn, result, error);
}
