/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The console on a real libvirtd and QEMU, in a real window under Xvfb: a
 * VM made by qvm-create boots its installer with qvm-start --cdrom, and the
 * console window shows it (pixels checked against libvirt's own
 * screenshot), passes typed keys and Ctrl+Alt+Del to it, shows its serial
 * port both ways, and follows it across a power-off, a start from elsewhere
 * and a libvirtd restart without being reopened.
 */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <gdk/x11/gdkx.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-console-window.h"
#include "tsr-test-util.h"

#define URI          "qemu:///system"
#define TEST_NETWORK "tessera-test"
#define VM           "tsr-it-console"
#define TIMEOUT_S    180

static char *workdir;
static const char *fixture_dir;
static const char *cli_dir;

#define run_cli(name, status, ...) \
  tsr_test_run_cli (cli_dir, URI, FALSE, name, status, NULL, __VA_ARGS__)

/* Waits on the main context, which also wakes every 100 ms to look at
 * files the guest writes through libvirt.
 */
#define WAIT_FOR(cond) TSR_WAIT_UNTIL ((cond), TIMEOUT_S)

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
done_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Lets the window and the connection run for MS milliseconds. */
static void
spin_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, done_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static guint
count_in_file (const char *path,
               const char *needle)
{
  g_autofree char *contents = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  for (const char *p = contents; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

static gboolean
terminal_shows (VteTerminal *terminal,
                const char  *needle)
{
  GtkAdjustment *rows = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (terminal));
  g_autofree char *text = NULL;

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  text = vte_terminal_get_text_range (terminal, (long) gtk_adjustment_get_lower (rows), 0,
                                      (long) gtk_adjustment_get_upper (rows) - 1,
                                      vte_terminal_get_column_count (terminal) - 1,
                                      NULL, NULL, NULL);
  G_GNUC_END_IGNORE_DEPRECATIONS
  return text != NULL && strstr (text, needle) != NULL;
}

static gboolean
status_is (TsrConsoleWindow *window,
           const char       *status)
{
  return g_strcmp0 (tsr_console_window_get_status (window), status) == 0;
}

static void
remove_vm (virConnectPtr handle)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "tessera");
  virStorageVolPtr vol = pool ? virStorageVolLookupByName (pool, VM "-root.qcow2") : NULL;

  tsr_test_remove_domain (handle, VM);
  if (vol != NULL)
    {
      virStorageVolDelete (vol, 0);
      virStorageVolFree (vol);
    }
  if (pool != NULL)
    virStoragePoolFree (pool);
  virResetLastError ();
}

/* libvirt's own view of the screen (PPM or PNG, as QEMU gives it): what the
 * widget must show.
 */
static GdkTexture *
libvirt_screenshot (virConnectPtr handle)
{
  virDomainPtr dom = virDomainLookupByName (handle, VM);
  virStreamPtr stream = virStreamNew (handle, 0);
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  char *mime = virDomainScreenshot (dom, stream, 0, 0);
  char buf[65536];
  GdkTexture *texture;
  int n;

  g_assert_nonnull (mime);
  while ((n = virStreamRecv (stream, buf, sizeof buf)) > 0)
    g_byte_array_append (data, (guint8 *) buf, n);
  g_assert_cmpint (n, ==, 0);
  virStreamFinish (stream);
  virStreamFree (stream);
  virDomainFree (dom);
  g_test_message ("virDomainScreenshot: %s, %u bytes", mime, data->len);
  free (mime);

  if (data->len > 2 && data->data[0] == 'P' && data->data[1] == '6')
    {
      int width, height, maxval, offset = 0;
      g_autofree char *header = g_strndup ((const char *) data->data, MIN (data->len, 64));

      g_assert_cmpint (sscanf (header, "P6 %d %d %d%n", &width, &height, &maxval, &offset), ==, 3);
      g_assert_cmpint (maxval, ==, 255);
      bytes = g_bytes_new (data->data + offset + 1, (gsize) width * height * 3);
      return gdk_memory_texture_new (width, height, GDK_MEMORY_R8G8B8, bytes, (gsize) width * 3);
    }
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&data));
  texture = gdk_texture_new_from_bytes (bytes, &error);
  g_assert_no_error (error);
  return texture;
}

