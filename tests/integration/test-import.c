/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Importing VirtualBox appliances on a real libvirtd with QEMU: appliances
 * are built here from the fixture boot disk (streamOptimized VMDK and VDI,
 * an OVF, tar), imported through the CLI and the core API, and booted; the
 * serial log must show the disk boot, and the VM must have the OVF's
 * memory and vCPUs. Broken appliances must fail with a clear message and
 * leave no domain, volume or temporary file. VMs join only the isolated
 * network tessera-test.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-import.h"
#include "tsr-test-util.h"

#define URI          "qemu:///system"
#define TEST_NETWORK "tessera-test"
#define POOL         "tessera"
#define SMALL_POOL   "tessera-import-small"

static char *workdir;
static char *tempdir;
static char *small_dir;
static const char *fixture_dir;
static const char *cli_dir;

/* Runs a CLI name from the build with --connect; returns its stdout. */
#define run_cli(name, status, err_out, ...) \
  tsr_test_run_cli (cli_dir, URI, TRUE, name, status, err_out, __VA_ARGS__)

static void
ensure_test_network (TsrConnection *conn)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  tsr_connection_ensure_network_async (conn, TEST_NETWORK, TRUE, NULL, tsr_test_store_result_cb, &result);
  g_assert_true (tsr_connection_ensure_network_finish (conn, tsr_test_wait_result (&result, 300), &error));
  g_assert_no_error (error);
}

