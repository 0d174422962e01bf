/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The serial console against a real libvirtd and QEMU: the core's
 * TsrSerial, `tessera-cli console --serial` on a pseudo-terminal and, when
 * there is a display (xvfb-run), the GTK view. The guest is the fixture
 * booted directly from its kernel with console=ttyS0: it prints
 * "TESSERA-GUEST: ready" on its serial port and echoes every line typed
 * there as "TESSERA-GUEST: typed on serial: LINE".
 *
 * The URI is $TESSERA_TEST_URI (default qemu:///system); the test defines
 * and removes its own domain and touches nothing else.
 */
/* posix_openpt, grantpt, unlockpt, ptsname */
#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <adwaita.h>
#include <glib/gstdio.h>
#include <glib-unix.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-serial.h"
#include "tsr-serial-view.h"
#include "tsr-test-util.h"

#define DOMAIN_NAME "tessera-serial-test-guest"
#define READY       "TESSERA-GUEST: ready"
#define WAIT        90
#define VIEW_TITLE  "tessera-serial-test-view"

static const char *uri;
static const char *cli_dir;
static char *workdir;
static gboolean have_display;

static char *
guest_xml (void)
{
  return g_strdup_printf (
    "<domain type='qemu'>"
    "  <name>" DOMAIN_NAME "</name>"
    "  <memory unit='MiB'>256</memory>"
    "  <vcpu>1</vcpu>"
    "  <os><type arch='x86_64' machine='pc'>hvm</type>"
    "    <kernel>%s/vmlinuz</kernel><initrd>%s/initramfs.img</initrd>"
    "    <cmdline>console=ttyS0</cmdline></os>"
    "  <on_poweroff>destroy</on_poweroff>"
    "  <devices>"
    "    <serial type='pty'/>"
    "    <console type='pty'><target type='serial'/></console>"
    "  </devices>"
    "</domain>",
    workdir, workdir);
}

/* The test's domain, defined (again) and shut off. */
static virDomainPtr
define_guest (virConnectPtr handle)
{
  g_autofree char *xml = guest_xml ();
  virDomainPtr dom;

  tsr_test_remove_domain (handle, DOMAIN_NAME);
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);
  return dom;
}

/* The connection's view of DOM: a domain of the same name defined by an
 * earlier test may still be listed until the events arrive.
 */
static TsrVm *
wait_for_vm (TsrConnection *conn,
             virDomainPtr   dom)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  TsrVm *vm;

  g_assert_cmpint (virDomainGetUUIDString (dom, uuid), ==, 0);
  TSR_WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, DOMAIN_NAME)) != NULL &&
                  g_strcmp0 (tsr_vm_get_uuid (vm), uuid) == 0, WAIT);
  return vm;
}

static TsrSerial *
open_serial (TsrConnection  *conn,
             TsrVm          *vm,
             GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_serial_open_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  return tsr_serial_open_finish (conn, tsr_test_wait_result (&result, WAIT), error);
}

/* What a TsrSerial received and how it closed. */
typedef struct
{
  GString  *text;
  guint     n_closed;
  GError   *error;
} Watch;

static void
watch_received_cb (TsrSerial *serial,
                   GBytes    *data,
                   Watch     *watch)
{
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  g_string_append_len (watch->text, bytes, len);
}

static void
watch_closed_cb (TsrSerial    *serial,
                 const GError *error,
                 Watch        *watch)
{
  watch->n_closed++;
  g_clear_error (&watch->error);
  watch->error = error != NULL ? g_error_copy (error) : NULL;
  /* "closed" comes after the stream is let go. */
  g_assert_false (tsr_serial_get_open (serial));
}

static void
watch_init (Watch     *watch,
            TsrSerial *serial)
{
  watch->text = g_string_new (NULL);
  watch->n_closed = 0;
  watch->error = NULL;
  g_signal_connect (serial, "received", G_CALLBACK (watch_received_cb), watch);
  g_signal_connect (serial, "closed", G_CALLBACK (watch_closed_cb), watch);
}

static void
watch_clear (Watch     *watch,
             TsrSerial *serial)
{
  g_signal_handlers_disconnect_by_data (serial, watch);
  g_string_free (watch->text, TRUE);
  g_clear_error (&watch->error);
}

