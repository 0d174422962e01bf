/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Operating systems through libosinfo: an ISO is recognised from its
 * volume descriptor, not its file name; an unknown one keeps Tessera's
 * defaults; an OS's entry decides firmware, devices and resources; a
 * Windows 11 VM is made with Secure Boot, SMM, a TPM 2.0 and Hyper-V
 * enlightenments (checked in its definition on libvirt's test driver).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-creator-private.h"
#include "tsr-error.h"
#include "tsr-osinfo.h"
#include "tsr-settings.h"
#include "tsr-test-util.h"
#include "tsr-xml-private.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 30)
#define GIB (G_GUINT64_CONSTANT (1) << 30)

static TsrOsDefaults *
identify (const char *path)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  TsrOsDefaults *os;

  tsr_osinfo_identify_async (path, NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  os = tsr_osinfo_identify_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (os);
  return os;
}

static void
assert_unknown (const TsrOsDefaults *os)
{
  g_assert_null (os->id);
  g_assert_cmpstr (os->name, ==, "Unknown");
  g_assert_cmpstr (os->family, ==, "other");
  g_assert_cmpstr (os->firmware, ==, "bios");
  g_assert_true (os->virtio);
  g_assert_false (os->hyperv);
  g_assert_false (os->secure_boot);
  g_assert_false (os->tpm);
  g_assert_cmpuint (os->memory, ==, 400);
  g_assert_cmpuint (os->vcpus, ==, 2);
  g_assert_cmpuint (os->disk, ==, 20 * GIB);
}

static void
test_identify_debian (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tsr-osinfo-XXXXXX", NULL);
  /* debian-11.xml: <volume-id>Debian 11.\d+.\d+ amd64 n</volume-id> */
  g_autofree char *iso = tsr_test_make_iso (dir, "Debian 11.6.0 amd64 n", NULL);
  /* The file name says nothing: the volume descriptor decides. */
  g_autofree char *renamed = g_build_filename (dir, "windows-darwin.iso", NULL);
  g_autoptr(TsrOsDefaults) os = NULL;

  g_assert_cmpint (g_rename (iso, renamed), ==, 0);
  os = identify (renamed);
  g_assert_cmpstr (os->id, ==, "debian11");
  g_assert_cmpstr (os->name, ==, "Debian 11");
  g_assert_cmpstr (os->uri, ==, "http://debian.org/debian/11");
  g_assert_cmpstr (os->family, ==, "linux");
  g_assert_cmpstr (os->firmware, ==, "bios");
  g_assert_true (os->virtio);
  g_assert_false (os->hyperv);
  g_assert_false (os->tpm);
  g_assert_cmpuint (os->min_memory, ==, 1024);
  g_assert_cmpuint (os->memory, >=, 1024);
  g_assert_cmpuint (os->min_disk, ==, 10 * GIB);
  g_assert_cmpuint (os->disk, ==, 20 * GIB);

  tsr_test_remove_flat_dir (dir);
}

static void
test_identify_windows (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tsr-osinfo-XXXXXX", NULL);
  /* win-11.xml: ^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_ by MICROSOFT CORPORATION.
   * osinfo-db 20221130 gives Windows 10 the same pattern, so either may
   * come back; both are Windows without virtio drivers.
   */
  g_autofree char *iso = tsr_test_make_iso (dir, "CCCOMA_X64FRE_EN-US_DV9", "MICROSOFT CORPORATION");
  g_autoptr(TsrOsDefaults) os = identify (iso);

  g_test_message ("Windows media identified as %s (%s)", os->id, os->name);
  g_assert_true (g_strcmp0 (os->id, "win11") == 0 || g_strcmp0 (os->id, "win10") == 0);
  g_assert_cmpstr (os->family, ==, "windows");
  g_assert_false (os->virtio);
  g_assert_true (os->hyperv);
  g_assert_cmpuint (os->vcpus, >=, 1);

  tsr_test_remove_flat_dir (dir);
}

static void
test_identify_unknown (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tsr-osinfo-XXXXXX", NULL);
  g_autofree char *iso = tsr_test_make_iso (dir, "TESSERA_NOTHING_KNOWN", NULL);
  g_autofree char *text = g_build_filename (dir, "win11.iso", NULL);
  g_autoptr(TsrOsDefaults) os = identify (iso);
  g_autoptr(TsrOsDefaults) not_iso = NULL;

  assert_unknown (os);

  /* Not an ISO at all, named like Windows 11: still unknown. */
  g_file_set_contents (text, "hello\n", -1, NULL);
  not_iso = identify (text);
  assert_unknown (not_iso);

  tsr_test_remove_flat_dir (dir);
}

static void
test_identify_cancelled (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrOsDefaults) os = NULL;

  g_cancellable_cancel (cancellable);
  tsr_osinfo_identify_async ("/nonexistent.iso", cancellable, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  os = tsr_osinfo_identify_finish (result, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (os);
}

/* What needs libosinfo's database runs in a worker, as in Tessera. */
static gpointer
defaults_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrOsDefaults) win11 = tsr_osinfo_defaults_sync ("win11", &error);
  g_autoptr(TsrOsDefaults) by_uri = NULL;
  g_autoptr(TsrOsDefaults) none = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (win11->id, ==, "win11");
  g_assert_cmpstr (win11->name, ==, "Microsoft Windows 11");
  g_assert_cmpstr (win11->family, ==, "windows");
  g_assert_cmpstr (win11->firmware, ==, "uefi");
  g_assert_true (win11->secure_boot);
  g_assert_true (win11->tpm);
  g_assert_true (win11->hyperv);
  g_assert_false (win11->virtio);
  g_assert_cmpuint (win11->min_memory, ==, 4096);
  g_assert_cmpuint (win11->memory, ==, 4096);
  g_assert_cmpuint (win11->vcpus, ==, 2);
  g_assert_cmpuint (win11->min_disk, ==, 64 * GIB);
  g_assert_cmpuint (win11->disk, ==, 64 * GIB);

  by_uri = tsr_osinfo_defaults_sync ("http://microsoft.com/win/10", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (by_uri->id, ==, "win10");
  g_assert_cmpstr (by_uri->firmware, ==, "bios");
  g_assert_false (by_uri->tpm);

  none = tsr_osinfo_defaults_sync ("no-such-os", &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_assert_null (none);
  return NULL;
}

static void
test_defaults (void)
{
  g_thread_join (g_thread_new ("osinfo", defaults_thread, NULL));
}

static gpointer
ovf_thread (gpointer data)
{
  static const struct { const char *type; const char *id; const char *family; } cases[] = {
    { "Windows11_64", "win11", "windows" },       /* VirtualBox */
    { "Windows10_64", "win10", "windows" },
    { "Windows81_64", "win8.1", "windows" },
    { "Windows2019_64", "win2k19", "windows" },
    { "windows9_64Guest", "win10", "windows" },   /* VMware */
    { "debian11_64Guest", "debian11", "linux" },
    { "Ubuntu 22.04", "ubuntu22.04", "linux" },   /* an OVF description */
    { "Debian GNU/Linux 11 (64-bit)", NULL, "linux" },
    { "Microsoft Windows 11 (64-bit)", "win11", "windows" },  /* libosinfo's name */
    { "Microsoft Windows (64-bit)", NULL, "windows" },
    { "Debian_64", NULL, "linux" },               /* no version: the family */
    { "Ubuntu_64", NULL, "linux" },
    { "Other_64", NULL, "other" },
    { "", NULL, "other" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *family = NULL;
      g_autofree char *id = tsr_osinfo_match_ovf_type (cases[i].type, &family);

      g_test_message ("%s -> %s (%s)", cases[i].type, id, family);
      g_assert_cmpstr (id, ==, cases[i].id);
      g_assert_cmpstr (family, ==, cases[i].family);
    }
  return NULL;
}

static void
test_ovf_types (void)
{
  g_thread_join (g_thread_new ("osinfo", ovf_thread, NULL));
}

static void
test_list (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GListModel) list = NULL;
  gboolean found = FALSE;
  guint n;

  tsr_osinfo_list_async (NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  list = tsr_osinfo_list_finish (result, &error);
  g_assert_no_error (error);
  n = g_list_model_get_n_items (list);
  g_test_message ("%u operating systems", n);
  g_assert_cmpuint (n, >, 100);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(TsrOsEntry) entry = g_list_model_get_item (list, i);

      if (g_strcmp0 (tsr_os_entry_get_id (entry), "win11") == 0)
        {
          found = TRUE;
          g_assert_cmpstr (tsr_os_entry_get_label (entry), ==, "Microsoft Windows 11 (win11)");
        }
      if (i > 0)
        {
          g_autoptr(TsrOsEntry) prev = g_list_model_get_item (list, i - 1);

          g_assert_cmpint (g_utf8_collate (tsr_os_entry_get_name (prev),
                                           tsr_os_entry_get_name (entry)), <=, 0);
        }
    }
  g_assert_true (found);
}

/* Creating */

static TsrCreateSpec *
base_spec (const char *name)
{
  TsrCreateSpec *spec = tsr_create_spec_new (name);

  g_free (spec->netvm);
  spec->netvm = g_strdup ("tessera-unit");
  g_free (spec->pool);
  spec->pool = g_strdup ("default-pool");
  return spec;
}

static char *
create (TsrConnection  *conn,
        TsrCreateSpec  *spec,
        char          **notice,
        GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_create_vm_async (conn, spec, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_create_vm_finish (conn, result, notice, error);
}

static xmlDocPtr
domain_doc (TsrConnection *conn,
            const char    *name)
{
  virDomainPtr dom = virDomainLookupByName (tsr_connection_get_handle (conn), name);
  g_autofree char *xml = NULL;

  g_assert_nonnull (dom);
  xml = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_test_message ("%s", xml);
  virDomainFree (dom);
  return tsr_xml_parse (xml);
}

static xmlNodePtr
find_child_with (xmlNodePtr  parent,
                 const char *name,
                 const char *prop,
                 const char *value)
{
  for (xmlNodePtr n = parent ? parent->children : NULL; n != NULL; n = n->next)
    {
      g_autofree char *v = tsr_xml_prop (n, prop);

      if (tsr_xml_is (n, name) && g_strcmp0 (v, value) == 0)
        return n;
    }
  return NULL;
}

static void
assert_prop (xmlNodePtr  node,
             const char *path,
             const char *name,
             const char *value)
{
  g_autofree char *v = tsr_xml_find_prop (node, path, name);

  g_assert_cmpstr (v, ==, value);
}

/* The host the definition is built for: one with OVMF, which libvirt's
 * test driver cannot claim (it has no domain capabilities).
 */
static TsrHostCaps *
host_with_ovmf (const char *virt_type)
{
  TsrHostCaps *caps = g_new0 (TsrHostCaps, 1);

  caps->hvm = TRUE;
  caps->uefi = TRUE;
  caps->arch = g_strdup ("x86_64");
  caps->virt_type = g_strdup (virt_type);
  caps->host_cpus = 16;
  caps->host_memory = 3072;
  return caps;
}

typedef struct
{
  const char *virt_type;
  const char *drivers;
  char       *xml;
  char       *hint;
} BuildData;

/* `qvm-create w11 --property os=win11`, as the create worker builds it. */
static gpointer
build_thread (gpointer user_data)
{
  BuildData *b = user_data;
  g_autoptr(TsrCreateSpec) spec = base_spec ("w11");
  g_autoptr(TsrHostCaps) caps = host_with_ovmf (b->virt_type);
  g_autoptr(TsrOsDefaults) os = NULL;
  g_autoptr(GError) error = NULL;

  tsr_create_spec_set_property (spec, "os", "win11", &error);
  if (b->drivers != NULL)
    tsr_create_spec_set_property (spec, "drivers_media", b->drivers, &error);
  g_assert_no_error (error);
  os = tsr_creator_resolve_os (spec, caps, TRUE, &b->hint, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (spec->os_family, ==, "windows");
  g_assert_cmpstr (spec->firmware, ==, "uefi");
  /* 4 GiB wanted, within the host's 3 GiB; the disk gets the 64 GiB minimum. */
  g_assert_cmpuint (spec->memory, ==, 3072);
  g_assert_cmpuint (spec->disk_size, ==, 64 * GIB);
  g_assert_cmpuint (spec->vcpus, ==, 2);
  b->xml = tsr_creator_build_domain_xml (spec, os, "/var/lib/libvirt/qemu/nvram",
                                         "/nonexistent", NULL, caps,
                                         "/var/lib/libvirt/images/w11-root.qcow2", "qcow2",
                                         "52:54:00:12:34:56", &error);
  g_assert_no_error (error);
  return NULL;
}

static xmlDocPtr
build_win11 (const char  *virt_type,
             const char  *drivers,
             char       **xml_out,
             char       **hint)
{
  BuildData b = { virt_type, drivers, NULL, NULL };
  xmlDocPtr doc;

  g_thread_join (g_thread_new ("build", build_thread, &b));
  g_test_message ("%s", b.xml);
  doc = tsr_xml_parse (b.xml);
  g_assert_nonnull (doc);
  if (xml_out != NULL)
    *xml_out = g_steal_pointer (&b.xml);
  if (hint != NULL)
    *hint = g_steal_pointer (&b.hint);
  g_free (b.xml);
  g_free (b.hint);
  return doc;
}

static void
test_win11_definition (void)
{
  static const char * const hyperv[] = {
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "frequencies",
    "tlbflush", "ipi", NULL
  };
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *xml = NULL;
  g_autofree char *hint = NULL;
  g_autofree char *nvram = NULL;
  g_autoptr(xmlDoc) doc = build_win11 ("kvm", NULL, &xml, &hint);
  g_autoptr(xmlDoc) tcg_doc = build_win11 ("qemu", NULL, NULL, NULL);
  g_autoptr(xmlDoc) test_doc = NULL;
  g_autoptr(GPtrArray) prefs = NULL;
  g_autofree char *test_xml = NULL;
  xmlNodePtr root = xmlDocGetRootElement (doc);
  xmlNodePtr os = tsr_xml_child (root, "os");
  xmlNodePtr features = tsr_xml_child (root, "features");
  xmlNodePtr devices = tsr_xml_child (root, "devices");
  virDomainPtr dom;

  /* Below the OS's minimum is said, not refused. */
  g_test_message ("hint: %s", hint);
  g_assert_nonnull (hint);
  g_assert_nonnull (strstr (hint, "at least 4096 MiB"));

  assert_prop (root, "os/type", "machine", "q35");
  assert_prop (root, "os", "firmware", "efi");
  assert_prop (root, "os/loader", "secure", "yes");
  g_assert_nonnull (find_child_with (tsr_xml_child (os, "firmware"), "feature", "name", "secure-boot"));
  g_assert_nonnull (find_child_with (tsr_xml_child (os, "firmware"), "feature", "name", "enrolled-keys"));
  nvram = tsr_xml_text (tsr_xml_child (os, "nvram"));
  g_assert_cmpstr (nvram, ==, "/var/lib/libvirt/qemu/nvram/w11_VARS.fd");

  assert_prop (features, "smm", "state", "on");
  for (guint i = 0; hyperv[i] != NULL; i++)
    {
      g_autofree char *path = g_strdup_printf ("hyperv/%s", hyperv[i]);

      assert_prop (features, path, "state", "on");
    }
  assert_prop (features, "hyperv/spinlocks", "retries", "8191");
  assert_prop (root, "clock", "offset", "localtime");
  g_assert_nonnull (find_child_with (tsr_xml_child (root, "clock"), "timer", "name", "hypervclock"));

  assert_prop (devices, "tpm", "model", "tpm-crb");
  assert_prop (devices, "tpm/backend", "type", "emulator");
  assert_prop (devices, "tpm/backend", "version", "2.0");
  /* No drivers disc: the installer finds a SATA disk and an e1000e. */
  assert_prop (devices, "disk/target", "bus", "sata");
  assert_prop (devices, "interface/model", "type", "e1000e");
  assert_prop (devices, "input", "type", "tablet");
  assert_prop (devices, "input", "bus", "usb");

  assert_prop (tsr_xml_metadata (root, TSR_LIBOSINFO_NS, "libosinfo", "libosinfo", FALSE),
               "os", "id", "http://microsoft.com/win/11");
  g_assert_nonnull (tsr_xml_metadata (root, TSR_METADATA_NS, TSR_METADATA_PREFIX, "vm", FALSE));

  /* Software emulation: QEMU refuses Hyper-V enlightenments without KVM;
   * the rest stays.
   */
  root = xmlDocGetRootElement (tcg_doc);
  g_assert_null (tsr_xml_find (root, "features/hyperv"));
  assert_prop (root, "features/smm", "state", "on");
  assert_prop (root, "devices/tpm/backend", "version", "2.0");
  assert_prop (root, "os/loader", "secure", "yes");

  /* libvirt takes it (as a test-driver domain), and qvm-prefs shows the OS. */
  test_doc = build_win11 ("test", NULL, &test_xml, NULL);
  dom = virDomainDefineXML (tsr_connection_get_handle (conn), test_xml);
  g_assert_nonnull (dom);
  virDomainFree (dom);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "w11") != NULL);
  prefs = tsr_test_get_prefs (conn, "w11", 10);
  g_assert_cmpstr (tsr_test_find_pref (prefs, "os")->value, ==, "win11");
  g_assert_true (tsr_test_find_pref (prefs, "os")->read_only);
  g_assert_cmpstr (tsr_test_find_pref (prefs, "firmware")->value, ==, "uefi");

  tsr_test_close_connection (conn, 2);
}

static void
test_win11_drivers (void)
{
  g_autofree char *dir = g_dir_make_tmp ("tsr-osinfo-XXXXXX", NULL);
  g_autofree char *iso = tsr_test_make_iso (dir, "virtio-win-0.1.229", NULL);
  g_autoptr(xmlDoc) doc = build_win11 ("kvm", iso, NULL, NULL);
  xmlNodePtr devices = tsr_xml_child (xmlDocGetRootElement (doc), "devices");
  xmlNodePtr cdrom = find_child_with (devices, "disk", "device", "cdrom");

  /* With the drivers disc: virtio disk and network, the disc on SATA. */
  assert_prop (devices, "disk/target", "bus", "virtio");
  assert_prop (devices, "interface/model", "type", "virtio");
  g_assert_nonnull (cdrom);
  assert_prop (cdrom, "source", "file", iso);
  assert_prop (cdrom, "target", "bus", "sata");
  g_assert_nonnull (tsr_xml_child (cdrom, "readonly"));
  g_assert_null (tsr_xml_child (cdrom, "boot"));

  tsr_test_remove_flat_dir (dir);
}

/* On a host without OVMF (the test driver has none), Windows 11 is
 * refused with what to install, and nothing is left.
 */
static void
test_create_win11_no_ovmf (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(TsrCreateSpec) spec = base_spec ("w11");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  tsr_create_spec_set_property (spec, "os", "win11", &error);
  g_assert_no_error (error);
  name = create (conn, spec, NULL, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "ovmf"));
  g_assert_null (tsr_connection_lookup_vm (conn, "w11"));
  g_assert_null (virStorageVolLookupByPath (tsr_connection_get_handle (conn),
                                            "/default-pool/w11-root.qcow2"));

  tsr_test_close_connection (conn, 2);
}

static void
test_create_unknown_os (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(TsrCreateSpec) spec = base_spec ("nos");
  g_autoptr(TsrCreateSpec) plain = base_spec ("plain");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  xmlNodePtr root;

  tsr_create_spec_set_property (spec, "os", "no-such-os", &error);
  g_assert_no_error (error);
  name = create (conn, spec, NULL, &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "osinfo-query os"));
  g_assert_null (tsr_connection_lookup_vm (conn, "nos"));
  g_clear_error (&error);

  /* No OS given: Tessera's defaults, nothing Windows-only. */
  g_clear_pointer (&name, g_free);
  name = create (conn, plain, NULL, &error);
  g_assert_no_error (error);
  doc = domain_doc (conn, "plain");
  root = xmlDocGetRootElement (doc);
  g_assert_null (tsr_xml_find (root, "devices/tpm"));
  g_assert_null (tsr_xml_find (root, "features/hyperv"));
  g_assert_null (tsr_xml_find (root, "os/loader"));
  assert_prop (root, "devices/disk/target", "bus", "virtio");
  g_assert_null (tsr_xml_metadata (root, TSR_LIBOSINFO_NS, "libosinfo", "libosinfo", FALSE));
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "plain") != NULL);
  g_assert_cmpuint (tsr_vm_get_memory (tsr_connection_lookup_vm (conn, "plain")), ==, 400);

  tsr_test_close_connection (conn, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/osinfo/identify/debian", test_identify_debian);
  g_test_add_func ("/osinfo/identify/windows", test_identify_windows);
  g_test_add_func ("/osinfo/identify/unknown", test_identify_unknown);
  g_test_add_func ("/osinfo/identify/cancelled", test_identify_cancelled);
  g_test_add_func ("/osinfo/defaults", test_defaults);
  g_test_add_func ("/osinfo/ovf-types", test_ovf_types);
  g_test_add_func ("/osinfo/list", test_list);
  g_test_add_func ("/osinfo/win11/definition", test_win11_definition);
  g_test_add_func ("/osinfo/win11/drivers-disc", test_win11_drivers);
  g_test_add_func ("/osinfo/create/win11-no-ovmf", test_create_win11_no_ovmf);
  g_test_add_func ("/osinfo/create/unknown-os", test_create_unknown_os);

  return g_test_run ();
}