static void
run (const char *format,
     ...)
{
  g_autofree char *command = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "sh", "-c", NULL, NULL };
  va_list args;
  int status;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  argv[2] = command;
  g_assert_true (g_spawn_sync (workdir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", command, err);
}

/* Removes the domain NAME and every volume of NAME in the pools here. */
static void
remove_vm (virConnectPtr  handle,
           const char    *name)
{
  const char *pools[] = { POOL, SMALL_POOL };
  virDomainPtr dom = virDomainLookupByName (handle, name);

  if (dom != NULL)
    {
      if (virDomainIsActive (dom) == 1)
        virDomainDestroy (dom);
      virDomainUndefine (dom);
      virDomainFree (dom);
    }
  for (guint p = 0; p < G_N_ELEMENTS (pools); p++)
    {
      virStoragePoolPtr pool = virStoragePoolLookupByName (handle, pools[p]);
      virStorageVolPtr *vols = NULL;
      g_autofree char *prefix = g_strconcat (name, "-", NULL);
      int n;

      if (pool == NULL)
        continue;
      virStoragePoolRefresh (pool, 0);
      n = virStoragePoolListAllVolumes (pool, &vols, 0);
      for (int i = 0; i < n; i++)
        {
          if (g_str_has_prefix (virStorageVolGetName (vols[i]), prefix))
            virStorageVolDelete (vols[i], 0);
          virStorageVolFree (vols[i]);
        }
      free (vols);
      virStoragePoolFree (pool);
    }
  virResetLastError ();
}

/* Volumes of NAME in the pools, and files of NAME in their folders. */
static char *
leftovers (virConnectPtr  handle,
           const char    *name)
{
  const char *pools[] = { POOL, SMALL_POOL };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *prefix = g_strconcat (name, "-", NULL);
  virDomainPtr dom = virDomainLookupByName (handle, name);

  if (dom != NULL)
    {
      g_string_append_printf (out, "domain %s\n", name);
      virDomainFree (dom);
    }
  for (guint p = 0; p < G_N_ELEMENTS (pools); p++)
    {
      virStoragePoolPtr pool = virStoragePoolLookupByName (handle, pools[p]);
      virStorageVolPtr *vols = NULL;
      g_autofree char *xml = NULL;
      const char *start, *end;
      int n;

      if (pool == NULL)
        continue;
      virStoragePoolRefresh (pool, 0);
      n = virStoragePoolListAllVolumes (pool, &vols, 0);
      for (int i = 0; i < n; i++)
        {
          if (g_str_has_prefix (virStorageVolGetName (vols[i]), prefix))
            g_string_append_printf (out, "volume %s\n", virStorageVolGetName (vols[i]));
          virStorageVolFree (vols[i]);
        }
      free (vols);

      /* and behind libvirt's back, in the folder itself */
      xml = virStoragePoolGetXMLDesc (pool, 0);
      start = strstr (xml, "<path>");
      end = start ? strstr (start, "</path>") : NULL;
      if (start != NULL && end != NULL)
        {
          g_autofree char *dir_path = g_strndup (start + 6, end - start - 6);
          g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
          const char *entry;

          while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
            if (g_str_has_prefix (entry, prefix) || g_str_has_prefix (entry, ".tessera"))
              g_string_append_printf (out, "file %s/%s\n", dir_path, entry);
        }
      virStoragePoolFree (pool);
    }
  virResetLastError ();

  /* temporary files: TMPDIR of the tests and their children */
  {
    g_autoptr(GDir) dir = g_dir_open (tempdir, 0, NULL);
    const char *entry;

    while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
      g_string_append_printf (out, "temp %s\n", entry);
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static guint
host_cpus (virConnectPtr handle)
{
  virNodeInfo info;

  g_assert_cmpint (virNodeGetInfo (handle, &info), ==, 0);
  return info.cpus;
}

/* Appliances */

static char *
ovf_for (const char *href,
         const char *format_uri,
         const char *name,
         guint       memory,
         guint       vcpus)
{
  return g_strdup_printf (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<Envelope ovf:version='1.0' xml:lang='en-US' xmlns='http://schemas.dmtf.org/ovf/envelope/1'"
    " xmlns:ovf='http://schemas.dmtf.org/ovf/envelope/1'"
    " xmlns:rasd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData'"
    " xmlns:vssd='http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData'"
    " xmlns:vbox='http://www.virtualbox.org/ovf/machine'>\n"
    "  <References><File ovf:id='file1' ovf:href='%s'/></References>\n"
    "  <DiskSection><Info>disks</Info>\n"
    "    <Disk ovf:capacity='33554432' ovf:diskId='vmdisk1' ovf:fileRef='file1' ovf:format='%s'/>\n"
    "  </DiskSection>\n"
    "  <NetworkSection><Info>n</Info><Network ovf:name='NAT'/></NetworkSection>\n"
    "  <VirtualSystem ovf:id='%s'>\n"
    "    <Info>A virtual machine</Info>\n"
    "    <OperatingSystemSection ovf:id='96'><Info>os</Info><Description>Debian_64</Description>"
    "<vbox:OSType ovf:required='false'>Debian_64</vbox:OSType></OperatingSystemSection>\n"
    "    <VirtualHardwareSection><Info>hw</Info>\n"
    "      <System><vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType></System>\n"
    "      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType>"
    "<rasd:VirtualQuantity>%u</rasd:VirtualQuantity></Item>\n"
    "      <Item><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID>"
    "<rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%u</rasd:VirtualQuantity></Item>\n"
    "      <Item><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>AHCI</rasd:ResourceSubType>"
    "<rasd:ResourceType>20</rasd:ResourceType></Item>\n"
    "      <Item><rasd:InstanceID>6</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType>"
    "<rasd:ResourceType>10</rasd:ResourceType></Item>\n"
    "      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:HostResource>/disk/vmdisk1</rasd:HostResource>"
    "<rasd:InstanceID>7</rasd:InstanceID><rasd:Parent>5</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>\n"
    "    </VirtualHardwareSection>\n"
    "    <vbox:Machine ovf:required='false' name='%s' OSType='Debian_64'><ovf:Info>vbox</ovf:Info>"
    "<Hardware><CPU count='%u'/><Memory RAMSize='%u'/><Firmware type='BIOS'/></Hardware></vbox:Machine>\n"
    "  </VirtualSystem>\n"
    "</Envelope>\n",
    href, format_uri, name, vcpus, memory, name, vcpus, memory);
}

#define VMDK_URI "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"

/* NAME.ova in the work folder: NAME.ovf first, then DISK as MEMBER. */
static char *
make_ova (const char *name,
          const char *ovf,
          const char *disk,
          const char *member)
{
  g_autofree char *ovf_path = g_strdup_printf ("%s/%s.ovf", workdir, name);

  g_assert_true (g_file_set_contents (ovf_path, ovf, -1, NULL));
  if (g_strcmp0 (disk, member) != 0)
    run ("cp %s '%s'", disk, member);
  run ("tar --format=ustar -cf %s.ova %s.ovf '%s'", name, name, member);
  if (g_strcmp0 (disk, member) != 0)
    run ("rm -f '%s'", member);
  g_unlink (ovf_path);
  return g_strdup_printf ("%s/%s.ova", workdir, name);
}

static void
make_disks (void)
{
  run ("qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized %s/boot-disk.img boot.vmdk",
       fixture_dir);
  run ("qemu-img convert -q -f raw -O vdi %s/boot-disk.img boot.vdi", fixture_dir);
}

static char *
checksum (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

/* Starts NAME, waits for the disk boot on its serial line, kills it. */
static void
boot_from_disk (virConnectPtr  handle,
                const char    *name)
{
  g_autofree char *log = g_strdup_printf ("%s/%s-serial.log", workdir, name);
  g_autofree char *out = NULL;
  int status;

  tsr_test_log_serial (handle, name, log, FALSE);
  out = run_cli ("qvm-start", &status, NULL, name, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  TSR_POLL_UNTIL (tsr_test_file_contains (log, "TESSERA-GUEST: booted from disk"), 180);
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, NULL, name, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
assert_definition (virConnectPtr  handle,
                   const char    *name,
                   guint          memory,
                   guint          vcpus)
{
  g_autofree char *xml = tsr_test_domain_xml (handle, name, VIR_DOMAIN_XML_INACTIVE);
  g_autofree char *mem = g_strdup_printf ("<currentMemory unit='KiB'>%u</currentMemory>", memory * 1024);
  g_autofree char *cpu = g_strdup_printf (">%u</vcpu>", vcpus);
  g_autofree char *vol = g_strdup_printf ("/%s-root.qcow2'", name);

  g_assert_nonnull (strstr (xml, mem));
  g_assert_nonnull (strstr (xml, cpu));
  g_assert_nonnull (strstr (xml, vol));
  g_assert_nonnull (strstr (xml, "type='qcow2'"));
  g_assert_nonnull (strstr (xml, "<source network='" TEST_NETWORK "'/>"));
}

/* The case: a streamOptimized VMDK in an .ova, through the CLI. */
static void
test_ova_vmdk_cli (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  guint vcpus = MIN (2, host_cpus (handle));
  g_autofree char *ovf = ovf_for ("Tessera Guest-disk001.vmdk", VMDK_URI, "Tessera Guest", 320, vcpus);
  g_autofree char *ova = make_ova ("vmdk-app", ovf, "boot.vmdk", "Tessera Guest-disk001.vmdk");
  g_autofree char *before = checksum (ova);
  g_autofree char *after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *left = NULL;
  int status;

  remove_vm (handle, "tsr-imp-ova");
  ensure_test_network (conn);

  /* What the file holds, changing nothing. */
  out = run_cli ("tessera-cli", &status, NULL, "import", "--dry-run", ova, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* (the test's C locale prints “” and non-breaking spaces as ?) */
  g_assert_nonnull (strstr (out, "Tessera-Guest (the appliance calls it "));
  g_assert_nonnull (strstr (out, "320 MiB"));
  g_assert_nonnull (strstr (out, "vmdk, 32.0"));
  g_assert_null (virDomainLookupByName (handle, "Tessera-Guest"));
  virResetLastError ();
  g_clear_pointer (&out, g_free);

  out = run_cli ("tessera-cli", &status, &err, "import", ova, "--name", "tsr-imp-ova", "--label",
                 "green", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "Imported "));
  g_assert_nonnull (strstr (out, "tsr-imp-ova"));

  assert_definition (handle, "tsr-imp-ova", 320, vcpus);
  after = checksum (ova);
  g_assert_cmpstr (after, ==, before);
  boot_from_disk (handle, "tsr-imp-ova");

  remove_vm (handle, "tsr-imp-ova");
  left = leftovers (handle, "tsr-imp-ova");
  g_assert_cmpstr (left, ==, "");
  tsr_test_close_connection (conn, 5);
}

typedef struct
{
  guint64  last_done;
  guint64  total;
  guint    reports;
  gboolean monotonic;
  gboolean eta_seen;
  gboolean cancel_on_convert;
  GCancellable *cancellable;
  gboolean converted;
  gboolean cancel_on_send;
} Progress;

static void
progress_cb (guint64     done,
             guint64     total,
             const char *stage,
             gpointer    user_data)
{
  Progress *p = user_data;

  g_test_message ("progress %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %s", done, total, stage);
  if (g_str_has_prefix (stage, "Disks converted"))
    p->converted = TRUE;
  if (p->cancel_on_send && g_str_has_prefix (stage, "Sending") && done > 0)
    g_cancellable_cancel (p->cancellable);
  if (total == 0 || !g_str_has_prefix (stage, "Converting"))
    return;
  if (p->cancel_on_convert)
    g_cancellable_cancel (p->cancellable);
  p->reports++;
  p->monotonic &= done >= p->last_done && done <= total;
  p->last_done = done;
  p->total = total;
}

/* A VDI in an .ova, through the core API as the GUI uses it: inspect,
 * spec from the info, import with progress.
 */
static void
test_ova_vdi_api (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  guint vcpus = MIN (2, host_cpus (handle));
  g_autofree char *ovf = ovf_for ("disk1.vdi", "", "VDI Guest", 272, vcpus);
  g_autofree char *ova = make_ova ("vdi-app", ovf, "boot.vdi", "disk1.vdi");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) imported = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImportInfo) info = NULL;
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autofree char *name = NULL;
  g_autofree char *left = NULL;
  TsrImportDisk *disk;
  Progress progress = { 0, 0, 0, TRUE, FALSE, FALSE, NULL, FALSE };

  remove_vm (handle, "tsr-imp-vdi");
  ensure_test_network (conn);

  tsr_import_inspect_async (ova, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
  info = tsr_import_inspect_finish (tsr_test_wait_result (&result, 300), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (info->kind, ==, "ova");
  g_assert_cmpstr (info->name, ==, "VDI-Guest");
  g_assert_cmpuint (info->memory, ==, 272);
  g_assert_cmpuint (info->vcpus, ==, vcpus);
  g_assert_cmpstr (info->firmware, ==, "bios");
  g_assert_cmpstr (info->os_family, ==, "linux");
  g_assert_cmpuint (info->disks->len, ==, 1);
  disk = g_ptr_array_index (info->disks, 0);
  g_assert_cmpstr (disk->format, ==, "vdi");
  g_assert_cmpuint (disk->capacity, ==, 32 * 1024 * 1024);

  spec = tsr_import_info_make_spec (info);
  g_free (spec->name);
  spec->name = g_strdup ("tsr-imp-vdi");
  tsr_connection_import_async (conn, info, spec, TSR_IMPORT_FLAGS_NONE, progress_cb, &progress,
                               NULL, tsr_test_store_result_cb, &imported);
  name = tsr_connection_import_finish (conn, tsr_test_wait_result (&imported, 300), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "tsr-imp-vdi");
  g_assert_cmpuint (progress.reports, >=, 1);
  g_assert_true (progress.monotonic);
  g_assert_cmpuint (progress.total, ==, 32 * 1024 * 1024);

  g_clear_object (&imported);
  assert_definition (handle, "tsr-imp-vdi", 272, vcpus);
  g_assert_true (g_file_test (ova, G_FILE_TEST_EXISTS));
  boot_from_disk (handle, "tsr-imp-vdi");

  remove_vm (handle, "tsr-imp-vdi");
  left = leftovers (handle, "tsr-imp-vdi");
  g_assert_cmpstr (left, ==, "");
  tsr_test_close_connection (conn, 5);
}

/* The Qubes form: qvm-create --hvm NAME --label red --mem=… with a VMDK
 * as the root; moving removes it once the VM exists.
 */
static void
test_qvm_create_move_vmdk (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *vmdk = g_build_filename (workdir, "win10.vmdk", NULL);
  g_autofree char *out = NULL;
  g_autofree char *left = NULL;
  g_autofree char *xml = NULL;
  int status;

  remove_vm (handle, "tsr-imp-qvm");
  ensure_test_network (conn);
  run ("cp boot.vmdk win10.vmdk");

  out = run_cli ("qvm-create", &status, NULL, "--hvm", "tsr-imp-qvm", "--label", "red", "--mem=384",
                 "--root-move-from", vmdk, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_false (g_file_test (vmdk, G_FILE_TEST_EXISTS));
  xml = tsr_test_domain_xml (handle, "tsr-imp-qvm", VIR_DOMAIN_XML_INACTIVE);
  g_assert_nonnull (strstr (xml, "<currentMemory unit='KiB'>393216</currentMemory>"));
  g_assert_nonnull (strstr (xml, "tsr-imp-qvm-root.qcow2"));
  boot_from_disk (handle, "tsr-imp-qvm");

  remove_vm (handle, "tsr-imp-qvm");
  left = leftovers (handle, "tsr-imp-qvm");
  g_assert_cmpstr (left, ==, "");
  tsr_test_close_connection (conn, 5);
}

/* A zip holding the .ova, deflated: unpacked to a temporary file that is
 * gone afterwards. (Not booted: the disk is the one booted above.)
 */
static void
test_zip (void)
{
  g_autofree char *zip_program = g_find_program_in_path ("zip");
  TsrConnection *conn;
  virConnectPtr handle;
  g_autofree char *ovf = ovf_for ("disk1.vdi", "", "Zipped", 256, 1);
  g_autofree char *ova = NULL;
  g_autofree char *zip = g_build_filename (workdir, "zipped.zip", NULL);
  g_autofree char *out = NULL;
  g_autofree char *left = NULL;
  int status;

  if (zip_program == NULL)
    {
      g_test_skip ("zip is not installed (Debian: zip)");
      return;
    }
  conn = tsr_test_open_connection (URI, 300);
  handle = tsr_connection_get_handle (conn);
  ova = make_ova ("zipped", ovf, "boot.vdi", "disk1.vdi");
  remove_vm (handle, "tsr-imp-zip");
  ensure_test_network (conn);
  run ("zip -q zipped.zip zipped.ova");

  out = run_cli ("tessera-cli", &status, NULL, "import", zip, "--name", "tsr-imp-zip", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "zip/ova"));
  g_assert_nonnull (strstr (out, "of temporary files"));
  assert_definition (handle, "tsr-imp-zip", 256, 1);

  remove_vm (handle, "tsr-imp-zip");
  left = leftovers (handle, "tsr-imp-zip");
  g_assert_cmpstr (left, ==, "");
  tsr_test_close_connection (conn, 5);
}

/* A pool on a 4 MiB tmpfs, too small for the 10 MiB the disk needs. */
static void
make_small_pool (virConnectPtr handle)
{
  g_autofree char *xml = g_strdup_printf ("<pool type='dir'><name>" SMALL_POOL "</name>"
                                          "<target><path>%s</path></target></pool>", small_dir);
  virStoragePoolPtr pool;

  g_mkdir_with_parents (small_dir, 0755);
  if (mount ("tmpfs", small_dir, "tmpfs", 0, "size=4m,mode=0755") != 0)
    g_error ("could not mount a tmpfs on %s: %s", small_dir, g_strerror (errno));
  pool = virStoragePoolCreateXML (handle, xml, 0);
  g_assert_nonnull (pool);
  virStoragePoolFree (pool);
}

static void
remove_small_pool (virConnectPtr handle)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, SMALL_POOL);

  if (pool != NULL)
    {
      virStoragePoolDestroy (pool);
      virStoragePoolUndefine (pool);
      virStoragePoolFree (pool);
    }
  virResetLastError ();
  while (umount (small_dir) == 0)
    ;
  g_rmdir (small_dir);
}

typedef struct
{
  const char *what;
  char     *(*make) (void);
  const char *pool;
  int         exit_code;
  const char *expect;
} BrokenCase;

static char *
make_truncated (void)
{
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "T", 256, 1);
  char *ova = make_ova ("truncated", ovf, "boot.vmdk", "disk.vmdk");

  g_assert_cmpint (truncate (ova, 512 * 1024), ==, 0);
  return ova;
}

static char *
make_missing_disk (void)
{
  g_autofree char *ovf = ovf_for ("not-there.vmdk", VMDK_URI, "T", 256, 1);

  return make_ova ("missing", ovf, "boot.vmdk", "disk.vmdk");
}

static char *
make_dotdot (void)
{
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "T", 256, 1);
  g_autofree char *ovf_path = g_build_filename (workdir, "dotdot.ovf", NULL);

  g_assert_true (g_file_set_contents (ovf_path, ovf, -1, NULL));
  run ("cp boot.vmdk disk.vmdk && tar --format=ustar --transform='s,^disk,../x,' "
       "-cf dotdot.ova dotdot.ovf disk.vmdk && rm -f disk.vmdk dotdot.ovf");
  return g_build_filename (workdir, "dotdot.ova", NULL);
}

static char *
make_not_xml (void)
{
  return make_ova ("notxml", "Name: Tessera Guest\nMemory: 256\n", "boot.vmdk", "disk.vmdk");
}

static char *
make_raw_as_vmdk (void)
{
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "T", 256, 1);
  g_autofree char *raw = g_build_filename (fixture_dir, "boot-disk.img", NULL);

  return make_ova ("rawvmdk", ovf, raw, "disk.vmdk");
}

static char *
make_good (void)
{
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "T", 256, 1);

  return make_ova ("good", ovf, "boot.vmdk", "disk.vmdk");
}

static const BrokenCase broken[] = {
  { "truncated OVA", make_truncated, POOL, 2, "truncated" },
  { "OVF naming a missing disk", make_missing_disk, POOL, 2, "not-there.vmdk" },
  { "tar member ../x", make_dotdot, POOL, 2, "../x" },
  { "OVF that is not XML", make_not_xml, POOL, 2, "not valid XML" },
  { "raw image given as VMDK", make_raw_as_vmdk, POOL, 2, "should be a VMDK image" },
  { "disk bigger than the pool's free space", make_good, SMALL_POOL, 1, "has only" },
};

static void
test_broken (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);

  remove_small_pool (handle);
  make_small_pool (handle);
  ensure_test_network (conn);

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autofree char *file = broken[i].make ();
      g_autofree char *before = checksum (file);
      g_autofree char *after = NULL;
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_autofree char *left = NULL;
      int status;

      remove_vm (handle, "tsr-imp-bad");
      out = run_cli ("tessera-cli", &status, &err, "import", "-q", file, "--name", "tsr-imp-bad",
                     "--pool", broken[i].pool, NULL);
      g_test_message ("%s: exit %d: %s", broken[i].what, WEXITSTATUS (status), err);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, broken[i].exit_code);
      g_assert_nonnull (strstr (err, broken[i].expect));
      after = checksum (file);
      g_assert_cmpstr (after, ==, before);
      left = leftovers (handle, "tsr-imp-bad");
      g_assert_cmpstr (left, ==, "");
      g_unlink (file);
    }

  remove_small_pool (handle);
  tsr_test_close_connection (conn, 5);
}