/* Lets the main context run for MS milliseconds. */
static void
spin_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, tsr_test_timed_out_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_not_running (void)
{
  TsrConnection *conn = tsr_test_open_connection (uri, WAIT);
  virDomainPtr dom = define_guest (tsr_connection_get_handle (conn));
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrSerial) serial = NULL;
  g_autofree char *expected = NULL;
  TsrVm *vm = wait_for_vm (conn, dom);

  serial = open_serial (conn, vm, &error);
  g_assert_null (serial);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  expected = g_strdup_printf ("“%s” is not running: start it first (qvm-start %s)", DOMAIN_NAME,
                              DOMAIN_NAME);
  g_assert_cmpstr (error->message, ==, expected);

  virDomainFree (dom);
  tsr_test_close_connection (conn, 10);
}

/* Open, read the boot to "ready", type a line and read its echo; a second
 * console takes over from the first; the guest is destroyed and the
 * console says so once.
 */
static void
test_core (void)
{
  TsrConnection *conn = tsr_test_open_connection (uri, WAIT);
  virDomainPtr dom = define_guest (tsr_connection_get_handle (conn));
  g_autoptr(GError) error = NULL;
  TsrSerial *serial;
  TsrSerial *second;
  Watch watch, second_watch;
  TsrVm *vm = wait_for_vm (conn, dom);
  const char line[] = "hello serial\n";

  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  serial = open_serial (conn, vm, &error);
  g_assert_no_error (error);
  g_assert_true (tsr_serial_get_open (serial));
  g_assert_cmpstr (tsr_serial_get_name (serial), ==, DOMAIN_NAME);
  watch_init (&watch, serial);

  TSR_WAIT_UNTIL (strstr (watch.text->str, READY) != NULL, WAIT);
  g_test_message ("Boot seen on the serial console: %" G_GSIZE_FORMAT " bytes", watch.text->len);

  tsr_serial_write (serial, line, strlen (line));
  TSR_WAIT_UNTIL (strstr (watch.text->str, "TESSERA-GUEST: typed on serial: hello serial") != NULL,
                  WAIT);
  g_assert_cmpuint (tsr_serial_get_pending (serial), ==, 0);
  g_assert_cmpuint (watch.n_closed, ==, 0);

  /* FORCE: a second console takes the port, the first one ends. */
  second = open_serial (conn, vm, &error);
  g_assert_no_error (error);
  watch_init (&second_watch, second);
  TSR_WAIT_UNTIL (watch.n_closed == 1, WAIT);
  g_assert_false (tsr_serial_get_open (serial));
  g_test_message ("Taken over: %s", watch.error ? watch.error->message : "(clean end)");
  /* Writing to a closed console is a no-op, not an error. */
  tsr_serial_write (serial, line, strlen (line));
  tsr_serial_close (serial);
  g_assert_cmpuint (watch.n_closed, ==, 1);
  watch_clear (&watch, serial);
  g_assert_finalize_object (serial);

  tsr_serial_write (second, "again\n", 6);
  TSR_WAIT_UNTIL (strstr (second_watch.text->str, "TESSERA-GUEST: typed on serial: again") != NULL,
                  WAIT);

  /* The guest stops: a clean end, reported once. */
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  TSR_WAIT_UNTIL (second_watch.n_closed == 1, WAIT);
  g_assert_no_error (second_watch.error);
  g_assert_false (tsr_serial_get_open (second));
  spin_for (500);
  tsr_serial_close (second);
  g_assert_cmpuint (second_watch.n_closed, ==, 1);
  watch_clear (&second_watch, second);
  g_assert_finalize_object (second);

  virDomainFree (dom);
  tsr_test_close_connection (conn, 10);
}

/* tessera-cli console --serial */

typedef struct
{
  int      master;
  int      slave;    /* kept, to read the terminal's settings */
  GPid     pid;
  GString *output;
  gboolean exited;
  int      status;
} Child;

static void
child_exited_cb (GPid     pid,
                 int      status,
                 gpointer user_data)
{
  Child *child = user_data;

  child->exited = TRUE;
  child->status = status;
  g_spawn_close_pid (pid);
}

