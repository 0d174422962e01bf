/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Creating VMs and starting them with install media, on libvirt's test
 * driver: every invalid input is refused with its own code, and leaves the
 * connection's domains, volumes and reservations exactly as they were.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-creator.h"
#include "tsr-error.h"
#include "tsr-media.h"
#include "tsr-rules.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 10)

/* Everything a failed create could have touched, as one string. */
static char *
snapshot (TsrConnection *conn)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autoptr(GString) out = g_string_new (NULL);
  virDomainPtr *doms = NULL;
  virStoragePoolPtr *pools = NULL;
  virNetworkPtr *nets = NULL;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      g_string_append_printf (out, "domain %s\n", virDomainGetName (doms[i]));
      virDomainFree (doms[i]);
    }
  free (doms);

  n = virConnectListAllStoragePools (handle, &pools, 0);
  for (int i = 0; i < n; i++)
    {
      char **names = NULL;
      int m;

      g_string_append_printf (out, "pool %s\n", virStoragePoolGetName (pools[i]));
      m = virStoragePoolListAllVolumes (pools[i], NULL, 0) >= 0 ? virStoragePoolNumOfVolumes (pools[i]) : 0;
      names = g_new0 (char *, m + 1);
      m = virStoragePoolListVolumes (pools[i], names, m);
      for (int j = 0; j < m; j++)
        {
          g_string_append_printf (out, "  volume %s\n", names[j]);
          free (names[j]);
        }
      g_free (names);
      virStoragePoolFree (pools[i]);
    }
  free (pools);

  n = virConnectListAllNetworks (handle, &nets, 0);
  for (int i = 0; i < n; i++)
    {
      char *xml = virNetworkGetXMLDesc (nets[i], 0);

      g_string_append_printf (out, "network %s\n%s\n", virNetworkGetName (nets[i]), xml);
      free (xml);
      virNetworkFree (nets[i]);
    }
  free (nets);

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
create (TsrConnection  *conn,
        TsrCreateSpec  *spec,
        GCancellable   *cancellable,
        GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_create_vm_async (conn, spec, NULL, NULL, cancellable, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_create_vm_finish (conn, result, NULL, error);
}

static TsrCreateSpec *
base_spec (const char *name)
{
  TsrCreateSpec *spec = tsr_create_spec_new (name);

  g_free (spec->netvm);
  spec->netvm = g_strdup ("tessera-unit");
  g_free (spec->pool);
  spec->pool = g_strdup ("default-pool");
  spec->vcpus = 1;
  return spec;
}

static void
test_create_ok (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(TsrCreateSpec) spec = base_spec ("my-new-vm");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *xml = NULL;
  virDomainPtr dom;
  TsrVm *vm;

  g_free (spec->label);
  spec->label = g_strdup ("green");
  name = create (conn, spec, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (name, ==, "my-new-vm");

  WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, "my-new-vm")) != NULL);
  WAIT_UNTIL (tsr_vm_get_ip (vm) != NULL);
  g_assert_cmpstr (tsr_vm_get_label (vm), ==, "green");
  g_assert_cmpstr (tsr_vm_get_vm_class (vm), ==, "StandaloneVM");
  g_assert_cmpstr (tsr_vm_get_virt_mode (vm), ==, "hvm");
  g_assert_cmpstr (tsr_vm_get_kernel (vm), ==, "");
  g_assert_cmpuint (tsr_vm_get_memory (vm), ==, 400);
  g_assert_cmpuint (tsr_vm_get_maxmem (vm), ==, 0);
  g_assert_cmpuint (tsr_vm_get_vcpus (vm), ==, 1);
  g_assert_cmpstr (tsr_vm_get_netvm (vm), ==, "tessera-unit");
  /* The lowest free address on tessera-unit, reserved for its new MAC. */
  g_assert_cmpstr (tsr_vm_get_ip (vm), ==, "10.137.9.4");
  g_assert_true (g_str_has_prefix (tsr_vm_get_mac (vm), "52:54:00:"));

  dom = virDomainLookupByName (tsr_connection_get_handle (conn), "my-new-vm");
  xml = virDomainGetXMLDesc (dom, 0);
  g_assert_nonnull (strstr (xml, "my-new-vm-root.qcow2"));
  g_assert_nonnull (strstr (xml, "https://tessera.invalid/xmlns/vm/1.0"));
  virDomainFree (dom);

  tsr_test_close_connection (conn, 2);
}

