/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Cloning VMs on libvirt's test driver: the clone is the same VM with a new
 * name, UUID, MACs and addresses and its own disks; a linked clone puts
 * both VMs on overlays; bad input and failures leave the connection's
 * domains, volumes and reservations exactly as they were.
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tsr-cloner.h"
#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-settings.h"
#include "tsr-validate.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 20)

#define NETWORK "tessera-unit"

/* Everything a clone could touch, as one string: each domain's
 * definition, each pool's volumes, each network's definition.
 */
static char *
snapshot (TsrConnection *conn)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  virDomainPtr *doms = NULL;
  virStoragePoolPtr *pools = NULL;
  virNetworkPtr *nets = NULL;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

      g_ptr_array_add (lines, g_strdup_printf ("domain %s\n%s", virDomainGetName (doms[i]), xml));
      free (xml);
      virDomainFree (doms[i]);
    }
  free (doms);

  n = virConnectListAllStoragePools (handle, &pools, 0);
  for (int i = 0; i < n; i++)
    {
      virStorageVolPtr *vols = NULL;
      int m = virStoragePoolListAllVolumes (pools[i], &vols, 0);

      for (int j = 0; j < m; j++)
        {
          g_ptr_array_add (lines, g_strdup_printf ("volume %s/%s", virStoragePoolGetName (pools[i]),
                                                   virStorageVolGetName (vols[j])));
          virStorageVolFree (vols[j]);
        }
      free (vols);
      virStoragePoolFree (pools[i]);
    }
  free (pools);

  n = virConnectListAllNetworks (handle, &nets, 0);
  for (int i = 0; i < n; i++)
    {
      char *xml = virNetworkGetXMLDesc (nets[i], 0);

      g_ptr_array_add (lines, g_strdup_printf ("network %s\n%s", virNetworkGetName (nets[i]), xml));
      free (xml);
      virNetworkFree (nets[i]);
    }
  free (nets);

  g_ptr_array_sort (lines, tsr_test_compare_strings);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
domain_xml (TsrConnection *conn,
            const char    *name)
{
  return tsr_test_domain_xml (tsr_connection_get_handle (conn), name, VIR_DOMAIN_XML_INACTIVE);
}

static char *
network_xml (TsrConnection *conn)
{
  virNetworkPtr net = virNetworkLookupByName (tsr_connection_get_handle (conn), NETWORK);
  char *xml = virNetworkGetXMLDesc (net, 0);

  virNetworkFree (net);
  return xml;
}

typedef struct
{
  guint64  last_done;
  guint64  last_total;
  guint    calls;
  gboolean cancel_on_copy;
  GCancellable *cancellable;
} Progress;

static void
progress_cb (guint64     done,
             guint64     total,
             const char *stage,
             gpointer    user_data)
{
  Progress *p = user_data;

  g_assert_nonnull (stage);
  if (total > 0)
    {
      g_assert_cmpuint (done, <=, total);
      p->last_done = done;
      p->last_total = total;
    }
  p->calls++;
  if (p->cancel_on_copy && g_str_has_prefix (stage, "Copying"))
    g_cancellable_cancel (p->cancellable);
}

static char *
clone_vm (TsrConnection  *conn,
          const char     *source,
          TsrCloneSpec   *spec,
          Progress       *progress,
          GCancellable   *cancellable,
          char          **warning,
          GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  TsrVm *vm = tsr_connection_lookup_vm (conn, source);

  g_assert_nonnull (vm);
  tsr_connection_clone_vm_async (conn, vm, spec, progress ? progress_cb : NULL, progress,
                                 cancellable, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_clone_vm_finish (conn, result, warning, error);
}

static void
make_volume (virConnectPtr  handle,
             const char    *pool_name,
             const char    *name,
             const char    *format)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, pool_name);
  g_autofree char *xml = g_strdup_printf ("<volume><name>%s</name>"
                                          "<capacity unit='MiB'>64</capacity>"
                                          "<allocation unit='MiB'>8</allocation>"
                                          "<target><format type='%s'/></target></volume>",
                                          name, format);
  virStorageVolPtr vol = virStorageVolCreateXML (pool, xml, 0);

  g_assert_nonnull (vol);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
}

#define KERNEL "/var/lib/tessera/vm-kernels/6.1.0-test/vmlinuz"
#define NVRAM_DIR "/var/lib/libvirt/qemu/nvram"

