/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Cloning on a real libvirtd with QEMU (software emulation where KVM is not
 * usable), the Qubes way: qvm-create a VM from the fixture boot disk,
 * qvm-clone it, and boot both on the isolated test network, each with its
 * own MAC and reserved address. Then the ways a clone can end early: a
 * cancel during a large copy, a pool that runs out of space, a failure
 * after a linked clone switched its source; each must leave nothing behind
 * and the source as it was.
 *
 * Everything made here is named tsr-ct-*, and is removed at the start (what
 * an interrupted run left) and at the end.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-cloner.h"
#include "tsr-connection-private.h"
#include "tsr-error.h"
#include "tsr-test-util.h"

#define URI          "qemu:///system"
#define TEST_NETWORK "tessera-test"
#define POOL         "tessera"
#define TINY_POOL    "tsr-ct-tiny"
#define PREFIX       "tsr-ct-"

static char *workdir;
static const char *fixture_dir;
static const char *cli_dir;
static gboolean made_network;

/* Runs a CLI name from the build with --connect; returns its stdout. */
#define run_cli(name, status, err_out, ...) \
  tsr_test_run_cli (cli_dir, URI, FALSE, name, status, err_out, __VA_ARGS__)

static gboolean
exited_with (int status,
             int code)
{
  return WIFEXITED (status) && WEXITSTATUS (status) == code;
}

/* The first file disk's source of a domain. */
static char *
disk_path (virConnectPtr handle,
           const char   *name)
{
  g_autofree char *xml = tsr_test_domain_xml (handle, name, VIR_DOMAIN_XML_INACTIVE);
  const char *p = strstr (xml, "<source file='");

  g_assert_nonnull (p);
  p += strlen ("<source file='");
  return g_strndup (p, strchr (p, '\'') - p);
}

static void
unlog_serial (virConnectPtr  handle,
              const char    *name)
{
  g_autofree char *xml = tsr_test_domain_xml (handle, name, VIR_DOMAIN_XML_INACTIVE);
  const char *start = strstr (xml, "<log file=");
  g_autoptr(GString) changed = g_string_new (xml);
  virDomainPtr dom;

  if (start == NULL)
    return;
  g_string_erase (changed, start - xml, strstr (start, "/>") + 2 - start);
  dom = virDomainDefineXML (handle, changed->str);
  g_assert_nonnull (dom);
  virDomainFree (dom);
}

static char *
sha256_of (const char *path)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GMappedFile) map = g_mapped_file_new (path, FALSE, NULL);

  g_assert_nonnull (map);
  g_checksum_update (sum, (const guchar *) g_mapped_file_get_contents (map),
                     g_mapped_file_get_length (map));
  return g_strdup (g_checksum_get_string (sum));
}

/* Clean-up: everything named tsr-ct-* */

static void
release_hosts (virConnectPtr  handle,
               GHashTable    *macs)
{
  virNetworkPtr net = virNetworkLookupByName (handle, TEST_NETWORK);
  g_autofree char *xml = NULL;
  g_auto(GStrv) lines = NULL;

  virResetLastError ();
  if (net == NULL)
    return;
  xml = virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE);
  lines = g_strsplit (xml ? xml : "", "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      const char *host = strstr (lines[i], "<host mac='");
      g_autofree char *mac = host ? g_ascii_strdown (host + strlen ("<host mac='"), 17) : NULL;
      unsigned int flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;

      if (host == NULL || (strstr (host, "name='" PREFIX) == NULL &&
                           !g_hash_table_contains (macs, mac)))
        continue;
      if (virNetworkIsActive (net) == 1)
        flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
      virNetworkUpdate (net, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST,
                        -1, g_strstrip (lines[i]), flags);
    }
  virNetworkFree (net);
  virResetLastError ();
}

static void
remove_tiny_pool (virConnectPtr handle)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, TINY_POOL);
  g_autofree char *mounts = NULL;

  virResetLastError ();
  if (pool != NULL)
    {
      virStoragePoolDestroy (pool);
      virStoragePoolUndefine (pool);
      virStoragePoolFree (pool);
    }

  /* Its tmpfs, wherever an earlier run mounted it. */
  if (g_file_get_contents ("/proc/mounts", &mounts, NULL, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (mounts, "\n", -1);

      for (guint i = 0; lines[i]; i++)
        {
          g_auto(GStrv) fields = g_strsplit (lines[i], " ", 3);

          if (fields[0] && fields[1] && strstr (fields[1], "/tessera-clone-it-") != NULL)
            {
              umount2 (fields[1], MNT_DETACH);
              g_rmdir (fields[1]);
            }
        }
    }
}