/* The share of the pixels of WANT that GOT shows at (X, Y), each channel
 * within a small tolerance.
 */
static double
match_textures (GdkTexture *want,
                GdkTexture *got,
                int         x,
                int         y)
{
  int width = gdk_texture_get_width (want);
  int height = gdk_texture_get_height (want);
  int gw = gdk_texture_get_width (got);
  g_autofree guint8 *a = g_malloc ((gsize) width * height * 4);
  g_autofree guint8 *b = g_malloc ((gsize) gw * gdk_texture_get_height (got) * 4);
  guint64 same = 0;

  g_assert_cmpint (x + width, <=, gw);
  g_assert_cmpint (y + height, <=, gdk_texture_get_height (got));
  gdk_texture_download (want, a, width * 4);
  gdk_texture_download (got, b, gw * 4);
  for (int row = 0; row < height; row++)
    for (int col = 0; col < width; col++)
      {
        const guint8 *p = a + ((gsize) row * width + col) * 4;
        const guint8 *q = b + ((gsize) (row + y) * gw + col + x) * 4;

        if (ABS (p[0] - q[0]) <= 8 && ABS (p[1] - q[1]) <= 8 && ABS (p[2] - q[2]) <= 8)
          same++;
      }
  return (double) same / ((double) width * height);
}

/* WIDGET as it is on screen, as a texture. */
static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                      node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

static gulong
xid_of (GtkWidget *window)
{
  return gdk_x11_surface_get_xid (gtk_native_get_surface (GTK_NATIVE (window)));
}