/* A VM with every kind of disk and two NICs, the first with a reserved
 * address, settings that differ from the defaults, and Tessera metadata.
 */
static void
define_source (TsrConnection *conn)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ip = NULL;
  virDomainPtr dom;
  const char *xml =
    "<domain type='test'>"
    "  <name>clone-src</name>"
    "  <memory unit='MiB'>1024</memory><currentMemory unit='MiB'>512</currentMemory>"
    "  <vcpu>2</vcpu>"
    "  <metadata><tessera:vm xmlns:tessera='" TSR_METADATA_NS "'>"
    "    <label>purple</label><class>TemplateVM</class></tessera:vm></metadata>"
    "  <os><type arch='x86_64'>hvm</type>"
    "    <loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"
    "    <nvram>" NVRAM_DIR "/clone-src_VARS.fd</nvram>"
    "    <kernel>" KERNEL "</kernel><cmdline>console=ttyS0 quiet</cmdline></os>"
    "  <devices>"
    "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
    "      <source file='/default-pool/clone-src-root.qcow2'/><target dev='vda' bus='virtio'/></disk>"
    "    <disk type='volume' device='disk'><driver name='qemu' type='raw'/>"
    "      <source pool='default-pool' volume='clone-src-private.img'/>"
    "      <target dev='vdb' bus='virtio'/></disk>"
    "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "      <source file='/default-pool/shared-ro.img'/><target dev='vdc' bus='virtio'/><readonly/></disk>"
    "    <disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "      <source file='/default-pool/shared-rw.img'/><target dev='vdd' bus='virtio'/><shareable/></disk>"
    "    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
    "      <source file='/srv/install.iso'/><target dev='sda' bus='sata'/><readonly/></disk>"
    "    <interface type='network'><mac address='52:54:00:aa:00:01'/>"
    "      <source network='" NETWORK "'/></interface>"
    "    <interface type='network'><mac address='52:54:00:aa:00:02'/>"
    "      <source network='" NETWORK "'/></interface>"
    "  </devices>"
    "</domain>";

  make_volume (handle, "default-pool", "clone-src-root.qcow2", "qcow2");
  make_volume (handle, "default-pool", "clone-src-private.img", "raw");
  make_volume (handle, "default-pool", "shared-ro.img", "raw");
  make_volume (handle, "default-pool", "shared-rw.img", "raw");
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);

  tsr_connection_reserve_address_async (conn, NETWORK, "52:54:00:aa:00:01", "clone-src", NULL,
                                        tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  ip = tsr_connection_reserve_address_finish (conn, result, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "clone-src") != NULL &&
              tsr_vm_get_ip (tsr_connection_lookup_vm (conn, "clone-src")) != NULL);
}

static char *
disk_source (const char *xml,
             const char *target)
{
  g_autofree char *needle = g_strdup_printf ("<target dev='%s'", target);
  const char *t = strstr (xml, needle);
  const char *disk = t ? g_strrstr_len (xml, t - xml, "<disk ") : NULL;
  const char *src = disk ? strstr (disk, "<source ") : NULL;

  g_assert_nonnull (src);
  return g_strndup (src, strchr (src, '>') - src);
}

static GStrv
macs_of (const char *xml)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (const char *p = xml; (p = strstr (p, "<mac address='")) != NULL; p++)
    {
      g_autofree char *mac = g_strndup (p + strlen ("<mac address='"), 17);

      g_strv_builder_add (builder, mac);
    }
  return g_strv_builder_end (builder);
}

static gboolean
volume_exists (TsrConnection *conn,
               const char    *name)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (tsr_connection_get_handle (conn),
                                                       "default-pool");
  virStorageVolPtr vol = virStorageVolLookupByName (pool, name);

  virStoragePoolFree (pool);
  if (vol == NULL)
    return FALSE;
  virStorageVolFree (vol);
  return TRUE;
}