typedef struct
{
  const char *what;
  void      (*change) (TsrCreateSpec *spec);
  int         code;
} BadCase;

#define SET_STR(field, value) g_free (spec->field); spec->field = g_strdup (value)

static void bad_empty (TsrCreateSpec *spec) { SET_STR (name, ""); }
static void bad_long (TsrCreateSpec *spec) { SET_STR (name, "a234567890123456789012345678901234"); }
static void bad_digit (TsrCreateSpec *spec) { SET_STR (name, "1vm"); }
static void bad_reserved (TsrCreateSpec *spec) { SET_STR (name, "dom0"); }
static void bad_slash (TsrCreateSpec *spec) { SET_STR (name, "a/b"); }
static void bad_dm (TsrCreateSpec *spec) { SET_STR (name, "x-dm"); }
static void bad_duplicate (TsrCreateSpec *spec) { SET_STR (name, "vault"); }
static void bad_memory (TsrCreateSpec *spec) { spec->memory = 0; }
static void bad_maxmem (TsrCreateSpec *spec) { spec->memory = 800; spec->maxmem = 400; }
static void bad_vcpus (TsrCreateSpec *spec) { spec->vcpus = 0; }
static void bad_vcpus_many (TsrCreateSpec *spec) { spec->vcpus = 100000; }
static void bad_memory_huge (TsrCreateSpec *spec) { spec->memory = 99999999999; }
static void bad_maxmem_huge (TsrCreateSpec *spec) { spec->memory = 512; spec->maxmem = 99999999999; }
static void bad_mac (TsrCreateSpec *spec) { SET_STR (mac, "01:00:5e:00:00:01"); }
static void dup_mac (TsrCreateSpec *spec) { SET_STR (mac, "52:54:00:00:00:01"); }
static void bad_network (TsrCreateSpec *spec) { SET_STR (netvm, "no-such-network"); }
static void bad_template (TsrCreateSpec *spec) { SET_STR (template_name, "no-such-template"); }
static void not_template (TsrCreateSpec *spec) { SET_STR (template_name, "work-web"); }
static void bad_label (TsrCreateSpec *spec) { SET_STR (label, "pink"); }
static void bad_class (TsrCreateSpec *spec) { SET_STR (klass, "AppVM"); }
static void bad_pvh (TsrCreateSpec *spec) { SET_STR (virt_mode, "pvh"); }
static void bad_kernel (TsrCreateSpec *spec) { SET_STR (kernel, "9.9.9-missing"); }
static void bad_kernelopts (TsrCreateSpec *spec) { SET_STR (kernelopts, "a\nb"); }
static void bad_root (TsrCreateSpec *spec) { SET_STR (root_copy_from, "/nonexistent/root.img"); }
static void bad_pool (TsrCreateSpec *spec) { SET_STR (pool, "no-such-pool"); }
static void bad_uefi (TsrCreateSpec *spec) { SET_STR (firmware, "uefi"); }

