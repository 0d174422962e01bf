/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Integration tests: a real libvirtd and QEMU (software emulation where KVM
 * is not usable), an isolated libvirt network with DHCP, and the tiny guest
 * from tests/fixtures. Nothing here creates a forwarding network, so no
 * guest traffic leaves the machine.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-network.h"
#include "tsr-validate.h"
#include "tsr-test-util.h"
#include "test-media-vm.h"

#define URI          "qemu:///system"
#define TEST_NETWORK "tessera-test"

static char *workdir;
static const char *fixture_dir;
static const char *cli_dir;

/* Runs a CLI name from the build with --connect; returns its stdout. */
#define run_cli(name, status, ...) \
  tsr_test_run_cli (cli_dir, URI, FALSE, name, status, NULL, __VA_ARGS__)

static void
ensure_test_network (TsrConnection *conn)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_ensure_network_async (conn, TEST_NETWORK, TRUE, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 120), &error));
  g_assert_no_error (error);
}

static char *
reserve (TsrConnection *conn,
         const char    *mac,
         const char    *name)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *ip;

  tsr_connection_reserve_address_async (conn, TEST_NETWORK, mac, name, NULL,
                                        tsr_test_store_result_cb, &result);
  ip = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 120), &error);
  g_assert_no_error (error);
  return ip;
}

static void
release (TsrConnection *conn,
         const char    *mac)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_release_address_async (conn, TEST_NETWORK, mac, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_release_address_finish (conn, tsr_test_wait_result (&result, 120), &error));
  g_assert_no_error (error);
}

static char *
guest_xml (const char *name,
           const char *mac,
           const char *cmdline,
           const char *serial_log)
{
  return g_strdup_printf (
    "<domain type='%s'>"
    "  <name>%s</name>"
    "  <memory unit='MiB'>256</memory>"
    "  <vcpu>1</vcpu>"
    "  <os><type arch='x86_64' machine='pc'>hvm</type>"
    "    <kernel>%s/vmlinuz</kernel><initrd>%s/initramfs.img</initrd>"
    "    <cmdline>console=ttyS0 %s</cmdline></os>"
    "  <features><acpi/></features>"
    "  <on_poweroff>destroy</on_poweroff>"
    "  <devices>"
    "    <interface type='network'><mac address='%s'/>"
    "      <source network='" TEST_NETWORK "'/><model type='virtio'/></interface>"
    "    <serial type='file'><source path='%s'/><target port='0'/></serial>"
    "  </devices>"
    "</domain>",
    tsr_test_kvm_usable () ? "kvm" : "qemu", name, workdir, workdir, cmdline, mac, serial_log);
}

static int
raw_state (virDomainPtr dom)
{
  int state = -1, reason;

  virDomainGetState (dom, &state, &reason, 0);
  return state;
}

static char *
lease_for (virConnectPtr  handle,
           const char    *mac)
{
  virNetworkPtr net = virNetworkLookupByName (handle, TEST_NETWORK);
  virNetworkDHCPLeasePtr *leases = NULL;
  char *ip = NULL;
  int n = virNetworkGetDHCPLeases (net, mac, &leases, 0);

  for (int i = 0; i < n; i++)
    {
      if (ip == NULL && leases[i]->type == VIR_IP_ADDR_TYPE_IPV4)
        ip = g_strdup (leases[i]->ipaddr);
      virNetworkDHCPLeaseFree (leases[i]);
    }
  free (leases);
  virNetworkFree (net);
  return ip;
}

static void
test_network_isolated (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virNetworkPtr net;
  g_autofree char *xml = NULL;
  g_autoptr(TsrNetworkInfo) info = NULL;

  ensure_test_network (conn);
  net = virNetworkLookupByName (tsr_connection_get_handle (conn), TEST_NETWORK);
  g_assert_nonnull (net);
  g_assert_cmpint (virNetworkIsActive (net), ==, 1);
  xml = virNetworkGetXMLDesc (net, 0);
  /* Isolated: no <forward>, so guests reach nothing but the host. */
  g_assert_null (strstr (xml, "<forward"));
  info = tsr_network_info_new_from_xml (xml, NULL);
  g_assert_true (g_str_has_prefix (info->gateway, "10.137."));
  virNetworkFree (net);
  tsr_test_close_connection (conn, 5);
}

/* Boot the guest; it takes its lease and powers itself off some seconds
 * later.
 */
