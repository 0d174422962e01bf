/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-storm core|window N [URI]
 *
 * Event storms on libvirt's test driver (test:///default, which every
 * connection of this process shares), or on the libvirtd at URI (a
 * private one: tests/common/private-libvirtd.sh): N domains "storm-NNNN"
 * are defined, the core (or the real window) lists them, and then another
 * thread with a connection of its own
 *   undefine  undefines all N in one batch,
 *   define    defines them all again,
 *   start     starts them all (test driver only: QEMU would boot them),
 *   stop      destroys them all (test driver only),
 * as virsh or a script would; then
 *   reconnect half of them are undefined while the connection hears no
 *             events, as while libvirtd was away, and the list is read
 *             again and reconciled, as after a reconnect.
 * For each phase it prints, as "key: value"
 * lines, the longest gap between two runs of a high-priority 1 ms timeout
 * (the longest main-loop stall, from the batch's start until 2 s after the
 * list is right), the time from the batch's start until the list is right,
 * and the number of items-changed signals of the core's list (in the
 * window also the longest frame: layout and drawing, GTK's share); and the
 * resident memory with N VMs listed, after they are gone and once they
 * are back. TSR_BENCH_TRACE=1 prints every stall and frame over 12 ms.
 * Figures only: nothing here is asserted.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"

#ifdef TSR_TEST_UTIL_GTK
#include "tsr-application.h"
#include "tsr-test-window.h"
#include "tsr-window.h"
#endif

#define PHASE_TIMEOUT_S 120
#define SETTLE_S        2

static gint64 last_tick, max_stall, frame_start, max_frame;
static guint store_changes;
static gboolean trace;
static const char *uri = "test:///default";
static gboolean test_driver;

static void
frame_start_cb (void)
{
  frame_start = g_get_monotonic_time ();
}

static void
frame_end_cb (void)
{
  gint64 spent = g_get_monotonic_time () - frame_start;

  if (frame_start == 0)
    return;
  max_frame = MAX (max_frame, spent);
  if (trace && spent > 12 * G_TIME_SPAN_MILLISECOND)
    g_printerr ("  frame %.1f ms\n", spent / 1000.0);
  frame_start = 0;
}

