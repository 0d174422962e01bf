/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-console.h"
#include "tsr-error.h"
#include "tsr-libvirt-private.h"
#include "tsr-network.h"
#include "tsr-progress.h"
#include "tsr-threads.h"
#include "tsr-validate.h"
#include "tsr-vm-private.h"
#include "tsr-test-util.h"

#define NODE_UUID(n) "6b1e5c2a-0000-4000-8000-0000000000" n

/* Helpers */

#define WAIT_UNTIL_MS(cond, ms)                                               \
  G_STMT_START {                                                              \
    gint64 _end = g_get_monotonic_time () + (ms) * 1000;                      \
    while (!(cond) && g_get_monotonic_time () < _end)                         \
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);               \
    g_assert_true (cond);                                                     \
  } G_STMT_END

static TsrConnection *
open_node (void)
{
  TsrConnection *conn = tsr_test_open_node (10);

  g_assert_true (tsr_connection_get_loaded (conn));
  g_assert_cmpint (tsr_connection_get_state (conn), ==, TSR_CONNECTION_STATE_CONNECTED);
  return conn;
}

/* Validation */

static void
test_names_valid (void)
{
  const char *good[] = { "a", "my-new-vm", "work.web_2", "A123456789012345678901234567890", NULL };

  for (guint i = 0; good[i]; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (tsr_validate_vm_name (good[i], &error));
      g_assert_no_error (error);
    }
}

static void
test_names_invalid (void)
{
  const char *bad[] = {
    "", "1vm", "-vm", "my vm", "vm/../x", "none", "default", "dom0", "Domain-0", "sys-net-dm",
    "A12345678901234567890123456789012", "vm\n", "vm;rm", "ünï", NULL
  };

  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (tsr_validate_vm_name (bad[i], &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }

  g_assert_false (tsr_validate_vm_name (NULL, NULL));
}

static void
test_mac (void)
{
  const char *good[] = { "52:54:00:12:34:56", "00:16:3E:5E:6C:05", "02:00:00:00:00:01", NULL };
  const char *bad[] = {
    "", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56", "01:00:5e:00:00:01",
    "00:00:00:00:00:00", "zz:54:00:12:34:56", "52:54:00:12:34:5", NULL
  };

  for (guint i = 0; good[i]; i++)
    g_assert_true (tsr_validate_mac (good[i], NULL));

  for (guint i = 0; bad[i]; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (tsr_validate_mac (bad[i], &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC);
    }

  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *mac = tsr_mac_generate (NULL);

      g_assert_true (g_str_has_prefix (mac, "52:54:00:"));
      g_assert_true (tsr_validate_mac (mac, NULL));
    }
}

/* Network plan */

static const char network_xml[] =
  "<network><name>tessera</name><bridge name='virbr7'/>"
  "<ip address='10.137.0.1' prefix='24'><dhcp>"
  "<range start='10.137.0.2' end='10.137.0.254'/>"
  "<host mac='52:54:00:AA:00:01' name='a' ip='10.137.0.2'/>"
  "<host mac='52:54:00:aa:00:03' name='c' ip='10.137.0.4'/>"
  "</dhcp></ip></network>";

static void
test_network_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrNetworkInfo) info = tsr_network_info_new_from_xml (network_xml, &error);
  g_autofree char *next = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (info->name, ==, "tessera");
  g_assert_cmpstr (info->gateway, ==, "10.137.0.1");
  g_assert_cmpstr (info->netmask, ==, "255.255.255.0");
  g_assert_cmpuint (info->prefix, ==, 24);
  g_assert_null (info->forward_mode);
  g_assert_true (info->managed);
  g_assert_cmpuint (info->hosts->len, ==, 2);
  /* MACs compare without regard to case. */
  g_assert_cmpstr (tsr_network_info_find_host (info, "52:54:00:aa:00:01")->ip, ==, "10.137.0.2");
  g_assert_null (tsr_network_info_find_host (info, "52:54:00:aa:00:02"));

  next = tsr_network_info_next_free_ip (info, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (next, ==, "10.137.0.3");
}