static const BadCase bad_cases[] = {
  { "empty name", bad_empty, TSR_ERROR_INVALID_NAME },
  { "long name", bad_long, TSR_ERROR_INVALID_NAME },
  { "leading digit", bad_digit, TSR_ERROR_INVALID_NAME },
  { "reserved name", bad_reserved, TSR_ERROR_INVALID_NAME },
  { "slash", bad_slash, TSR_ERROR_INVALID_NAME },
  { "-dm", bad_dm, TSR_ERROR_INVALID_NAME },
  { "duplicate", bad_duplicate, TSR_ERROR_NAME_IN_USE },
  { "memory 0", bad_memory, TSR_ERROR_INVALID_VALUE },
  { "maxmem < memory", bad_maxmem, TSR_ERROR_INVALID_VALUE },
  { "vcpus 0", bad_vcpus, TSR_ERROR_INVALID_VALUE },
  { "vcpus > host", bad_vcpus_many, TSR_ERROR_INVALID_VALUE },
  { "memory > host", bad_memory_huge, TSR_ERROR_INVALID_VALUE },
  { "maxmem > host", bad_maxmem_huge, TSR_ERROR_INVALID_VALUE },
  { "multicast MAC", bad_mac, TSR_ERROR_INVALID_MAC },
  { "MAC in use", dup_mac, TSR_ERROR_MAC_IN_USE },
  { "unknown network", bad_network, TSR_ERROR_NOT_FOUND },
  { "unknown template", bad_template, TSR_ERROR_NOT_FOUND },
  { "template not a TemplateVM", not_template, TSR_ERROR_INVALID_VALUE },
  { "unknown label", bad_label, TSR_ERROR_INVALID_VALUE },
  { "AppVM without a template", bad_class, TSR_ERROR_INVALID_VALUE },
  { "pvh without kernel", bad_pvh, TSR_ERROR_INVALID_VALUE },
  { "kernel not installed", bad_kernel, TSR_ERROR_NOT_FOUND },
  { "kernelopts newline", bad_kernelopts, TSR_ERROR_INVALID_VALUE },
  { "missing root image", bad_root, TSR_ERROR_MEDIA_NOT_FOUND },
  { "unknown pool", bad_pool, TSR_ERROR_NOT_FOUND },
  { "uefi without OVMF", bad_uefi, TSR_ERROR_NOT_SUPPORTED },
};

static void
test_create_invalid (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *before = snapshot (conn);

  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autoptr(TsrCreateSpec) spec = base_spec ("fresh-vm");
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      bad_cases[i].change (spec);
      name = create (conn, spec, NULL, &error);
      g_test_message ("%s: %s", bad_cases[i].what, error ? error->message : "(no error)");
      g_assert_null (name);
      g_assert_error (error, TSR_ERROR, bad_cases[i].code);
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  tsr_test_close_connection (conn, 2);
}

/* A qcow2 image with a backing file could read any host file: refused. */
static void
test_create_backing_file (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *dir = g_dir_make_tmp ("tessera-backing-XXXXXX", NULL);
  g_autofree char *base = g_build_filename (dir, "base.qcow2", NULL);
  g_autofree char *overlay = g_build_filename (dir, "overlay.qcow2", NULL);
  g_autofree char *cmd1 = g_strdup_printf ("qemu-img create -q -f qcow2 %s 16M", base);
  g_autofree char *cmd2 = g_strdup_printf ("qemu-img create -q -f qcow2 -b %s -F qcow2 %s", base, overlay);
  g_autofree char *before = snapshot (conn);
  g_autofree char *after = NULL;
  g_autoptr(TsrCreateSpec) spec = base_spec ("backed-vm");
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  g_assert_true (g_spawn_command_line_sync (cmd1, NULL, NULL, NULL, NULL));
  g_assert_true (g_spawn_command_line_sync (cmd2, NULL, NULL, NULL, NULL));
  spec->root_copy_from = g_strdup (overlay);
  name = create (conn, spec, NULL, &error);
  g_assert_null (name);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "backing"));
  after = snapshot (conn);
  g_assert_cmpstr (after, ==, before);

  g_unlink (overlay);
  g_unlink (base);
  g_rmdir (dir);
  tsr_test_close_connection (conn, 2);
}

/* Root images must be disk images the person could read, never a host
 * file behind a symlink; the host is unchanged after each refusal.
 */