static void
cleanup_everything (void)
{
  virConnectPtr handle = virConnectOpen (URI);
  g_autoptr(GHashTable) macs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  virDomainPtr *doms = NULL;
  virStoragePoolPtr pool;
  int n;

  g_assert_nonnull (handle);
  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virDomainGetName (doms[i]), PREFIX))
        {
          g_autofree char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

          for (const char *p = xml; p && (p = strstr (p, "<mac address='")) != NULL; p++)
            g_hash_table_add (macs, g_ascii_strdown (p + strlen ("<mac address='"), 17));
          if (virDomainIsActive (doms[i]) == 1)
            virDomainDestroy (doms[i]);
          if (virDomainUndefineFlags (doms[i], VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
            virDomainUndefine (doms[i]);
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  virResetLastError ();

  pool = virStoragePoolLookupByName (handle, POOL);
  if (pool != NULL)
    {
      virStorageVolPtr *vols = NULL;
      int m;

      virStoragePoolRefresh (pool, 0);
      m = virStoragePoolListAllVolumes (pool, &vols, 0);
      for (int i = 0; i < m; i++)
        {
          if (g_str_has_prefix (virStorageVolGetName (vols[i]), PREFIX))
            {
              g_autofree char *path = virStorageVolGetPath (vols[i]);

              /* Bases of linked clones are read-only. */
              g_chmod (path, 0600);
              virStorageVolDelete (vols[i], 0);
            }
          virStorageVolFree (vols[i]);
        }
      free (vols);
      virStoragePoolFree (pool);
    }
  virResetLastError ();

  release_hosts (handle, macs);
  remove_tiny_pool (handle);
  virConnectClose (handle);

  /* Work folders of interrupted runs. */
  {
    g_autoptr(GDir) dir = g_dir_open ("/var/tmp", 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name (dir)))
      {
        g_autofree char *path = g_build_filename ("/var/tmp", name, NULL);
        g_autoptr(GDir) stale = NULL;
        const char *file;

        if (!g_str_has_prefix (name, "tessera-clone-it-") || g_str_equal (path, workdir))
          continue;
        stale = g_dir_open (path, 0, NULL);
        while (stale && (file = g_dir_read_name (stale)))
          {
            g_autofree char *file_path = g_build_filename (path, file, NULL);

            g_unlink (file_path);
          }
        g_rmdir (path);
      }
  }
}

/* What a failed clone could have left: tsr-ct-* domains and volumes (in
 * libvirt's view and on disk), reservations for them.
 */
static char *
snapshot (virConnectPtr handle)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  virDomainPtr *doms = NULL;
  const char *pools[] = { POOL, TINY_POOL };
  virNetworkPtr net;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virDomainGetName (doms[i]), PREFIX))
        g_ptr_array_add (lines, g_strdup_printf ("domain %s", virDomainGetName (doms[i])));
      virDomainFree (doms[i]);
    }
  free (doms);

  for (guint p = 0; p < G_N_ELEMENTS (pools); p++)
    {
      virStoragePoolPtr pool = virStoragePoolLookupByName (handle, pools[p]);
      virStorageVolPtr *vols = NULL;
      g_autofree char *dir = NULL;
      int m;

      virResetLastError ();
      if (pool == NULL)
        continue;
      m = virStoragePoolListAllVolumes (pool, &vols, 0);
      for (int i = 0; i < m; i++)
        {
          if (g_str_has_prefix (virStorageVolGetName (vols[i]), PREFIX))
            g_ptr_array_add (lines, g_strdup_printf ("volume %s/%s", pools[p],
                                                     virStorageVolGetName (vols[i])));
          virStorageVolFree (vols[i]);
        }
      free (vols);
      virStoragePoolFree (pool);
    }

  {
    g_autoptr(GDir) dir = g_dir_open ("/var/lib/tessera/images", 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name (dir)))
      if (g_str_has_prefix (name, PREFIX))
        g_ptr_array_add (lines, g_strdup_printf ("file %s", name));
  }

  net = virNetworkLookupByName (handle, TEST_NETWORK);
  if (net != NULL)
    {
      const unsigned int flags[] = { 0, VIR_NETWORK_XML_INACTIVE };

      for (guint f = 0; f < G_N_ELEMENTS (flags); f++)
        {
          g_autofree char *xml = virNetworkGetXMLDesc (net, flags[f]);
          g_auto(GStrv) net_lines = g_strsplit (xml ? xml : "", "\n", -1);

          for (guint i = 0; net_lines[i]; i++)
            if (strstr (net_lines[i], "name='" PREFIX) != NULL)
              g_ptr_array_add (lines, g_strdup_printf ("host%u %s", f, g_strstrip (net_lines[i])));
        }
      virNetworkFree (net);
    }
  virResetLastError ();

  g_ptr_array_sort (lines, tsr_test_compare_strings);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static void