static gboolean
tick_cb (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (trace && now - last_tick > 12 * G_TIME_SPAN_MILLISECOND)
    g_printerr ("  stall %.1f ms\n", (now - last_tick) / 1000.0);

  max_stall = MAX (max_stall, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

static void
store_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  gpointer    user_data)
{
  store_changes++;
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

static char *
domain_xml (guint i)
{
  return g_strdup_printf ("<domain type='%s'><name>storm-%04u</name>"
                          "<memory unit='MiB'>400</memory><vcpu>1</vcpu>"
                          "<metadata><tessera:vm xmlns:tessera='https://tessera.invalid/xmlns/vm/1.0'>"
                          "<tessera:label>green</tessera:label></tessera:vm></metadata>"
                          "<os><type arch='x86_64'>hvm</type></os><devices>"
                          "<interface type='network'><mac address='52:54:00:5e:%02x:%02x'/>"
                          "<source network='default'/></interface></devices></domain>",
                          test_driver ? "test" : "qemu", i, i / 256, i % 256);
}

typedef enum { UNDEFINE, DEFINE, START, STOP } Phase;

static const char * const phase_names[] = { "undefine", "define", "start", "stop" };

typedef struct
{
  Phase phase;
  guint n;
} Batch;

/* What virsh in another process would do, from another thread here. */
static gpointer
batch_thread (gpointer user_data)
{
  Batch *batch = user_data;
  virConnectPtr conn = virConnectOpen (uri);

  g_assert (conn != NULL);
  for (guint i = 0; i < batch->n; i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom;

      if (batch->phase == DEFINE)
        {
          g_autofree char *xml = domain_xml (i);

          dom = virDomainDefineXML (conn, xml);
        }
      else
        {
          dom = virDomainLookupByName (conn, name);
          if (dom != NULL && batch->phase == UNDEFINE)
            virDomainUndefine (dom);
          else if (dom != NULL && batch->phase == START)
            virDomainCreate (dom);
          else if (dom != NULL)
            virDomainDestroy (dom);
        }
      if (dom == NULL)
        g_error ("%s of %s failed", phase_names[batch->phase], name);
      virDomainFree (dom);
    }
  virConnectClose (conn);
  return NULL;
}

typedef struct
{
  GListModel *store;     /* the core's list */
  GListModel *view;      /* the view's model, or NULL */
  GListModel *sorted;    /* the window's sorted list, or NULL */
  guint       n;
  TsrConnection *conn;
} Target;

static guint
count_storm (GListModel *model,
             TsrVmState  state)
{
  guint n = g_list_model_get_n_items (model), found = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      if (g_str_has_prefix (tsr_vm_get_name (vm), "storm-") &&
          (state == TSR_VM_STATE_UNKNOWN || tsr_vm_get_state (vm) == state))
        found++;
    }
  return found;
}

/* "test", the test driver's own domain, stays all along. */
static gboolean
list_is_right (const Target *target,
               Phase         phase)
{
  guint others = test_driver ? 1 : 0;
  guint want = phase == UNDEFINE ? others : target->n + others;
  TsrVmState state = phase == START ? TSR_VM_STATE_RUNNING : TSR_VM_STATE_SHUTOFF;

  if (g_list_model_get_n_items (target->store) != want)
    return FALSE;
  if (target->sorted != NULL && g_list_model_get_n_items (target->sorted) != want)
    return FALSE;
  if (target->view != NULL && g_list_model_get_n_items (target->view) != want)
    return FALSE;
  return phase == UNDEFINE || count_storm (target->store, state) == target->n;
}

static void
run_phase (const Target *target,
           Phase         phase)
{
  Batch batch = { phase, target->n };
  GThread *thread;
  guint tick;
  gint64 start, end = 0, deadline;
  guint changes;

  /* Settle first, so that the phase starts from a quiet main loop. */
  for (int i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE));

  store_changes = 0;
  max_stall = max_frame = frame_start = 0;
  last_tick = start = g_get_monotonic_time ();
  deadline = start + PHASE_TIMEOUT_S * G_USEC_PER_SEC;
  tick = g_timeout_add_full (G_PRIORITY_HIGH, 1, tick_cb, NULL, NULL);
  if (trace)
    g_printerr ("%s:\n", phase_names[phase]);
  thread = g_thread_new ("storm", batch_thread, &batch);

  while (!list_is_right (target, phase))
    {
      if (g_get_monotonic_time () > deadline)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  if (list_is_right (target, phase))
    end = g_get_monotonic_time ();
  changes = store_changes;
  g_thread_join (thread);

  /* What the burst left to do (reading domains and networks again,
   * sorting) runs on after the list is right: its stalls count too.
   */
  while (end != 0 && g_get_monotonic_time () < end + SETTLE_S * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);

  if (end == 0)
    g_print ("%s_right_ms: >%d000 (timed out)\n", phase_names[phase], PHASE_TIMEOUT_S);
  else
    g_print ("%s_right_ms: %.1f\n", phase_names[phase], (end - start) / 1000.0);
  g_print ("%s_max_stall_ms: %.1f\n", phase_names[phase], max_stall / 1000.0);
  if (target->view != NULL)
    g_print ("%s_max_frame_ms: %.1f\n", phase_names[phase], max_frame / 1000.0);
  g_print ("%s_store_items_changed: %u\n", phase_names[phase], changes);
  if (end == 0)
    exit (1);
}

static void
reloaded_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_error ("%s", error->message);
  *(gboolean *) user_data = TRUE;
}

static void
run_reconnect (TsrConnection *conn,
               const Target  *target)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  gboolean done = FALSE;
  gint64 start, end = 0, deadline;
  guint tick, want = target->n / 2 + (test_driver ? 1 : 0);

  virConnectDomainEventDeregisterAny (handle, conn->lifecycle_id);
  conn->lifecycle_id = -1;
  for (guint i = 0; i < target->n; i += 2)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom = virDomainLookupByName (handle, name);

      virDomainUndefine (dom);
      virDomainFree (dom);
    }
  for (int i = 0; i < 50; i++)
    while (g_main_context_iteration (NULL, FALSE));

  store_changes = 0;
  max_stall = max_frame = frame_start = 0;
  last_tick = start = g_get_monotonic_time ();
  deadline = start + PHASE_TIMEOUT_S * G_USEC_PER_SEC;
  tick = g_timeout_add_full (G_PRIORITY_HIGH, 1, tick_cb, NULL, NULL);
  if (trace)
    g_printerr ("reconnect:\n");
  /* The load answers the task it is given, and drops it. */
  _tsr_connection_start_load (conn, TRUE, g_task_new (conn, NULL, reloaded_cb, &done));
  while (!(done && g_list_model_get_n_items (target->store) == want &&
           (target->view == NULL || g_list_model_get_n_items (target->view) == want)) &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (done && g_list_model_get_n_items (target->store) == want)
    end = g_get_monotonic_time ();
  while (end != 0 && g_get_monotonic_time () < end + SETTLE_S * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);

  if (end == 0)
    g_print ("reconnect_right_ms: >%d000 (timed out)\n", PHASE_TIMEOUT_S);
  else
    g_print ("reconnect_right_ms: %.1f\n", (end - start) / 1000.0);
  g_print ("reconnect_max_stall_ms: %.1f\n", max_stall / 1000.0);
  if (target->view != NULL)
    g_print ("reconnect_max_frame_ms: %.1f\n", max_frame / 1000.0);
  g_print ("reconnect_store_items_changed: %u\n", store_changes);
}

