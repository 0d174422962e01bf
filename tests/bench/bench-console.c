/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-console (run under Xvfb, TESSERA_FIXTURE_DIR set)
 *
 * A QEMU guest (TCG, no libvirt, VNC on localhost) booted with tessera.redraw=1 rewrites its
 * whole text screen without pause. Prints a table: CPU seconds over 10 s of
 * Tessera's console widget and of remote-viewer on the same guest, the
 * widget's frames drawn per second, its idle CPU over 5 s once the guest is
 * paused (static screen), and the time from open_fd to the first frame.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tsr-test-util.h"
#include "tsr-vnc-view.h"

#define RUN_S 10
#define IDLE_S 5

static char *dir;
/* remote-viewer 11 cannot open QEMU's VNC on a unix socket (it asks for a
 * host), so both viewers use TCP on localhost.
 */
static int vnc_display;

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  guint wake = g_timeout_add (5, wake_cb, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

/* utime + stime of PID (0: this process), in seconds. */
static double
cpu_seconds (GPid pid)
{
  g_autofree char *path = pid ? g_strdup_printf ("/proc/%d/stat", pid) : g_strdup ("/proc/self/stat");
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;
  const char *after;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("Cannot read %s", path);
  /* The command name may hold spaces: fields count from its ')'. */
  after = strrchr (text, ')');
  fields = g_strsplit (after + 2, " ", -1);
  return (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL)) / sysconf (_SC_CLK_TCK);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
path_in_dir (const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static gboolean
log_has (const char *needle)
{
  g_autofree char *path = path_in_dir ("serial.log");
  g_autofree char *text = NULL;

  return g_file_get_contents (path, &text, NULL, NULL) && strstr (text, needle) != NULL;
}

static GSubprocess *
start_qemu (void)
{
  const char *fixtures = g_getenv ("TESSERA_FIXTURE_DIR");
  g_autofree char *kernel = g_build_filename (fixtures, "vmlinuz", NULL);
  g_autofree char *initrd = g_build_filename (fixtures, "initramfs.img", NULL);
  g_autofree char *vnc = g_strdup_printf ("127.0.0.1:%d", vnc_display);
  g_autofree char *serial = g_strdup_printf ("socket,id=s0,path=%s/ser.sock,server=on,wait=off,logfile=%s/serial.log", dir, dir);
  g_autofree char *qmp = g_strdup_printf ("unix:%s/qmp.sock,server=on,wait=off", dir);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;
  GSubprocess *qemu;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  qemu = g_subprocess_launcher_spawn (launcher, &error,
                                      "qemu-system-x86_64", "-m", "256", "-display", "none",
                                      "-vnc", vnc, "-kernel", kernel, "-initrd", initrd,
                                      "-append", "console=ttyS0 tessera.redraw=1",
                                      "-chardev", serial, "-serial", "chardev:s0",
                                      "-qmp", qmp, "-nic", "none", NULL);
  if (qemu == NULL)
    g_error ("QEMU: %s", error->message);
  return qemu;
}

static GSocketConnection *
connect_unix (const char *name)
{
  g_autofree char *path = path_in_dir (name);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);

  if (connection == NULL)
    g_error ("%s: %s", path, error->message);
  return connection;
}

/* Pauses the guest (QMP "stop"), so that its screen stands still. The
 * commands are constants, the replies only waited for.
 */
static void
pause_guest (void)
{
  g_autoptr(GSocketConnection) connection = connect_unix ("qmp.sock");
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  static const char *const commands[] = { "{\"execute\":\"qmp_capabilities\"}\n", "{\"execute\":\"stop\"}\n" };

  g_free (g_data_input_stream_read_line (in, NULL, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_output_stream_write_all (out, commands[i], strlen (commands[i]), NULL, NULL, NULL);
      g_free (g_data_input_stream_read_line (in, NULL, NULL, NULL));
    }
}

static double
remote_viewer_cpu (void)
{
  g_autofree char *uri = g_strdup_printf ("vnc://127.0.0.1:%d", 5900 + vnc_display);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) viewer = NULL;
  g_autoptr(GError) error = NULL;
  GPid pid;
  double start, cpu;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  viewer = g_subprocess_launcher_spawn (launcher, &error, "remote-viewer", uri, NULL);
  if (viewer == NULL)
    g_error ("remote-viewer: %s", error->message);
  pid = atoi (g_subprocess_get_identifier (viewer));

  spin (2000);
  start = cpu_seconds (pid);
  spin (RUN_S * 1000);
  cpu = cpu_seconds (pid) - start;
  g_subprocess_force_exit (viewer);
  g_subprocess_wait (viewer, NULL, NULL);
  return cpu;
}

static gboolean
have_frame (TsrVncView *view)
{
  return tsr_vnc_view_get_frames_drawn (view) > 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *window;
  TsrVncView *view;
  gint64 opened, deadline;
  double first_frame_ms, start, ours, theirs, idle;
  guint64 frames;

  gtk_init ();
  vnc_display = 60 + getpid () % 30;
  dir = g_dir_make_tmp ("tsr-bench-console-XXXXXX", &error);
  g_assert_no_error (error);
  qemu = start_qemu ();

  deadline = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;
  while (!log_has ("TESSERA-GUEST: ready"))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("The guest did not boot");
      spin (200);
    }
  spin (1000);

  window = gtk_window_new ();
  view = TSR_VNC_VIEW (tsr_vnc_view_new ());
  tsr_vnc_view_set_scale (view, TSR_VNC_SCALE_ONE_TO_ONE);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (view));
  gtk_window_set_default_size (GTK_WINDOW (window), 720, 400);
  gtk_window_present (GTK_WINDOW (window));
  spin (500);

  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();

    connection = g_socket_client_connect_to_host (client, "127.0.0.1", 5900 + vnc_display, NULL, &error);
    g_assert_no_error (error);
  }
  opened = g_get_monotonic_time ();
  tsr_vnc_view_open_fd (view, dup (g_socket_get_fd (g_socket_connection_get_socket (connection))));
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  while (!have_frame (view))
    {
      if (g_get_monotonic_time () > opened + 30 * G_USEC_PER_SEC)
        g_error ("No frame");
      g_main_context_iteration (NULL, TRUE);
    }
  first_frame_ms = (g_get_monotonic_time () - opened) / 1000.0;

  spin (2000);
  start = cpu_seconds (0);
  frames = tsr_vnc_view_get_frames_drawn (view);
  spin (RUN_S * 1000);
  ours = cpu_seconds (0) - start;
  frames = tsr_vnc_view_get_frames_drawn (view) - frames;

  /* The widget stays connected, as a second client would be in practice. */
  theirs = remote_viewer_cpu ();

  pause_guest ();
  spin (1000);
  start = cpu_seconds (0);
  spin (IDLE_S * 1000);
  idle = cpu_seconds (0) - start;

  printf ("%-44s %10s %14s\n", "console, guest redrawing (10 s)", "Tessera", "remote-viewer");
  printf ("%-44s %10.2f %14.2f\n", "CPU seconds", ours, theirs);
  printf ("%-44s %10.1f %14s\n", "frames drawn per second", (double) frames / RUN_S, "-");
  printf ("%-44s %9.2f%% %14s\n", "idle CPU, static screen (5 s, % of a core)", idle / IDLE_S * 100, "-");
  printf ("%-44s %10.0f %14s\n", "open_fd to first frame (ms)", first_frame_ms, "-");

  tsr_vnc_view_close (view);
  gtk_window_destroy (GTK_WINDOW (window));
  g_subprocess_force_exit (qemu);
  g_subprocess_wait (qemu, NULL, NULL);
  tsr_test_remove_flat_dir (dir);
  return 0;
}