/* Cancelled while converting (from the first progress report, so qemu-img
 * is killed half-way through 256 MiB of noise): no volume, no domain.
 */
static void
cancel_import (gboolean stream)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *ovf = ovf_for ("disk.vdi", "", "Cancelled", 256, 1);
  g_autofree char *ova = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) imported = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrImportInfo) info = NULL;
  g_autoptr(TsrCreateSpec) spec = NULL;
  g_autofree char *name = NULL;
  g_autofree char *left = NULL;
  Progress progress = { 0, 0, 0, TRUE, FALSE, !stream, cancellable, FALSE, stream };

  if (stream)
    g_setenv ("TESSERA_STORAGE_ROUTE", "stream", TRUE);
  run ("head -c 256M /dev/urandom > noise.img && qemu-img convert -q -f raw -O vdi noise.img "
       "noise.vdi && rm noise.img");
  ova = make_ova ("cancel", ovf, "noise.vdi", "disk.vdi");
  run ("rm noise.vdi");
  remove_vm (handle, "tsr-imp-cancel");
  ensure_test_network (conn);
  tsr_import_inspect_async (ova, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
  info = tsr_import_inspect_finish (tsr_test_wait_result (&result, 300), &error);
  g_assert_no_error (error);
  spec = tsr_import_info_make_spec (info);
  g_free (spec->name);
  spec->name = g_strdup ("tsr-imp-cancel");

  tsr_connection_import_async (conn, info, spec, TSR_IMPORT_FLAGS_NONE, progress_cb, &progress,
                               cancellable, tsr_test_store_result_cb, &imported);
  name = tsr_connection_import_finish (conn, tsr_test_wait_result (&imported, 300), NULL, &error);
  g_assert_null (name);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (progress.converted);
  g_clear_object (&imported);
  left = leftovers (handle, "tsr-imp-cancel");
  g_assert_cmpstr (left, ==, "");
  g_unlink (ova);
  g_unsetenv ("TESSERA_STORAGE_ROUTE");
  tsr_test_close_connection (conn, 5);
}