static gboolean
child_output_cb (int           fd,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  Child *child = user_data;
  char buf[4096];
  gssize n = read (fd, buf, sizeof buf);

  if (n > 0)
    {
      g_string_append_len (child->output, buf, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;
}

static void
child_type (Child      *child,
            const char *text)
{
  g_assert_cmpint (write (child->master, text, strlen (text)), ==, (gssize) strlen (text));
}

/* Runs tessera-cli with a pseudo-terminal as its stdin, stdout and
 * stderr, as in a terminal window.
 */
static void
child_spawn (Child       *child,
             const char **args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  int slave;

  child->master = posix_openpt (O_RDWR | O_NOCTTY);
  g_assert_cmpint (child->master, >=, 0);
  g_assert_cmpint (grantpt (child->master), ==, 0);
  g_assert_cmpint (unlockpt (child->master), ==, 0);
  child->slave = slave = open (ptsname (child->master), O_RDWR | O_NOCTTY);
  g_assert_cmpint (slave, >=, 0);
  g_unix_set_fd_nonblocking (child->master, TRUE, NULL);

  g_ptr_array_add (argv, g_build_filename (cli_dir, "tessera-cli", NULL));
  g_ptr_array_add (argv, g_strdup ("--connect"));
  g_ptr_array_add (argv, g_strdup (uri));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  child->output = g_string_new (NULL);
  child->exited = FALSE;
  g_assert_true (g_spawn_async_with_pipes_and_fds (NULL, (const char * const *) argv->pdata, NULL,
                                                   G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                                   slave, slave, slave, NULL, NULL, 0,
                                                   &child->pid, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_child_watch_add (child->pid, child_exited_cb, child);
  g_unix_fd_add (child->master, G_IO_IN | G_IO_HUP | G_IO_ERR, child_output_cb, child);
}

static void
child_clear (Child *child)
{
  if (!child->exited)
    kill (child->pid, SIGKILL);
  while (g_source_remove_by_user_data (child))
    ;
  close (child->master);
  close (child->slave);
  g_string_free (child->output, TRUE);
}

static void
test_cli (void)
{
  TsrConnection *conn = tsr_test_open_connection (uri, WAIT);
  virDomainPtr dom = define_guest (tsr_connection_get_handle (conn));
  const char *args[] = { "console", "--serial", DOMAIN_NAME, NULL };
  g_autofree char *connected = g_strdup_printf ("Connected to %s (escape character is ^])",
                                                DOMAIN_NAME);
  struct termios before, after;
  Child child = { 0 };

  wait_for_vm (conn, dom);

  /* Not running: the core's error, exit code 1. */
  child_spawn (&child, args);
  TSR_WAIT_UNTIL (child.exited, WAIT);
  TSR_POLL_UNTIL (strstr (child.output->str, "is not running: start it first") != NULL, 5);
  g_assert_true (WIFEXITED (child.status));
  g_assert_cmpint (WEXITSTATUS (child.status), ==, 1);
  child_clear (&child);

  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  child_spawn (&child, args);
  g_assert_cmpint (tcgetattr (child.slave, &before), ==, 0);
  TSR_WAIT_UNTIL (strstr (child.output->str, connected) != NULL || child.exited, WAIT);
  g_assert_false (child.exited);
  TSR_WAIT_UNTIL (strstr (child.output->str, READY) != NULL, WAIT);

  /* Raw: the terminal does not echo; the line seen is the guest's. */
  g_assert_cmpint (tcgetattr (child.slave, &after), ==, 0);
  g_assert_false (after.c_lflag & (ECHO | ICANON));
  child_type (&child, "hello cli\r");
  TSR_WAIT_UNTIL (strstr (child.output->str, "TESSERA-GUEST: typed on serial: hello cli") != NULL,
                  WAIT);

  child_type (&child, "\035");
  TSR_WAIT_UNTIL (child.exited, WAIT);
  g_assert_true (WIFEXITED (child.status));
  g_assert_cmpint (WEXITSTATUS (child.status), ==, 0);
  /* The terminal is as it was. */
  g_assert_cmpint (tcgetattr (child.slave, &after), ==, 0);
  g_assert_cmpint (after.c_lflag & (ECHO | ICANON), ==, before.c_lflag & (ECHO | ICANON));
  child_clear (&child);

  /* Killed: the terminal is restored all the same, exit code 1. */
  child_spawn (&child, args);
  TSR_POLL_UNTIL (child.exited || (tcgetattr (child.slave, &after) == 0 &&
                                   !(after.c_lflag & ICANON)), WAIT);
  g_assert_false (child.exited);
  g_assert_cmpint (kill (child.pid, SIGTERM), ==, 0);
  TSR_WAIT_UNTIL (child.exited, WAIT);
  g_assert_true (WIFEXITED (child.status));
  g_assert_cmpint (WEXITSTATUS (child.status), ==, 1);
  g_assert_cmpint (tcgetattr (child.slave, &after), ==, 0);
  g_assert_cmpint (after.c_lflag & (ECHO | ICANON), ==, before.c_lflag & (ECHO | ICANON));
  child_clear (&child);

  /* The guest stopping ends it with a message and exit code 0. */
  child_spawn (&child, args);
  TSR_WAIT_UNTIL (strstr (child.output->str, connected) != NULL || child.exited, WAIT);
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  TSR_WAIT_UNTIL (child.exited, WAIT);
  g_assert_true (WIFEXITED (child.status));
  g_assert_cmpint (WEXITSTATUS (child.status), ==, 0);
  TSR_POLL_UNTIL (strstr (child.output->str, "ended: the VM stopped") != NULL, 5);
  child_clear (&child);

  virDomainFree (dom);
  tsr_test_close_connection (conn, 10);
}

/* Without --serial tessera-cli runs the tessera next to it in the build
 * tree, ../gui/tessera: here a stand-in that writes down its arguments.
 */
static void
test_cli_gui (void)
{
  TsrConnection *conn = tsr_test_open_connection (uri, WAIT);
  virDomainPtr dom = define_guest (tsr_connection_get_handle (conn));
  g_autofree char *tree = g_build_filename (workdir, "tree", NULL);
  g_autofree char *cli_copy_dir = g_build_filename (tree, "cli", NULL);
  g_autofree char *cli = g_build_filename (cli_copy_dir, "tessera-cli", NULL);
  g_autofree char *gui_dir = g_build_filename (tree, "gui", NULL);
  g_autofree char *gui = g_build_filename (gui_dir, "tessera", NULL);
  g_autofree char *args_file = g_build_filename (workdir, "gui-args", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s'\n",
                                             args_file);
  g_autofree char *src = g_build_filename (cli_dir, "tessera-cli", NULL);
  g_autofree char *got = NULL;
  g_autofree char *expected = g_strdup_printf ("--connect\n%s\n--console\n" DOMAIN_NAME "\n", uri);
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  wait_for_vm (conn, dom);
  g_assert_cmpint (g_mkdir_with_parents (gui_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (cli_copy_dir, 0755), ==, 0);
  tsr_test_copy_file (src, cli);
  g_assert_cmpint (g_chmod (cli, 0755), ==, 0);
  g_assert_true (g_file_set_contents (gui, script, -1, &error));
  g_assert_cmpint (g_chmod (gui, 0755), ==, 0);

  command = g_strdup_printf ("'%s' --connect '%s' console " DOMAIN_NAME, cli, uri);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_get_contents (args_file, &got, NULL, &error));
  g_assert_cmpstr (got, ==, expected);

  /* A name that is not there is answered by the command, with exit code 2. */
  g_clear_pointer (&command, g_free);
  command = g_strdup_printf ("'%s' --connect '%s' console no-such-vm-here", cli, uri);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, &error));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);

  virDomainFree (dom);
  tsr_test_close_connection (conn, 10);
}

/* The GTK view */

/* The scrollback and the screen: the rows of the vertical adjustment. */
static char *
terminal_text (VteTerminal *terminal)
{
  GtkAdjustment *rows = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (terminal));

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  return vte_terminal_get_text_range (terminal, (long) gtk_adjustment_get_lower (rows), 0,
                                      (long) gtk_adjustment_get_upper (rows) - 1,
                                      vte_terminal_get_column_count (terminal) - 1,
                                      NULL, NULL, NULL);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

typedef struct
{
  VteTerminal *terminal;
  const char  *needle;
} TextWait;

static gboolean
terminal_shows (gpointer data)
{
  TextWait *wait = data;
  g_autofree char *text = terminal_text (wait->terminal);

  return text != NULL && strstr (text, wait->needle) != NULL;
}

/* Runs xdotool ACTION on the test's window, focused first (Xvfb has no
 * window manager to do it).
 */
static void
xdotool (const char *action)
{
  g_autofree char *command = g_strdup_printf ("xdotool search --sync --name '^" VIEW_TITLE "$' "
                                              "windowfocus --sync %s", action);

  tsr_test_run_command (command);
}

static void
test_view (void)
{
  TsrConnection *conn;
  virDomainPtr dom;
  g_autoptr(GError) error = NULL;
  TsrSerial *serial;
  GtkWidget *window, *view;
  VteTerminal *terminal;
  TextWait wait;
  Watch watch;
  TsrVm *vm;

  if (!have_display)
    {
      g_test_skip ("No display: run under xvfb-run for the GTK view");
      return;
    }

  conn = tsr_test_open_connection (uri, WAIT);
  dom = define_guest (tsr_connection_get_handle (conn));
  vm = wait_for_vm (conn, dom);

  window = gtk_window_new ();
  gtk_window_set_title (GTK_WINDOW (window), VIEW_TITLE);
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 500);
  view = tsr_serial_view_new ();
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  terminal = tsr_serial_view_get_terminal (TSR_SERIAL_VIEW (view));

  /* Attached from the start, the view shows the boot. */
  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  serial = open_serial (conn, vm, &error);
  g_assert_no_error (error);
  watch_init (&watch, serial);
  tsr_serial_view_attach (TSR_SERIAL_VIEW (view), serial);
  g_assert_true (tsr_serial_view_get_serial (TSR_SERIAL_VIEW (view)) == serial);
  g_assert_true (vte_terminal_get_input_enabled (terminal));
  wait.terminal = terminal;
  wait.needle = READY;
  g_assert_true (tsr_test_spin_until (terminal_shows, &wait, WAIT * 1000));
  wait.needle = "Linux version";
  g_assert_true (terminal_shows (&wait));

  /* Text entered in the terminal goes the way of typed keys ("commit"). */
  gtk_widget_grab_focus (view);
  vte_terminal_feed_child (terminal, "hello view\r", -1);
  wait.needle = "TESSERA-GUEST: typed on serial: hello view";
  g_assert_true (tsr_test_spin_until (terminal_shows, &wait, WAIT * 1000));

  /* Real keys, from the X server: typed text, and Ctrl+Shift+V pasting
   * instead of reaching the guest as ^V.
   */
  if (g_find_program_in_path ("xdotool") != NULL)
    {
      GdkClipboard *clipboard = gtk_widget_get_clipboard (view);

      xdotool ("type --delay 20 'typed keys'");
      xdotool ("key Return");
      wait.needle = "TESSERA-GUEST: typed on serial: typed keys";
      g_assert_true (tsr_test_spin_until (terminal_shows, &wait, WAIT * 1000));

      gdk_clipboard_set_text (clipboard, "pasted line\n");
      xdotool ("key ctrl+shift+v");
      wait.needle = "TESSERA-GUEST: typed on serial: pasted line";
      g_assert_true (tsr_test_spin_until (terminal_shows, &wait, WAIT * 1000));
    }
  else
    g_test_message ("xdotool is not installed: no real key presses");

  tsr_test_write_window_screenshot (window, "serial-console.png", 3, 5000);

  /* The guest stops: the view says so and keeps what it showed. */
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  wait.needle = "[The serial console closed]";
  g_assert_true (tsr_test_spin_until (terminal_shows, &wait, WAIT * 1000));
  wait.needle = READY;
  g_assert_true (terminal_shows (&wait));
  g_assert_false (vte_terminal_get_input_enabled (terminal));
  g_assert_cmpuint (watch.n_closed, ==, 1);
  tsr_test_write_window_screenshot (window, "serial-console-closed.png", 3, 5000);

  tsr_serial_view_attach (TSR_SERIAL_VIEW (view), NULL);
  g_assert_null (tsr_serial_view_get_serial (TSR_SERIAL_VIEW (view)));
  watch_clear (&watch, serial);
  g_assert_finalize_object (serial);
  gtk_window_destroy (GTK_WINDOW (window));

  virDomainFree (dom);
  tsr_test_close_connection (conn, 10);
}