static void
test_network_full (void)
{
  g_autoptr(GString) xml = g_string_new ("<network><name>small</name>"
                                         "<ip address='10.0.0.1' netmask='255.255.255.248'><dhcp>");
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *next = NULL;

  /* A /29 has .2 to .6 for guests. */
  for (guint i = 2; i <= 6; i++)
    g_string_append_printf (xml, "<host mac='52:54:00:00:00:%02x' ip='10.0.0.%u'/>", i, i);
  g_string_append (xml, "</dhcp></ip></network>");

  info = tsr_network_info_new_from_xml (xml->str, &error);
  g_assert_no_error (error);
  g_assert_false (info->managed);
  g_assert_cmpuint (info->prefix, ==, 29);

  next = tsr_network_info_next_free_ip (info, &error);
  g_assert_null (next);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NO_ADDRESS);
}

static void
test_network_invalid (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (tsr_network_info_new_from_xml ("<network><name>x", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
}

static void
test_network_build (void)
{
  g_autofree char *isolated = tsr_network_build_managed_xml ("tessera-test", "10.137.4", TRUE);
  g_autofree char *nat = tsr_network_build_managed_xml ("tessera", "10.137.0", FALSE);
  g_autoptr(TsrNetworkInfo) info = tsr_network_info_new_from_xml (isolated, NULL);
  g_autoptr(TsrNetworkInfo) nat_info = tsr_network_info_new_from_xml (nat, NULL);

  g_assert_nonnull (info);
  g_assert_null (strstr (isolated, "<forward"));
  g_assert_null (info->forward_mode);
  g_assert_cmpstr (info->gateway, ==, "10.137.4.1");
  g_assert_cmpstr (info->dhcp_start, ==, "10.137.4.2");
  g_assert_cmpstr (nat_info->forward_mode, ==, "nat");

  {
    g_autofree char *mask = tsr_prefix_to_netmask (20);

    g_assert_cmpstr (mask, ==, "255.255.240.0");
  }
}

/* Domain XML */

static void
test_vm_parse_foreign (void)
{
  const char *xml =
    "<domain type='kvm'><name>from-virsh</name>"
    "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
    "<memory unit='GiB'>2</memory><vcpu placement='static' current='2'>4</vcpu>"
    "<os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>"
    "<devices><interface type='bridge'><mac address='52:54:00:AB:CD:EF'/>"
    "<source bridge='br0'/></interface></devices></domain>";
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrVmConfig) config = tsr_vm_config_parse (xml, "/k", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (config->name, ==, "from-virsh");
  g_assert_cmpstr (config->label, ==, "gray");
  g_assert_cmpstr (config->klass, ==, "StandaloneVM");
  g_assert_cmpstr (config->virt_mode, ==, "hvm");
  g_assert_cmpstr (config->kernel, ==, "");
  g_assert_cmpuint (config->memory, ==, 2048);
  g_assert_cmpuint (config->maxmem, ==, 0);
  g_assert_cmpuint (config->vcpus, ==, 2);
  g_assert_cmpstr (config->netvm, ==, "br0");
  g_assert_cmpstr (config->mac, ==, "52:54:00:ab:cd:ef");
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
test_vm_parse_tessera (void)
{
  const char *xml =
    "<domain type='qemu'><name>pvh</name><uuid>11111111-2222-3333-4444-555555555556</uuid>"
    "<memory>819200</memory><currentMemory>409600</currentMemory><vcpu>2</vcpu>"
    "<metadata><tessera:vm xmlns:tessera='https://tessera.invalid/xmlns/vm/1.0'>"
    "<tessera:label>purple</tessera:label><tessera:class>AppVM</tessera:class>"
    "<tessera:template>tpl</tessera:template></tessera:vm>"
    "<other:x xmlns:other='urn:x'><other:label>red</other:label></other:x></metadata>"
    "<os><type>hvm</type><kernel>/k/6.1.0-13/vmlinuz</kernel></os></domain>";
  g_autoptr(TsrVmConfig) config = tsr_vm_config_parse (xml, "/k", NULL);
  g_autoptr(TsrVm) vm = tsr_vm_new (config->uuid);
  guint notified = 0;

  g_assert_cmpstr (config->label, ==, "purple");
  g_assert_cmpstr (config->klass, ==, "AppVM");
  g_assert_cmpstr (config->template_name, ==, "tpl");
  g_assert_cmpstr (config->virt_mode, ==, "pvh");
  g_assert_cmpstr (config->kernel, ==, "6.1.0-13");
  g_assert_cmpuint (config->memory, ==, 400);
  g_assert_cmpuint (config->maxmem, ==, 800);
  g_assert_cmpstr (config->netvm, ==, "none");

  tsr_vm_set_config (vm, config);
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "purple");

  /* Applying the same configuration again notifies nothing; a change
   * notifies exactly what changed.
   */
  g_signal_connect_swapped (vm, "notify", G_CALLBACK (count_cb), &notified);
  tsr_vm_set_config (vm, config);
  g_assert_cmpuint (notified, ==, 0);
  g_free (config->label);
  config->label = g_strdup ("red");
  tsr_vm_set_config (vm, config);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "red");
  tsr_vm_set_address (vm, "10.0.0.2", "255.0.0.0", "10.0.0.1");
  g_assert_cmpuint (notified, ==, 4);
  tsr_vm_set_address (vm, "10.0.0.2", "255.0.0.0", "10.0.0.1");
  g_assert_cmpuint (notified, ==, 4);
}

static void
test_vm_parse_invalid (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (tsr_vm_config_parse ("<domain><name>x</name>", NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_null (tsr_vm_config_parse ("<domain><name>x</name></domain>", NULL, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
}

/* Connection on the test driver */

static void
test_connection_load (void)
{
  TsrConnection *conn = open_node ();
  GListModel *vms = tsr_connection_get_vms (conn);
  TsrVm *vm;

  g_assert_cmpuint (g_list_model_get_n_items (vms), ==, 5);

  vm = tsr_connection_lookup_vm (conn, "work-web");
  g_assert_nonnull (vm);
  g_assert_cmpstr (tsr_vm_get_uuid (vm), ==, NODE_UUID ("01"));
  g_assert_cmpint (tsr_vm_get_state (vm), ==, TSR_VM_STATE_RUNNING);
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "green");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "StandaloneVM");
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, "hvm");
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, 400);
  g_assert_cmpuint (tsr_vm_get_maxmem (vm), ==, 1024);
  g_assert_cmpuint (tsr_vm_get_vcpus (vm), ==, 2);
  g_assert_cmpstr (tsr_vm_get_netvm (vm), ==, "tessera-unit");
  g_assert_cmpstr (tsr_vm_get_mac (vm), ==, "52:54:00:00:00:01");
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.2");
  g_assert_cmpstr (tsr_vm_get_netmask (vm), ==, "255.255.255.0");
  g_assert_cmpstr (tsr_vm_get_gateway (vm), ==, "10.137.9.1");

  /* Shut off, but its reservation still gives it an address. */
  vm = tsr_connection_lookup_vm (conn, "vault");
  g_assert_cmpint (tsr_vm_get_state (vm), ==, TSR_VM_STATE_SHUTOFF);
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "TemplateVM");
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "black");
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.3");
  g_assert_cmpstr (tsr_vm_get_gateway (vm), ==, "10.137.9.1");

  /* Made by virsh: sensible defaults, no reservation, no address. */
  vm = tsr_connection_lookup_vm (conn, "legacy-virsh");
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "gray");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "StandaloneVM");
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, "hvm");
  g_assert_null (tsr_vm_get_ip (vm));
  g_assert_null (tsr_vm_get_gateway (vm));

  vm = tsr_connection_lookup_vm (conn, "pvh-guest");
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, "pvh");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "AppVM");
  g_assert_cmpstr (tsr_vm_get_template (vm), ==, "vault");
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.5");

  vm = tsr_connection_lookup_vm (conn, "offline");
  g_assert_cmpstr (tsr_vm_get_netvm (vm), ==, "none");
  g_assert_null (tsr_vm_get_mac (vm));
  g_assert_null (tsr_vm_get_ip (vm));

  g_assert_null (tsr_connection_lookup_vm (conn, "nope"));

  tsr_test_close_connection (conn, 2);
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *count)
{
  (*count)++;
}

