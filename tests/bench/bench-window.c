/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-window URI N_VMS
 *
 * Opens the real window on URI and prints, as "key: value" lines:
 *   window_first_frame_ms  present until the first frame is drawn (usable window)
 *   window_list_ms         present until all N VMs are in the list and drawn
 *   window_max_stall_ms    longest gap between main-loop dispatches meanwhile
 *   window_max_load_stall_ms  the same, after the first frame: while loading
 *   window_rss_added_kib   resident memory the window and its list added
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "tsr-application.h"
#include "tsr-test-window.h"

static gint64 last_tick, max_stall, max_load_stall, first_frame;

static gboolean
tick_cb (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  max_stall = MAX (max_stall, now - last_tick);
  if (first_frame != 0 && last_tick >= first_frame)
    max_load_stall = MAX (max_load_stall, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  if (first_frame == 0)
    first_frame = g_get_monotonic_time ();
  (*(guint *) user_data)++;
}

static long
rss_kib (void)
{
  g_autofree char *statm = NULL;
  long pages = 0, resident = 0;

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    sscanf (statm, "%ld %ld", &pages, &resident);
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GtkApplication) app = NULL;
  TsrWindow *window;
  GdkFrameClock *clock;
  GListModel *view_model;
  guint expected, frames = 0, frames_at_list = 0, tick;
  gint64 start, listed = 0;
  long rss_before;

  if (argc != 3)
    {
      g_printerr ("usage: %s URI N_VMS\n", argv[0]);
      return 2;
    }
  expected = (guint) g_ascii_strtoull (argv[2], NULL, 10);

  app = GTK_APPLICATION (tsr_application_new ());
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  rss_before = rss_kib ();
  last_tick = start = g_get_monotonic_time ();
  tick = g_timeout_add (1, tick_cb, NULL);
  window = tsr_window_new (app, argv[1]);
  gtk_window_present (GTK_WINDOW (window));
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &frames);

  /* Listed and drawn: all rows in the view's model (the window's own
   * models are complete before the view, which gets its rows a few at a
   * time), then one more frame.
   */
  view_model = G_LIST_MODEL (gtk_column_view_get_model (tsr_test_window_get_column_view (window)));
  while (listed == 0 || frames < frames_at_list + 1)
    {
      g_main_context_iteration (NULL, TRUE);
      if (listed == 0 && g_list_model_get_n_items (view_model) >= expected &&
          g_strcmp0 (tsr_test_window_get_page (window), "list") == 0)
        {
          listed = g_get_monotonic_time ();
          frames_at_list = frames;
        }
    }
  g_source_remove (tick);

  g_print ("window_first_frame_ms: %.1f\n", (first_frame - start) / 1000.0);
  g_print ("window_list_ms: %.1f\n", (g_get_monotonic_time () - start) / 1000.0);
  g_print ("window_max_stall_ms: %.1f\n", max_stall / 1000.0);
  g_print ("window_max_load_stall_ms: %.1f\n", max_load_stall / 1000.0);
  g_print ("window_rss_added_kib: %ld\n", rss_kib () - rss_before);

  g_signal_handlers_disconnect_by_func (clock, after_paint_cb, &frames);
  gtk_window_destroy (GTK_WINDOW (window));
  return 0;
}