static void
test_guest_dhcp (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *mac = tsr_mac_generate (NULL);
  g_autofree char *log = g_build_filename (workdir, "dhcp-serial.log", NULL);
  g_autofree char *xml = NULL;
  g_autofree char *ip = NULL;
  g_autofree char *lease = NULL;
  g_autofree char *ls = NULL;
  g_autofree char *expected_line = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TsrNetworkInfo *info;
  virDomainPtr dom;
  TsrVm *vm;
  gint64 started, halted_seen;
  int status;

  tsr_test_remove_domain (handle, "tsr-it-dhcp");
  ensure_test_network (conn);
  ip = reserve (conn, mac, "tsr-it-dhcp");

  xml = guest_xml ("tsr-it-dhcp", mac, "tessera.poweroff=4", log);
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);

  /* Defined, halted, and already showing its address, netmask and gateway. */
  TSR_WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, "tsr-it-dhcp")) != NULL, 10);
  TSR_WAIT_UNTIL (g_strcmp0 (tsr_vm_get_ip (vm), ip) == 0, 10);
  g_assert_cmpint (tsr_vm_get_state (vm), ==, TSR_VM_STATE_SHUTOFF);
  {
    virNetworkPtr net = virNetworkLookupByName (handle, TEST_NETWORK);
    g_autofree char *net_xml = virNetworkGetXMLDesc (net, 0);
    g_autofree char *persistent = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);

    info = tsr_network_info_new_from_xml (net_xml, NULL);
    /* The reservation is live and persistent. */
    g_assert_nonnull (strstr (persistent, ip));
    virNetworkFree (net);
  }
  g_assert_cmpstr (tsr_vm_get_netmask (vm), ==, info->netmask);
  g_assert_cmpstr (tsr_vm_get_gateway (vm), ==, info->gateway);

  started = g_get_monotonic_time ();
  tsr_connection_start_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_start_vm_finish (conn, tsr_test_wait_result (&result, 120), &error));
  g_assert_no_error (error);
  TSR_WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING, 10);

  /* The guest's DHCP request gets exactly the reserved address. */
  TSR_POLL_UNTIL ((lease = lease_for (handle, mac)) != NULL, 90);
  g_test_message ("lease %s after %.1f s", lease,
                  (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
  g_assert_cmpstr (lease, ==, ip);
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, ip);
  expected_line = g_strdup_printf ("TESSERA-GUEST: ip=%s mask=%s", ip, info->netmask);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, expected_line), 30);

  ls = run_cli ("qvm-ls", &status, "-n", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  {
    g_auto(GStrv) lines = g_strsplit (ls, "\n", -1);
    gboolean found = FALSE;

    g_assert_true (g_str_has_prefix (lines[0], "NAME"));
    g_assert_nonnull (strstr (lines[0], "NETMASK"));
    for (guint i = 0; lines[i]; i++)
      {
        g_auto(GStrv) cols = NULL;

        if (!g_str_has_prefix (lines[i], "tsr-it-dhcp "))
          continue;
        cols = g_strsplit_set (lines[i], " ", -1);
        found = TRUE;
        g_assert_nonnull (strstr (lines[i], "Running"));
        g_assert_nonnull (strstr (lines[i], ip));
        g_assert_nonnull (strstr (lines[i], info->gateway));
        g_assert_nonnull (strstr (lines[i], info->netmask));
      }
    g_assert_true (found);
  }

  /* The guest powers itself off: the model learns it by event, within 1 s
   * of libvirt knowing it.
   */
  TSR_POLL_UNTIL (raw_state (dom) == VIR_DOMAIN_SHUTOFF, 60);
  halted_seen = g_get_monotonic_time ();
  while (tsr_vm_get_state (vm) != TSR_VM_STATE_SHUTOFF &&
         g_get_monotonic_time () - halted_seen < G_USEC_PER_SEC)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (tsr_vm_get_state (vm), ==, TSR_VM_STATE_SHUTOFF);
  g_test_message ("shut off reached the model %.3f s after libvirt",
                  (g_get_monotonic_time () - halted_seen) / (double) G_USEC_PER_SEC);

  virDomainUndefine (dom);
  virDomainFree (dom);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "tsr-it-dhcp") == NULL, 10);
  release (conn, mac);
  tsr_network_info_free (info);
  g_clear_object (&result);
  tsr_test_close_connection (conn, 5);
}

/* qvm-start, then qvm-shutdown --wait through the guest's ACPI handling. */
static void
test_cli_lifecycle (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *mac = tsr_mac_generate (NULL);
  g_autofree char *log = g_build_filename (workdir, "acpi-serial.log", NULL);
  g_autofree char *xml = NULL;
  g_autofree char *ip = NULL;
  g_autofree char *out = NULL;
  virDomainPtr dom;
  int status;

  tsr_test_remove_domain (handle, "tsr-it-acpi");
  ensure_test_network (conn);
  ip = reserve (conn, mac, "tsr-it-acpi");
  xml = guest_xml ("tsr-it-acpi", mac, "", log);
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);

  out = run_cli ("qvm-start", &status, "tsr-it-acpi", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (raw_state (dom), ==, VIR_DOMAIN_RUNNING);
  g_clear_pointer (&out, g_free);

  /* A second start is refused with exit code 1 and the reason. */
  out = run_cli ("qvm-start", &status, "tsr-it-acpi", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  g_clear_pointer (&out, g_free);

  /* An unknown name is bad input: exit code 2. */
  out = run_cli ("qvm-shutdown", &status, "no-such-vm-here", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
  g_clear_pointer (&out, g_free);

  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: ready"), 90);
  out = run_cli ("qvm-shutdown", &status, "--wait", "--timeout", "60", "tsr-it-acpi", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (raw_state (dom), ==, VIR_DOMAIN_SHUTOFF);
  g_assert_true (tsr_test_file_contains (log, "power button pressed"));
  g_clear_pointer (&out, g_free);

  /* qvm-kill of a halted VM: refused, exit code 1. */
  out = run_cli ("qvm-kill", &status, "tsr-it-acpi", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);

  virDomainUndefine (dom);
  virDomainFree (dom);
  release (conn, mac);
  tsr_test_close_connection (conn, 5);
}

static char *
list_signature (TsrConnection *conn)
{
  GListModel *model = tsr_connection_get_vms (conn);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_free);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrVm) vm = g_list_model_get_item (model, i);

      g_ptr_array_add (items, g_strdup_printf ("%s/%s/%d/%s", tsr_vm_get_name (vm),
                                               tsr_vm_get_uuid (vm), tsr_vm_get_state (vm),
                                               tsr_vm_get_ip (vm) ? tsr_vm_get_ip (vm) : "-"));
    }
  g_ptr_array_sort (items, tsr_test_compare_strings);
  g_ptr_array_add (items, NULL);
  return g_strjoinv ("\n", (char **) items->pdata);
}