static const char new_domain_xml[] =
  "<domain type='test'><name>fresh</name>"
  "<uuid>6b1e5c2a-0000-4000-8000-0000000000aa</uuid>"
  "<memory unit='MiB'>256</memory><vcpu>1</vcpu>"
  "<metadata><tessera:vm xmlns:tessera='https://tessera.invalid/xmlns/vm/1.0'>"
  "<tessera:label>orange</tessera:label></tessera:vm></metadata>"
  "<os><type>hvm</type></os>"
  "<devices><interface type='network'><mac address='52:54:00:00:00:02'/>"
  "<source network='tessera-unit'/></interface></devices></domain>";

static void
test_connection_events (void)
{
  TsrConnection *conn = open_node ();
  GListModel *vms = tsr_connection_get_vms (conn);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  guint changes = 0;
  virDomainPtr dom;
  TsrVm *vm;

  g_signal_connect (vms, "items-changed", G_CALLBACK (items_changed_cb), &changes);

  /* define */
  dom = virDomainDefineXML (handle, new_domain_xml);
  g_assert_nonnull (dom);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "fresh") != NULL, 10);
  g_assert_cmpuint (g_list_model_get_n_items (vms), ==, 6);
  g_assert_cmpuint (changes, ==, 1);
  vm = tsr_connection_lookup_vm (conn, "fresh");
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "orange");
  g_assert_cmpint (tsr_vm_get_state (vm), ==, TSR_VM_STATE_SHUTOFF);
  /* It shares vault's MAC on purpose: the reservation gives the address. */
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.3");

  /* start and stop, by event */
  g_object_ref (vm);
  g_assert_cmpint (virDomainCreate (dom), ==, 0);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING, 10);
  g_assert_cmpint (virDomainDestroy (dom), ==, 0);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_SHUTOFF, 10);

  /* redefine with a new label: the same object updates */
  {
    g_autofree char *xml = g_strdup (new_domain_xml);
    char *p = strstr (xml, "orange");

    memcpy (p, "purple", 6);
    virDomainFree (virDomainDefineXML (handle, xml));
    TSR_WAIT_UNTIL (g_strcmp0 (tsr_vm_get_label (vm), "purple") == 0, 10);
    g_assert_true (tsr_connection_lookup_vm (conn, "fresh") == vm);
  }

  /* undefine */
  g_assert_cmpint (virDomainUndefine (dom), ==, 0);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "fresh") == NULL, 10);
  g_assert_cmpuint (g_list_model_get_n_items (vms), ==, 5);
  virDomainFree (dom);
  g_signal_handlers_disconnect_by_func (vms, items_changed_cb, &changes);
  g_assert_finalize_object (vm);

  tsr_test_close_connection (conn, 2);
}

