/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Event storms on the test driver: thousands of domains defined and
 * undefined in one go reach the list in a bounded number of changes, and
 * the list ends right.
 */
#include "config.h"

#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-test-util.h"

#define N_STORM 2000

/* Far fewer than one per VM: a burst is applied at most once a frame, in
 * one splice per run of neighbouring rows.
 */
#define MAX_CHANGES 50

static const char * const node_names[] = {
  "legacy-virsh", "offline", "pvh-guest", "vault", "work-web", NULL
};

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *count)
{
  (*count)++;
}

static char *
storm_xml (guint i)
{
  return g_strdup_printf ("<domain type='test'><name>storm-%04u</name>"
                          "<uuid>7c2f0000-0000-4000-8000-%012u</uuid>"
                          "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
                          "<os><type>hvm</type></os><devices>"
                          "<interface type='network'><mac address='52:54:00:7c:%02x:%02x'/>"
                          "<source network='tessera-unit'/></interface></devices></domain>",
                          i, i, i / 256, i % 256);
}

static void
define_storm (virConnectPtr handle)
{
  for (guint i = 0; i < N_STORM; i++)
    {
      g_autofree char *xml = storm_xml (i);
      virDomainPtr dom = virDomainDefineXML (handle, xml);

      g_assert_nonnull (dom);
      virDomainFree (dom);
    }
}

/* Undefines the storm's domains whose number modulo STEP is REST. */
static void
undefine_storm (virConnectPtr handle,
                guint         step,
                guint         rest)
{
  for (guint i = rest; i < N_STORM; i += step)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom = virDomainLookupByName (handle, name);

      g_assert_nonnull (dom);
      g_assert_cmpint (virDomainUndefine (dom), ==, 0);
      virDomainFree (dom);
    }
}

/* The list holds the node's five domains and exactly the storm's domains
 * whose number modulo STEP is REST (none with STEP 0), each once.
 */
static gboolean
list_is (GListModel *vms,
         guint       step,
         guint       rest)
{
  guint n = g_list_model_get_n_items (vms);
  guint want = 5 + (step == 0 ? 0 : (N_STORM - rest + step - 1) / step);
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (n != want)
    return FALSE;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);
      const char *name = tsr_vm_get_name (vm);
      guint number;

      if (!g_hash_table_add (names, g_strdup (name)))
        return FALSE;
      if (g_strv_contains (node_names, name))
        continue;
      if (!g_str_has_prefix (name, "storm-") || step == 0)
        return FALSE;
      number = (guint) g_ascii_strtoull (name + 6, NULL, 10);
      if (number % step != rest)
        return FALSE;
    }

  return TRUE;
}

/* The names in VMS, in its order, of the storm's domains whose number
 * modulo STEP is REST and of the node's.
 */
static GStrv
names_in_order (GListModel *vms,
                guint       step,
                guint       rest)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);
      const char *name = tsr_vm_get_name (vm);

      if (!g_str_has_prefix (name, "storm-") ||
          g_ascii_strtoull (name + 6, NULL, 10) % step == rest)
        g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