/* Restart libvirtd under a live connection: it notices, reconnects with
 * back-off, and the list is whole again.
 */
static void
test_connection_restart (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *mac = tsr_mac_generate (NULL);
  g_autofree char *xml = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *ip = NULL;
  g_autoptr(GError) error = NULL;
  gint64 restarted;
  virDomainPtr dom;

  tsr_connection_set_reconnect_delays (conn, 200, 2000);
  tsr_test_remove_domain (handle, "tsr-it-restart");
  ensure_test_network (conn);
  ip = reserve (conn, mac, "tsr-it-restart");
  xml = guest_xml ("tsr-it-restart", mac, "", "/dev/null");
  dom = virDomainDefineXML (handle, xml);
  virDomainFree (dom);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "tsr-it-restart") != NULL, 10);
  TSR_WAIT_UNTIL (tsr_vm_get_ip (tsr_connection_lookup_vm (conn, "tsr-it-restart")) != NULL, 10);
  before = list_signature (conn);

  tsr_test_stop_libvirtd ();
  TSR_WAIT_UNTIL (tsr_connection_get_state (conn) == TSR_CONNECTION_STATE_DISCONNECTED, 30);
  g_assert_nonnull (tsr_connection_get_last_error (conn));
  g_test_message ("disconnected: %s", tsr_connection_get_last_error (conn)->message);

  tsr_test_start_libvirtd (NULL);
  restarted = g_get_monotonic_time ();
  TSR_WAIT_UNTIL (tsr_connection_get_state (conn) == TSR_CONNECTION_STATE_CONNECTED, 60);
  g_test_message ("reconnected %.2f s after libvirtd was started again",
                  (g_get_monotonic_time () - restarted) / (double) G_USEC_PER_SEC);

  after = list_signature (conn);
  g_assert_cmpstr (after, ==, before);

  /* The new handle works, and events flow again. */
  handle = tsr_connection_get_handle (conn);
  dom = virDomainLookupByName (handle, "tsr-it-restart");
  g_assert_nonnull (dom);
  virDomainUndefine (dom);
  virDomainFree (dom);
  TSR_WAIT_UNTIL (tsr_connection_lookup_vm (conn, "tsr-it-restart") == NULL, 10);
  release (conn, mac);
  tsr_test_close_connection (conn, 5);
}


static int
state_of (virConnectPtr handle,
          const char   *name)
{
  virDomainPtr dom = virDomainLookupByName (handle, name);
  int state = raw_state (dom);

  virDomainFree (dom);
  return state;
}

static void
remove_vm_and_volumes (virConnectPtr handle,
                       const char   *name)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "tessera");
  const char *suffixes[] = { "-root.qcow2", "-root.img" };

  tsr_test_remove_domain (handle, name);
  for (guint i = 0; pool != NULL && i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *vol_name = g_strconcat (name, suffixes[i], NULL);
      virStorageVolPtr vol = virStorageVolLookupByName (pool, vol_name);

      if (vol != NULL)
        {
          virStorageVolDelete (vol, 0);
          virStorageVolFree (vol);
        }
    }
  if (pool != NULL)
    virStoragePoolFree (pool);
  virResetLastError ();
}

/* The Qubes page, verbatim: create an HVM, install it from an ISO in dom0,
 * then boot it from its disk.
 */