static void
test_create_root_rules (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *dir = g_dir_make_tmp ("tessera-root-XXXXXX", NULL);
  g_autofree char *link = g_build_filename (dir, "evil.img", NULL);
  g_autofree char *tiny = g_build_filename (dir, "tiny.img", NULL);
  g_autofree char *odd = g_build_filename (dir, "odd.img", NULL);
  g_autofree char *before = snapshot (conn);
  g_autofree char *odd_data = g_malloc0 (1024 * 1024 + 100);
  const struct { const char *path; const char *says; } refused[] = {
    { link, "is in /etc" },
    { tiny, "not a disk image" },
    { odd, "not a disk image" },
  };

  g_assert_cmpint (symlink ("/etc/shadow", link), ==, 0);
  g_assert_true (g_file_set_contents (tiny, "not a disk", -1, NULL));
  g_assert_true (g_file_set_contents (odd, odd_data, 1024 * 1024 + 100, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(TsrCreateSpec) spec = base_spec ("root-rules-vm");
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;
      g_autofree char *after = NULL;

      spec->root_copy_from = g_strdup (refused[i].path);
      name = create (conn, spec, NULL, &error);
      g_assert_null (name);
      g_assert_nonnull (error);
      if (strstr (error->message, refused[i].says) == NULL)
        g_error ("%s: %s", refused[i].path, error->message);
      after = snapshot (conn);
      g_assert_cmpstr (after, ==, before);
    }

  g_unlink (link);
  g_unlink (tiny);
  g_unlink (odd);
  g_rmdir (dir);
  tsr_test_close_connection (conn, 2);
}

/* Disk sizes within what the pool and qcow2 can hold, with the figure: a
 * blank qcow2 disk over 2 PiB (exactly 2 PiB passes), a raw root image
 * larger than the pool's whole capacity (100 GiB on the test driver; the
 * image is sparse).
 */
static void
test_create_disk_size (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *dir = g_dir_make_tmp ("tessera-size-XXXXXX", NULL);
  g_autofree char *big = g_build_filename (dir, "big.img", NULL);
  g_autofree char *before = snapshot (conn);
  g_autofree char *after = NULL;

  {
    g_autoptr(TsrCreateSpec) spec = base_spec ("size-vm");
    g_autoptr(GError) error = NULL;
    g_autofree char *name = NULL;

    spec->disk_size = G_GUINT64_CONSTANT (3) << 50;
    name = create (conn, spec, NULL, &error);
    g_test_message ("3 PiB qcow2: %s", error ? error->message : "(no error)");
    g_assert_null (name);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
    g_assert_nonnull (strstr (error->message, "3.0\u00a0PiB (3377699720527872 bytes)"));
    g_assert_nonnull (strstr (error->message, "at most 2 PiB"));
  }
  {
    g_autoptr(TsrCreateSpec) spec = base_spec ("size-vm");
    g_autoptr(GError) error = NULL;
    g_autofree char *name = NULL;

    spec->disk_size = G_GUINT64_CONSTANT (2) << 50;
    spec->check_only = TRUE;
    name = create (conn, spec, NULL, &error);
    g_assert_no_error (error);
  }
  {
    g_autoptr(TsrCreateSpec) spec = base_spec ("size-vm");
    g_autoptr(GError) error = NULL;
    g_autofree char *name = NULL;
    int fd = g_open (big, O_CREAT | O_WRONLY, 0644);

    g_assert_cmpint (fd, >=, 0);
    g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (150) << 30), ==, 0);
    close (fd);
    spec->root_copy_from = g_strdup (big);
    name = create (conn, spec, NULL, &error);
    g_test_message ("150 GiB raw: %s", error ? error->message : "(no error)");
    g_assert_null (name);
    g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
    g_assert_nonnull (strstr (error->message,
                              "can never fit in storage pool “default-pool”, which holds "
                              "100.0\u00a0GiB (107374182400 bytes)"));
  }
  after = snapshot (conn);
  g_assert_cmpstr (after, ==, before);

  g_unlink (big);
  g_rmdir (dir);
  tsr_test_close_connection (conn, 2);
}

/* The rule itself, at its edges; import's disks are checked by it too,
 * after the appliance reader refused anything over 1 PiB.
 */