static void
test_suggest_name (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autofree char *first = tsr_connection_suggest_clone_name (conn, "vault");
  g_autofree char *long_name = tsr_connection_suggest_clone_name (conn, "a234567890123456789012345678901");
  g_autofree char *weird = tsr_connection_suggest_clone_name (conn, "9lives");
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (first);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *second = NULL;

  g_assert_cmpstr (first, ==, "vault-clone-1");
  g_assert_true (tsr_validate_vm_name (long_name, NULL));
  g_assert_cmpstr (long_name, ==, "a2345678901234567890123-clone-1");
  g_assert_true (tsr_validate_vm_name (weird, NULL));

  name = clone_vm (conn, "vault", spec, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "vault-clone-1") != NULL);
  second = tsr_connection_suggest_clone_name (conn, "vault");
  g_assert_cmpstr (second, ==, "vault-clone-2");

  g_assert_true (tsr_connection_check_clone_name (conn, "vault-clone-2", NULL));
  g_assert_false (tsr_connection_check_clone_name (conn, "vault-clone-1", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NAME_IN_USE);
  g_clear_error (&error);
  g_assert_false (tsr_connection_check_clone_name (conn, "x-dm", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_NAME);

  tsr_test_close_connection (conn, 2);
}

static void
test_full (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("clone-dst");
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *net = NULL;
  g_autofree char *name = NULL;
  g_autofree char *warning = NULL;
  g_auto(GStrv) src_macs = NULL;
  g_auto(GStrv) macs = NULL;
  Progress progress = { 0 };
  TsrVm *src, *vm;

  define_source (conn);
  before = domain_xml (conn, "clone-src");
  src = tsr_connection_lookup_vm (conn, "clone-src");

  name = clone_vm (conn, "clone-src", spec, &progress, NULL, &warning, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "clone-dst");
  g_assert_null (warning);
  g_assert_cmpuint (progress.calls, >, 0);

  WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, "clone-dst")) != NULL);
  WAIT_UNTIL (tsr_vm_get_ip (vm) != NULL);

  /* New identity. */
  g_assert_cmpstr (tsr_vm_get_uuid (vm), !=, tsr_vm_get_uuid (src));
  g_assert_cmpstr (tsr_vm_get_mac (vm), !=, tsr_vm_get_mac (src));
  g_assert_true (g_str_has_prefix (tsr_vm_get_mac (vm), "52:54:00:"));
  g_assert_true (tsr_validate_mac (tsr_vm_get_mac (vm), NULL));
  g_assert_cmpstr (tsr_vm_get_ip (vm), !=, tsr_vm_get_ip (src));
  g_assert_cmpstr (tsr_vm_get_netvm (vm), ==, NETWORK);

  /* Same settings and metadata. */
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "purple");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "TemplateVM");
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, 512);
  g_assert_cmpuint (tsr_vm_get_maxmem (vm), ==, 1024);
  g_assert_cmpuint (tsr_vm_get_vcpus (vm), ==, 2);
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, tsr_vm_get_virt_mode (src));
  g_assert_cmpstr (tsr_vm_get_kernel (vm), ==, tsr_vm_get_kernel (src));

  xml = domain_xml (conn, "clone-dst");
  g_assert_nonnull (strstr (xml, "<kernel>" KERNEL "</kernel>"));
  g_assert_nonnull (strstr (xml, "<cmdline>console=ttyS0 quiet</cmdline>"));
  g_assert_nonnull (strstr (xml, "OVMF_CODE_4M.fd</loader>"));
  /* Its own NVRAM. */
  g_assert_nonnull (strstr (xml, NVRAM_DIR "/clone-dst_VARS.fd</nvram>"));

  /* Its own copies of the disks it owns; shared ones shared. */
  {
    g_autofree char *vda = disk_source (xml, "vda");
    g_autofree char *vdb = disk_source (xml, "vdb");
    g_autofree char *vdc = disk_source (xml, "vdc");
    g_autofree char *vdd = disk_source (xml, "vdd");
    g_autofree char *sda = disk_source (xml, "sda");

    g_assert_cmpstr (vda, ==, "<source file='/default-pool/clone-dst-root.qcow2'/");
    g_assert_cmpstr (vdb, ==, "<source pool='default-pool' volume='clone-dst-private.img'/");
    g_assert_cmpstr (vdc, ==, "<source file='/default-pool/shared-ro.img'/");
    g_assert_cmpstr (vdd, ==, "<source file='/default-pool/shared-rw.img'/");
    g_assert_cmpstr (sda, ==, "<source file='/srv/install.iso'/");
  }
  g_assert_true (volume_exists (conn, "clone-dst-root.qcow2"));
  g_assert_true (volume_exists (conn, "clone-dst-private.img"));

  /* A new MAC for each NIC, used by no other VM, each with its own
   * reservation on the same network.
   */
  src_macs = macs_of (before);
  macs = macs_of (xml);
  g_assert_cmpuint (g_strv_length (macs), ==, 2);
  g_assert_cmpstr (macs[0], !=, macs[1]);
  net = network_xml (conn);
  for (guint i = 0; macs[i]; i++)
    {
      g_autofree char *host = g_strdup_printf ("<host mac='%s'", macs[i]);

      g_assert_false (g_strv_contains ((const char * const *) src_macs, macs[i]));
      g_assert_true (g_str_has_prefix (macs[i], "52:54:00:"));
      g_assert_nonnull (strstr (net, host));
    }
  g_assert_nonnull (strstr (net, tsr_vm_get_ip (vm)));

  /* The source is exactly as it was. */
  after = domain_xml (conn, "clone-src");
  g_assert_cmpstr (after, ==, before);

  tsr_test_close_connection (conn, 2);
}

