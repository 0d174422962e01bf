/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gdk/x11/gdkx.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <linux/input-event-codes.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "tsr-keymap.h"
#include "tsr-test-util.h"
#include "tsr-vnc-view.h"

/* The console widget against a real QEMU (TCG) booting the fixture guest,
 * with no libvirt: QEMU's VNC server on a unix socket, its serial port
 * logged to a file (the guest echoes there what it reads from its
 * keyboard), and QMP for QEMU's own screendump. The tests run in order on
 * one guest.
 */

#define TIMEOUT_S 45

typedef struct
{
  GtkWidget *window;
  TsrVncView *view;
  guint disconnected;
  char *reason;
} Console;

static Console one_to_one;
static Console fit;
static char *dir;
static GSubprocess *qemu;

static char *
guest_path (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static guint
log_count (const char *needle)
{
  g_autofree char *path = guest_path ("serial.log");
  g_autofree char *text = NULL;
  guint count = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    count++;
  return count;
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until NEEDLE is in the serial log COUNT times. */
static void
wait_for_log (const char *needle,
              guint       count,
              guint       seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  guint wake = g_timeout_add (50, wake_cb, NULL);

  while (log_count (needle) < count)
    {
      if (g_get_monotonic_time () > end)
        g_error ("Timed out after %u s waiting for \"%s\" ×%u in the serial log", seconds, needle, count);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
}

/* Runs the main loop for MS milliseconds. */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint wake = g_timeout_add (10, wake_cb, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

static gboolean
view_connected (gpointer data)
{
  return tsr_vnc_view_get_connected (TSR_VNC_VIEW (data));
}

/* A test that fails aborts: QEMU goes with it. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
start_qemu (void)
{
  const char *fixtures = g_getenv ("TESSERA_FIXTURE_DIR");
  g_autofree char *kernel = g_build_filename (fixtures, "vmlinuz", NULL);
  g_autofree char *initrd = g_build_filename (fixtures, "initramfs.img", NULL);
  g_autofree char *vnc = NULL, *serial = NULL, *qmp = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (fixtures);
  dir = g_dir_make_tmp ("tsr-vnc-XXXXXX", &error);
  g_assert_no_error (error);
  vnc = g_strdup_printf ("unix:%s/vnc.sock", dir);
  serial = g_strdup_printf ("socket,id=s0,path=%s/ser.sock,server=on,wait=off,logfile=%s/serial.log", dir, dir);
  qmp = g_strdup_printf ("unix:%s/qmp.sock,server=on,wait=off", dir);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  qemu = g_subprocess_launcher_spawn (launcher, &error,
                           "qemu-system-x86_64", "-m", "256", "-display", "none",
                           "-vnc", vnc, "-kernel", kernel, "-initrd", initrd,
                           "-append", "console=ttyS0", "-chardev", serial,
                           "-serial", "chardev:s0", "-qmp", qmp, "-nic", "none",
                           NULL);
  g_assert_no_error (error);
}

static GSocketConnection *
connect_unix (const char *name)
{
  g_autofree char *path = guest_path (name);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection = NULL;
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  /* QEMU makes its sockets a moment after it started. */
  while (connection == NULL)
    {
      g_clear_error (&error);
      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);
      if (connection == NULL && g_get_monotonic_time () > end)
        g_error ("Could not connect to %s: %s", path, error->message);
      if (connection == NULL)
        g_usleep (100 * 1000);
    }
  return connection;
}

static void
disconnected_cb (TsrVncView *view,
                 const char *reason,
                 Console    *console)
{
  console->disconnected++;
  g_free (console->reason);
  console->reason = g_strdup (reason);
}

static void
open_console (Console     *console,
              TsrVncScale  scale,
              int          width,
              int          height)
{
  g_autoptr(GSocketConnection) connection = connect_unix ("vnc.sock");
  GSocket *socket = g_socket_connection_get_socket (connection);
  int fd = dup (g_socket_get_fd (socket));

  console->window = gtk_window_new ();
  console->view = TSR_VNC_VIEW (tsr_vnc_view_new ());
  g_object_ref_sink (console->view);
  tsr_vnc_view_set_scale (console->view, scale);
  g_signal_connect (console->view, "disconnected", G_CALLBACK (disconnected_cb), console);
  gtk_window_set_child (GTK_WINDOW (console->window), GTK_WIDGET (console->view));
  gtk_window_set_default_size (GTK_WINDOW (console->window), width, height);

  g_assert_cmpint (fd, >=, 0);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  tsr_vnc_view_open_fd (console->view, fd);

  g_assert_true (tsr_test_spin_until (view_connected, console->view, TIMEOUT_S * 1000));
}

/* A window maps at its natural size, which is the guest's screen once the
 * guest set its mode.
 */
static void
show_console (Console *console)
{
  gtk_window_present (GTK_WINDOW (console->window));
  g_assert_true (tsr_test_spin_until (tsr_test_widget_mapped, console->window, TIMEOUT_S * 1000));
  tsr_test_wait_for_frames (console->window, 2, TIMEOUT_S * 1000);
}

/* QMP */

static JsonNode *
qmp_read (GDataInputStream *in)
{
  g_autoptr(GError) error = NULL;

  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *object;

      g_assert_no_error (error);
      g_assert_nonnull (line);
      g_assert_true (json_parser_load_from_data (parser, line, -1, &error));
      g_assert_no_error (error);
      object = json_node_get_object (json_parser_get_root (parser));
      /* Events (a reset, a resize) may come in between. */
      if (json_object_has_member (object, "event"))
        continue;
      g_assert_false (json_object_has_member (object, "error"));
      return json_node_copy (json_parser_get_root (parser));
    }
}

static void
qmp_execute (GSocketConnection *connection,
             GDataInputStream  *in,
             const char        *command,
             const char        *filename)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "execute");
  json_builder_add_string_value (builder, command);
  if (filename != NULL)
    {
      json_builder_set_member_name (builder, "arguments");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "filename");
      json_builder_add_string_value (builder, filename);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             text, strlen (text), NULL, NULL, &error);
  g_assert_no_error (error);
  reply = qmp_read (in);
}