static void
test_connection_lifecycle (void)
{
  TsrConnection *conn = open_node ();
  TsrVm *vm = tsr_connection_lookup_vm (conn, "work-web");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* start of a running VM: refused with the reason */
  tsr_connection_start_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_false (tsr_connection_start_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING);
  g_clear_error (&error);
  g_clear_object (&result);

  tsr_connection_shutdown_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_shutdown_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_SHUTOFF, 10);

  tsr_connection_force_off_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_false (tsr_connection_force_off_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  g_clear_error (&error);
  g_clear_object (&result);

  tsr_connection_start_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_start_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING, 10);

  /* Pause and resume, each refused in the wrong state. */
  tsr_connection_resume_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_false (tsr_connection_resume_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  g_clear_error (&error);
  g_clear_object (&result);
  tsr_connection_pause_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_pause_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_PAUSED, 10);
  tsr_connection_pause_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_false (tsr_connection_pause_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING);
  g_clear_error (&error);
  g_clear_object (&result);
  tsr_connection_resume_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_resume_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING, 10);

  tsr_connection_force_off_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_force_off_vm_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_clear_object (&result);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_SHUTOFF, 10);

  tsr_test_close_connection (conn, 2);
}

static void
test_connection_reserve (void)
{
  TsrConnection *conn = open_node ();
  TsrVm *vm = tsr_connection_lookup_vm (conn, "legacy-virsh");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ip = NULL;
  g_autofree char *again = NULL;
  g_autofree char *other = NULL;

  g_assert_null (tsr_vm_get_ip (vm));

  /* .2, .3 and .5 are reserved: the lowest free address is .4 */
  tsr_connection_reserve_address_async (conn, "tessera-unit", "52:54:00:00:00:03",
                                        "legacy-virsh", NULL, tsr_test_store_result_cb, &result);
  ip = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ip, ==, "10.137.9.4");
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.4");
  g_assert_cmpstr (tsr_vm_get_netmask (vm), ==, "255.255.255.0");
  g_assert_cmpstr (tsr_vm_get_gateway (vm), ==, "10.137.9.1");
  g_clear_object (&result);

  /* Reserving again for the same MAC (any case) gives the same address. */
  tsr_connection_reserve_address_async (conn, "tessera-unit", "52:54:00:00:00:03",
                                        "legacy-virsh", NULL, tsr_test_store_result_cb, &result);
  again = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error);
  g_assert_cmpstr (again, ==, ip);
  g_clear_object (&result);

  tsr_connection_reserve_address_async (conn, "tessera-unit", "52:54:00:00:00:99",
                                        "other", NULL, tsr_test_store_result_cb, &result);
  other = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error);
  g_assert_cmpstr (other, ==, "10.137.9.6");
  g_clear_object (&result);

  /* The reservation is in libvirt's definition (the test driver has no
   * separate persistent XML; the integration test checks both).
   */
  {
    virNetworkPtr net = virNetworkLookupByName (tsr_connection_get_handle (conn), "tessera-unit");
    g_autofree char *live = virNetworkGetXMLDesc (net, 0);
    g_autoptr(TsrNetworkInfo) info = tsr_network_info_new_from_xml (live, NULL);

    g_assert_cmpstr (tsr_network_info_find_host (info, "52:54:00:00:00:03")->ip, ==, "10.137.9.4");
    g_assert_cmpstr (tsr_network_info_find_host (info, "52:54:00:00:00:03")->name, ==, "legacy-virsh");
    virNetworkFree (net);
  }

  tsr_connection_release_address_async (conn, "tessera-unit", "52:54:00:00:00:03",
                                        NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_release_address_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_null (tsr_vm_get_ip (vm));

  /* A stale entry already holding the VM's name does not block the
   * reservation: it is made without a host name.
   */
  {
    g_autofree char *renamed = NULL;

    tsr_connection_reserve_address_async (conn, "tessera-unit", "52:54:00:00:00:77",
                                          "work-web", NULL, tsr_test_store_result_cb, &result);
    renamed = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error);
    g_assert_no_error (error);
    g_assert_cmpstr (renamed, ==, "10.137.9.4");
    g_clear_object (&result);
  }

  /* Bad input is refused before anything is touched. */
  tsr_connection_reserve_address_async (conn, "tessera-unit", "01:00:5e:00:00:01",
                                        "x", NULL, tsr_test_store_result_cb, &result);
  g_assert_null (tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC);
  g_clear_error (&error);
  g_clear_object (&result);

  tsr_connection_reserve_address_async (conn, "no-such-net", "52:54:00:00:00:98",
                                        "x", NULL, tsr_test_store_result_cb, &result);
  g_assert_null (tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_object (&result);

  tsr_test_close_connection (conn, 2);
}