static void
test_linked (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  virConnectPtr handle;
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("clone-lnk");
  g_autoptr(TsrCloneSpec) again = tsr_clone_spec_new ("clone-lnk2");
  g_autoptr(GError) error = NULL;
  g_autofree char *src_xml = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *src_xml2 = NULL;
  g_autofree char *xml2 = NULL;
  g_autofree char *name = NULL;
  g_autofree char *name2 = NULL;
  g_auto(GStrv) bases = NULL;
  g_auto(GStrv) src_bases = NULL;
  g_auto(GStrv) bases2 = NULL;

  define_source (conn);
  handle = tsr_connection_get_handle (conn);
  spec->linked = TRUE;
  name = clone_vm (conn, "clone-src", spec, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "clone-lnk") != NULL);

  /* Both VMs are on new qcow2 overlays on the source's former disks. */
  xml = domain_xml (conn, "clone-lnk");
  src_xml = domain_xml (conn, "clone-src");
  {
    g_autofree char *vda = disk_source (xml, "vda");
    g_autofree char *vdb = disk_source (xml, "vdb");
    g_autofree char *svda = disk_source (src_xml, "vda");
    g_autofree char *svdb = disk_source (src_xml, "vdb");
    g_autofree char *vdc = disk_source (xml, "vdc");

    g_assert_cmpstr (vda, ==, "<source file='/default-pool/clone-lnk-root.qcow2'/");
    g_assert_cmpstr (vdb, ==, "<source pool='default-pool' volume='clone-lnk-private.qcow2'/");
    g_assert_cmpstr (svda, ==, "<source file='/default-pool/clone-src-root-1.qcow2'/");
    g_assert_cmpstr (svdb, ==, "<source pool='default-pool' volume='clone-src-private-1.qcow2'/");
    g_assert_cmpstr (vdc, ==, "<source file='/default-pool/shared-ro.img'/");
  }
  g_assert_null (strstr (xml, "type='raw'/>\n      <source pool"));

  {
    virStorageVolPtr vol = virStorageVolLookupByPath (handle, "/default-pool/clone-lnk-root.qcow2");
    g_autofree char *vol_xml = virStorageVolGetXMLDesc (vol, 0);

    g_assert_nonnull (strstr (vol_xml, "<path>/default-pool/clone-src-root.qcow2</path>"));
    virStorageVolFree (vol);
  }

  /* Each records the bases it uses, so deleting one keeps them. */
  bases = tsr_domain_xml_linked_bases (xml);
  src_bases = tsr_domain_xml_linked_bases (src_xml);
  g_assert_cmpuint (g_strv_length (bases), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) bases, "/default-pool/clone-src-root.qcow2"));
  g_assert_true (g_strv_contains ((const char * const *) bases, "/default-pool/clone-src-private.img"));
  g_assert_true (g_strv_equal ((const char * const *) bases, (const char * const *) src_bases));

  /* A linked clone of a linked clone: the chain grows, nearest first. */
  again->linked = TRUE;
  name2 = clone_vm (conn, "clone-src", again, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  xml2 = domain_xml (conn, "clone-lnk2");
  src_xml2 = domain_xml (conn, "clone-src");
  bases2 = tsr_domain_xml_linked_bases (xml2);
  g_assert_cmpuint (g_strv_length (bases2), ==, 4);
  g_assert_cmpstr (bases2[0], ==, "/default-pool/clone-src-root-1.qcow2");
  {
    g_autofree char *svda = disk_source (src_xml2, "vda");

    g_assert_cmpstr (svda, ==, "<source file='/default-pool/clone-src-root-2.qcow2'/");
  }

  /* A full clone of a linked clone is flattened: it uses no base. */
  {
    g_autoptr(TsrCloneSpec) flat = tsr_clone_spec_new ("clone-flat");
    g_autofree char *flat_name = NULL;
    g_autofree char *flat_xml = NULL;
    g_auto(GStrv) flat_bases = NULL;

    WAIT_UNTIL (tsr_connection_lookup_vm (conn, "clone-lnk2") != NULL);
    flat_name = clone_vm (conn, "clone-lnk2", flat, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    flat_xml = domain_xml (conn, "clone-flat");
    flat_bases = tsr_domain_xml_linked_bases (flat_xml);
    g_assert_cmpuint (g_strv_length (flat_bases), ==, 0);
  }

  tsr_test_close_connection (conn, 2);
}

static void
test_keep_mac (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("vault-twin");
  g_autoptr(GError) error = NULL;
  g_autofree char *net_before = network_xml (conn);
  g_autofree char *net_after = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *name = NULL;
  TsrVm *vm;

  spec->keep_mac = TRUE;
  name = clone_vm (conn, "vault", spec, NULL, NULL, &warning, &error);
  g_assert_no_error (error);
  g_assert_nonnull (warning);
  g_test_message ("warning: %s", warning);
  g_assert_nonnull (strstr (warning, "52:54:00:00:00:02"));
  g_assert_nonnull (strstr (warning, "vault"));

  WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, "vault-twin")) != NULL);
  g_assert_cmpstr (tsr_vm_get_mac (vm), ==, "52:54:00:00:00:02");
  /* Its address is the source's: no new reservation. */
  net_after = network_xml (conn);
  g_assert_cmpstr (net_after, ==, net_before);

  tsr_test_close_connection (conn, 2);
}