/* QEMU's own picture of the guest's screen, RGB. */
static GBytes *
screendump (int *width,
            int *height)
{
  g_autoptr(GSocketConnection) connection = connect_unix ("qmp.sock");
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  g_autofree char *path = guest_path ("screen.ppm");
  g_autoptr(JsonNode) greeting = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize length;
  const char *p;
  int values[3];

  greeting = qmp_read (in);
  qmp_execute (connection, in, "qmp_capabilities", NULL);
  qmp_execute (connection, in, "screendump", path);

  g_assert_true (g_file_get_contents (path, &data, &length, &error));
  g_assert_no_error (error);

  /* P6, width, height, maximum, one blank, then the pixels. */
  g_assert_true (g_str_has_prefix (data, "P6"));
  p = data + 2;
  for (int i = 0; i < 3; i++)
    {
      char *end;

      while (g_ascii_isspace (*p) || *p == '#')
        {
          if (*p == '#')
            p = strchr (p, '\n');
          p++;
        }
      values[i] = (int) g_ascii_strtoll (p, &end, 10);
      p = end;
    }
  p++;
  g_assert_cmpint (values[2], ==, 255);
  *width = values[0];
  *height = values[1];
  g_assert_cmpuint (length - (p - data), ==, (gsize) *width * *height * 3);
  return g_bytes_new (p, (gsize) *width * *height * 3);
}

/* Pixels */

static guint8 *
download (GdkTexture *texture)
{
  int w = gdk_texture_get_width (texture);
  int h = gdk_texture_get_height (texture);
  guint8 *pixels = g_malloc ((gsize) w * h * 4);

  gdk_texture_download (texture, pixels, w * 4);
  return pixels;
}