static void
test_connection_ensure_network (void)
{
  TsrConnection *conn = open_node ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  virNetworkPtr net;
  g_autofree char *xml = NULL;
  g_autoptr(TsrNetworkInfo) info = NULL;

  tsr_connection_ensure_network_async (conn, "tessera-made", TRUE, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  net = virNetworkLookupByName (tsr_connection_get_handle (conn), "tessera-made");
  g_assert_nonnull (net);
  g_assert_cmpint (virNetworkIsActive (net), ==, 1);
  xml = virNetworkGetXMLDesc (net, 0);
  info = tsr_network_info_new_from_xml (xml, NULL);
  /* Isolated, and not on the subnet tessera-unit already uses. */
  g_assert_null (info->forward_mode);
  g_assert_true (g_str_has_prefix (info->gateway, "10.137."));
  g_assert_cmpstr (info->gateway, !=, "10.137.9.1");
  virNetworkFree (net);

  /* A second call finds it and changes nothing. */
  tsr_connection_ensure_network_async (conn, "tessera-made", TRUE, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_clear_object (&result);

  tsr_test_close_connection (conn, 2);
}

static void
test_connection_refused (void)
{
  TsrConnection *conn = tsr_connection_new ("qemu+unix:///system?socket=/nonexistent/sock");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_open_async (conn, NULL, tsr_test_store_result_cb, &result);
  g_assert_false (tsr_connection_open_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CONNECTION);
  g_assert_nonnull (strstr (error->message, "libvirtd"));
  g_assert_cmpint (tsr_connection_get_state (conn), ==, TSR_CONNECTION_STATE_DISCONNECTED);
  g_assert_nonnull (tsr_connection_get_last_error (conn));
  g_assert_false (tsr_connection_get_loaded (conn));
  g_clear_object (&result);
  tsr_test_close_connection (conn, 2);
}

static void
count_notify_cb (guint *count)
{
  (*count)++;
}

static void
test_kernels_dir (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("TESSERA_KERNELS_DIR"));

  g_autoptr(TsrConnection) conn = NULL;
  g_autoptr(TsrConnection) env_conn = NULL;
  guint notified = 0;

  g_unsetenv ("TESSERA_KERNELS_DIR");
  conn = tsr_connection_new ("test:///default");
  g_assert_cmpstr (tsr_connection_get_kernels_dir (conn), ==, "/var/lib/tessera/vm-kernels");
  /* The GUI passes its setting on, once per change. */
  g_signal_connect_swapped (conn, "notify::kernels-dir", G_CALLBACK (count_notify_cb), &notified);
  g_object_set (conn, "kernels-dir", "/srv/kernels", NULL);
  tsr_connection_set_kernels_dir (conn, "/srv/kernels");
  g_assert_cmpstr (tsr_connection_get_kernels_dir (conn), ==, "/srv/kernels");
  g_assert_cmpuint (notified, ==, 1);
  /* The environment is where a connection starts, for tests and the CLI. */
  g_setenv ("TESSERA_KERNELS_DIR", "/tmp/k", TRUE);
  env_conn = tsr_connection_new ("test:///default");
  g_assert_cmpstr (tsr_connection_get_kernels_dir (env_conn), ==, "/tmp/k");
  tsr_connection_set_kernels_dir (conn, NULL);
  g_assert_cmpstr (tsr_connection_get_kernels_dir (conn), ==, "/tmp/k");
  if (saved != NULL)
    g_setenv ("TESSERA_KERNELS_DIR", saved, TRUE);
  else
    g_unsetenv ("TESSERA_KERNELS_DIR");
}

static void
test_uri_local (void)
{
  g_assert_true (tsr_uri_is_local ("qemu:///system"));
  g_assert_true (tsr_uri_is_local ("qemu:///session"));
  g_assert_true (tsr_uri_is_local ("test:///default"));
  g_assert_true (tsr_uri_is_local ("qemu+unix:///system?socket=/run/libvirt/libvirt-sock"));
  g_assert_false (tsr_uri_is_local ("qemu+ssh://root@host.example/system"));
  g_assert_false (tsr_uri_is_local ("qemu+tls://10.0.0.1/system"));
  g_assert_false (tsr_uri_is_local ("not a uri"));
  g_assert_false (tsr_uri_is_local (NULL));
}

static void
test_console_errors (void)
{
  TsrConnection *conn = open_node ();
  g_autoptr(TsrConnection) remote = tsr_connection_new ("qemu+ssh://root@host.example/system");
  const guint cad[] = { 29, 56, 111 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (tsr_uri_can_pass_fds ("qemu:///system"));
  g_assert_true (tsr_uri_can_pass_fds ("qemu+unix:///system?socket=/run/x/libvirt-sock"));
  g_assert_false (tsr_uri_can_pass_fds ("qemu+ssh://root@host.example/system"));
  g_assert_false (tsr_uri_can_pass_fds ("qemu+tls://10.0.0.1/system"));
  g_assert_false (tsr_uri_can_pass_fds ("qemu+tcp://10.0.0.1/system"));
  g_assert_false (tsr_uri_can_pass_fds ("qemu+unix://host.example/system"));
  g_assert_false (tsr_uri_can_pass_fds (NULL));

  /* A stopped VM: the error says how to start it. */
  tsr_console_open_graphics_async (conn, tsr_connection_lookup_vm (conn, "offline"), NULL,
                                   tsr_test_store_result_cb, &result);
  g_assert_cmpint (tsr_console_open_graphics_finish (conn, tsr_test_wait_result (&result, 10), &error), ==, -1);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  g_assert_nonnull (strstr (error->message, "qvm-start offline"));
  g_clear_error (&error);
  g_clear_object (&result);

  tsr_console_send_keys_async (conn, tsr_connection_lookup_vm (conn, "offline"), cad, 3, NULL,
                               tsr_test_store_result_cb, &result);
  g_assert_false (tsr_console_send_keys_finish (conn, tsr_test_wait_result (&result, 10), &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_NOT_RUNNING);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Running, but with no display at all. */
  tsr_console_open_graphics_async (conn, tsr_connection_lookup_vm (conn, "work-web"), NULL,
                                   tsr_test_store_result_cb, &result);
  g_assert_cmpint (tsr_console_open_graphics_finish (conn, tsr_test_wait_result (&result, 10), &error), ==, -1);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "has no graphical display"));
  g_clear_error (&error);
  g_clear_object (&result);

  /* Over ssh: named, with the program that can do it. */
  tsr_console_open_graphics_async (remote, tsr_connection_lookup_vm (conn, "work-web"), NULL,
                                   tsr_test_store_result_cb, &result);
  g_assert_cmpint (tsr_console_open_graphics_finish (remote, tsr_test_wait_result (&result, 10), &error), ==, -1);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "remote-viewer"));
  g_assert_nonnull (strstr (error->message, "work-web"));

  tsr_test_close_connection (conn, 2);
}