static void
xdotool (const char *format,
         ...)
{
  g_autofree char *args = NULL;
  g_autofree char *command = NULL;
  g_autoptr(GError) error = NULL;
  va_list ap;
  int status = 0;

  va_start (ap, format);
  args = g_strdup_vprintf (format, ap);
  va_end (ap);
  command = g_strconcat ("xdotool ", args, NULL);
  g_test_message ("%s", command);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* Types LINE into the console window as a person would: a click on the
 * screen to grab the keyboard, then the keys, through the X server.
 */
static void
type_line (TsrConsoleWindow *window,
           const char       *line)
{
  GtkWidget *view = GTK_WIDGET (tsr_console_window_get_vnc_view (window));
  graphene_point_t point;
  gulong xid = xid_of (GTK_WIDGET (window));

  g_assert_true (gtk_widget_compute_point (view, GTK_WIDGET (window),
                                           &GRAPHENE_POINT_INIT (gtk_widget_get_width (view) / 2.0,
                                                                 gtk_widget_get_height (view) / 2.0),
                                           &point));
  xdotool ("windowfocus --sync %lu", xid);
  xdotool ("mousemove --window %lu %d %d click 1", xid, (int) point.x, (int) point.y);
  WAIT_FOR (tsr_vnc_view_get_keyboard_grabbed (TSR_VNC_VIEW (view)));
  xdotool ("type --delay 60 '%s'", line);
  xdotool ("key Return");
}

static void
test_console (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *log = g_build_filename (workdir, "console-serial.log", NULL);
  g_autofree char *iso = g_build_filename (workdir, "installer.iso", NULL);
  g_autofree char *cdrom = g_strconcat ("--cdrom=dom0:", iso, NULL);
  g_autofree char *out = NULL;
  g_autofree char *xml = NULL;
  g_autoptr(GdkTexture) ppm = NULL;
  g_autoptr(GdkTexture) frame = NULL;
  g_autoptr(GdkTexture) shown = NULL;
  g_autoptr(GError) error = NULL;
  TsrConsoleWindow *window;
  TsrVncView *view;
  VteTerminal *terminal;
  guint tick = g_timeout_add (100, tick_cb, NULL);
  int status;
  double share;

  tsr_connection_set_reconnect_delays (conn, 200, 2000);
  remove_vm (handle);
  {
    g_autoptr(GAsyncResult) result = NULL;

    tsr_connection_ensure_network_async (conn, TEST_NETWORK, TRUE, NULL, tsr_test_store_result_cb, &result);
    g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 120), &error));
  }
  out = run_cli ("qvm-create", &status, VM, "--hvm", "--label=green", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* A screen with no TCP port, a pointer that needs no grab. */
  xml = tsr_test_domain_xml (handle, VM, VIR_DOMAIN_XML_INACTIVE);
  g_assert_nonnull (strstr (xml, "<listen type='none'/>"));
  g_assert_nonnull (strstr (xml, "<input type='tablet' bus='usb'"));
  g_assert_nonnull (strstr (xml, "<serial type='pty'>"));
  tsr_test_log_serial (handle, VM, log, TRUE);

  /* Opened on the stopped VM: it says so, and offers to start it. */
  window = tsr_console_window_present (NULL, conn, VM);
  g_object_ref (window);
  WAIT_FOR (status_is (window, "stopped"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (tsr_test_find_descendant (GTK_WIDGET (window),
                                                                               ADW_TYPE_STATUS_PAGE))));
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "console-stopped.png", 3, TIMEOUT_S * 1000);

  /* Started from elsewhere, on its installer: the screen comes by itself. */
  out = run_cli ("qvm-start", &status, VM, cdrom, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  view = tsr_console_window_get_vnc_view (window);
  WAIT_FOR (status_is (window, "screen"));
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: ready") == 1);
  g_assert_cmpuint (count_in_file (log, "TESSERA-GUEST: booted from cdrom"), ==, 1);

  /* Pixels: the screen is still now; the widget shows what libvirt sees. */
  for (int attempt = 0; attempt < 10; attempt++)
    {
      tsr_test_wait_for_frames (GTK_WIDGET (window), 3, TIMEOUT_S * 1000);
      g_clear_object (&ppm);
      g_clear_object (&frame);
      ppm = libvirt_screenshot (handle);
      WAIT_FOR ((frame = tsr_vnc_view_get_frame (view)) != NULL);
      share = match_textures (ppm, frame, 0, 0);
      if (share >= 0.99)
        break;
      g_clear_object (&frame);
      spin_ms (500);
    }
  g_test_message ("frame vs virDomainScreenshot: %.4f of the pixels match", share);
  g_assert_cmpfloat (share, >=, 0.99);

  tsr_console_window_set_scale (window, "1:1");
  gtk_window_set_default_size (GTK_WINDOW (window), tsr_vnc_view_get_guest_width (view) + 200,
                               tsr_vnc_view_get_guest_height (view) + 200);
  tsr_test_wait_for_frames (GTK_WIDGET (window), 3, TIMEOUT_S * 1000);
  shown = render (GTK_WIDGET (view));
  {
    int x = (gdk_texture_get_width (shown) - tsr_vnc_view_get_guest_width (view)) / 2;
    int y = (gdk_texture_get_height (shown) - tsr_vnc_view_get_guest_height (view)) / 2;

    share = match_textures (ppm, shown, MAX (x, 0), MAX (y, 0));
  }
  g_test_message ("widget at 1:1 vs virDomainScreenshot: %.4f of the pixels match", share);
  g_assert_cmpfloat (share, >=, 0.99);
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "console-1to1.png", 3, TIMEOUT_S * 1000);
  tsr_console_window_set_scale (window, "fit");
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "console-fit.png", 3, TIMEOUT_S * 1000);

  /* Keys typed into the window reach the guest's keyboard. */
  type_line (window, "hello console");
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: typed on screen: hello console") == 1);

  /* The serial view shows the boot, and what is typed there reaches the
   * guest's serial port.
   */
  terminal = tsr_serial_view_get_terminal (tsr_console_window_get_serial_view (window));
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (tsr_test_find_descendant (GTK_WIDGET (window),
                                                                                   ADW_TYPE_VIEW_STACK)),
                                         "serial");
  vte_terminal_feed_child (terminal, "hello serial\r", -1);
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: typed on serial: hello serial") == 1);
  WAIT_FOR (terminal_shows (terminal, "typed on serial: hello serial"));
  tsr_test_write_window_screenshot (GTK_WIDGET (window), "console-serial.png", 3, TIMEOUT_S * 1000);
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (tsr_test_find_descendant (GTK_WIDGET (window),
                                                                                   ADW_TYPE_VIEW_STACK)),
                                         "display");

  /* Ctrl+Alt+Del from the Send Key menu reboots it; the screen stays. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "console.send-keys", "s",
                                             "ctrl-alt-del"));
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: booted from cdrom") == 2);
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: ready") == 2);
  g_assert_true (status_is (window, "screen"));

  /* libvirtd restarted: the screen goes on, keys still arrive, the serial
   * view comes back.
   */
  tsr_test_stop_libvirtd ();
  WAIT_FOR (tsr_connection_get_state (conn) == TSR_CONNECTION_STATE_DISCONNECTED);
  tsr_test_start_libvirtd (NULL);
  WAIT_FOR (tsr_connection_get_state (conn) == TSR_CONNECTION_STATE_CONNECTED);
  handle = tsr_connection_get_handle (conn);
  g_assert_true (status_is (window, "screen"));
  type_line (window, "after restart");
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: typed on screen: after restart") == 1);
  WAIT_FOR (tsr_serial_view_get_serial (tsr_console_window_get_serial_view (window)) != NULL &&
            tsr_serial_get_open (tsr_serial_view_get_serial (tsr_console_window_get_serial_view (window))));

  /* Powered off inside (the installer's last step): the window says so. */
  out = run_cli ("qvm-shutdown", &status, "--wait", VM, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  WAIT_FOR (status_is (window, "stopped"));
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (window),
                                                                                    TSR_TYPE_CONSOLE_WINDOW,
                                                                                    "status_start_button"))));

  /* Started again from elsewhere: the installed system, on the same window. */
  out = run_cli ("qvm-start", &status, VM, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  WAIT_FOR (status_is (window, "screen"));
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: booted from disk") == 1);
  /* Keys typed before the guest reads its keyboard are lost. */
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: ready") == 3);
  type_line (window, "installed");
  WAIT_FOR (count_in_file (log, "TESSERA-GUEST: typed on screen: installed") == 1);

  /* And stopped from the window's own menu. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "console.force-off", NULL));
  WAIT_FOR (status_is (window, "stopped"));

  gtk_window_close (GTK_WINDOW (window));
  TSR_WAIT_UNTIL (tsr_test_only_one_ref (window), 10);
  g_assert_finalize_object (window);

  remove_vm (handle);
  g_source_remove (tick);
  tsr_test_close_connection (conn, 5);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *src = NULL;
  g_autofree char *dst = NULL;
  int ret;

  gtk_test_init (&argc, &argv, NULL);
  tsr_test_ensure_libvirtd ();
  adw_init ();
  tsr_init ();

  fixture_dir = g_getenv ("TESSERA_FIXTURE_DIR");
  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (fixture_dir);
  g_assert_nonnull (cli_dir);

  workdir = g_strdup ("/var/tmp/tessera-console-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  g_chmod (workdir, 0777);
  src = g_build_filename (fixture_dir, "installer.iso", NULL);
  dst = g_build_filename (workdir, "installer.iso", NULL);
  tsr_test_copy_file (src, dst);
  g_setenv ("TESSERA_DEFAULT_NETVM", TEST_NETWORK, TRUE);

  g_test_add_func ("/console-it/install-reboot-restart", test_console);

  ret = g_test_run ();
  tsr_test_remove_flat_dir (workdir);
  return ret;
}