static void
test_create_install (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *log = g_build_filename (workdir, "install-serial.log", NULL);
  g_autofree char *iso = g_build_filename (workdir, "installer.iso", NULL);
  g_autofree char *cdrom = g_strconcat ("--cdrom=dom0:", iso, NULL);
  g_autofree char *out = NULL;
  g_autofree char *persistent = NULL;
  g_autofree char *live = NULL;
  g_autofree char *before_start = NULL;
  int status;

  remove_vm_and_volumes (handle, "my-new-vm");
  ensure_test_network (conn);

  out = run_cli ("qvm-create", &status, "my-new-vm", "--class", "StandaloneVM", "--property",
                 "virt_mode=hvm", "--property", "kernel=", "--label=green", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* The same name again is bad input: exit code 2, nothing changes. */
  before_start = tsr_test_domain_xml (handle, "my-new-vm", VIR_DOMAIN_XML_INACTIVE);
  out = run_cli ("qvm-create", &status, "my-new-vm", "--label=red", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&before_start, g_free);

  tsr_test_log_serial (handle, "my-new-vm", log, FALSE);
  before_start = tsr_test_domain_xml (handle, "my-new-vm", VIR_DOMAIN_XML_INACTIVE);
  g_assert_null (strstr (before_start, "cdrom"));

  /* Missing media: refused, nothing started, definition unchanged. */
  out = run_cli ("qvm-start", &status, "my-new-vm", "--cdrom=dom0:/nonexistent/installcd.iso", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
  g_assert_cmpint (state_of (handle, "my-new-vm"), ==, VIR_DOMAIN_SHUTOFF);
  g_clear_pointer (&out, g_free);

  out = run_cli ("qvm-start", &status, "my-new-vm", cdrom, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  live = tsr_test_domain_xml (handle, "my-new-vm", 0);
  g_assert_nonnull (strstr (live, "device='cdrom'"));
  persistent = tsr_test_domain_xml (handle, "my-new-vm", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (persistent, ==, before_start);

  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from cdrom"), 120);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: installed to vda"), 120);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: ready"), 120);
  out = run_cli ("qvm-shutdown", &status, "--wait", "my-new-vm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* A plain start boots the installed disk, with no cdrom attached. */
  out = run_cli ("qvm-start", &status, "my-new-vm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&live, g_free);
  live = tsr_test_domain_xml (handle, "my-new-vm", 0);
  g_assert_null (strstr (live, "device='cdrom'"));
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from disk"), 120);

  out = run_cli ("qvm-kill", &status, "my-new-vm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  remove_vm_and_volumes (handle, "my-new-vm");
  tsr_test_close_connection (conn, 5);
}

/* qvm-create --hvm … --root-move-from IMAGE boots the moved image. */
static void
test_create_move (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *image = g_build_filename (workdir, "win10-root.img", NULL);
  g_autofree char *src = g_build_filename (fixture_dir, "boot-disk.img", NULL);
  g_autofree char *log = g_build_filename (workdir, "move-serial.log", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *out = NULL;
  g_autofree char *xml = NULL;
  gsize len;
  int status;

  remove_vm_and_volumes (handle, "tsr-it-moved");
  ensure_test_network (conn);
  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (image, contents, len, NULL));

  out = run_cli ("qvm-create", &status, "--hvm", "tsr-it-moved", "--label", "red", "--mem=512",
                 "--root-move-from", image, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* Moved, not copied; a raw image stays raw and is named as such. */
  g_assert_false (g_file_test (image, G_FILE_TEST_EXISTS));
  xml = tsr_test_domain_xml (handle, "tsr-it-moved", VIR_DOMAIN_XML_INACTIVE);
  g_assert_nonnull (strstr (xml, "type='raw'"));
  g_assert_nonnull (strstr (xml, "<currentMemory unit='KiB'>524288</currentMemory>"));

  tsr_test_log_serial (handle, "tsr-it-moved", log, FALSE);
  out = run_cli ("qvm-start", &status, "tsr-it-moved", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from disk"), 120);
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, "tsr-it-moved", NULL);

  /* A missing image is bad input and leaves nothing behind. */
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-create", &status, "--hvm", "tsr-it-nothing", "--label", "red",
                 "--root-move-from", image, NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
  g_assert_null (virDomainLookupByName (handle, "tsr-it-nothing"));
  virResetLastError ();

  remove_vm_and_volumes (handle, "tsr-it-moved");
  tsr_test_close_connection (conn, 5);
}

/* qvm-prefs on a real VM: PVH boots a kernel from the kernels folder,
 * kernel '' with HVM boots the disk again, and a MAC set with the old
 * "-s" form is the one the guest's DHCP request uses.
 */
static void
test_prefs_boot (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *image = g_build_filename (workdir, "prefs-root.img", NULL);
  g_autofree char *src = g_build_filename (fixture_dir, "boot-disk.img", NULL);
  g_autofree char *log = g_build_filename (workdir, "prefs-serial.log", NULL);
  g_autofree char *kernels = g_build_filename (workdir, "vm-kernels", NULL);
  g_autofree char *kdir = g_build_filename (kernels, "6.1-fixture", NULL);
  g_autofree char *mac = tsr_mac_generate (NULL);
  g_autofree char *contents = NULL;
  g_autofree char *out = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *before = NULL;
  gsize len;
  int status;

  remove_vm_and_volumes (handle, "tsr-it-prefs");
  ensure_test_network (conn);
  g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (image, contents, len, NULL));
  g_clear_pointer (&contents, g_free);

  /* A kernels folder like /var/lib/qubes/vm-kernels, with the fixture kernel. */
  g_mkdir_with_parents (kdir, 0755);
  {
    const char *names[][2] = { { "vmlinuz", "vmlinuz" }, { "initramfs.img", "initramfs" } };

    for (guint i = 0; i < G_N_ELEMENTS (names); i++)
      {
        g_autofree char *from = g_build_filename (workdir, names[i][0], NULL);
        g_autofree char *to = g_build_filename (kdir, names[i][1], NULL);

        g_assert_true (g_file_get_contents (from, &contents, &len, NULL));
        g_assert_true (g_file_set_contents (to, contents, len, NULL));
        g_chmod (to, 0644);
        g_clear_pointer (&contents, g_free);
      }
  }
  g_setenv ("TESSERA_KERNELS_DIR", kernels, TRUE);

  out = run_cli ("qvm-create", &status, "--hvm", "tsr-it-prefs", "--label", "blue",
                 "--root-copy-from", image, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  tsr_test_log_serial (handle, "tsr-it-prefs", log, FALSE);

  /* PV needs a Xen host: refused, nothing changed. */
  before = tsr_test_domain_xml (handle, "tsr-it-prefs", VIR_DOMAIN_XML_INACTIVE);
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "virt_mode", "pv", NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) != 0);
  g_clear_pointer (&out, g_free);
  xml = tsr_test_domain_xml (handle, "tsr-it-prefs", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (xml, ==, before);
  g_clear_pointer (&xml, g_free);

  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "kernel", "6.1-fixture", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "virt_mode", "pvh", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "virt_mode", NULL);
  g_assert_cmpstr (out, ==, "pvh\n");
  g_clear_pointer (&out, g_free);

  out = run_cli ("qvm-start", &status, "tsr-it-prefs", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from kernel"), 120);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: ready"), 120);
  out = run_cli ("qvm-shutdown", &status, "--wait", "tsr-it-prefs", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* Back to the disk, and a fixed MAC, the way the Qubes page writes it. */
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "virt_mode", "hvm", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "kernel", "", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  {
    g_autofree char *upper = g_ascii_strup (mac, -1);

    out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", "-s", "mac", upper, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_clear_pointer (&out, g_free);
  }
  out = run_cli ("qvm-prefs", &status, "tsr-it-prefs", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, mac));
  {
    /* "mac  -  …": set, not the default any more. */
    g_autofree char *line = g_strdup_printf ("-  %s", mac);

    g_assert_nonnull (strstr (out, line));
  }
  g_clear_pointer (&out, g_free);

  xml = tsr_test_domain_xml (handle, "tsr-it-prefs", VIR_DOMAIN_XML_INACTIVE);
  g_assert_null (strstr (xml, "<kernel>"));
  g_assert_nonnull (strstr (xml, mac));
  g_clear_pointer (&xml, g_free);

  g_unlink (log);
  out = run_cli ("qvm-start", &status, "tsr-it-prefs", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from disk"), 120);
  {
    TsrVm *vm;

    TSR_WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, "tsr-it-prefs")) != NULL &&
                g_strcmp0 (tsr_vm_get_mac (vm), mac) == 0 && tsr_vm_get_ip (vm) != NULL, 30);
    expected = g_strdup_printf ("TESSERA-GUEST: ip=%s mask=%s router=none mac=%s",
                                tsr_vm_get_ip (vm), tsr_vm_get_netmask (vm), mac);
  }
  TSR_POLL_UNTIL (tsr_test_file_contains (log, expected), 120);

  out = run_cli ("qvm-kill", &status, "tsr-it-prefs", NULL);
  remove_vm_and_volumes (handle, "tsr-it-prefs");
  g_unsetenv ("TESSERA_KERNELS_DIR");
  tsr_test_close_connection (conn, 5);
}

/* Ctrl+C while qvm-create copies a root image: nothing is left behind, and
 * the image is untouched.
 */
static void
test_create_cancel (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *image = g_build_filename (workdir, "big-root.img", NULL);
  g_autofree char *qvm_create = g_build_filename (cli_dir, "qvm-create", NULL);
  g_autofree char *dd = g_strdup_printf ("dd if=/dev/urandom of=%s bs=1M count=768 status=none", image);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  virStoragePoolPtr pool;
  virStorageVolPtr vol;
  struct stat st;

  remove_vm_and_volumes (handle, "tsr-it-cancel");
  ensure_test_network (conn);
  g_assert_true (g_spawn_command_line_sync (dd, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (truncate (image, 4LL << 30), ==, 0);

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error, qvm_create,
                           "--connect=" URI, "--hvm", "tsr-it-cancel", "--label", "red",
                           "--root-copy-from", image, NULL);
  g_assert_no_error (error);

  /* Wait until the copy is under way: the volume exists. */
  TSR_POLL_UNTIL ((pool = virStoragePoolLookupByName (handle, "tessera")) != NULL &&
              (virStoragePoolRefresh (pool, 0), vol = virStorageVolLookupByName (pool, "tsr-it-cancel-root.img")) != NULL,
              60);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
  g_subprocess_send_signal (proc, SIGINT);
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 1);

  g_assert_null (virDomainLookupByName (handle, "tsr-it-cancel"));
  pool = virStoragePoolLookupByName (handle, "tessera");
  virStoragePoolRefresh (pool, 0);
  g_assert_null (virStorageVolLookupByName (pool, "tsr-it-cancel-root.img"));
  virStoragePoolFree (pool);
  virResetLastError ();
  g_assert_cmpint (stat (image, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4LL << 30);

  g_unlink (image);
  tsr_test_close_connection (conn, 5);
}

/* Before the tests, what an interrupted earlier run left; after them,
 * what they made.
 */
static void
cleanup (void)
{
  virConnectPtr handle = virConnectOpen (URI);
  virNetworkPtr net;
  const char *domains[] = { "tsr-it-dhcp", "tsr-it-acpi", "tsr-it-restart", "my-new-vm",
                            "tsr-it-moved", "tsr-it-prefs", "tsr-it-mediasrc", "tsr-it-noagent",
                            "tsr-it-mediatgt" };

  for (guint i = 0; i < G_N_ELEMENTS (domains); i++)
    remove_vm_and_volumes (handle, domains[i]);

  net = virNetworkLookupByName (handle, TEST_NETWORK);

  if (net != NULL)
    {
      virNetworkDestroy (net);
      g_assert_cmpint (virNetworkUndefine (net), ==, 0);
      virNetworkFree (net);
    }
  virConnectClose (handle);
}

static void
copy_fixture (const char *name)
{
  g_autofree char *src = g_build_filename (fixture_dir, name, NULL);
  g_autofree char *dst = g_build_filename (workdir, name, NULL);

  tsr_test_copy_file (src, dst);
}

/* Starting with a network that is not running: one of Tessera's is
 * started first; another one gives libvirt's reason on every start path
 * (it used to be "unknown libvirt error" with --cdrom).
 */
static void
test_start_network (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *iso = g_build_filename (workdir, "installer.iso", NULL);
  g_autofree char *cdrom = g_strconcat ("--cdrom=dom0:", iso, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *moved = NULL;
  g_auto(GStrv) parts = NULL;
  virNetworkPtr net;
  virDomainPtr dom;
  int status;

  ensure_test_network (conn);
  remove_vm_and_volumes (handle, "tsr-it-netstart");
  out = run_cli ("qvm-create", &status, "tsr-it-netstart", "--label", "red", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  net = virNetworkLookupByName (handle, TEST_NETWORK);
  g_assert_cmpint (virNetworkDestroy (net), ==, 0);
  out = run_cli ("qvm-start", &status, "tsr-it-netstart", cdrom, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (virNetworkIsActive (net), ==, 1);
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, "tsr-it-netstart", NULL);
  g_clear_pointer (&out, g_free);
  virNetworkFree (net);

  /* Not Tessera's, not running: the reason, on both paths. */
  net = virNetworkDefineXML (handle, "<network><name>tsr-it-off</name>"
                                    "<ip address='10.139.77.1' netmask='255.255.255.0'/></network>");
  g_assert_nonnull (net);
  xml = tsr_test_domain_xml (handle, "tsr-it-netstart", VIR_DOMAIN_XML_INACTIVE);
  parts = g_strsplit (xml, "<source network='" TEST_NETWORK "'", 2);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  moved = g_strjoin ("<source network='tsr-it-off'", parts[0], parts[1], NULL);
  dom = virDomainDefineXML (handle, moved);
  g_assert_nonnull (dom);
  virDomainFree (dom);

  out = tsr_test_run_cli (cli_dir, URI, FALSE, "qvm-start", &status, &err, "tsr-it-netstart",
                          cdrom, NULL);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "tsr-it-off"));
  g_assert_null (strstr (err, "unknown libvirt error"));
  /* And how to start it. */
  g_assert_nonnull (strstr (err, "virsh net-start tsr-it-off"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  out = tsr_test_run_cli (cli_dir, URI, FALSE, "qvm-start", &status, &err, "tsr-it-netstart", NULL);
  g_assert_false (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (err, "tsr-it-off"));
  g_assert_nonnull (strstr (err, "virsh net-start tsr-it-off"));

  remove_vm_and_volumes (handle, "tsr-it-netstart");
  virNetworkUndefine (net);
  virNetworkFree (net);
  tsr_test_close_connection (conn, 5);
}

/* Several processes at once */

/* Starts every command line of CMDS (NULL-terminated argument vectors of
 * CLI names with their arguments) at once, then waits for all; stores each
 * one's exit status and stderr.
 */
static void
run_parallel (GPtrArray *cmds,
              int       *statuses,
              char     **errs)
{
  g_autoptr(GPtrArray) procs = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < cmds->len; i++)
    {
      const char * const *cmd = g_ptr_array_index (cmds, i);
      g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) error = NULL;
      GSubprocess *proc;

      g_ptr_array_add (argv, g_build_filename (cli_dir, cmd[0], NULL));
      g_ptr_array_add (argv, g_strdup ("--connect=" URI));
      for (guint j = 1; cmd[j] != NULL; j++)
        g_ptr_array_add (argv, g_strdup (cmd[j]));
      g_ptr_array_add (argv, NULL);
      proc = g_subprocess_newv ((const char * const *) argv->pdata,
                                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                &error);
      g_assert_no_error (error);
      g_ptr_array_add (procs, proc);
    }
  for (guint i = 0; i < procs->len; i++)
    {
      GSubprocess *proc = g_ptr_array_index (procs, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GAsyncResult) result = NULL;

      /* The main context runs meanwhile: it answers libvirtd's keepalive on
       * the test's own connection, however long the commands take.
       */
      g_subprocess_communicate_utf8_async (proc, NULL, NULL, tsr_test_store_result_cb, &result);
      g_assert_true (g_subprocess_communicate_utf8_finish (proc, tsr_test_wait_result (&result, 600),
                                                           NULL, &errs[i], &error));
      g_assert_no_error (error);
      statuses[i] = g_subprocess_get_status (proc);
      if (errs[i] != NULL && *errs[i] != '\0')
        g_test_message ("%s: %s", ((const char * const *) g_ptr_array_index (cmds, i))[0], errs[i]);
    }
}

/* COMMAND split at spaces, for run_parallel(). */
static char **
command (const char *format,
         ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  return g_strsplit (line, " ", -1);
}

static TsrNetworkInfo *
test_network_info (virConnectPtr handle)
{
  virNetworkPtr net = virNetworkLookupByName (handle, TEST_NETWORK);
  g_autofree char *xml = net ? virNetworkGetXMLDesc (net, 0) : NULL;
  TsrNetworkInfo *info;

  g_assert_nonnull (xml);
  info = tsr_network_info_new_from_xml (xml, NULL);
  g_assert_nonnull (info);
  virNetworkFree (net);
  return info;
}

#define PARALLEL 10

/* Ten qvm-create of different names at once: all succeed, with ten
 * different reserved addresses (each process picks "the lowest free" one;
 * the losers of a race take the next).
 */
static void
test_parallel_create (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GHashTable) ips = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(TsrNetworkInfo) info = NULL;
  int statuses[PARALLEL];
  char *errs[PARALLEL] = { NULL, };

  ensure_test_network (conn);
  for (guint i = 0; i < PARALLEL; i++)
    {
      g_autofree char *name = g_strdup_printf ("tsr-par-%u", i);

      remove_vm_and_volumes (handle, name);
      g_ptr_array_add (cmds, command ("qvm-create %s --label red", name));
    }
  run_parallel (cmds, statuses, errs);

  info = test_network_info (handle);
  for (guint i = 0; i < PARALLEL; i++)
    {
      g_autofree char *name = g_strdup_printf ("tsr-par-%u", i);
      g_autofree char *xml = NULL;
      const TsrDhcpHost *host = NULL;

      g_assert_true (g_spawn_check_wait_status (statuses[i], NULL));
      xml = tsr_test_domain_xml (handle, name, VIR_DOMAIN_XML_INACTIVE);
      for (guint h = 0; h < info->hosts->len; h++)
        {
          const TsrDhcpHost *candidate = g_ptr_array_index (info->hosts, h);
          g_autofree char *mac = g_strdup_printf ("<mac address='%s'/>", candidate->mac);

          if (strstr (xml, mac) != NULL)
            host = candidate;
        }
      g_assert_nonnull (host);
      g_assert_false (g_hash_table_contains (ips, host->ip));
      g_hash_table_add (ips, (gpointer) host->ip);
      g_free (errs[i]);
    }
  g_assert_cmpuint (g_hash_table_size (ips), ==, PARALLEL);

  for (guint i = 0; i < PARALLEL; i++)
    {
      g_autofree char *name = g_strdup_printf ("tsr-par-%u", i);

      remove_vm_and_volumes (handle, name);
    }
  tsr_test_close_connection (conn, 5);
}

/* Five qvm-create of one name at once: exactly one VM, the others say the
 * name is taken, and nothing of theirs remains (one volume, one
 * reservation).
 */
static void
test_parallel_same_name (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(TsrNetworkInfo) info = NULL;
  g_autoptr(TsrNetworkInfo) before = NULL;
  int statuses[5];
  char *errs[5] = { NULL, };
  guint ok = 0, hosts = 0;

  ensure_test_network (conn);
  remove_vm_and_volumes (handle, "tsr-par-same");
  before = test_network_info (handle);
  for (guint i = 0; i < 5; i++)
    g_ptr_array_add (cmds, g_strsplit ("qvm-create tsr-par-same --label red", " ", -1));
  run_parallel (cmds, statuses, errs);

  for (guint i = 0; i < 5; i++)
    {
      if (g_spawn_check_wait_status (statuses[i], NULL))
        ok++;
      else
        g_assert_nonnull (strstr (errs[i], "A VM named “tsr-par-same” already exists"));
      g_free (errs[i]);
    }
  g_assert_cmpuint (ok, ==, 1);

  info = test_network_info (handle);
  for (guint h = 0; h < info->hosts->len; h++)
    hosts += g_strcmp0 (((TsrDhcpHost *) g_ptr_array_index (info->hosts, h))->name,
                        "tsr-par-same") == 0;
  g_assert_cmpuint (hosts, ==, 1);
  /* One more at most: the reservations the earlier tests' VMs left when
   * they were undefined behind Tessera's back are orphans, released by the
   * first reservation here.
   */
  g_assert_cmpuint (info->hosts->len, <=, before->hosts->len + 1);

  remove_vm_and_volumes (handle, "tsr-par-same");
  tsr_test_close_connection (conn, 5);
}

/* qvm-prefs changes to different properties of one VM, in pairs at once:
 * every change is there at the end. Then pairs on the same property: the
 * final value is one of the two, and both commands say they succeeded
 * (the later write came second).
 */
static void
test_parallel_prefs (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *out = NULL;
  int status;

  ensure_test_network (conn);
  remove_vm_and_volumes (handle, "tsr-par-prefs");
  out = run_cli ("qvm-create", &status, "tsr-par-prefs", "--label", "red", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  for (guint round = 0; round < PARALLEL; round++)
    {
      g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
      g_autofree char *memory = g_strdup_printf ("%u", 400 + round * 8);
      g_autofree char *vcpus = g_strdup_printf ("%u", 1 + round % 2);
      g_autofree char *mem_now = NULL;
      g_autofree char *vcpus_now = NULL;
      int statuses[2];
      char *errs[2] = { NULL, };

      g_ptr_array_add (cmds, command ("qvm-prefs tsr-par-prefs memory %s", memory));
      g_ptr_array_add (cmds, command ("qvm-prefs tsr-par-prefs vcpus %s", vcpus));
      run_parallel (cmds, statuses, errs);
      g_assert_true (g_spawn_check_wait_status (statuses[0], NULL));
      g_assert_true (g_spawn_check_wait_status (statuses[1], NULL));
      g_free (errs[0]);
      g_free (errs[1]);

      mem_now = run_cli ("qvm-prefs", &status, "tsr-par-prefs", "memory", NULL);
      vcpus_now = run_cli ("qvm-prefs", &status, "tsr-par-prefs", "vcpus", NULL);
      g_strstrip (mem_now);
      g_strstrip (vcpus_now);
      g_assert_cmpstr (mem_now, ==, memory);
      g_assert_cmpstr (vcpus_now, ==, vcpus);
    }

  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
      g_autofree char *mem_now = NULL;
      int statuses[2];
      char *errs[2] = { NULL, };

      g_ptr_array_add (cmds, g_strsplit ("qvm-prefs tsr-par-prefs memory 512", " ", -1));
      g_ptr_array_add (cmds, g_strsplit ("qvm-prefs tsr-par-prefs memory 600", " ", -1));
      run_parallel (cmds, statuses, errs);
      g_assert_true (g_spawn_check_wait_status (statuses[0], NULL));
      g_assert_true (g_spawn_check_wait_status (statuses[1], NULL));
      g_free (errs[0]);
      g_free (errs[1]);
      mem_now = run_cli ("qvm-prefs", &status, "tsr-par-prefs", "memory", NULL);
      g_strstrip (mem_now);
      g_assert_true (g_str_equal (mem_now, "512") || g_str_equal (mem_now, "600"));
    }

  /* Two clones of the one source at once: both succeed. */
  for (guint linked = 0; linked < 1; linked++)
    {
      g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
      int statuses[2];
      char *errs[2] = { NULL, };

      for (guint i = 0; i < 2; i++)
        {
          g_autofree char *name = g_strdup_printf ("tsr-par-cl%u%u", linked, i);

          remove_vm_and_volumes (handle, name);
          g_ptr_array_add (cmds, command ("qvm-clone -q tsr-par-prefs %s", name));
        }
      run_parallel (cmds, statuses, errs);
      for (guint i = 0; i < 2; i++)
        {
          g_autofree char *name = g_strdup_printf ("tsr-par-cl%u%u", linked, i);
          virDomainPtr dom;

          g_assert_true (g_spawn_check_wait_status (statuses[i], NULL));
          dom = virDomainLookupByName (handle, name);
          g_assert_nonnull (dom);
          virDomainFree (dom);
          g_free (errs[i]);
        }
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("tsr-par-cl0%u", i);

      remove_vm_and_volumes (handle, name);
    }

  remove_vm_and_volumes (handle, "tsr-par-prefs");
  tsr_test_close_connection (conn, 5);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tsr_test_ensure_libvirtd ();
  tsr_init ();

  fixture_dir = g_getenv ("TESSERA_FIXTURE_DIR");
  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (fixture_dir);
  g_assert_nonnull (cli_dir);

  /* QEMU may run as another user: the guest's files live in a folder it
   * can read and write.
   */
  workdir = g_strdup ("/var/tmp/tessera-it-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  g_chmod (workdir, 0777);
  copy_fixture ("vmlinuz");
  copy_fixture ("initramfs.img");
  copy_fixture ("installer.iso");
  /* VMs made with the Qubes commands verbatim join the isolated test
   * network, never a NAT one.
   */
  g_setenv ("TESSERA_DEFAULT_NETVM", TEST_NETWORK, TRUE);

  if (!tsr_test_kvm_usable ())
    g_test_message ("KVM is not usable here: guests run under software emulation (TCG)");

  cleanup ();

  g_test_add_func ("/integration/network/isolated", test_network_isolated);
  g_test_add_func ("/integration/guest/dhcp", test_guest_dhcp);
  g_test_add_func ("/integration/cli/lifecycle", test_cli_lifecycle);
  g_test_add_func ("/integration/create/install-from-iso", test_create_install);
  g_test_add_func ("/integration/create/root-move-from", test_create_move);
  g_test_add_func ("/integration/create/cancel-copy", test_create_cancel);
  g_test_add_func ("/integration/prefs/pvh-kernel-and-mac", test_prefs_boot);
  g_test_add_func ("/integration/connection/restart-libvirtd", test_connection_restart);
  g_test_add_func ("/integration/start/network-not-running", test_start_network);
  g_test_add_func ("/integration/parallel/create", test_parallel_create);
  g_test_add_func ("/integration/parallel/same-name", test_parallel_same_name);
  g_test_add_func ("/integration/parallel/prefs", test_parallel_prefs);
  tsr_it_add_media_vm_tests (workdir, cli_dir);

  ret = g_test_run ();

  cleanup ();

  tsr_test_remove_flat_dir (workdir);

  return ret;
}