/* Sets VM's MAC (NULL: resets it, as qvm-prefs -D). */
static void
set_mac (TsrConnection *conn,
         const char    *vm,
         const char    *mac)
{
  g_autoptr(GHashTable) changes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_hash_table_insert (changes, g_strdup ("mac"), g_strdup (mac));
  tsr_connection_set_prefs_async (conn, tsr_connection_lookup_vm (conn, vm), changes,
                                  TSR_PREFS_FORCE_MAC, NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  g_assert_true (tsr_connection_set_prefs_finish (conn, result, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* vault's MAC was fixed, replacing its automatic 52:54:00:00:00:02. A clone
 * with a new MAC has an automatic one that a reset keeps, never vault's
 * original; a clone that keeps the MAC keeps it fixed.
 */
static void
test_fixed_mac (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autoptr(TsrCloneSpec) fresh = tsr_clone_spec_new ("vault-fresh");
  g_autoptr(TsrCloneSpec) twin = tsr_clone_spec_new ("vault-fixed-twin");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *twin_name = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *fresh_mac = NULL;

  set_mac (conn, "vault", "52:54:00:00:aa:07");
  WAIT_UNTIL (g_strcmp0 (tsr_vm_get_mac (tsr_connection_lookup_vm (conn, "vault")),
                         "52:54:00:00:aa:07") == 0);

  name = clone_vm (conn, "vault", fresh, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "vault-fresh") != NULL);
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (conn, "vault-fresh", 10);
    const TsrPref *mac = tsr_test_find_pref (prefs, "mac");
    g_autofree char *xml = domain_xml (conn, "vault-fresh");

    g_assert_true (mac->is_default);
    g_assert_cmpstr (mac->value, !=, "52:54:00:00:aa:07");
    g_assert_cmpstr (mac->value, !=, "52:54:00:00:00:02");
    g_assert_null (strstr (xml, "mac-fixed"));
    g_assert_null (strstr (xml, "mac-auto"));
    fresh_mac = g_strdup (mac->value);
  }
  set_mac (conn, "vault-fresh", NULL);
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (conn, "vault-fresh", 10);
    const TsrPref *mac = tsr_test_find_pref (prefs, "mac");

    g_assert_true (mac->is_default);
    g_assert_cmpstr (mac->value, ==, fresh_mac);
  }

  twin->keep_mac = TRUE;
  twin_name = clone_vm (conn, "vault", twin, NULL, NULL, &warning, &error);
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "vault-fixed-twin") != NULL);
  {
    g_autoptr(GPtrArray) prefs = tsr_test_get_prefs (conn, "vault-fixed-twin", 10);
    const TsrPref *mac = tsr_test_find_pref (prefs, "mac");
    g_autofree char *xml = domain_xml (conn, "vault-fixed-twin");

    g_assert_false (mac->is_default);
    g_assert_cmpstr (mac->value, ==, "52:54:00:00:aa:07");
    g_assert_nonnull (strstr (xml, "52:54:00:00:00:02"));
  }

  tsr_test_close_connection (conn, 2);
}