/* The share of TEXTURE's pixels equal to the RGB picture (same size). */
static double
match_ratio (GdkTexture *texture,
             GBytes     *rgb)
{
  int w = gdk_texture_get_width (texture);
  int h = gdk_texture_get_height (texture);
  g_autofree guint8 *argb = download (texture);
  const guint8 *ref = g_bytes_get_data (rgb, NULL);
  int x0 = w, y0 = h, x1 = -1, y1 = -1;
  gsize same = 0;

  /* gdk_texture_download() gives cairo's ARGB32: B, G, R, A in memory. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        gsize i = (gsize) y * w + x;

        if (argb[i * 4 + 2] == ref[i * 3] && argb[i * 4 + 1] == ref[i * 3 + 1] && argb[i * 4] == ref[i * 3 + 2])
          same++;
        else
          {
            x0 = MIN (x0, x);
            y0 = MIN (y0, y);
            x1 = MAX (x1, x);
            y1 = MAX (y1, y);
          }
      }
  if (x1 >= 0)
    g_test_message ("Pixels differ within %d,%d-%d,%d", x0, y0, x1, y1);
  return (double) same / ((double) w * h);
}

static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                      node, &GRAPHENE_RECT_INIT (0, 0, w, h));
}

static gboolean
is_black (const guint8 *bgra)
{
  return bgra[0] == 0 && bgra[1] == 0 && bgra[2] == 0;
}

static gboolean
is_bright (const guint8 *bgra)
{
  return bgra[0] + bgra[1] + bgra[2] > 3 * 96;
}

/* Tests */

static void
test_keymap (void)
{
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_A), ==, 0x1e);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_ESC), ==, 0x01);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_F12), ==, 0x58);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_RIGHTCTRL), ==, 0x9d);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_RIGHTALT), ==, 0xb8);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_UP), ==, 0xc8);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_DELETE), ==, 0xd3);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_LEFTMETA), ==, 0xdb);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_KPENTER), ==, 0x9c);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_KPSLASH), ==, 0xb5);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_MAX), ==, 0);
  g_assert_cmphex (tsr_keymap_evdev_to_qnum (KEY_MAX + 1), ==, 0);
  g_assert_cmpuint (tsr_keymap_keycode_to_evdev (38), ==, KEY_A);
  g_assert_cmpuint (tsr_keymap_evdev_to_keycode (KEY_A), ==, 38);
}

/* (1) Connected, at the size of the guest's VGA text mode. */
static void
test_connect (void)
{
  start_qemu ();
  open_console (&one_to_one, TSR_VNC_SCALE_ONE_TO_ONE, -1, -1);
  g_assert_cmpint (tsr_vnc_view_get_scale (one_to_one.view), ==, TSR_VNC_SCALE_ONE_TO_ONE);

  wait_for_log ("TESSERA-GUEST: ready", 1, 60);
  show_console (&one_to_one);
  g_assert_true (tsr_vnc_view_get_connected (one_to_one.view));
  g_assert_cmpint (tsr_vnc_view_get_guest_width (one_to_one.view), ==, 720);
  g_assert_cmpint (tsr_vnc_view_get_guest_height (one_to_one.view), ==, 400);
  g_assert_cmpuint (one_to_one.disconnected, ==, 0);
}

/* (2) The frame and the widget at 1:1 are QEMU's own screen. */
static void
test_pixels (void)
{
  g_autoptr(GdkTexture) frame = NULL;
  g_autoptr(GdkTexture) rendered = NULL;
  g_autoptr(GBytes) screen = NULL;
  int w, h;
  double ratio;

  g_assert_nonnull (one_to_one.view);
  spin (1500);
  tsr_test_wait_for_frames (one_to_one.window, 2, TIMEOUT_S * 1000);

  frame = tsr_vnc_view_get_frame (one_to_one.view);
  g_assert_nonnull (frame);
  rendered = render (GTK_WIDGET (one_to_one.view));
  screen = screendump (&w, &h);
  g_assert_cmpint (w, ==, 720);
  g_assert_cmpint (h, ==, 400);

  g_assert_cmpint (gdk_texture_get_width (frame), ==, w);
  g_assert_cmpint (gdk_texture_get_height (frame), ==, h);
  ratio = match_ratio (frame, screen);
  g_test_message ("Frame matches QEMU's screendump on %.2f %% of pixels", ratio * 100);
  g_assert_cmpfloat (ratio, >=, 0.99);

  g_assert_cmpint (gdk_texture_get_width (rendered), ==, w);
  g_assert_cmpint (gdk_texture_get_height (rendered), ==, h);
  ratio = match_ratio (rendered, screen);
  g_test_message ("Widget at 1:1 matches QEMU's screendump on %.2f %% of pixels", ratio * 100);
  g_assert_cmpfloat (ratio, >=, 0.99);
  g_assert_cmpuint (tsr_vnc_view_get_frames_drawn (one_to_one.view), >, 0);

  tsr_test_write_window_screenshot (one_to_one.window, "console-1to1.png", 2, TIMEOUT_S * 1000);
}

static gboolean
view_grabbed (gpointer data)
{
  return tsr_vnc_view_get_keyboard_grabbed (TSR_VNC_VIEW (data));
}