static void
run_storm (Target *target)
{
  long rss_listed, rss_gone, rss_back;

  g_signal_connect (target->store, "items-changed", G_CALLBACK (store_changed_cb), NULL);

  rss_listed = rss_kib ();
  run_phase (target, UNDEFINE);
  rss_gone = rss_kib ();
  run_phase (target, DEFINE);
  rss_back = rss_kib ();
  if (test_driver)
    {
      run_phase (target, START);
      run_phase (target, STOP);
    }
  run_reconnect (target->conn, target);

  g_print ("rss_listed_kib: %ld\n", rss_listed);
  g_print ("rss_gone_kib: %ld\n", rss_gone);
  g_print ("rss_back_kib: %ld\n", rss_back);

  g_signal_handlers_disconnect_by_func (target->store, store_changed_cb, NULL);
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Waits for the first list, PHASE_TIMEOUT_S at most. */
#define WAIT_LISTED(cond)                                                      \
  G_STMT_START {                                                               \
    gint64 _end = g_get_monotonic_time () + PHASE_TIMEOUT_S * G_USEC_PER_SEC;  \
    guint _wake = g_timeout_add (100, wake_cb, NULL);                          \
    while (!(cond))                                                            \
      {                                                                        \
        if (g_get_monotonic_time () > _end)                                    \
          g_error ("The list never came: %s", #cond);                          \
        g_main_context_iteration (NULL, TRUE);                                 \
      }                                                                        \
    g_source_remove (_wake);                                                   \
  } G_STMT_END

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

/* The test driver's shared state lives as long as one connection to it:
 * this one stays open until the end, and on a real libvirtd removes what
 * the run defined.
 */
static virConnectPtr keeper;

static void
undefine_all (guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom = virDomainLookupByName (keeper, name);

      if (dom != NULL)
        {
          virDomainUndefine (dom);
          virDomainFree (dom);
        }
    }
}

static void
define_all (guint n)
{
  virConnectPtr conn = keeper = virConnectOpen (uri);

  if (conn == NULL)
    g_error ("Cannot connect to %s", uri);
  /* What a run that was cut short left. */
  if (!test_driver)
    undefine_all (n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *xml = domain_xml (i);
      virDomainPtr dom = virDomainDefineXML (conn, xml);

      g_assert (dom != NULL);
      virDomainFree (dom);
    }
}

static void
bench_core (guint n)
{
  g_autoptr(TsrConnection) conn = tsr_connection_new (uri);
  Target target = { tsr_connection_get_vms (conn), NULL, NULL, n, conn };
  gboolean opened = FALSE;

  tsr_connection_open_async (conn, NULL, opened_cb, &opened);
  WAIT_LISTED (opened && g_list_model_get_n_items (target.store) >= n + test_driver);
  run_storm (&target);
  tsr_connection_close (conn);
}

#ifdef TSR_TEST_UTIL_GTK
static void
bench_window (guint n)
{
  g_autoptr(GtkApplication) app = GTK_APPLICATION (tsr_application_new ());
  TsrWindow *window;
  Target target = { NULL, NULL, NULL, n, NULL };

  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, NULL);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  window = tsr_window_new (app, uri);
  gtk_window_present (GTK_WINDOW (window));
  target.view = G_LIST_MODEL (gtk_column_view_get_model (tsr_test_window_get_column_view (window)));
  target.sorted = tsr_test_window_get_model (window);
  WAIT_LISTED (tsr_window_get_connection (window) != NULL &&
               g_list_model_get_n_items (target.view) >= n + test_driver);
  target.conn = tsr_window_get_connection (window);
  g_signal_connect_swapped (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "update",
                            G_CALLBACK (frame_start_cb), NULL);
  g_signal_connect_swapped (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                            G_CALLBACK (frame_end_cb), NULL);
  target.store = tsr_connection_get_vms (target.conn);
  run_storm (&target);
  gtk_window_destroy (GTK_WINDOW (window));
}
#endif

int
main (int    argc,
      char **argv)
{
  guint n;

  if (argc != 3 && argc != 4)
    {
      g_printerr ("usage: %s core|window N [URI]\n", argv[0]);
      return 2;
    }
  n = (guint) g_ascii_strtoull (argv[2], NULL, 10);
  if (argc == 4)
    uri = argv[3];
  test_driver = g_str_has_prefix (uri, "test:");
  trace = g_strcmp0 (g_getenv ("TSR_BENCH_TRACE"), "1") == 0;

  tsr_init ();
  define_all (n);
  g_print ("== %s, %u VMs (%s)\n", argv[1], n, test_driver ? uri : "a private libvirtd");
  if (g_str_equal (argv[1], "core"))
    bench_core (n);
#ifdef TSR_TEST_UTIL_GTK
  else if (g_str_equal (argv[1], "window"))
    bench_window (n);
#endif
  else
    return 2;
  if (!test_driver)
    undefine_all (n);
  virConnectClose (keeper);
  return 0;
}