typedef struct
{
  const char *what;
  const char *source;
  const char *name;
  const char *pool;
  gboolean    linked;
  int         code;
} BadCase;

static const BadCase bad_cases[] = {
  { "empty name", "vault", "", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "long name", "vault", "a234567890123456789012345678901234", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "leading digit", "vault", "1vm", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "reserved name", "vault", "dom0", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "slash", "vault", "a/b", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "-dm", "vault", "x-dm", NULL, FALSE, TSR_ERROR_INVALID_NAME },
  { "name in use", "vault", "legacy-virsh", NULL, FALSE, TSR_ERROR_NAME_IN_USE },
  { "its own name", "vault", "vault", NULL, FALSE, TSR_ERROR_NAME_IN_USE },
  { "source running", "work-web", "web-copy", NULL, FALSE, TSR_ERROR_VM_RUNNING },
  { "source running, linked", "work-web", "web-copy", NULL, TRUE, TSR_ERROR_VM_RUNNING },
  { "unknown pool", "clone-src", "fresh", "no-such-pool", FALSE, TSR_ERROR_NOT_FOUND },
  { "volume in use", "clone-src", "taken", NULL, FALSE, TSR_ERROR_NAME_IN_USE },
  { "linked, volume in use", "clone-src", "taken", NULL, TRUE, TSR_ERROR_NAME_IN_USE },
};

static void
test_invalid (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autofree char *before = NULL;

  define_source (conn);
  make_volume (tsr_connection_get_handle (conn), "default-pool", "taken-private.img", "raw");
  make_volume (tsr_connection_get_handle (conn), "default-pool", "taken-private.qcow2", "qcow2");
  before = snapshot (conn);

  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (bad_cases[i].name);
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      spec->pool = g_strdup (bad_cases[i].pool);
      spec->linked = bad_cases[i].linked;
      name = clone_vm (conn, bad_cases[i].source, spec, NULL, NULL, NULL, &error);
      g_test_message ("%s: %s", bad_cases[i].what, error ? error->message : "(no error)");
      g_assert_null (name);
      g_assert_error (error, TSR_ERROR, bad_cases[i].code);
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  tsr_test_close_connection (conn, 2);
}

/* A VM called NAME whose only disk is a volume of CAPACITY bytes (none
 * allocated: the test driver checks allocations against the pool).
 */
static void
define_big_source (TsrConnection *conn,
                   const char    *name,
                   const char    *format,
                   guint64        capacity)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "default-pool");
  g_autofree char *vol_name = g_strdup_printf ("%s-root.%s", name,
                                               g_str_equal (format, "raw") ? "img" : "qcow2");
  g_autofree char *vol_xml = g_strdup_printf ("<volume><name>%s</name>"
                                              "<capacity unit='bytes'>%" G_GUINT64_FORMAT "</capacity>"
                                              "<allocation unit='bytes'>0</allocation>"
                                              "<target><format type='%s'/></target></volume>",
                                              vol_name, capacity, format);
  g_autofree char *xml = g_strdup_printf ("<domain type='test'><name>%s</name>"
                                          "<memory unit='MiB'>512</memory><vcpu>1</vcpu>"
                                          "<os><type arch='x86_64'>hvm</type></os><devices>"
                                          "<disk type='volume' device='disk'>"
                                          "<driver name='qemu' type='%s'/>"
                                          "<source pool='default-pool' volume='%s'/>"
                                          "<target dev='vda' bus='virtio'/></disk>"
                                          "</devices></domain>", name, format, vol_name);
  virStorageVolPtr vol = virStorageVolCreateXML (pool, vol_xml, 0);
  virDomainPtr dom;

  g_assert_nonnull (vol);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
  dom = virDomainDefineXML (handle, xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, name) != NULL);
}

/* A clone's disks within what the target pool and qcow2 can hold: a raw
 * disk larger than the pool's whole capacity (100 GiB on the test driver),
 * and a qcow2 disk over qcow2's 2 PiB, even as a linked clone's overlay.
 */