/* Three imports of one name at once: one VM, the others say the name is
 * taken, nothing of theirs is left.
 */
static void
test_parallel_same_name (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 300);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "Same", 256, 1);
  g_autofree char *ova = make_ova ("same", ovf, "boot.vmdk", "disk.vmdk");
  g_autofree char *cli = g_build_filename (cli_dir, "tessera-cli", NULL);
  g_autoptr(GPtrArray) procs = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *left = NULL;
  guint ok = 0;

  remove_vm (handle, "tsr-imp-same");
  ensure_test_network (conn);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      GSubprocess *proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                            G_SUBPROCESS_FLAGS_STDERR_PIPE, &error, cli,
                                            "--connect=" URI, "import", "-q", ova, "--name",
                                            "tsr-imp-same", "--label", "red", NULL);

      g_assert_no_error (error);
      g_ptr_array_add (procs, proc);
    }
  for (guint i = 0; i < procs->len; i++)
    {
      g_autofree char *err = NULL;
      g_autoptr(GError) error = NULL;
      GSubprocess *proc = g_ptr_array_index (procs, i);

      g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error));
      if (g_subprocess_get_successful (proc))
        ok++;
      else
        g_assert_nonnull (strstr (err, "A VM named “tsr-imp-same” already exists"));
    }
  g_assert_cmpuint (ok, ==, 1);

  remove_vm (handle, "tsr-imp-same");
  left = leftovers (handle, "tsr-imp-same");
  g_assert_cmpstr (left, ==, "");
  g_unlink (ova);
  tsr_test_close_connection (conn, 5);
}