static void
test_storm_undefine (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  TsrVm *watched[4] = { NULL, };
  g_auto(GStrv) order = NULL;
  guint changes = 0;

  g_signal_connect (vms, "items-changed", G_CALLBACK (items_changed_cb), &changes);

  /* Defined in one go: the rows come in a few splices. */
  define_storm (handle);
  TSR_WAIT_UNTIL (list_is (vms, 1, 0), 30);
  g_test_message ("%u items-changed for %u domains defined", changes, N_STORM);
  g_assert_cmpuint (changes, <, MAX_CHANGES);
  g_assert_cmpstr (tsr_vm_get_ip (tsr_connection_lookup_vm (conn, "vault")), ==, "10.137.9.3");

  /* Undefined in one go: the list ends with the node's five, in a bounded
   * number of changes, and the rows that left are freed.
   */
  for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i * 613);

      watched[i] = tsr_connection_lookup_vm (conn, name);
      g_assert_nonnull (watched[i]);
      g_object_add_weak_pointer (G_OBJECT (watched[i]), (gpointer *) &watched[i]);
    }
  changes = 0;
  undefine_storm (handle, 1, 0);
  TSR_WAIT_UNTIL (list_is (vms, 0, 0), 30);
  g_test_message ("%u items-changed for %u domains undefined", changes, N_STORM);
  g_assert_cmpuint (changes, <, MAX_CHANGES);
  g_assert_null (tsr_connection_lookup_vm (conn, "storm-0000"));
  for (guint i = 0; i < G_N_ELEMENTS (watched); i++)
    g_assert_null (watched[i]);

  /* Scattered rows (every other one) leave in a bounded number of changes
   * too, and the others keep their order.
   */
  define_storm (handle);
  TSR_WAIT_UNTIL (list_is (vms, 1, 0), 30);
  order = names_in_order (vms, 2, 0);
  changes = 0;
  undefine_storm (handle, 2, 1);
  TSR_WAIT_UNTIL (list_is (vms, 2, 0), 30);
  g_test_message ("%u items-changed for %u scattered domains undefined", changes, N_STORM / 2);
  g_assert_cmpuint (changes, <, MAX_CHANGES);
  {
    g_auto(GStrv) after = names_in_order (vms, 2, 0);

    g_assert_true (g_strv_equal ((const char * const *) order, (const char * const *) after));
  }

  changes = 0;
  undefine_storm (handle, 2, 0);
  TSR_WAIT_UNTIL (list_is (vms, 0, 0), 30);
  g_assert_cmpuint (changes, <, MAX_CHANGES);

  g_signal_handlers_disconnect_by_func (vms, items_changed_cb, &changes);
  tsr_test_close_connection (conn, 5);
}

/* Counts the storm's VMs in STATE. */
static guint
count_in_state (GListModel *vms,
                TsrVmState  state)
{
  guint found = 0;

  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (vms, i);

      if (g_str_has_prefix (tsr_vm_get_name (vm), "storm-") && tsr_vm_get_state (vm) == state)
        found++;
    }
  return found;
}

/* Starting and stopping thousands in one go: libvirt hands the events over
 * in one dispatch; they are applied in rounds, every VM ends in the right
 * state, and no row leaves or comes.
 */
static void
test_storm_lifecycle (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  guint changes = 0;

  define_storm (handle);
  TSR_WAIT_UNTIL (list_is (vms, 1, 0), 30);
  g_signal_connect (vms, "items-changed", G_CALLBACK (items_changed_cb), &changes);

  for (guint i = 0; i < N_STORM; i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom = virDomainLookupByName (handle, name);

      g_assert_cmpint (virDomainCreate (dom), ==, 0);
      virDomainFree (dom);
    }
  TSR_WAIT_UNTIL (count_in_state (vms, TSR_VM_STATE_RUNNING) == N_STORM, 30);

  for (guint i = 0; i < N_STORM; i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      virDomainPtr dom = virDomainLookupByName (handle, name);

      g_assert_cmpint (virDomainDestroy (dom), ==, 0);
      virDomainFree (dom);
    }
  TSR_WAIT_UNTIL (count_in_state (vms, TSR_VM_STATE_SHUTOFF) == N_STORM, 30);
  g_assert_true (list_is (vms, 1, 0));
  g_assert_cmpuint (changes, ==, 0);

  g_signal_handlers_disconnect_by_func (vms, items_changed_cb, &changes);
  tsr_test_close_connection (conn, 5);
}

/* A hundred reservations made one after the other on a network with
 * thousands of VMs: their addresses are computed again in one pass (not
 * one pass over all the VMs per reservation), and each VM ends with its
 * address.
 */
#define N_RESERVATIONS 100

static void
test_storm_reservations (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  virNetworkPtr net;
  guint passes;

  define_storm (handle);
  TSR_WAIT_UNTIL (list_is (vms, 1, 0), 30);
  TSR_WAIT_UNTIL (!_tsr_connection_addresses_pending (conn), 10);

  net = virNetworkLookupByName (handle, "tessera-unit");
  g_assert_nonnull (net);
  passes = conn->n_address_passes;
  for (guint i = 0; i < N_RESERVATIONS; i++)
    {
      g_autofree char *host = g_strdup_printf ("<host mac='52:54:00:7c:00:%02x' ip='10.137.9.%u'/>",
                                               i, 100 + i);

      g_assert_true (tsr_network_update_host (net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, host));
      tsr_connection_take_network_info (conn, _tsr_fetch_network_info (net, NULL));
    }
  virNetworkFree (net);

  TSR_WAIT_UNTIL (!_tsr_connection_addresses_pending (conn), 10);
  g_test_message ("%u address passes for %u reservations", conn->n_address_passes - passes,
                  N_RESERVATIONS);
  g_assert_cmpuint (conn->n_address_passes - passes, <=, 2);
  for (guint i = 0; i < N_RESERVATIONS; i++)
    {
      g_autofree char *name = g_strdup_printf ("storm-%04u", i);
      g_autofree char *ip = g_strdup_printf ("10.137.9.%u", 100 + i);

      g_assert_cmpstr (tsr_vm_get_ip (tsr_connection_lookup_vm (conn, name)), ==, ip);
    }

  tsr_test_close_connection (conn, 5);
}