static void
test_disk_size (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autofree char *before = NULL;
  const struct {
    const char *source;
    gboolean    linked;
    const char *says;
  } refused[] = {
    { "big-raw", FALSE, "can never fit in storage pool “default-pool”, which holds 100.0\u00a0GiB (107374182400 bytes)" },
    { "big-qcow2", FALSE, "more than qcow2 can hold" },
    { "big-qcow2", TRUE, "more than qcow2 can hold" },
  };

  define_big_source (conn, "big-raw", "raw", G_GUINT64_CONSTANT (150) << 30);
  define_big_source (conn, "big-qcow2", "qcow2", G_GUINT64_CONSTANT (3) << 50);
  before = snapshot (conn);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("big-copy");
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      spec->linked = refused[i].linked;
      name = clone_vm (conn, refused[i].source, spec, NULL, NULL, NULL, &error);
      g_test_message ("%s: %s", refused[i].source, error ? error->message : "(no error)");
      g_assert_null (name);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
      g_assert_nonnull (strstr (error->message, refused[i].says));
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  tsr_test_close_connection (conn, 2);
}

/* A failure at the last step, and a cancel before the first: nothing is
 * left, and a linked clone's source is switched back to its disk.
 */
static void
test_rollback (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  define_source (conn);
  before = snapshot (conn);

  for (guint linked = 0; linked < 2; linked++)
    {
      g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("doomed");
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;

      spec->linked = linked;
      name = tsr_test_clone_failing_at_define (conn, "clone-src", spec, 20, &error);
      g_assert_null (name);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);
      g_test_message ("%s", error->message);
      /* It got as far as defining the domain. */
      g_assert_true (g_str_has_prefix (error->message, "Could not define “doomed”"));
      g_clear_pointer (&after, g_free);
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  {
    g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("never");
    g_autoptr(GError) error = NULL;
    g_autofree char *name = NULL;

    g_cancellable_cancel (cancellable);
    name = clone_vm (conn, "clone-src", spec, NULL, cancellable, NULL, &error);
    g_assert_null (name);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_pointer (&after, g_free);
    after = snapshot (conn);
    g_assert_cmpstr (after, ==, before);
  }

  tsr_test_close_connection (conn, 2);
}

static void
write_random (int    fd,
              off_t  offset,
              gsize  len)
{
  g_autofree guint32 *buf = g_new (guint32, len / 4);

  for (gsize i = 0; i < len / 4; i++)
    buf[i] = g_random_int ();
  g_assert_cmpint (pwrite (fd, buf, len, offset), ==, (gssize) len);
}

static gboolean
files_equal (const char *a,
             const char *b)
{
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;
  gsize la, lb;

  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  return la == lb && memcmp (ca, cb, la) == 0;
}

/* With a pool whose folder is real, Tessera copies the file itself: only
 * its data, holes stay holes, progress in bytes; a cancel mid-copy leaves
 * nothing.
 */