static void
test_cancel (void)
{
  cancel_import (FALSE);
}

/* The same through libvirt's stream, cancelled while sending: no volume,
 * no domain, no converted file left in TMPDIR.
 */
static void
test_cancel_stream (void)
{
  cancel_import (TRUE);
}

/* An ordinary desktop user */

#define DESKTOP_USER "tsr-desktop"

static char *desktop_home;

/* Runs a CLI name as the desktop user, from its home. */
#define run_cli_as(name, status, err_out, ...) \
  tsr_test_run_cli_as (cli_dir, URI, DESKTOP_USER, desktop_home, name, status, err_out, \
                       __VA_ARGS__)

/* A user in the "libvirt" group, and a libvirtd that lets that group use
 * its socket without polkit (there is no system bus here), as Debian's
 * packages do on a desktop. Undone by desktop_user_teardown().
 */
static void
desktop_user_setup (void)
{
  g_autofree char *conf = g_build_filename (workdir, "libvirtd-desktop.conf", NULL);

  run ("getent passwd " DESKTOP_USER " >/dev/null || useradd --system --no-create-home "
       "--shell /usr/sbin/nologin --groups libvirt " DESKTOP_USER);
  desktop_home = g_build_filename (workdir, "home", NULL);
  run ("rm -rf home && mkdir home && chown " DESKTOP_USER ": home && chmod 0700 home");
  g_assert_true (g_file_set_contents (conf,
                                      "unix_sock_group = \"libvirt\"\n"
                                      "unix_sock_ro_perms = \"0777\"\n"
                                      "unix_sock_rw_perms = \"0770\"\n"
                                      "auth_unix_ro = \"none\"\n"
                                      "auth_unix_rw = \"none\"\n", -1, NULL));
  tsr_test_stop_libvirtd ();
  tsr_test_start_libvirtd (conf);
}