static void
reloaded_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_task_propagate_boolean (G_TASK (result), &error));
  *(gboolean *) user_data = TRUE;
}

/* Reconciling thousands after a reconnect, applied in rounds: half of the
 * storm went away unheard; the list ends right, in a bounded number of
 * changes, and the rows that stay keep their objects.
 */
static void
test_storm_reconnect (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  gboolean done = FALSE;
  TsrVm *kept;
  guint changes = 0;

  define_storm (handle);
  TSR_WAIT_UNTIL (list_is (vms, 1, 0), 30);
  kept = tsr_connection_lookup_vm (conn, "storm-0000");

  virConnectDomainEventDeregisterAny (handle, conn->lifecycle_id);
  conn->lifecycle_id = -1;
  undefine_storm (handle, 2, 1);
  for (int i = 0; i < 10; i++)
    while (g_main_context_iteration (NULL, FALSE));
  g_assert_true (list_is (vms, 1, 0));

  g_signal_connect (vms, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  _tsr_connection_start_load (conn, TRUE, g_task_new (conn, NULL, reloaded_cb, &done));
  TSR_WAIT_UNTIL (done, 30);
  g_assert_true (list_is (vms, 2, 0));
  g_assert_cmpuint (changes, <, MAX_CHANGES);
  g_assert_true (tsr_connection_lookup_vm (conn, "storm-0000") == kept);

  g_signal_handlers_disconnect_by_func (vms, items_changed_cb, &changes);
  tsr_test_close_connection (conn, 5);
}

/* A domain undefined and defined again within one burst stays listed. */
static void
test_storm_redefine (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *xml = storm_xml (1);
  virDomainPtr dom;

  dom = virDomainDefineXML (handle, xml);
  virDomainFree (dom);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "storm-0001") != NULL, 10);

  dom = virDomainLookupByName (handle, "storm-0001");
  g_assert_cmpint (virDomainUndefine (dom), ==, 0);
  virDomainFree (dom);
  dom = virDomainDefineXML (handle, xml);
  virDomainFree (dom);
  /* Both events arrive; then whatever was queued is applied. */
  for (int i = 0; i < 20; i++)
    {
      while (g_main_context_iteration (NULL, FALSE));
      g_usleep (10 * 1000);
    }
  g_assert_nonnull (tsr_connection_lookup_vm (conn, "storm-0001"));
  g_assert_cmpuint (g_list_model_get_n_items (vms), ==, 6);

  dom = virDomainLookupByName (handle, "storm-0001");
  g_assert_cmpint (virDomainUndefine (dom), ==, 0);
  virDomainFree (dom);
  TSR_WAIT_UNTIL (g_list_model_get_n_items (vms) == 5, 10);
  g_assert_null (tsr_connection_lookup_vm (conn, "storm-0001"));

  tsr_test_close_connection (conn, 5);
}

int
main (int    argc,
      char **argv)
{
  /* Also set by tests/meson.build; here too so that the test can run alone. */
  g_setenv ("TESSERA_DEBUG", "threads", TRUE);
  g_test_init (&argc, &argv, NULL);
  tsr_init ();

  g_test_add_func ("/core/storm/undefine", test_storm_undefine);
  g_test_add_func ("/core/storm/redefine", test_storm_redefine);
  g_test_add_func ("/core/storm/lifecycle", test_storm_lifecycle);
  g_test_add_func ("/core/storm/reservations", test_storm_reservations);
  g_test_add_func ("/core/storm/reconnect", test_storm_reconnect);

  return g_test_run ();
}
