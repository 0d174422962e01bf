/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Opening a serial console on libvirt's test driver: every refusal says
 * what is wrong and what to do. The console itself (the stream) needs
 * QEMU: tests/integration/test-console-serial.c.
 */
#include "config.h"

#include <string.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-serial.h"
#include "tsr-test-util.h"

static GError *
open_error (TsrConnection *conn,
            const char    *name)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(TsrSerial) serial = NULL;
  GError *error = NULL;
  TsrVm *vm;

  TSR_WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, name)) != NULL, 10);
  tsr_serial_open_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  serial = tsr_serial_open_finish (conn, tsr_test_wait_result (&result, 10), &error);
  g_assert_null (serial);
  g_assert_nonnull (error);
  return error;
}

static void
test_not_running (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GError) error = open_error (conn, "offline");

  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  g_assert_cmpstr (error->message, ==, "“offline” is not running: start it first (qvm-start offline)");
  tsr_test_close_connection (conn, 5);
}

static void
test_no_serial (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GError) error = open_error (conn, "work-web");

  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, "“work-web” has no serial console: add a "
                                   "serial port"));
  tsr_test_close_connection (conn, 5);
}

static void
start_transient (TsrConnection *conn,
                 const char    *name,
                 const char    *devices)
{
  g_autofree char *xml = g_strdup_printf ("<domain type='test'><name>%s</name>"
                                          "<memory unit='MiB'>128</memory>"
                                          "<os><type arch='x86_64'>hvm</type></os>"
                                          "<devices>%s</devices></domain>", name, devices);
  virDomainPtr dom = virDomainCreateXML (tsr_connection_get_handle (conn), xml, 0);

  g_assert_nonnull (dom);
  virDomainFree (dom);
}

/* The console virDomainOpenConsole would pick writes to a file. */
static void
test_not_pty (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GError) error = NULL;

  start_transient (conn, "file-serial",
                   "<serial type='file'><source path='/tmp/x.log'/><target port='0'/></serial>"
                   "<console type='file'><source path='/tmp/x.log'/>"
                   "<target type='serial' port='0'/></console>");
  error = open_error (conn, "file-serial");
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "is connected to a file, not to a pty"));
  tsr_test_close_connection (conn, 5);
}

/* Past every check, libvirt's own refusal is passed on with the VM named. */
static void
test_driver_refuses (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GError) error = NULL;

  start_transient (conn, "pty-serial", "<serial type='pty'/><console type='pty'/>");
  error = open_error (conn, "pty-serial");
  g_assert_true (g_str_has_prefix (error->message,
                                   "Could not open the serial console of “pty-serial”: "));
  tsr_test_close_connection (conn, 5);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tsr_init ();

  g_test_add_func ("/core/serial/not-running", test_not_running);
  g_test_add_func ("/core/serial/no-serial", test_no_serial);
  g_test_add_func ("/core/serial/not-pty", test_not_pty);
  g_test_add_func ("/core/serial/driver-refuses", test_driver_refuses);

  return g_test_run ();
}
