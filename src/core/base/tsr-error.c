/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"

G_DEFINE_QUARK (tsr-error-quark, tsr_error)

/* Must run in the thread that made the failing libvirt call: libvirt keeps
 * the last error per thread.
 */
void
tsr_error_set_from_libvirt (GError     **error,
                            const char  *what)
{
  virErrorPtr verr = virGetLastError ();
  const char *msg = verr && verr->message ? verr->message : _("unknown libvirt error");
  TsrError code = TSR_ERROR_FAILED;
  const char *hint = NULL;

  if (verr != NULL)
    {
      switch (verr->code)
        {
        case VIR_ERR_NO_DOMAIN:
        case VIR_ERR_NO_NETWORK:
        case VIR_ERR_NO_STORAGE_POOL:
        case VIR_ERR_NO_STORAGE_VOL:
          code = TSR_ERROR_NOT_FOUND;
          hint = _("It may have been removed by another program; the list has been refreshed.");
          break;

        case VIR_ERR_OPERATION_INVALID:
          if (strstr (msg, "not running") != NULL)
            {
              code = TSR_ERROR_VM_NOT_RUNNING;
              hint = _("Start the VM first.");
            }
          else if (strstr (msg, "already running") != NULL || strstr (msg, "is active") != NULL)
            {
              code = TSR_ERROR_VM_RUNNING;
              hint = _("Shut the VM down first.");
            }
          break;

        case VIR_ERR_SYSTEM_ERROR:
          /* A failed system call in the daemon (a pool's missing folder) is
           * not a connection problem; only one on the way to it is.
           */
          if (verr->domain != VIR_FROM_RPC && verr->domain != VIR_FROM_REMOTE)
            break;
          G_GNUC_FALLTHROUGH;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_RPC:
        case VIR_ERR_AUTH_FAILED:
        case VIR_ERR_AUTH_CANCELLED:
        case VIR_ERR_AUTH_UNAVAILABLE:
          code = TSR_ERROR_CONNECTION;
          hint = _("Check that libvirtd is running (start it with “systemctl start libvirtd”, "
                   "or “libvirtd -d” where there is no systemd) and that you may use it "
                   "(run as root or join the “libvirt” group).");
          break;

        case VIR_ERR_OPERATION_UNSUPPORTED:
        case VIR_ERR_NO_SUPPORT:
          code = TSR_ERROR_NOT_SUPPORTED;
          break;

        default:
          break;
        }

      /* The connection went while the call ran ("client socket is closed",
       * "End of file while reading data"): whatever the code, the remedy
       * is the daemon's.
       */
      if (hint == NULL && (verr->domain == VIR_FROM_RPC || verr->domain == VIR_FROM_REMOTE))
        {
          code = TSR_ERROR_CONNECTION;
          hint = _("Check that libvirtd is running (start it with “systemctl start libvirtd”, "
                   "or “libvirtd -d” where there is no systemd) and that you may use it "
                   "(run as root or join the “libvirt” group).");
        }

      if (strstr (msg, "could not find capabilities for") != NULL ||
          strstr (msg, "KVM is not available") != NULL ||
          strstr (msg, "/dev/kvm") != NULL)
        {
          code = TSR_ERROR_NOT_SUPPORTED;
          hint = _("Hardware virtualisation is not available: enable VT-x (Intel) or AMD-V "
                   "(AMD) in the computer’s firmware settings. Until then Tessera uses "
                   "software emulation, which is much slower.");
        }

      /* A network that is not Tessera's (Tessera starts its own) is not
       * running: say how to start it.
       */
      if (verr->code == VIR_ERR_OPERATION_INVALID &&
          g_str_has_prefix (msg, "Requested operation is not valid: network '") &&
          g_str_has_suffix (msg, "' is not active"))
        {
          const char *start = msg + strlen ("Requested operation is not valid: network '");
          g_autofree char *name = g_strndup (start, strlen (start) - strlen ("' is not active"));

          g_set_error (error, TSR_ERROR, code,
                       _("%s: %s. Start that network first (virsh net-start %s; "
                         "virsh net-autostart %s starts it with the host) and try again."),
                       what, msg, name, name);
          return;
        }
    }

  if (hint != NULL)
    g_set_error (error, TSR_ERROR, code, "%s: %s. %s", what, msg, hint);
  else
    g_set_error (error, TSR_ERROR, code, "%s: %s", what, msg);
}

/* Whether the thread's last libvirt error says that what was looked up
 * does not exist, rather than that the lookup failed (a lost connection):
 * only then may the caller answer with its own "No … named" text. Must run
 * in the thread that made the lookup, before any other libvirt call.
 */
gboolean
tsr_error_last_is_not_found (void)
{
  virErrorPtr verr = virGetLastError ();

  return verr == NULL ||
         verr->code == VIR_ERR_NO_DOMAIN || verr->code == VIR_ERR_NO_NETWORK ||
         verr->code == VIR_ERR_NO_STORAGE_POOL || verr->code == VIR_ERR_NO_STORAGE_VOL;
}

/* A connection that could not be opened: the reason, and what the person
 * lacks. libvirt's words differ by cause (a missing socket, the socket's
 * permissions, polkit without a system bus, SASL): each gets its remedy.
 */
void
tsr_error_set_connect_failed (GError     **error,
                              const char  *uri)
{
  virErrorPtr verr = virGetLastError ();
  const char *msg = verr && verr->message ? verr->message : _("unknown libvirt error");
  gboolean system = uri != NULL && g_str_has_suffix (uri, "/system");
  const char *hint;

  /* No socket, or one nobody listens on (libvirtd killed or crashed). */
  if ((strstr (msg, "No such file or directory") != NULL ||
       strstr (msg, "Connection refused") != NULL) && strstr (msg, "sock") != NULL)
    hint = _("libvirtd is not running: start it with “systemctl start libvirtd” (or "
             "“libvirtd -d” where there is no systemd).");
  else if (system && (strstr (msg, "Permission denied") != NULL ||
                      strstr (msg, "system bus") != NULL || strstr (msg, "polkit") != NULL ||
                      strstr (msg, "authentication") != NULL || strstr (msg, "auth") != NULL))
    hint = _("This account may not manage the system’s virtual machines: join the “libvirt” "
             "group (sudo adduser $USER libvirt), then log out and in again; or ask your "
             "administrator.");
  else
    hint = _("Check that libvirtd is running (start it with “systemctl start libvirtd”, "
             "or “libvirtd -d” where there is no systemd) and that you may use it "
             "(run as root or join the “libvirt” group).");

  g_set_error (error, TSR_ERROR, TSR_ERROR_CONNECTION, _("Could not connect to %s: %s. %s"),
               uri, msg, hint);
}

/* While disconnected Tessera reconnects by itself: the user only waits. */
void
tsr_error_set_not_connected (GError     **error,
                             const char  *uri)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_CONNECTION,
               _("Not connected to %s: wait until Tessera has reconnected, then try again."),
               uri);
}

/* G_IO_ERROR_CANCELLED with MESSAGE, which says what was left behind, if
 * CANCELLABLE was cancelled.
 */
gboolean
tsr_error_set_if_cancelled (GCancellable  *cancellable,
                            const char    *message,
                            GError       **error)
{
  if (!g_cancellable_is_cancelled (cancellable))
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, message);
  return TRUE;
}