static void
remove_guest (void)
{
  virConnectPtr handle = virConnectOpen (uri);

  g_assert_nonnull (handle);
  tsr_test_remove_domain (handle, DOMAIN_NAME);
  virConnectClose (handle);
}

int
main (int    argc,
      char **argv)
{
  const char *fixture_dir = g_getenv ("TESSERA_FIXTURE_DIR");
  g_autofree char *kernel = NULL;
  g_autofree char *initrd = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tsr_test_ensure_libvirtd ();
  tsr_init ();
  have_display = gtk_init_check ();
  if (have_display)
    adw_init ();

  uri = g_getenv ("TESSERA_TEST_URI");
  if (uri == NULL || *uri == '\0')
    uri = "qemu:///system";
  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (fixture_dir);
  g_assert_nonnull (cli_dir);

  /* QEMU may run as another user: the guest's files live in a folder it
   * can read.
   */
  workdir = g_strdup ("/var/tmp/tessera-serial-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  kernel = g_build_filename (fixture_dir, "vmlinuz", NULL);
  initrd = g_build_filename (fixture_dir, "initramfs.img", NULL);
  {
    g_autofree char *k = g_build_filename (workdir, "vmlinuz", NULL);
    g_autofree char *i = g_build_filename (workdir, "initramfs.img", NULL);

    tsr_test_copy_file (kernel, k);
    tsr_test_copy_file (initrd, i);
  }

  remove_guest ();

  g_test_add_func ("/console/serial/not-running", test_not_running);
  g_test_add_func ("/console/serial/core", test_core);
  g_test_add_func ("/console/serial/cli", test_cli);
  g_test_add_func ("/console/serial/cli-gui", test_cli_gui);
  g_test_add_func ("/console/serial/view", test_view);

  ret = g_test_run ();

  remove_guest ();
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", workdir);

    tsr_test_run_command (cmd);
  }

  return ret;
}