static gboolean
view_not_grabbed (gpointer data)
{
  return !tsr_vnc_view_get_keyboard_grabbed (TSR_VNC_VIEW (data));
}

static void
exited_cb (GObject      *process,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
run_async (const char *command)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) process = NULL;
  gboolean done = FALSE;
  gint64 end = g_get_monotonic_time () + TIMEOUT_S * G_USEC_PER_SEC;

  /* The main loop keeps running, so that the widget reads the events
   * while the command sends them.
   */
  g_assert_true (g_shell_parse_argv (command, NULL, &argv, &error));
  process = g_subprocess_newv ((const char * const *) argv, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_async (process, NULL, exited_cb, &done);
  while (!done)
    {
      if (g_get_monotonic_time () > end)
        g_error ("Timed out running %s", command);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (g_subprocess_get_successful (process));
}

/* (3) What is typed into the window reaches the guest. A click grabs the
 * keyboard, Ctrl+Alt lets it go again.
 */
static void
test_keys (void)
{
  GdkSurface *surface;
  g_autofree char *click = NULL;
  g_autofree char *type = NULL;
  guint64 frames;

  g_assert_nonnull (one_to_one.view);
  surface = gtk_native_get_surface (GTK_NATIVE (one_to_one.window));
  g_assert_true (GDK_IS_X11_SURFACE (surface));

  click = g_strdup_printf ("xdotool mousemove --window %lu 200 150 click 1",
                           (gulong) gdk_x11_surface_get_xid (surface));
  run_async (click);
  g_assert_true (tsr_test_spin_until (view_grabbed, one_to_one.view, TIMEOUT_S * 1000));
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (one_to_one.view)));

  frames = tsr_vnc_view_get_frames_drawn (one_to_one.view);
  type = g_strdup_printf ("xdotool type --delay 30 'hello console'");
  run_async (type);
  run_async ("xdotool key Return");
  wait_for_log ("TESSERA-GUEST: typed on screen: hello console", 1, TIMEOUT_S);

  /* The guest's echo on its screen came back as new frames. */
  spin (500);
  g_assert_cmpuint (tsr_vnc_view_get_frames_drawn (one_to_one.view), >, frames);

  run_async ("xdotool keydown ctrl keydown alt keyup alt keyup ctrl");
  g_assert_true (tsr_test_spin_until (view_not_grabbed, one_to_one.view, TIMEOUT_S * 1000));
}

/* (5) Type Clipboard's text arrives as typed keys. */
static void
test_type_text (void)
{
  g_assert_nonnull (one_to_one.view);
  g_assert_cmpuint (tsr_vnc_view_type_text (one_to_one.view, "abc XYZ 123\n"), ==, 0);
  wait_for_log ("TESSERA-GUEST: typed on screen: abc XYZ 123", 1, TIMEOUT_S);
}

/* (4) Ctrl+Alt+Del from Send Key reboots the guest. */
static void
test_send_keys (void)
{
  const guint keys[] = { KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE };

  g_assert_nonnull (one_to_one.view);
  g_assert_cmpuint (log_count ("TESSERA-GUEST: booted from"), ==, 1);
  tsr_vnc_view_send_keys (one_to_one.view, keys, G_N_ELEMENTS (keys));
  wait_for_log ("TESSERA-GUEST: booted from", 2, 60);
  wait_for_log ("TESSERA-GUEST: ready", 2, 60);
  g_assert_true (tsr_vnc_view_get_connected (one_to_one.view));
}