static void
desktop_user_teardown (void)
{
  tsr_test_stop_libvirtd ();
  tsr_test_start_libvirtd (NULL);
}

/* The folder the disks were converted in before sending is gone. */
static void
assert_no_staging (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *entry;

  g_assert_nonnull (handle);
  while ((entry = g_dir_read_name (handle)) != NULL)
    g_assert_false (g_str_has_prefix (entry, "tessera-import-"));
}

/* A user's file the user may read but not remove: in a folder of root's. */
static char *
make_unremovable_image (void)
{
  run ("mkdir -p shared && chmod 0755 shared && cp %s/boot-disk.img shared/root.img && "
       "chmod 0644 shared/root.img", fixture_dir);
  return g_build_filename (workdir, "shared", "root.img", NULL);
}

static void
assert_user_cli_ok (int         status,
                    const char *err)
{
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("the desktop user's command failed: %s", err);
}

/* The Import window, used by the desktop user: import-gui-as-user runs as
 * that account under an X server and a D-Bus session of its own, imports
 * OVA as NAME and checks the disk went through libvirt. Its pictures land
 * in the user's home and are copied to the build's screenshots.
 */
static void
import_with_gui_as_user (const char *ova,
                         const char *name)
{
  const char *probe = g_getenv ("TESSERA_IMPORT_GUI_PROBE");
  struct passwd *pw = getpwnam (DESKTOP_USER);
  g_autofree char *runtime = g_build_filename (desktop_home, "run", NULL);
  g_autofree char *shots = g_build_filename (desktop_home, "screenshots", NULL);
  g_autofree char *uid = NULL;
  g_autofree char *gid = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_nonnull (probe);
  g_assert_nonnull (pw);
  uid = g_strdup_printf ("--reuid=%u", (unsigned) pw->pw_uid);
  gid = g_strdup_printf ("--regid=%u", (unsigned) pw->pw_gid);
  run ("mkdir -p home/run && chmod 0700 home/run && chown " DESKTOP_USER ": home/run");
  envp = g_environ_setenv (envp, "HOME", desktop_home, TRUE);
  envp = g_environ_setenv (envp, "TMPDIR", desktop_home, TRUE);
  envp = g_environ_setenv (envp, "XDG_RUNTIME_DIR", runtime, TRUE);
  envp = g_environ_setenv (envp, "TESSERA_BUILD_DIR", desktop_home, TRUE);
  envp = g_environ_unsetenv (envp, "DISPLAY");
  envp = g_environ_unsetenv (envp, "XAUTHORITY");
  envp = g_environ_unsetenv (envp, "DBUS_SESSION_BUS_ADDRESS");
  envp = g_environ_unsetenv (envp, "TESSERA_STORAGE_ROUTE");
  {
    const char *argv[] = { "setpriv", uid, gid, "--init-groups", "--",
                           "dbus-run-session", "--",
                           "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
                           probe, URI, ova, name, NULL };

    g_assert_true (g_spawn_sync (desktop_home, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL,
                                 NULL, &out, &err, &status, &error));
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("The Import window failed for the desktop user:\n%s%s", out, err);
  g_test_message ("import-gui-as-user: %s", out);
  if (g_file_test (shots, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *dest = tsr_test_screenshot_path ("import-as-user-form.png");
      g_autofree char *dest_dir = g_path_get_dirname (dest);

      run ("cp home/screenshots/*.png '%s'/", dest_dir);
    }
}

/* Everything an ordinary account in the "libvirt" group does, with a pool
 * folder it may not write: import, root images copied and moved (qcow2 and
 * raw), clone; each VM boots from the disk it was given.
 */
static void
test_desktop_user (void)
{
  TsrConnection *conn = NULL;
  virConnectPtr handle;
  g_autofree char *ovf = ovf_for ("disk.vmdk", VMDK_URI, "Desktop", 320, 1);
  g_autofree char *ova = NULL;
  g_autofree char *moved = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *left = NULL;
  int status;

  desktop_user_setup ();
  moved = g_build_filename (desktop_home, "win10-root.img", NULL);
  copied = g_build_filename (desktop_home, "root.qcow2", NULL);
  conn = tsr_test_open_connection (URI, 120);
  handle = tsr_connection_get_handle (conn);
  for (guint i = 0; i < 6; i++)
    remove_vm (handle, (const char *[]) { "tsr-imp-user", "tsr-imp-user-mv", "tsr-imp-user-cp",
                                          "tsr-imp-user-kept", "tsr-imp-user-cl",
                                          "tsr-imp-user-gui" }[i]);
  ensure_test_network (conn);

  ova = make_ova ("desktop", ovf, "boot.vmdk", "disk.vmdk");
  run ("cp %s/boot-disk.img home/win10-root.img && qemu-img convert -q -f raw -O qcow2 "
       "%s/boot-disk.img home/root.qcow2 && chown -R " DESKTOP_USER ": home", fixture_dir,
       fixture_dir);
  kept = make_unremovable_image ();

  /* Not root, and the pool's folder is root's. */
  {
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    out = run_cli_as ("qvm-ls", &status, &err, NULL);
    assert_user_cli_ok (status, err);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);

    /* The import the issue saw fail. */
    out = run_cli_as ("tessera-cli", &status, &err, "--verbose", "import", "-q", ova, "--name",
                      "tsr-imp-user", "--label", "red", NULL);
    assert_user_cli_ok (status, err);
    g_assert_nonnull (strstr (err, "sent through libvirt"));
    g_assert_nonnull (strstr (err, "may not write into"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    assert_definition (handle, "tsr-imp-user", 320, 1);
    assert_no_staging (desktop_home);

    /* The seed's command, raw image moved. */
    out = run_cli_as ("qvm-create", &status, &err, "--verbose", "--hvm", "tsr-imp-user-mv",
                      "--label", "red", "--mem=512", "--root-move-from", moved, NULL);
    assert_user_cli_ok (status, err);
    g_assert_nonnull (strstr (err, "through libvirt as a stream"));
    g_assert_false (g_file_test (moved, G_FILE_TEST_EXISTS));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    xml = tsr_test_domain_xml (handle, "tsr-imp-user-mv", VIR_DOMAIN_XML_INACTIVE);
    g_assert_nonnull (strstr (xml, "type='raw'"));
    g_clear_pointer (&xml, g_free);

    /* A qcow2 copied: the user's file stays. */
    out = run_cli_as ("qvm-create", &status, &err, "--hvm", "tsr-imp-user-cp", "--label", "red",
                      "--mem=512", "--root-copy-from", copied, NULL);
    assert_user_cli_ok (status, err);
    g_assert_true (g_file_test (copied, G_FILE_TEST_EXISTS));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    xml = tsr_test_domain_xml (handle, "tsr-imp-user-cp", VIR_DOMAIN_XML_INACTIVE);
    g_assert_nonnull (strstr (xml, "type='qcow2'"));
    g_clear_pointer (&xml, g_free);

    /* "Move" from a file the user may not remove: copied, and said so. */
    out = run_cli_as ("qvm-create", &status, &err, "--hvm", "tsr-imp-user-kept", "--label", "red",
                      "--mem=512", "--root-move-from", kept, NULL);
    assert_user_cli_ok (status, err);
    g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
    g_assert_nonnull (strstr (err, "copied, not moved"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);

    /* A full clone of the moved one. */
    out = run_cli_as ("qvm-clone", &status, &err, "-q", "tsr-imp-user-mv", "tsr-imp-user-cl", NULL);
    assert_user_cli_ok (status, err);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }

  boot_from_disk (handle, "tsr-imp-user");
  boot_from_disk (handle, "tsr-imp-user-mv");
  boot_from_disk (handle, "tsr-imp-user-cp");
  boot_from_disk (handle, "tsr-imp-user-cl");

  /* The same import from the Import window, as that user. */
  import_with_gui_as_user (ova, "tsr-imp-user-gui");
  assert_definition (handle, "tsr-imp-user-gui", 320, 1);
  assert_no_staging (desktop_home);
  boot_from_disk (handle, "tsr-imp-user-gui");

  for (guint i = 0; i < 6; i++)
    {
      const char *name = (const char *[]) { "tsr-imp-user", "tsr-imp-user-mv", "tsr-imp-user-cp",
                                            "tsr-imp-user-kept", "tsr-imp-user-cl",
                                            "tsr-imp-user-gui" }[i];

      remove_vm (handle, name);
      left = leftovers (handle, name);
      g_assert_cmpstr (left, ==, "");
      g_clear_pointer (&left, g_free);
    }
  g_unlink (ova);
  tsr_test_close_connection (conn, 5);
  desktop_user_teardown ();
}

/* Someone outside the "libvirt" group is told how to get in. */
static void
test_outsider (void)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *home = g_build_filename (workdir, "tmp", NULL);
  int status;

  out = tsr_test_run_cli_as (cli_dir, URI, "nobody", home, "qvm-ls", &status, &err, NULL);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
  g_assert_nonnull (strstr (err, "libvirt” group"));
}

static const char * const vm_names[] = {
  "tsr-imp-ova", "tsr-imp-vdi", "tsr-imp-qvm", "tsr-imp-zip", "tsr-imp-bad", "tsr-imp-cancel",
  "tsr-imp-user", "tsr-imp-user-mv", "tsr-imp-user-cp", "tsr-imp-user-kept", "tsr-imp-user-cl",
  "tsr-imp-user-gui", "tsr-imp-same",
};

/* Whether a VM other than these tests' still uses the test network (other
 * integration tests may share this libvirtd).
 */
static gboolean
network_in_use (virConnectPtr handle)
{
  virDomainPtr *doms = NULL;
  gboolean used = FALSE;
  int n = virConnectListAllDomains (handle, &doms, 0);

  for (int i = 0; i < n; i++)
    {
      g_autofree char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

      used |= xml != NULL && strstr (xml, "<source network='" TEST_NETWORK "'") != NULL;
      virDomainFree (doms[i]);
    }
  free (doms);
  return used;
}

/* Before the tests, what an interrupted earlier run left; after them,
 * what they made.
 */
static void
cleanup (void)
{
  virConnectPtr handle = virConnectOpen (URI);
  virNetworkPtr net;

  for (guint i = 0; i < G_N_ELEMENTS (vm_names); i++)
    remove_vm (handle, vm_names[i]);
  remove_small_pool (handle);

  net = virNetworkLookupByName (handle, TEST_NETWORK);
  if (net != NULL && !network_in_use (handle))
    {
      virNetworkDestroy (net);
      virNetworkUndefine (net);
    }
  if (net != NULL)
    virNetworkFree (net);
  virResetLastError ();
  virConnectClose (handle);
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

  /* Fixed paths, so that a run after an interrupted one finds and removes
   * what that one left (the tmpfs pool's mount point above all).
   */
  workdir = g_strdup ("/var/tmp/tessera-import-it");
  tempdir = g_build_filename (workdir, "tmp", NULL);
  small_dir = g_strdup ("/var/tmp/tessera-import-it-small");
  if (system ("pgrep -f 'libvirtd.*libvirtd-desktop.conf' >/dev/null") == 0)
    desktop_user_teardown ();   /* an interrupted run's libvirtd */
  cleanup ();
  g_assert_cmpint (system ("rm -rf /var/tmp/tessera-import-it"), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (tempdir, 0777), ==, 0);
  g_chmod (workdir, 0777);
  /* Where the tool unpacks compressed zip members: this test's and its
   * children's, checked to be empty after each import.
   */
  g_setenv ("TMPDIR", tempdir, TRUE);
  g_setenv ("TESSERA_DEFAULT_NETVM", TEST_NETWORK, TRUE);
  make_disks ();

  g_test_add_func ("/import-it/ova/vmdk-cli", test_ova_vmdk_cli);
  g_test_add_func ("/import-it/ova/vdi-api", test_ova_vdi_api);
  g_test_add_func ("/import-it/qvm-create/root-move-from-vmdk", test_qvm_create_move_vmdk);
  g_test_add_func ("/import-it/zip/deflated-ova", test_zip);
  g_test_add_func ("/import-it/broken/each-refused", test_broken);
  g_test_add_func ("/import-it/cancel/while-converting", test_cancel);
  g_test_add_func ("/import-it/cancel/while-sending", test_cancel_stream);
  g_test_add_func ("/import-it/parallel/same-name", test_parallel_same_name);
  g_test_add_func ("/import-it/desktop-user/outsider", test_outsider);
  g_test_add_func ("/import-it/desktop-user/import-create-clone", test_desktop_user);

  ret = g_test_run ();

  cleanup ();

  g_assert_cmpint (system ("rm -rf /var/tmp/tessera-import-it"), ==, 0);
  return ret;
}