ensure_test_network (TsrConnection *conn)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  virNetworkPtr net = virNetworkLookupByName (tsr_connection_get_handle (conn), TEST_NETWORK);

  virResetLastError ();
  if (net != NULL)
    virNetworkFree (net);
  else
    made_network = TRUE;

  tsr_connection_ensure_network_async (conn, TEST_NETWORK, TRUE, NULL, tsr_test_store_result_cb, &result);
  TSR_WAIT_UNTIL (result != NULL, 60);
  g_assert_true (tsr_connection_ensure_network_finish (conn, result, &error));
  g_assert_no_error (error);
}

/* "name|mac|ip" of a VM, from qvm-ls. */
static void
mac_and_ip (const char  *name,
            char       **mac,
            char       **ip)
{
  g_autofree char *out = NULL;
  g_auto(GStrv) fields = NULL;
  int status;

  out = run_cli ("qvm-ls", &status, NULL, "--raw-data", "-O", "name,mac,ip", name, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  fields = g_strsplit (g_strstrip (out), "|", -1);
  g_assert_cmpuint (g_strv_length (fields), ==, 3);
  g_assert_cmpstr (fields[0], ==, name);
  *mac = g_strdup (fields[1]);
  *ip = g_strdup (fields[2]);
}

/* Waits until LOG shows NEEDLE. Under TCG on a busy host the guest kernel
 * now and then panics early ("IO-APIC + timer doesn't work"), which says
 * nothing about the disk it booted from: such a VM is started again, at
 * most twice.
 */
static void
wait_for_guest (const char *name,
                const char *log,
                const char *needle)
{
  gint64 end = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  guint restarts = 0;

  while (!tsr_test_file_contains (log, needle))
    {
      if (g_get_monotonic_time () > end)
        g_error ("Timed out waiting for “%s” in %s", needle, log);
      if (tsr_test_file_contains (log, "Kernel panic") && restarts < 2)
        {
          g_autofree char *out = NULL;
          int status;

          g_test_message ("%s: guest kernel panicked early (TCG timing); starting it again", name);
          restarts++;
          out = run_cli ("qvm-kill", &status, NULL, name, NULL);
          g_clear_pointer (&out, g_free);
          g_unlink (log);
          out = run_cli ("qvm-start", &status, NULL, name, NULL);
          g_assert_true (g_spawn_check_wait_status (status, NULL));
        }
      /* The connections' keepalives need their main loop. */
      while (g_main_context_iteration (NULL, FALSE));
      g_usleep (100 * 1000);
    }
}

/* A qvm-create'd VM on the fixture's boot disk, and its clone: two VMs
 * with their own MACs and addresses, the same disk contents, both boot.
 */
static void
test_full_clone (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *fixture = g_build_filename (fixture_dir, "boot-disk.img", NULL);
  g_autofree char *image = g_build_filename (workdir, "source-root.img", NULL);
  g_autofree char *src_log = g_build_filename (workdir, "src-serial.log", NULL);
  g_autofree char *dst_log = g_build_filename (workdir, "copy-serial.log", NULL);
  g_autofree char *before = NULL, *after = NULL, *out = NULL, *err = NULL;
  g_autofree char *src_mac = NULL, *src_ip = NULL, *dst_mac = NULL, *dst_ip = NULL;
  g_autofree char *src_disk = NULL, *dst_disk = NULL, *compare = NULL, *line = NULL;
  int status;

  ensure_test_network (conn);
  tsr_test_copy_file (fixture, image);
  out = run_cli ("qvm-create", &status, NULL, "--hvm", PREFIX "src", "--label", "red",
                 "--root-copy-from", image, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  before = tsr_test_domain_xml (handle, PREFIX "src", VIR_DOMAIN_XML_INACTIVE);

  out = run_cli ("qvm-clone", &status, &err, PREFIX "src", PREFIX "copy", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  /* Two VMs, different MACs and addresses, both on the test network. */
  out = run_cli ("qvm-ls", &status, NULL, "-n", PREFIX "src", PREFIX "copy", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("qvm-ls -n:\n%s", out);
  mac_and_ip (PREFIX "src", &src_mac, &src_ip);
  mac_and_ip (PREFIX "copy", &dst_mac, &dst_ip);
  g_assert_nonnull (strstr (out, PREFIX "src "));
  g_assert_nonnull (strstr (out, PREFIX "copy "));
  g_assert_nonnull (strstr (out, src_ip));
  g_assert_nonnull (strstr (out, dst_ip));
  g_assert_cmpstr (src_mac, !=, dst_mac);
  g_assert_cmpstr (src_ip, !=, dst_ip);
  g_assert_true (g_str_has_prefix (dst_ip, "10.137."));

  /* The source is as it was; the clone's disk reads the same. */
  after = tsr_test_domain_xml (handle, PREFIX "src", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (after, ==, before);
  src_disk = disk_path (handle, PREFIX "src");
  dst_disk = disk_path (handle, PREFIX "copy");
  g_assert_cmpstr (src_disk, !=, dst_disk);
  {
    const char *argv[] = { "qemu-img", "compare", "-f", "raw", "-F", "raw", src_disk, dst_disk, NULL };

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                 &compare, NULL, &status, NULL));
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (compare, "identical"));
  }

  /* Both boot from their disks, each taking its own reserved address. */
  tsr_test_log_serial (handle, PREFIX "src", src_log, TRUE);
  tsr_test_log_serial (handle, PREFIX "copy", dst_log, TRUE);
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-start", &status, NULL, PREFIX "src", PREFIX "copy", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  wait_for_guest (PREFIX "src", src_log, "TESSERA-GUEST: ready");
  wait_for_guest (PREFIX "copy", dst_log, "TESSERA-GUEST: ready");
  g_assert_true (tsr_test_file_contains (src_log, "TESSERA-GUEST: booted from disk"));
  g_assert_true (tsr_test_file_contains (dst_log, "TESSERA-GUEST: booted from disk"));
  line = g_strdup_printf ("TESSERA-GUEST: ip=%s ", src_ip);
  g_assert_true (tsr_test_file_contains (src_log, line));
  g_free (line);
  line = g_strdup_printf ("TESSERA-GUEST: ip=%s ", dst_ip);
  g_assert_true (tsr_test_file_contains (dst_log, line));
  g_free (line);
  line = g_strdup_printf ("mac=%s", dst_mac);
  g_assert_true (tsr_test_file_contains (dst_log, line));

  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, NULL, PREFIX "src", PREFIX "copy", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  unlog_serial (handle, PREFIX "src");

  tsr_test_close_connection (conn, 5);
}

/* A running source is refused, naming qvm-shutdown --wait. */
static void
test_running_refused (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *before = snapshot (handle);
  g_autofree char *after = NULL, *out = NULL, *err = NULL;
  int status;

  out = run_cli ("qvm-start", &status, NULL, PREFIX "src", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  out = run_cli ("qvm-clone", &status, &err, PREFIX "src", PREFIX "nope", NULL);
  g_assert_true (exited_with (status, 1));
  g_assert_nonnull (strstr (err, "running"));
  g_assert_nonnull (strstr (err, "qvm-shutdown --wait " PREFIX "src"));
  g_clear_pointer (&out, g_free);

  out = run_cli ("qvm-kill", &status, NULL, PREFIX "src", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);
  tsr_test_close_connection (conn, 5);
}

/* qvm-clone --linked: both VMs on fresh overlays over the source's former
 * disk, which nobody writes any more; a write in one is not seen in the
 * other; both boot.
 */
static void
test_linked_clone (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *src_log = g_build_filename (workdir, "lsrc-serial.log", NULL);
  g_autofree char *dst_log = g_build_filename (workdir, "lnk-serial.log", NULL);
  g_autofree char *marker = g_build_filename (workdir, "marker.bin", NULL);
  g_autofree char *base = disk_path (handle, PREFIX "src");
  g_autofree char *base_sum = sha256_of (base);
  g_autofree char *out = NULL, *err = NULL, *src_xml = NULL, *dst_xml = NULL;
  g_autofree char *src_overlay = NULL, *dst_overlay = NULL, *src_ip = NULL, *src_mac = NULL;
  g_autofree char *dst_ip = NULL, *dst_mac = NULL, *line = NULL, *after_sum = NULL;
  g_auto(GStrv) src_bases = NULL;
  g_auto(GStrv) dst_bases = NULL;
  char block[64] = "linked-clone-write";
  struct stat st;
  gint64 start;
  int status;

  start = g_get_monotonic_time ();
  out = run_cli ("qvm-clone", &status, &err, "--linked", PREFIX "src", PREFIX "lnk", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("qvm-clone --linked took %.3f s (connecting included)",
                  (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  g_clear_pointer (&out, g_free);

  src_overlay = disk_path (handle, PREFIX "src");
  dst_overlay = disk_path (handle, PREFIX "lnk");
  g_assert_cmpstr (src_overlay, !=, base);
  g_assert_cmpstr (dst_overlay, !=, base);
  g_assert_true (g_str_has_suffix (src_overlay, ".qcow2"));
  g_assert_true (g_str_has_suffix (dst_overlay, ".qcow2"));

  /* The base is read-only, and both VMs say they use it. */
  g_assert_cmpint (g_stat (base, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0222, ==, 0);
  src_xml = tsr_test_domain_xml (handle, PREFIX "src", VIR_DOMAIN_XML_INACTIVE);
  dst_xml = tsr_test_domain_xml (handle, PREFIX "lnk", VIR_DOMAIN_XML_INACTIVE);
  src_bases = tsr_domain_xml_linked_bases (src_xml);
  dst_bases = tsr_domain_xml_linked_bases (dst_xml);
  g_assert_true (g_strv_contains ((const char * const *) src_bases, base));
  g_assert_true (g_strv_contains ((const char * const *) dst_bases, base));

  /* A write into the clone, offline, where the guest reads its marker. */
  g_assert_true (g_file_set_contents (marker, block, sizeof block, NULL));
  {
    g_autofree char *cmd = g_strdup_printf ("qemu-io -f qcow2 -c 'write -q -s %s 1M 64' %s",
                                            marker, dst_overlay);

    tsr_test_run_command (cmd);
  }

  mac_and_ip (PREFIX "src", &src_mac, &src_ip);
  mac_and_ip (PREFIX "lnk", &dst_mac, &dst_ip);
  g_assert_cmpstr (src_mac, !=, dst_mac);
  g_assert_cmpstr (src_ip, !=, dst_ip);

  tsr_test_log_serial (handle, PREFIX "src", src_log, TRUE);
  tsr_test_log_serial (handle, PREFIX "lnk", dst_log, TRUE);
  out = run_cli ("qvm-start", &status, NULL, PREFIX "src", PREFIX "lnk", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  wait_for_guest (PREFIX "src", src_log, "TESSERA-GUEST: ready");
  wait_for_guest (PREFIX "lnk", dst_log, "TESSERA-GUEST: ready");
  g_assert_true (tsr_test_file_contains (src_log, "TESSERA-GUEST: booted from disk"));
  g_assert_true (tsr_test_file_contains (dst_log, "TESSERA-GUEST: booted from disk"));
  g_assert_true (tsr_test_file_contains (dst_log, "TESSERA-GUEST: disk-marker=linked-clone-write"));
  g_assert_true (tsr_test_file_contains (src_log, "TESSERA-GUEST: disk-marker="));
  g_assert_false (tsr_test_file_contains (src_log, "linked-clone-write"));
  line = g_strdup_printf ("TESSERA-GUEST: ip=%s ", src_ip);
  g_assert_true (tsr_test_file_contains (src_log, line));
  g_free (line);
  line = g_strdup_printf ("TESSERA-GUEST: ip=%s ", dst_ip);
  g_assert_true (tsr_test_file_contains (dst_log, line));

  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, NULL, PREFIX "src", PREFIX "lnk", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  /* Neither VM wrote into the base. */
  after_sum = sha256_of (base);
  g_assert_cmpstr (after_sum, ==, base_sum);
  unlog_serial (handle, PREFIX "src");

  tsr_test_close_connection (conn, 5);
}

/* A linked clone that fails after switching its source: the source is
 * switched back, its overlays are gone, its base is writable again.
 */
static void
test_linked_rollback (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *before = snapshot (handle);
  g_autofree char *xml_before = tsr_test_domain_xml (handle, PREFIX "copy", VIR_DOMAIN_XML_INACTIVE);
  g_autofree char *disk = disk_path (handle, PREFIX "copy");
  g_autofree char *after = NULL, *xml_after = NULL, *name = NULL;
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (PREFIX "doomed");
  g_autoptr(GError) error = NULL;
  struct stat st_before, st_after;

  g_assert_cmpint (g_stat (disk, &st_before), ==, 0);
  spec->linked = TRUE;
  name = tsr_test_clone_failing_at_define (conn, PREFIX "copy", spec, 120, &error);
  g_assert_null (name);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_FAILED);

  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);
  xml_after = tsr_test_domain_xml (handle, PREFIX "copy", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (xml_after, ==, xml_before);
  g_assert_cmpint (g_stat (disk, &st_after), ==, 0);
  g_assert_cmpint (st_after.st_mode, ==, st_before.st_mode);

  tsr_test_close_connection (conn, 5);
}

typedef struct
{
  GCancellable *cancellable;
  guint64       done_at_cancel;
  gboolean      cancelled;
} CancelAt;

static void
cancel_progress_cb (guint64     done,
                    guint64     total,
                    const char *stage,
                    gpointer    user_data)
{
  CancelAt *at = user_data;

  /* Some data copied, most of it still to come. */
  if (!at->cancelled && total > 0 && done > 0 && g_str_has_prefix (stage, "Copying"))
    {
      at->done_at_cancel = done;
      at->cancelled = TRUE;
      g_cancellable_cancel (at->cancellable);
    }
}

static void
write_urandom (const char *path,
               off_t       offset,
               gsize       len)
{
  int in = open ("/dev/urandom", O_RDONLY);
  int out = open (path, O_WRONLY);
  g_autofree char *buf = g_malloc (1024 * 1024);

  g_assert_cmpint (in, >=, 0);
  g_assert_cmpint (out, >=, 0);
  for (gsize done = 0; done < len; done += 1024 * 1024)
    {
      g_assert_cmpint (read (in, buf, 1024 * 1024), ==, 1024 * 1024);
      g_assert_cmpint (pwrite (out, buf, 1024 * 1024, offset + done), ==, 1024 * 1024);
    }
  close (in);
  close (out);
}

/* A 4 GiB disk holding 1 GiB: a cancel during its copy, through the API
 * and with Ctrl+C on qvm-clone, leaves nothing.
 */
static void
test_cancel (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *image = g_build_filename (workdir, "big.img", NULL);
  g_autofree char *before = NULL, *after = NULL, *xml_before = NULL, *xml_after = NULL;
  g_autofree char *out = NULL, *name = NULL;
  g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (PREFIX "big-copy");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  CancelAt at = { cancellable, 0, FALSE };
  TsrVm *vm;
  int fd, status;

  fd = open (image, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, (off_t) 4 << 30), ==, 0);
  close (fd);
  {
    g_autofree char *dd = g_strdup_printf ("dd if=/dev/urandom of=%s bs=1M count=1024 seek=1024 "
                                           "conv=notrunc status=none", image);

    tsr_test_run_command (dd);
  }
  out = run_cli ("qvm-create", &status, NULL, "--hvm", PREFIX "big", "--label", "orange",
                 "--root-move-from", image, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);
  TSR_WAIT_UNTIL ((vm = tsr_connection_lookup_vm (conn, PREFIX "big")) != NULL, 30);

  before = snapshot (handle);
  xml_before = tsr_test_domain_xml (handle, PREFIX "big", VIR_DOMAIN_XML_INACTIVE);

  tsr_connection_clone_vm_async (conn, vm, spec, cancel_progress_cb, &at, cancellable,
                                 tsr_test_store_result_cb, &result);
  TSR_WAIT_UNTIL (result != NULL, 300);
  name = tsr_connection_clone_vm_finish (conn, result, NULL, &error);
  g_assert_null (name);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (at.cancelled);
  g_assert_cmpuint (at.done_at_cancel, <, (guint64) 1 << 30);
  g_test_message ("cancelled at %" G_GUINT64_FORMAT " bytes: %s", at.done_at_cancel, error->message);
  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);
  xml_after = tsr_test_domain_xml (handle, PREFIX "big", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (xml_after, ==, xml_before);
  g_clear_object (&result);

  /* Ctrl+C on qvm-clone as soon as its volume exists. */
  {
    g_autofree char *argv0 = g_build_filename (cli_dir, "qvm-clone", NULL);
    const char *argv[] = { argv0, "--connect=" URI, PREFIX "big", PREFIX "big-int", NULL };
    const char *vol = "/var/lib/tessera/images/" PREFIX "big-int-root.img";
    g_autoptr(GError) spawn_error = NULL;
    gint64 end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    GPid pid;

    g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                  G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &spawn_error));
    g_assert_no_error (spawn_error);
    while (!g_file_test (vol, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < end)
      g_usleep (2000);
    g_assert_true (g_file_test (vol, G_FILE_TEST_EXISTS));
    kill (pid, SIGINT);
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_spawn_close_pid (pid);
    g_assert_true (exited_with (status, 1));
  }
  g_clear_pointer (&after, g_free);
  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);

  tsr_test_close_connection (conn, 5);
}

/* A pool on a 64 MiB tmpfs: a copy that runs out of space there fails
 * with a clear error and leaves nothing; once libvirt knows the pool is
 * full, the clone is refused before copying; the source still boots.
 */
static void
test_no_space (void)
{
  TsrConnection *conn = tsr_test_open_connection (URI, 120);
  virConnectPtr handle = tsr_connection_get_handle (conn);
  g_autofree char *fixture = g_build_filename (fixture_dir, "boot-disk.img", NULL);
  g_autofree char *image = g_build_filename (workdir, "ns-root.img", NULL);
  g_autofree char *tiny = g_build_filename (workdir, "tiny", NULL);
  g_autofree char *filler = g_build_filename (tiny, "filler", NULL);
  g_autofree char *log = g_build_filename (workdir, "ns-serial.log", NULL);
  g_autofree char *pool_xml = NULL, *before = NULL, *after = NULL, *xml_before = NULL;
  g_autofree char *xml_after = NULL, *out = NULL, *err = NULL;
  virStoragePoolPtr pool;
  int fd, status;

  /* The boot disk, with 40 MiB more data: about 50 MiB to copy. */
  tsr_test_copy_file (fixture, image);
  g_assert_cmpint (truncate (image, 128 * 1024 * 1024), ==, 0);
  write_urandom (image, 64 * 1024 * 1024, 40 * 1024 * 1024);
  out = run_cli ("qvm-create", &status, NULL, "--hvm", PREFIX "ns", "--label", "yellow",
                 "--root-copy-from", image, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (g_mkdir (tiny, 0755), ==, 0);
  /* Large enough for the disk (a raw disk larger than its pool is refused
   * before anything is copied: /clone/disk-size), too full for its data.
   */
  g_assert_cmpint (mount ("tmpfs", tiny, "tmpfs", 0, "size=160M,mode=0755"), ==, 0);
  pool_xml = g_strdup_printf ("<pool type='dir'><name>" TINY_POOL "</name>"
                              "<target><path>%s</path></target></pool>", tiny);
  pool = virStoragePoolDefineXML (handle, pool_xml, 0);
  g_assert_nonnull (pool);
  g_assert_cmpint (virStoragePoolCreate (pool, 0), ==, 0);

  /* Something else fills the pool behind libvirt's back. */
  fd = open (filler, O_WRONLY | O_CREAT, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (posix_fallocate (fd, 0, 136 * 1024 * 1024), ==, 0);
  close (fd);

  before = snapshot (handle);
  xml_before = tsr_test_domain_xml (handle, PREFIX "ns", VIR_DOMAIN_XML_INACTIVE);
  out = run_cli ("qvm-clone", &status, &err, "-P", TINY_POOL, PREFIX "ns", PREFIX "ns-copy", NULL);
  g_assert_true (exited_with (status, 1));
  g_assert_nonnull (strstr (err, "ran out of space"));
  g_assert_nonnull (strstr (err, TINY_POOL));
  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);
  {
    g_autoptr(GDir) dir = g_dir_open (tiny, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_cmpstr (name, ==, "filler");
  }

  /* Now libvirt knows: refused up front. */
  g_assert_cmpint (virStoragePoolRefresh (pool, 0), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  out = run_cli ("qvm-clone", &status, &err, "-P", TINY_POOL, PREFIX "ns", PREFIX "ns-copy", NULL);
  g_assert_true (exited_with (status, 1));
  g_assert_nonnull (strstr (err, "free, but the clone"));
  g_clear_pointer (&after, g_free);
  after = snapshot (handle);
  g_assert_cmpstr (after, ==, before);

  xml_after = tsr_test_domain_xml (handle, PREFIX "ns", VIR_DOMAIN_XML_INACTIVE);
  g_assert_cmpstr (xml_after, ==, xml_before);

  /* The source still boots. */
  tsr_test_log_serial (handle, PREFIX "ns", log, TRUE);
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-start", &status, NULL, PREFIX "ns", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  wait_for_guest (PREFIX "ns", log, "TESSERA-GUEST: booted from disk");
  g_clear_pointer (&out, g_free);
  out = run_cli ("qvm-kill", &status, NULL, PREFIX "ns", NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  virStoragePoolDestroy (pool);
  virStoragePoolUndefine (pool);
  virStoragePoolFree (pool);
  g_assert_cmpint (umount2 (tiny, MNT_DETACH), ==, 0);
  g_rmdir (tiny);
  tsr_test_close_connection (conn, 5);
}

/* What the tests made can all be removed: nothing is left behind. */
static void
test_nothing_left (void)
{
  virConnectPtr handle;
  g_autofree char *left = NULL;

  cleanup_everything ();
  handle = virConnectOpen (URI);
  left = snapshot (handle);
  g_assert_cmpstr (left, ==, "");
  virConnectClose (handle);
}

/* The test network, if this run made it. */
static void
remove_test_network (void)
{
  virConnectPtr handle;
  virNetworkPtr net;

  if (!made_network)
    return;
  handle = virConnectOpen (URI);
  net = virNetworkLookupByName (handle, TEST_NETWORK);
  if (net != NULL)
    {
      virNetworkDestroy (net);
      virNetworkUndefine (net);
      virNetworkFree (net);
    }
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
  /* libvirt leaves SIGPIPE to the application. */
  signal (SIGPIPE, SIG_IGN);

  fixture_dir = g_getenv ("TESSERA_FIXTURE_DIR");
  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (fixture_dir);
  g_assert_nonnull (cli_dir);

  /* QEMU may run as another user: the guests' files live in a folder it
   * can read and write.
   */
  workdir = g_strdup ("/var/tmp/tessera-clone-it-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  g_chmod (workdir, 0777);
  /* VMs made with the Qubes commands join the isolated test network. */
  g_setenv ("TESSERA_DEFAULT_NETVM", TEST_NETWORK, TRUE);

  /* What an interrupted earlier run left goes first. */
  cleanup_everything ();

  /* Sub-suites run in the order they are added. */
  g_test_add_func ("/clone-it/full/qvm-clone-and-boot", test_full_clone);
  g_test_add_func ("/clone-it/full/source-running", test_running_refused);
  g_test_add_func ("/clone-it/linked/qvm-clone-and-boot", test_linked_clone);
  g_test_add_func ("/clone-it/linked/rollback", test_linked_rollback);
  g_test_add_func ("/clone-it/cancel/large-sparse-disk", test_cancel);
  g_test_add_func ("/clone-it/no-space/tmpfs-pool", test_no_space);
  g_test_add_func ("/clone-it/zz/nothing-left", test_nothing_left);

  ret = g_test_run ();

  cleanup_everything ();
  remove_test_network ();
  tsr_test_remove_flat_dir (workdir);

  return ret;
}