static gpointer
assert_in_thread (gpointer data)
{
  tsr_assert_worker_thread ();
  return NULL;
}

/* Blocking helpers complain on the thread that owns the default main
 * context (TESSERA_DEBUG=threads, set in main), and only there.
 */
static void
test_threads_assert (void)
{
  GMainContext *context = g_main_context_default ();

  g_assert_true (tsr_debug_threads ());
  if (g_test_subprocess ())
    {
      g_assert_true (g_main_context_acquire (context));
      tsr_assert_worker_thread ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*test_threads_assert*main thread*");

  /* A worker, and the main thread outside the loop, may block. */
  g_assert_true (g_main_context_acquire (context));
  g_thread_join (g_thread_new ("worker", assert_in_thread, NULL));
  g_main_context_release (context);
  tsr_assert_worker_thread ();
}

typedef struct
{
  GThread  *caller;
  GThread  *closer;
  gboolean  done;
} ReleaseProbe;

static void
release_prepare_cb (virConnectPtr conn,
                    gpointer      user_data)
{
  ReleaseProbe *probe = user_data;

  probe->closer = g_thread_self ();
  g_atomic_int_set (&probe->done, TRUE);
  g_main_context_wakeup (NULL);
}

static gboolean
release_in_dispatch_cb (gpointer user_data)
{
  ReleaseProbe *probe = user_data;

  probe->caller = g_thread_self ();
  tsr_conn_release_full (virConnectOpen ("test:///default"), release_prepare_cb, probe);
  return G_SOURCE_REMOVE;
}

/* A connection let go of from the main loop (as a GTask's data is when the
 * task is finalised there) is closed in another thread.
 */
static void
test_threads_release (void)
{
  ReleaseProbe probe = { NULL, };

  g_idle_add (release_in_dispatch_cb, &probe);
  TSR_WAIT_UNTIL (g_atomic_int_get (&probe.done), 10);
  g_assert_nonnull (probe.caller);
  g_assert_true (probe.closer != probe.caller);
}

/* The time left at the average rate so far, or -1 while it is a guess. */
static void
test_progress_seconds_left (void)
{
  const gint64 t0 = 1000 * G_USEC_PER_SEC;
  const guint64 gib = G_GUINT64_CONSTANT (1) << 30;

  /* 1 GiB of 4 in 60 s: 3 GiB take 180 s more. */
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 60 * G_USEC_PER_SEC, gib, 4 * gib), ==, 180);
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 3 * G_USEC_PER_SEC, 3 * gib, 4 * gib), ==, 1);
  /* Too early, nothing done yet, or finished. */
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + G_USEC_PER_SEC, gib, 4 * gib), ==, -1);
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 60 * G_USEC_PER_SEC, 0, 4 * gib), ==, -1);
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 60 * G_USEC_PER_SEC, 4 * gib, 4 * gib), ==, -1);
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 60 * G_USEC_PER_SEC, 5 * gib, 4 * gib), ==, -1);
  g_assert_cmpint (tsr_progress_seconds_left (t0, t0 + 60 * G_USEC_PER_SEC, 0, 0), ==, -1);
}

