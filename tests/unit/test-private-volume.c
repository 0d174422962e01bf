/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An AppVM's private disk on libvirt's test driver: its size read, growing
 * checked (never shrinking), and every VM without one answered clearly.
 * The test driver cannot resize volumes, so growing itself is shown by the
 * error libvirt gives, after the checks have passed. Also the outdated
 * flag of the VM list (tsr_vm_is_outdated()) on tests/data/templates.xml.
 */
#include "config.h"

#include <string.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-private-volume.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 10)
#define MIB (G_GUINT64_CONSTANT (1) << 20)

static void
define_appvm (TsrConnection *conn)
{
  virConnectPtr handle = tsr_connection_get_handle (conn);
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, "default-pool");
  const char *volumes[] = { "app-root.qcow2", "app-private.qcow2" };
  guint sizes[] = { 1024, 512 };
  virDomainPtr dom;

  g_assert_nonnull (pool);
  for (guint i = 0; i < G_N_ELEMENTS (volumes); i++)
    {
      g_autofree char *xml = g_strdup_printf ("<volume><name>%s</name>"
                                              "<capacity unit='MiB'>%u</capacity></volume>",
                                              volumes[i], sizes[i]);
      virStorageVolPtr vol = virStorageVolCreateXML (pool, xml, 0);

      g_assert_nonnull (vol);
      virStorageVolFree (vol);
    }
  virStoragePoolFree (pool);

  dom = virDomainDefineXML (handle,
                            "<domain type='test'><name>app</name><memory unit='MiB'>256</memory>"
                            "<metadata><tessera:vm xmlns:tessera='" TSR_METADATA_NS "'>"
                            "<class>AppVM</class><template>vault</template></tessera:vm></metadata>"
                            "<os><type arch='x86_64'>hvm</type></os><devices>"
                            "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>"
                            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                            "<source file='/default-pool/app-root.qcow2'/><target dev='vda' bus='virtio'/></disk>"
                            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                            "<source file='/default-pool/app-private.qcow2'/><target dev='vdb' bus='virtio'/></disk>"
                            "</devices></domain>");
  g_assert_nonnull (dom);
  virDomainFree (dom);
  WAIT_UNTIL (tsr_connection_lookup_vm (conn, "app") != NULL);
}

static gboolean
get_size (TsrConnection  *conn,
          const char     *name,
          guint64        *size,
          GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_get_private_size_async (conn, tsr_connection_lookup_vm (conn, name), NULL,
                                         tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_get_private_size_finish (conn, result, size, error);
}

static gboolean
grow (TsrConnection  *conn,
      const char     *name,
      guint64         size,
      GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_grow_private_async (conn, tsr_connection_lookup_vm (conn, name), size, NULL,
                                     tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_grow_private_finish (conn, result, error);
}

static void
test_private_size (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GError) error = NULL;
  guint64 size = 0;

  define_appvm (conn);

  /* The second disk, not the cdrom before it nor the root. */
  g_assert_true (get_size (conn, "app", &size, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 512 * MIB);

  /* Shrinking is refused, the same size changes nothing. */
  g_assert_false (grow (conn, "app", 256 * MIB, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "only grow"));
  g_clear_error (&error);
  g_assert_true (grow (conn, "app", 512 * MIB, &error));
  g_assert_no_error (error);

  /* Past the checks, the resize is libvirt's (the test driver has none). */
  g_assert_false (grow (conn, "app", 1024 * MIB, &error));
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE));
  g_assert_nonnull (strstr (error->message, "Could not grow the private disk"));
  g_clear_error (&error);
  g_assert_true (get_size (conn, "app", &size, NULL));
  g_assert_cmpuint (size, ==, 512 * MIB);

  /* A StandaloneVM has no private disk of its own. */
  g_assert_false (get_size (conn, "work-web", &size, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "only an AppVM"));
  g_clear_error (&error);
  g_assert_false (grow (conn, "work-web", 1024 * MIB, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED);

  tsr_test_close_connection (conn, 10);
}

/* The outdated flag the list shows, from the VMs' metadata alone. */
static void
test_outdated (void)
{
  g_autofree char *uri = g_strdup_printf ("test://%s/templates.xml", TSR_TEST_DATA);
  TsrConnection *conn = tsr_test_open_connection (uri, 10);
  TsrVm *tpl = tsr_connection_lookup_vm (conn, "tpl");
  TsrVm *tpl2 = tsr_connection_lookup_vm (conn, "tpl2");
  TsrVm *old = tsr_connection_lookup_vm (conn, "app-old");
  TsrVm *current = tsr_connection_lookup_vm (conn, "app-new");
  TsrVm *halted = tsr_connection_lookup_vm (conn, "app-off");
  TsrVm *standalone = tsr_connection_lookup_vm (conn, "standalone");

  /* The newest committed revision, not the template's session on top. */
  g_assert_cmpuint (tsr_vm_get_revision (tpl), ==, 1);
  g_assert_cmpuint (tsr_vm_get_revision (old), ==, 0);
  g_assert_cmpuint (tsr_vm_get_revision (current), ==, 1);

  g_assert_cmpstr (tsr_vm_get_base_template (old), ==, "tpl");
  g_assert_cmpstr (tsr_vm_get_base_template (halted), ==, "tpl2");
  g_assert_null (tsr_vm_get_base_template (tpl));
  /* A StandaloneVM's template is only where its copy came from. */
  g_assert_cmpstr (tsr_vm_get_template (standalone), ==, "tpl");
  g_assert_null (tsr_vm_get_base_template (standalone));

  g_assert_true (tsr_vm_is_outdated (old, tpl));
  g_assert_false (tsr_vm_is_outdated (current, tpl));
  g_assert_false (tsr_vm_is_outdated (halted, tpl2));
  /* Only against its own template, and not without one. */
  g_assert_false (tsr_vm_is_outdated (old, tpl2));
  g_assert_false (tsr_vm_is_outdated (old, NULL));
  g_assert_false (tsr_vm_is_outdated (standalone, tpl));

  tsr_test_close_connection (conn, 10);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/private-volume/size-and-grow", test_private_size);
  g_test_add_func ("/private-volume/outdated", test_outdated);

  return g_test_run ();
}