static void
test_rules_disk_size (void)
{
  const guint64 gib100 = G_GUINT64_CONSTANT (100) << 30;
  GError *error = NULL;

  g_assert_true (tsr_rules_check_disk_size (TSR_RULES_QCOW2_MAX_BYTES, "qcow2", "p", gib100, NULL));
  g_assert_false (tsr_rules_check_disk_size (TSR_RULES_QCOW2_MAX_BYTES + 1, "qcow2", "p", 0, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  /* qcow2 takes only what is written: larger than the pool is allowed. */
  g_assert_true (tsr_rules_check_disk_size (2 * gib100, "qcow2", "p", gib100, NULL));
  g_assert_true (tsr_rules_check_disk_size (gib100, "raw", "p", gib100, NULL));
  g_assert_false (tsr_rules_check_disk_size (gib100 + 512, "raw", "p", gib100, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "“p”"));
  g_clear_error (&error);
  /* A pool that does not say its capacity. */
  g_assert_true (tsr_rules_check_disk_size (G_MAXUINT64, "raw", "p", 0, NULL));
}

static void
test_create_cancelled (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autofree char *before = snapshot (conn);
  g_autofree char *after = NULL;
  g_autoptr(TsrCreateSpec) spec = base_spec ("cancelled-vm");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  g_cancellable_cancel (cancellable);
  name = create (conn, spec, cancellable, &error);
  g_assert_null (name);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  after = snapshot (conn);
  g_assert_cmpstr (after, ==, before);
  tsr_test_close_connection (conn, 2);
}

static void
test_spec_properties (void)
{
  g_autoptr(TsrCreateSpec) spec = tsr_create_spec_new ("x");
  g_autoptr(GError) error = NULL;

  g_assert_true (tsr_create_spec_set_property (spec, "memory", "512", &error));
  g_assert_cmpuint (spec->memory, ==, 512);
  g_assert_true (tsr_create_spec_set_property (spec, "maxmem", "2G", &error));
  g_assert_cmpuint (spec->maxmem, ==, 2048);
  g_assert_true (tsr_create_spec_set_property (spec, "kernel", "", &error));
  g_assert_cmpstr (spec->kernel, ==, "");
  g_assert_true (tsr_create_spec_set_property (spec, "virt_mode", "HVM", &error));
  g_assert_cmpstr (spec->virt_mode, ==, "hvm");
  g_assert_true (tsr_create_spec_set_property (spec, "mac", "00:16:3E:5E:6C:05", &error));
  g_assert_cmpstr (spec->mac, ==, "00:16:3e:5e:6c:05");
  g_assert_true (tsr_create_spec_set_property (spec, "disk_size", "64M", &error));
  g_assert_cmpuint (spec->disk_size, ==, 64 * 1024 * 1024);

  g_assert_false (tsr_create_spec_set_property (spec, "memory", "lots", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_false (tsr_create_spec_set_property (spec, "virt_mode", "fast", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_false (tsr_create_spec_set_property (spec, "colour", "red", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_false (tsr_create_spec_set_property (spec, "mac", "zz", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_MAC);
}

static void
test_media_parse (void)
{
  struct { const char *spec; TsrMediaKind kind; const char *path; const char *owner; } ok[] = {
    { "/dev/cdrom", TSR_MEDIA_BLOCK, "/dev/cdrom", NULL },
    { "/dev/sr0", TSR_MEDIA_BLOCK, "/dev/sr0", NULL },
    { "dom0:/usr/local/iso/installcd.iso", TSR_MEDIA_FILE, "/usr/local/iso/installcd.iso", NULL },
    { "/srv/x.iso", TSR_MEDIA_FILE, "/srv/x.iso", NULL },
    { "default-pool:debian.iso", TSR_MEDIA_VOLUME, NULL, "default-pool" },
    { "someVM:/home/user/installcd.iso", TSR_MEDIA_VM_FILE, "/home/user/installcd.iso", "someVM" },
  };
  const char *bad[] = { "", "relative.iso", ":x", "pool:", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TsrMedia) media = tsr_media_parse (ok[i].spec, &error);

      g_assert_no_error (error);
      g_assert_cmpint (media->kind, ==, ok[i].kind);
      g_assert_cmpstr (media->path, ==, ok[i].path);
      g_assert_cmpstr (media->owner, ==, ok[i].owner);
    }

  for (guint i = 0; bad[i]; i++)
    g_assert_null (tsr_media_parse (bad[i], NULL));
}

static gboolean
start_with (TsrConnection  *conn,
            TsrVm          *vm,
            const char     *media,
            GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_start_vm_with_media_async (conn, vm, media, NULL, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_start_vm_with_media_finish (conn, result, error);
}

static void
test_media_start (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  TsrVm *vm = tsr_connection_lookup_vm (conn, "vault");
  g_autofree char *iso = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *live = NULL;
  g_autoptr(GError) error = NULL;
  virDomainPtr dom = virDomainLookupByName (handle, "vault");
  int fd;

  before = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);

  /* Missing media: refused before anything starts. */
  g_assert_false (start_with (conn, vm, "dom0:/nonexistent/installcd.iso", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (start_with (conn, vm, "no-such-pool:x.iso", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (start_with (conn, vm, "work-web:/home/user/x.iso", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_cmpint (virDomainIsActive (dom), ==, 0);

  fd = g_file_open_tmp ("tessera-XXXXXX.iso", &iso, NULL);
  g_assert_cmpint (fd, >=, 0);
  close (fd);

  /* Install media must be install media, readable by the person, and not
   * a host file (also behind a symlink).
   */
  {
    g_autofree char *dir = g_path_get_dirname (iso);
    g_autofree char *text = g_build_filename (dir, "tessera-notes.iso", NULL);
    g_autofree char *link = g_build_filename (dir, "tessera-link.iso", NULL);
    const struct { const char *spec; const char *says; } refused[] = {
      { iso, "an empty file" },
      { text, "a text file" },
      { "/etc/passwd", "is in /etc" },
      { "dom0:/etc/shadow", "is in /etc" },
      { link, "is in /etc" },
    };

    g_assert_true (g_file_set_contents (text, "root:x:0:0:root:/root:/bin/bash\n", -1, NULL));
    g_unlink (link);
    g_assert_cmpint (symlink ("/etc/passwd", link), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
      {
        g_assert_false (start_with (conn, vm, refused[i].spec, &error));
        g_assert_nonnull (error);
        if (strstr (error->message, refused[i].says) == NULL)
          g_error ("%s: %s", refused[i].spec, error->message);
        g_clear_error (&error);
      }
    g_unlink (text);
    g_unlink (link);
    g_assert_cmpint (virDomainIsActive (dom), ==, 0);
  }

  /* An ISO 9660 image: its volume descriptor at 32 KiB. */
  {
    g_autofree char *image = g_malloc0 (36864);

    memcpy (image + 32769, "CD001", 5);
    g_assert_true (g_file_set_contents (iso, image, 36864, NULL));
  }
  g_assert_true (start_with (conn, vm, iso, &error));
  g_assert_no_error (error);
  WAIT_UNTIL (tsr_vm_get_state (vm) == TSR_VM_STATE_RUNNING);

  /* This boot has the cdrom first; the persistent definition is unchanged. */
  live = virDomainGetXMLDesc (dom, 0);
  g_assert_nonnull (strstr (live, "device=\"cdrom\"") ? live : strstr (live, "device='cdrom'"));
  g_assert_nonnull (strstr (live, iso));
  after = virDomainGetXMLDesc (dom, VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (after, ==, before);

  /* Running: a second start with media is refused. */
  g_assert_false (start_with (conn, vm, iso, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_VM_RUNNING);

  virDomainDestroy (dom);
  virDomainFree (dom);
  g_unlink (iso);
  tsr_test_close_connection (conn, 2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tsr_init ();
  g_setenv ("TESSERA_KERNELS_DIR", "/nonexistent-kernels", TRUE);

  g_test_add_func ("/create/spec/properties", test_spec_properties);
  g_test_add_func ("/create/ok", test_create_ok);
  g_test_add_func ("/create/invalid", test_create_invalid);
  g_test_add_func ("/create/cancelled", test_create_cancelled);
  g_test_add_func ("/create/backing-file", test_create_backing_file);
  g_test_add_func ("/create/root-image-rules", test_create_root_rules);
  g_test_add_func ("/create/disk-size", test_create_disk_size);
  g_test_add_func ("/rules/disk-size", test_rules_disk_size);
  g_test_add_func ("/media/parse", test_media_parse);
  g_test_add_func ("/media/start", test_media_start);

  return g_test_run ();
}