static void
test_local_copy (void)
{
  TsrConnection *conn = tsr_test_open_node (20);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *dir = g_dir_make_tmp ("tessera-clone-XXXXXX", NULL);
  g_autofree char *src = g_build_filename (dir, "local-src-root.img", NULL);
  g_autofree char *dst = g_build_filename (dir, "local-dst-root.img", NULL);
  g_autofree char *pool_xml = g_strdup_printf ("<pool type='dir'><name>real-pool</name>"
                                               "<target><path>%s</path></target></pool>", dir);
  g_autofree char *nvram = g_build_filename (dir, "local-src_VARS.fd", NULL);
  g_autofree char *nvram_copy = g_build_filename (dir, "local-dst_VARS.fd", NULL);
  g_autofree char *dom_xml = g_strdup_printf (
    "<domain type='test'><name>local-src</name><memory unit='MiB'>256</memory>"
    "<os><type arch='x86_64'>hvm</type>"
    "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>"
    "<nvram>%s</nvram></os><devices>"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>", nvram, src);
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new ("local-dst");
  g_autoptr(TsrCloneSpec) doomed = tsr_clone_spec_new ("local-cancelled");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  Progress progress = { 0 };
  Progress cancelling = { 0 };
  virStoragePoolPtr pool;
  virDomainPtr dom;
  struct stat st;
  int fd;

  fd = open (src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 512 * 1024 * 1024), ==, 0);
  write_random (fd, 0, 1024 * 1024);
  write_random (fd, 100 * 1024 * 1024, 2 * 1024 * 1024);
  close (fd);
  g_assert_true (g_file_set_contents (nvram, "firmware settings of local-src", -1, NULL));

  pool = virStoragePoolCreateXML (handle, pool_xml, 0);
  g_assert_nonnull (pool);
  {
    g_autofree char *vol_xml = g_strdup_printf ("<volume><name>local-src-root.img</name>"
                                                "<capacity unit='MiB'>512</capacity>"
                                                "<target><format type='raw'/></target></volume>");
    virStorageVolPtr vol = virStorageVolCreateXML (pool, vol_xml, 0);

    g_assert_nonnull (vol);
    virStorageVolFree (vol);
  }
  dom = virDomainDefineXML (handle, dom_xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "local-src") != NULL);

  name = clone_vm (conn, "local-src", spec, &progress, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (files_equal (src, dst));
  g_assert_cmpint (g_stat (dst, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 512 * 1024 * 1024);
  /* Sparse: about the 3 MiB of data, not 512 MiB. */
  g_assert_cmpint (st.st_blocks * 512, <=, 8 * 1024 * 1024);
  WAIT_UNTIL (progress.last_total > 0 && progress.last_done == progress.last_total);
  g_assert_cmpuint (progress.last_total, ==, 3 * 1024 * 1024);
  /* Its own copy of the source's NVRAM. */
  g_assert_true (files_equal (nvram, nvram_copy));

  /* Cancelled as the copy starts: no domain, no volume, no file. The
   * source has more data now, so that the copy outlasts the cancel.
   */
  fd = open (src, O_WRONLY);
  {
    g_autofree char *block = g_malloc (1024 * 1024);

    memset (block, 0x5a, 1024 * 1024);
    for (guint i = 0; i < 256; i++)
      g_assert_cmpint (pwrite (fd, block, 1024 * 1024, (off_t) (200 + i) * 1024 * 1024), ==, 1024 * 1024);
  }
  close (fd);
  before = snapshot (conn);
  cancelling.cancel_on_copy = TRUE;
  cancelling.cancellable = cancellable;
  g_clear_pointer (&name, g_free);
  name = clone_vm (conn, "local-src", doomed, &cancelling, cancellable, NULL, &error);
  g_assert_null (name);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  after = snapshot (conn);
  g_assert_cmpstr (after, ==, before);
  {
    g_autofree char *leftover = g_build_filename (dir, "local-cancelled-root.img", NULL);
    g_autofree char *leftover_nvram = g_build_filename (dir, "local-cancelled_VARS.fd", NULL);

    g_assert_false (g_file_test (leftover, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (leftover_nvram, G_FILE_TEST_EXISTS));
  }

  virStoragePoolDestroy (pool);
  virStoragePoolFree (pool);
  g_unlink (src);
  g_unlink (dst);
  g_unlink (nvram);
  g_unlink (nvram_copy);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  tsr_test_close_connection (conn, 2);
}

static void
test_bases (void)
{
  const char *xml =
    "<domain><name>x</name><metadata>"
    "<tessera:vm xmlns:tessera='" TSR_METADATA_NS "'><label>red</label>"
    "<base disk='vda'>/p/a-1.qcow2</base><base disk='vda'>/p/a.img</base></tessera:vm>"
    "<other:vm xmlns:other='https://example.invalid/'><base>/not/ours</base></other:vm>"
    "</metadata></domain>";
  g_auto(GStrv) bases = tsr_domain_xml_linked_bases (xml);
  g_auto(GStrv) none = tsr_domain_xml_linked_bases ("<domain><name>y</name></domain>");

  g_assert_cmpuint (g_strv_length (bases), ==, 2);
  g_assert_cmpstr (bases[0], ==, "/p/a-1.qcow2");
  g_assert_cmpstr (bases[1], ==, "/p/a.img");
  g_assert_cmpuint (g_strv_length (none), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tsr_init ();
  g_setenv ("TESSERA_KERNELS_DIR", "/nonexistent-kernels", TRUE);

  g_test_add_func ("/clone/bases", test_bases);
  g_test_add_func ("/clone/suggest-name", test_suggest_name);
  g_test_add_func ("/clone/full", test_full);
  g_test_add_func ("/clone/linked", test_linked);
  g_test_add_func ("/clone/keep-mac", test_keep_mac);
  g_test_add_func ("/clone/fixed-mac", test_fixed_mac);
  g_test_add_func ("/clone/invalid", test_invalid);
  g_test_add_func ("/clone/disk-size", test_disk_size);
  g_test_add_func ("/clone/rollback", test_rollback);
  g_test_add_func ("/clone/local-copy", test_local_copy);

  return g_test_run ();
}
