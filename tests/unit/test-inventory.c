/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The inventory on libvirt's test driver: networks, pools, their ISO
 * volumes, and the host's optical drives from a made-up device folder.
 */
#include "config.h"

#include <unistd.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>

#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-inventory.h"
#include "tsr-test-util.h"

#define WAIT_UNTIL(cond) TSR_WAIT_UNTIL (cond, 10)

static TsrInventory *
get_inventory (TsrConnection  *conn,
               GCancellable   *cancellable,
               GError        **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  tsr_connection_get_inventory_async (conn, cancellable, tsr_test_store_result_cb, &result);
  WAIT_UNTIL (result != NULL);
  return tsr_connection_get_inventory_finish (conn, result, error);
}

static void
add_volume (TsrConnection *conn,
            const char    *pool_name,
            const char    *name)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (tsr_connection_get_handle (conn), pool_name);
  g_autofree char *xml = g_strdup_printf ("<volume><name>%s</name>"
                                          "<capacity unit='MiB'>4</capacity></volume>", name);
  virStorageVolPtr vol;

  g_assert_nonnull (pool);
  vol = virStorageVolCreateXML (pool, xml, 0);
  g_assert_nonnull (vol);
  virStorageVolFree (vol);
  virStoragePoolFree (pool);
}

static void
test_inventory (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;
  TsrInventoryVolume *volume;

  add_volume (conn, "default-pool", "installer.iso");
  add_volume (conn, "default-pool", "Debian-12.ISO");
  add_volume (conn, "default-pool", "some-vm-root.qcow2");

  inventory = get_inventory (conn, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (inventory);

  g_assert_cmpuint (g_strv_length (inventory->networks), ==, 1);
  g_assert_cmpstr (inventory->networks[0], ==, "tessera-unit");
  /* The test driver brings its own "default-pool" besides the node file's. */
  g_assert_true (g_strv_contains ((const char * const *) inventory->pools, "default-pool"));

  /* Only the ISO-looking volumes, sorted, in the media syntax. */
  g_assert_cmpuint (inventory->volumes->len, ==, 2);
  volume = g_ptr_array_index (inventory->volumes, 0);
  g_assert_cmpstr (volume->name, ==, "Debian-12.ISO");
  volume = g_ptr_array_index (inventory->volumes, 1);
  g_assert_cmpstr (volume->pool, ==, "default-pool");
  g_assert_cmpstr (volume->name, ==, "installer.iso");
  g_assert_cmpstr (volume->media, ==, "default-pool:installer.iso");
  g_assert_cmpstr (volume->path, ==, "/default-pool/installer.iso");
  g_assert_cmpuint (volume->capacity, ==, 4 * 1024 * 1024);
  g_assert_nonnull (inventory->drives);

  tsr_test_close_connection (conn, 2);
}

static void
test_cancelled (void)
{
  TsrConnection *conn = tsr_test_open_node (10);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  inventory = get_inventory (conn, cancellable, &error);
  g_assert_null (inventory);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  tsr_test_close_connection (conn, 2);
}

static void
test_disconnected (void)
{
  TsrConnection *conn = tsr_connection_new ("test:///default");
  g_autoptr(TsrInventory) inventory = NULL;
  g_autoptr(GError) error = NULL;

  inventory = get_inventory (conn, NULL, &error);
  g_assert_null (inventory);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CONNECTION);

  g_object_unref (conn);
}

static void
test_drives (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("tessera-dev-XXXXXX", &error);
  g_autofree char *sr0 = g_build_filename (dir, "sr0", NULL);
  g_autofree char *sr1 = g_build_filename (dir, "sr1", NULL);
  g_autofree char *cdrom = g_build_filename (dir, "cdrom", NULL);
  g_autofree char *dvd = g_build_filename (dir, "dvd", NULL);
  g_autofree char *sda = g_build_filename (dir, "sda", NULL);
  g_auto(GStrv) drives = NULL;

  g_assert_no_error (error);

  /* No drives: an empty list, not NULL. */
  drives = tsr_host_list_optical_drives (dir);
  g_assert_nonnull (drives);
  g_assert_cmpuint (g_strv_length (drives), ==, 0);
  g_clear_pointer (&drives, g_strfreev);

  if (!g_file_test ("/dev/loop0", G_FILE_TEST_EXISTS) ||
      !g_file_test ("/dev/loop1", G_FILE_TEST_EXISTS))
    {
      g_rmdir (dir);
      g_test_skip ("No /dev/loop0 and /dev/loop1 to stand in for optical drives");
      return;
    }

  /* Block devices named sr*, and aliases only when they are not links to
   * one listed already; a regular file called sr1 is no drive.
   */
  g_assert_cmpint (symlink ("/dev/loop0", sr0), ==, 0);
  g_assert_cmpint (symlink ("sr0", cdrom), ==, 0);
  g_assert_cmpint (symlink ("/dev/loop1", dvd), ==, 0);
  g_assert_cmpint (symlink ("/dev/loop1", sda), ==, 0);
  g_file_set_contents (sr1, "", -1, &error);
  g_assert_no_error (error);

  drives = tsr_host_list_optical_drives (dir);
  g_assert_cmpuint (g_strv_length (drives), ==, 2);
  g_assert_cmpstr (drives[0], ==, dvd);
  g_assert_cmpstr (drives[1], ==, sr0);

  g_unlink (sr0);
  g_unlink (sr1);
  g_unlink (cdrom);
  g_unlink (dvd);
  g_unlink (sda);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tsr_init ();

  g_test_add_func ("/inventory/list", test_inventory);
  g_test_add_func ("/inventory/cancelled", test_cancelled);
  g_test_add_func ("/inventory/disconnected", test_disconnected);
  g_test_add_func ("/inventory/drives", test_drives);

  return g_test_run ();
}
