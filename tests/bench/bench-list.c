/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-list URI N_WITH_IP
 *
 * Opens URI with the core and prints, as "key: value" lines:
 *   core_open_to_list_ms   open until every VM is listed with IP/netmask/gateway
 *   max_stall_ms           longest gap between main-loop dispatches meanwhile
 *   rss_added_kib          resident memory the connection and its list added
 *   vms                    how many VMs were listed
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "tsr-connection.h"

static gint64 last_tick;
static gint64 max_stall;

static gboolean
tick_cb (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  max_stall = MAX (max_stall, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
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

static guint
count_with_ip (GListModel *model)
{
  guint n = g_list_model_get_n_items (model), with_ip = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (tsr_vm_get_ip (vm) && tsr_vm_get_netmask (vm) && tsr_vm_get_gateway (vm))
        with_ip++;
    }
  return with_ip;
}

static void
opened_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!tsr_connection_open_finish (TSR_CONNECTION (object), result, &error))
    g_error ("%s", error->message);
  *(gboolean *) user_data = TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(TsrConnection) conn = NULL;
  gboolean opened = FALSE;
  guint expected, tick;
  gint64 start, end;
  long rss_before, rss_after;

  if (argc != 3)
    {
      g_printerr ("usage: %s URI N_WITH_IP\n", argv[0]);
      return 2;
    }
  expected = (guint) g_ascii_strtoull (argv[2], NULL, 10);

  tsr_init ();
  /* Warm up libvirt's own one-time set-up so it does not count. */
  {
    g_autoptr(TsrConnection) warm = tsr_connection_new ("test:///default");
    gboolean done = FALSE;

    tsr_connection_open_async (warm, NULL, opened_cb, &done);
    while (!done)
      g_main_context_iteration (NULL, TRUE);
    tsr_connection_close (warm);
  }

  rss_before = rss_kib ();
  conn = tsr_connection_new (argv[1]);
  last_tick = g_get_monotonic_time ();
  tick = g_timeout_add (1, tick_cb, NULL);
  start = g_get_monotonic_time ();
  tsr_connection_open_async (conn, NULL, opened_cb, &opened);
  while (!opened || count_with_ip (tsr_connection_get_vms (conn)) < expected)
    g_main_context_iteration (NULL, TRUE);
  end = g_get_monotonic_time ();
  g_source_remove (tick);
  rss_after = rss_kib ();

  g_print ("vms: %u\n", g_list_model_get_n_items (tsr_connection_get_vms (conn)));
  g_print ("core_open_to_list_ms: %.1f\n", (end - start) / 1000.0);
  g_print ("max_stall_ms: %.1f\n", max_stall / 1000.0);
  g_print ("rss_added_kib: %ld\n", rss_after - rss_before);

  tsr_connection_close (conn);
  return 0;
}