int
main (int    argc,
      char **argv)
{
  /* Also set by tests/meson.build; here too so that the test can run alone. */
  g_setenv ("TESSERA_DEBUG", "threads", TRUE);
  g_test_init (&argc, &argv, NULL);
  tsr_init ();

  g_test_add_func ("/core/names/valid", test_names_valid);
  g_test_add_func ("/core/names/invalid", test_names_invalid);
  g_test_add_func ("/core/mac", test_mac);
  g_test_add_func ("/core/uri/local", test_uri_local);
  g_test_add_func ("/core/threads/assert", test_threads_assert);
  g_test_add_func ("/core/progress/seconds-left", test_progress_seconds_left);
  g_test_add_func ("/core/threads/release", test_threads_release);
  g_test_add_func ("/core/network/parse", test_network_parse);
  g_test_add_func ("/core/network/full", test_network_full);
  g_test_add_func ("/core/network/invalid", test_network_invalid);
  g_test_add_func ("/core/network/build", test_network_build);
  g_test_add_func ("/core/vm/parse-foreign", test_vm_parse_foreign);
  g_test_add_func ("/core/vm/parse-tessera", test_vm_parse_tessera);
  g_test_add_func ("/core/vm/parse-invalid", test_vm_parse_invalid);
  g_test_add_func ("/core/vm/kernels-dir", test_kernels_dir);
  g_test_add_func ("/core/connection/load", test_connection_load);
  g_test_add_func ("/core/connection/events", test_connection_events);
  g_test_add_func ("/core/connection/lifecycle", test_connection_lifecycle);
  g_test_add_func ("/core/connection/reserve", test_connection_reserve);
  g_test_add_func ("/core/connection/ensure-network", test_connection_ensure_network);
  g_test_add_func ("/core/connection/refused", test_connection_refused);
  g_test_add_func ("/core/console/errors", test_console_errors);

  return g_test_run ();
}