/* (6) Fit: the guest's screen scaled into a larger window, black around. */
static void
test_fit (void)
{
  g_autoptr(GdkTexture) rendered = NULL;
  g_autoptr(GdkTexture) frame = NULL;
  g_autofree guint8 *pixels = NULL;
  g_autofree guint8 *guest = NULL;
  int w, h, top, bottom;
  gsize bright = 0, guest_bright = 0;
  double scale, expected;

  g_assert_nonnull (one_to_one.view);
  open_console (&fit, TSR_VNC_SCALE_FIT, 1000, 700);
  show_console (&fit);
  spin (1500);
  tsr_test_wait_for_frames (fit.window, 2, TIMEOUT_S * 1000);
  g_assert_cmpint (tsr_vnc_view_get_scale (fit.view), ==, TSR_VNC_SCALE_FIT);

  rendered = render (GTK_WIDGET (fit.view));
  w = gdk_texture_get_width (rendered);
  h = gdk_texture_get_height (rendered);
  g_assert_cmpint (w, ==, 1000);
  g_assert_cmpint (h, ==, 700);
  pixels = download (rendered);

  /* 720×400 into 1000×700: width-bound, bars above and below. */
  scale = MIN (1000.0 / 720, 700.0 / 400);
  top = (int) ((700 - 400 * scale) / 2);
  bottom = top + (int) (400 * scale + 0.5);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *px = pixels + ((gsize) y * w + x) * 4;

        if (y < top - 1 || y > bottom + 1)
          g_assert_true (is_black (px));
        else if (is_bright (px))
          bright++;
      }

  frame = tsr_vnc_view_get_frame (fit.view);
  guest = download (frame);
  for (gsize i = 0; i < 720 * 400; i++)
    if (is_bright (guest + i * 4))
      guest_bright++;

  /* The text is there, scaled up by the fit factor in area. */
  expected = guest_bright * scale * scale;
  g_test_message ("Fit: %" G_GSIZE_FORMAT " bright pixels, %.0f expected", bright, expected);
  g_assert_cmpuint (guest_bright, >, 100);
  g_assert_cmpfloat (bright, >, expected * 0.6);
  g_assert_cmpfloat (bright, <, expected * 1.4);

  tsr_test_write_window_screenshot (fit.window, "console-fit.png", 2, TIMEOUT_S * 1000);
}

static gboolean
both_disconnected (gpointer data)
{
  return one_to_one.disconnected > 0 && (fit.view == NULL || fit.disconnected > 0);
}

static void
drop_console (Console *console)
{
  if (console->view == NULL)
    return;
  gtk_window_destroy (GTK_WINDOW (console->window));
  g_assert_finalize_object (console->view);
  console->view = NULL;
  g_clear_pointer (&console->reason, g_free);
}

/* (7) QEMU goes away: "disconnected" once, the last frame stays. */
static void
test_qemu_killed (void)
{
  g_autoptr(GdkTexture) last = NULL;

  g_assert_nonnull (one_to_one.view);
  g_subprocess_force_exit (qemu);
  g_assert_true (tsr_test_spin_until (both_disconnected, NULL, TIMEOUT_S * 1000));
  spin (500);

  g_assert_cmpuint (one_to_one.disconnected, ==, 1);
  g_assert_false (tsr_vnc_view_get_connected (one_to_one.view));
  g_assert_false (tsr_vnc_view_get_keyboard_grabbed (one_to_one.view));
  if (fit.view != NULL)
    g_assert_cmpuint (fit.disconnected, ==, 1);

  /* Closing a closed console changes nothing and says nothing. */
  tsr_vnc_view_close (one_to_one.view);
  g_assert_cmpuint (one_to_one.disconnected, ==, 1);
  last = tsr_vnc_view_get_frame (one_to_one.view);
  g_assert_nonnull (last);

  tsr_test_write_window_screenshot (one_to_one.window, "console-disconnected.png", 2, TIMEOUT_S * 1000);
  drop_console (&one_to_one);
  drop_console (&fit);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/console/keymap/qnum", test_keymap);
  tsr_test_add_func_needing ("/console/vnc/connect", test_connect, "qemu-system-x86_64", NULL);
  tsr_test_add_func_needing ("/console/vnc/pixels", test_pixels, "qemu-system-x86_64", NULL);
  tsr_test_add_func_needing ("/console/vnc/keys", test_keys, "qemu-system-x86_64", "xdotool", NULL);
  tsr_test_add_func_needing ("/console/vnc/type-text", test_type_text, "qemu-system-x86_64", NULL);
  tsr_test_add_func_needing ("/console/vnc/send-keys", test_send_keys, "qemu-system-x86_64", NULL);
  tsr_test_add_func_needing ("/console/vnc/fit", test_fit, "qemu-system-x86_64", NULL);
  tsr_test_add_func_needing ("/console/vnc/qemu-killed", test_qemu_killed, "qemu-system-x86_64", NULL);

  status = g_test_run ();

  if (qemu != NULL)
    {
      g_subprocess_force_exit (qemu);
      g_subprocess_wait (qemu, NULL, NULL);
      g_clear_object (&qemu);
    }
  if (dir != NULL)
    tsr_test_remove_flat_dir (dir);
  return status;
}
