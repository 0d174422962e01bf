/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Failures injected into every asynchronous operation of the core, on a
 * real libvirtd with QEMU (issue 13): the network a VM uses stopped, the
 * target pool missing or unable to start, the domain undefined behind
 * Tessera's back between the lookup and the call, and libvirtd killed
 * before the call and, through the journal's TESSERA_TEST_PAUSE_AT, during
 * one. Each failure must say libvirt's reason or Tessera's own words (the
 * name of what is wrong and what to do), never that the cause is unknown,
 * and leave the host as it was: no domain, volume, reservation or intent
 * record of the operation left.
 *
 * Everything made here is named inj-*: the isolated network inj-net (no
 * <forward>), the pool inj-pool (defined, never startable), the VM inj-base
 * and its volume in the pool "tessera". They are removed at the start (what
 * an interrupted run left) and at the end.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tsr-connection-private.h"
#include "tsr-domain-uses.h"
#include "tsr-error.h"
#include "tsr-import.h"
#include "tsr-remover.h"
#include "tsr-test-util.h"

#define URI     "qemu:///system"
#define PREFIX  "inj-"
#define NETWORK PREFIX "net"
#define BASE    PREFIX "base"
#define NEW     PREFIX "new"
#define POOL    "tessera"
#define BROKEN_POOL  PREFIX "pool"
#define MISSING_POOL PREFIX "nopool"
#define MISSING_NET  PREFIX "nonet"
#define RESERVE_MAC  "52:54:00:1e:13:13"
#define WAIT(cond) TSR_WAIT_UNTIL (cond, 120)

static char *workdir;
static char *journal_dir;
static const char *cli_dir;
static virConnectPtr handle;
static TsrConnection *conn;
static char *media;
static TsrImportInfo *import_info;
static char *base_xml;

typedef enum
{
  OP_OPEN,
  OP_CREATE,
  OP_START,
  OP_START_MEDIA,
  OP_SHUTDOWN,
  OP_FORCE_OFF,
  OP_SETTINGS,
  OP_RENAME,
  OP_CLONE,
  OP_LINKED,
  OP_IMPORT,
  OP_REMOVE,
  OP_RESERVE,
} Op;

static const char *op_names[] = {
  "open", "create", "start", "start-media", "shutdown", "force-off", "settings", "rename",
  "clone", "linked-clone", "import", "remove", "reserve",
};

typedef enum
{
  INJ_NET_DOWN,      /* inj-net destroyed (virsh net-destroy) */
  INJ_NET_MISSING,   /* a network that does not exist */
  INJ_POOL_MISSING,  /* a pool that does not exist */
  INJ_POOL_BROKEN,   /* a pool that is inactive and cannot start */
  INJ_VANISHED,      /* inj-base undefined between lookup and call */
  INJ_KILLED,        /* libvirtd killed just before the call */
} Injection;

static const char *injection_names[] = {
  "network stopped", "network missing", "pool missing", "pool cannot start",
  "domain vanished", "libvirtd killed",
};

typedef struct
{
  Op          op;
  Injection   inj;
  /* Each must be in the message (NULL-terminated, at most 3). When
   * libvirtd was killed: the URI (not connected) or "libvirtd" (what to
   * do), whichever Tessera noticed first.
   */
  const char *expect[4];
} Case;

static const Case cases[] = {
  { OP_OPEN, INJ_KILLED, { "libvirtd is not running", URI } },

  { OP_CREATE, INJ_NET_MISSING, { MISSING_NET } },
  { OP_CREATE, INJ_POOL_MISSING, { MISSING_POOL } },
  { OP_CREATE, INJ_POOL_BROKEN, { BROKEN_POOL, "No such file" } },
  /* Defining needs no running network (starting does, below): create,
   * clone and import with inj-net stopped work, and are not listed.
   */
  { OP_CREATE, INJ_KILLED },

  { OP_START, INJ_NET_DOWN, { NETWORK, "not active" } },
  { OP_START, INJ_VANISHED, { "no domain" } },
  { OP_START, INJ_KILLED },

  { OP_START_MEDIA, INJ_NET_DOWN, { NETWORK, "not active" } },
  { OP_START_MEDIA, INJ_VANISHED, { "no domain", BASE } },
  { OP_START_MEDIA, INJ_KILLED },

  /* These two with inj-base running: it vanishes by virsh destroy and
   * undefine.
   */
  { OP_SHUTDOWN, INJ_VANISHED, { "no domain", BASE } },
  { OP_SHUTDOWN, INJ_KILLED },
  { OP_FORCE_OFF, INJ_VANISHED, { "no domain", BASE } },
  { OP_FORCE_OFF, INJ_KILLED },

  { OP_SETTINGS, INJ_NET_MISSING, { MISSING_NET } },
  { OP_SETTINGS, INJ_VANISHED, { "no domain", BASE } },
  { OP_SETTINGS, INJ_KILLED },

  { OP_RENAME, INJ_VANISHED, { "no domain", BASE } },
  { OP_RENAME, INJ_KILLED },

  { OP_CLONE, INJ_POOL_MISSING, { MISSING_POOL } },
  { OP_CLONE, INJ_POOL_BROKEN, { BROKEN_POOL, "No such file" } },
  { OP_CLONE, INJ_VANISHED, { "no domain" } },
  { OP_CLONE, INJ_KILLED },
  { OP_LINKED, INJ_POOL_MISSING, { MISSING_POOL } },
  { OP_LINKED, INJ_VANISHED, { "no domain" } },
  { OP_LINKED, INJ_KILLED },

  { OP_IMPORT, INJ_NET_MISSING, { MISSING_NET } },
  { OP_IMPORT, INJ_POOL_MISSING, { MISSING_POOL } },
  { OP_IMPORT, INJ_POOL_BROKEN, { BROKEN_POOL, "No such file" } },
  { OP_IMPORT, INJ_KILLED },

  { OP_REMOVE, INJ_VANISHED, { "gone already", "qvm-ls" } },
  { OP_REMOVE, INJ_KILLED },

  { OP_RESERVE, INJ_NET_MISSING, { MISSING_NET, "not found" } },
  { OP_RESERVE, INJ_KILLED },
};

/* The host: what the test holds of its own */

/* NULL before Tessera first made its default pool. */
static virStoragePoolPtr
test_pool (void)
{
  virStoragePoolPtr pool = virStoragePoolLookupByName (handle, POOL);

  if (pool != NULL)
    virStoragePoolRefresh (pool, 0);
  virResetLastError ();
  return pool;
}

/* Domains (with their XML), volumes, reservations on inj-net and intent
 * records, one per line: equal when the host is as it was.
 */
static char *
snapshot (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(virStoragePool) pool = test_pool ();
  g_autoptr(virNetwork) net = virNetworkLookupByName (handle, NETWORK);
  g_autofree char *net_xml = net ? virNetworkGetXMLDesc (net, VIR_NETWORK_XML_INACTIVE) : NULL;
  g_autoptr(TsrNetworkInfo) info = net_xml ? tsr_network_info_new_from_xml (net_xml, NULL)
                                           : NULL;
  g_autoptr(GDir) dir = g_dir_open (journal_dir, 0, NULL);
  virDomainPtr *doms = NULL;
  virStorageVolPtr *vols = NULL;
  const char *entry;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virDomainGetName (doms[i]), PREFIX))
        {
          g_autofree char *xml = virDomainGetXMLDesc (doms[i], VIR_DOMAIN_XML_INACTIVE);

          g_string_append_printf (out, "domain %s\n%s\n", virDomainGetName (doms[i]), xml);
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  n = pool ? virStoragePoolListAllVolumes (pool, &vols, 0) : 0;
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virStorageVolGetName (vols[i]), PREFIX))
        g_string_append_printf (out, "volume %s\n", virStorageVolGetName (vols[i]));
      virStorageVolFree (vols[i]);
    }
  free (vols);
  for (guint i = 0; info != NULL && i < info->hosts->len; i++)
    {
      TsrDhcpHost *host = g_ptr_array_index (info->hosts, i);

      g_string_append_printf (out, "host %s %s\n", host->mac, host->ip);
    }
  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    g_string_append_printf (out, "record %s\n", entry);
  virResetLastError ();
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
cleanup_everything (void)
{
  g_autoptr(virStoragePool) pool = test_pool ();
  virDomainPtr *doms = NULL;
  virStorageVolPtr *vols = NULL;
  virNetworkPtr net;
  virStoragePoolPtr broken;
  int n;

  n = virConnectListAllDomains (handle, &doms, 0);
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virDomainGetName (doms[i]), PREFIX))
        {
          if (virDomainIsActive (doms[i]) == 1)
            virDomainDestroy (doms[i]);
          if (virDomainUndefineFlags (doms[i], VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
            virDomainUndefine (doms[i]);
        }
      virDomainFree (doms[i]);
    }
  free (doms);
  n = pool ? virStoragePoolListAllVolumes (pool, &vols, 0) : 0;
  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virStorageVolGetName (vols[i]), PREFIX))
        virStorageVolDelete (vols[i], 0);
      virStorageVolFree (vols[i]);
    }
  free (vols);
  if ((net = virNetworkLookupByName (handle, NETWORK)) != NULL)
    {
      if (virNetworkIsActive (net) == 1)
        virNetworkDestroy (net);
      virNetworkUndefine (net);
      virNetworkFree (net);
    }
  if ((broken = virStoragePoolLookupByName (handle, BROKEN_POOL)) != NULL)
    {
      if (virStoragePoolIsActive (broken) == 1)
        virStoragePoolDestroy (broken);
      virStoragePoolUndefine (broken);
      virStoragePoolFree (broken);
    }
  virResetLastError ();
}

/* libvirtd, killed and started again. By its pid file: another libvirtd
 * (in a chroot, say) may run beside the system's, and is not ours to kill.
 */

static pid_t
libvirtd_pid (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/run/libvirtd.pid", &text, NULL, NULL))
    return 0;
  return (pid_t) atoi (text);
}

static gboolean
libvirtd_running (void)
{
  pid_t pid = libvirtd_pid ();
  g_autofree char *proc_root = g_strdup_printf ("/proc/%d/root", (int) pid);
  g_autofree char *root = pid > 1 ? g_file_read_link (proc_root, NULL) : NULL;

  return pid > 1 && kill (pid, 0) == 0 && g_strcmp0 (root, "/") == 0;
}

static void
kill_libvirtd (void)
{
  pid_t pid = libvirtd_pid ();

  g_assert_true (libvirtd_running ());
  virConnectClose (handle);
  handle = NULL;
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  TSR_POLL_UNTIL (kill (pid, 0) != 0, 30);
}

static void
start_libvirtd (void)
{
  tsr_test_run_command ("libvirtd -d");
  for (guint i = 0; i < 300 && (handle = virConnectOpen (URI)) == NULL; i++)
    g_usleep (100 * 1000);
  g_assert_nonnull (handle);
  virResetLastError ();
}

/* libvirtd 9.0 sometimes crashes as a killed client's connection goes
 * (test-remove.c): started again, and said so.
 */
static void
restart_libvirtd_if_crashed (void)
{
  if (libvirtd_running ())
    return;
  g_test_message ("libvirtd crashed as a connection went; started again");
  if (handle != NULL)
    virConnectClose (handle);
  start_libvirtd ();
}

/* The fixtures */

static void
define_network (void)
{
  const char *xml =
    "<network><name>" NETWORK "</name>"
    "<ip address='10.213.13.1' netmask='255.255.255.0'>"
    "<dhcp><range start='10.213.13.2' end='10.213.13.254'/></dhcp></ip></network>";
  virNetworkPtr net = virNetworkDefineXML (handle, xml);

  g_assert_nonnull (net);
  g_assert_cmpint (virNetworkCreate (net), ==, 0);
  virNetworkFree (net);
}

static void
define_broken_pool (void)
{
  g_autofree char *xml = g_strdup_printf ("<pool type='dir'><name>" BROKEN_POOL "</name>"
                                          "<target><path>%s/no-such-folder</path></target>"
                                          "</pool>", workdir);
  virStoragePoolPtr pool = virStoragePoolDefineXML (handle, xml, 0);

  g_assert_nonnull (pool);
  virStoragePoolFree (pool);
}

static void
set_network_active (gboolean active)
{
  g_autoptr(virNetwork) net = virNetworkLookupByName (handle, NETWORK);

  g_assert_nonnull (net);
  if (active && virNetworkIsActive (net) != 1)
    g_assert_cmpint (virNetworkCreate (net), ==, 0);
  else if (!active && virNetworkIsActive (net) == 1)
    g_assert_cmpint (virNetworkDestroy (net), ==, 0);
}

static void
wait_connected (void)
{
  WAIT (tsr_connection_get_state (conn) == TSR_CONNECTION_STATE_CONNECTED &&
        tsr_connection_get_loaded (conn));
}

static void
create_base (void)
{
  g_autoptr(TsrCreateSpec) spec = tsr_create_spec_new (BASE);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  g_free (spec->netvm);
  spec->netvm = g_strdup (NETWORK);
  spec->disk_size = 64 * 1024 * 1024;
  spec->memory = 128;
  spec->vcpus = 1;
  spec->set = TSR_SPEC_SET_ALL;
  tsr_connection_create_vm_async (conn, spec, NULL, NULL, NULL, tsr_test_store_result_cb,
                                  &result);
  name = tsr_connection_create_vm_finish (conn, tsr_test_wait_result (&result, 120), NULL,
                                          &error);
  g_assert_no_error (error);
  WAIT (tsr_connection_lookup_vm (conn, BASE) != NULL);
  base_xml = tsr_test_domain_xml (handle, BASE, VIR_DOMAIN_XML_INACTIVE);
}

/* What an operation that worked made: inj-new's volumes. */
static void
remove_new_volumes (void)
{
  g_autoptr(virStoragePool) pool = test_pool ();
  virStorageVolPtr *vols = NULL;
  int n = pool ? virStoragePoolListAllVolumes (pool, &vols, 0) : 0;

  for (int i = 0; i < n; i++)
    {
      if (g_str_has_prefix (virStorageVolGetName (vols[i]), NEW))
        virStorageVolDelete (vols[i], 0);
      virStorageVolFree (vols[i]);
    }
  free (vols);
  virResetLastError ();
}

/* Puts inj-base back as it was defined (a vanished one is defined again
 * from its saved XML, its volume never went), removes inj-new, starts
 * inj-net.
 */
static void
reset_host (void)
{
  virDomainPtr dom;

  restart_libvirtd_if_crashed ();
  set_network_active (TRUE);
  tsr_test_remove_domain (handle, NEW);
  remove_new_volumes ();
  if ((dom = virDomainLookupByName (handle, BASE)) == NULL)
    {
      virResetLastError ();
      dom = virDomainDefineXML (handle, base_xml);
      g_assert_nonnull (dom);
    }
  else if (virDomainIsActive (dom) == 1)
    virDomainDestroy (dom);
  virDomainFree (dom);
  wait_connected ();
  WAIT (tsr_connection_lookup_vm (conn, BASE) != NULL);
}

/* The operations */

static TsrCreateSpec *
new_spec (Injection inj)
{
  TsrCreateSpec *spec = tsr_create_spec_new (NEW);

  g_free (spec->netvm);
  spec->netvm = g_strdup (inj == INJ_NET_MISSING ? MISSING_NET : NETWORK);
  if (inj == INJ_POOL_MISSING || inj == INJ_POOL_BROKEN)
    {
      g_free (spec->pool);
      spec->pool = g_strdup (inj == INJ_POOL_MISSING ? MISSING_POOL : BROKEN_POOL);
    }
  spec->disk_size = 64 * 1024 * 1024;
  spec->memory = 128;
  spec->vcpus = 1;
  spec->set = TSR_SPEC_SET_ALL;
  return spec;
}

static gboolean
set_one_pref (TsrVm       *vm,
              const char  *name,
              const char  *value,
              GError     **error)
{
  g_autoptr(GHashTable) changes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GAsyncResult) result = NULL;

  g_hash_table_insert (changes, (gpointer) name, (gpointer) value);
  tsr_connection_set_prefs_async (conn, vm, changes, TSR_PREFS_NONE, NULL,
                                  tsr_test_store_result_cb, &result);
  return tsr_connection_set_prefs_finish (conn, tsr_test_wait_result (&result, 120), NULL, NULL,
                                          error);
}

/* Runs OP with INJ's arguments on VM (inj-base, looked up before the
 * failure was injected); whether it worked.
 */
static gboolean
run_op (Op          op,
        Injection   inj,
        TsrVm      *vm,
        GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *name = NULL;

  switch (op)
    {
    case OP_OPEN:
      {
        g_autoptr(TsrConnection) other = tsr_connection_new (URI);
        gboolean ok;

        tsr_connection_open_async (other, NULL, tsr_test_store_result_cb, &result);
        ok = tsr_connection_open_finish (other, tsr_test_wait_result (&result, 120), error);
        tsr_connection_close (other);
        return ok;
      }
    case OP_CREATE:
      {
        g_autoptr(TsrCreateSpec) spec = new_spec (inj);

        tsr_connection_create_vm_async (conn, spec, NULL, NULL, NULL, tsr_test_store_result_cb,
                                        &result);
        name = tsr_connection_create_vm_finish (conn, tsr_test_wait_result (&result, 120), NULL,
                                                error);
        return name != NULL;
      }
    case OP_START:
      tsr_connection_start_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
      return tsr_connection_start_vm_finish (conn, tsr_test_wait_result (&result, 120), error);
    case OP_START_MEDIA:
      tsr_connection_start_vm_with_media_async (conn, vm, media, NULL, tsr_test_store_result_cb,
                                                &result);
      return tsr_connection_start_vm_with_media_finish (conn, tsr_test_wait_result (&result, 120),
                                                        error);
    case OP_SHUTDOWN:
      tsr_connection_shutdown_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
      return tsr_connection_shutdown_vm_finish (conn, tsr_test_wait_result (&result, 120), error);
    case OP_FORCE_OFF:
      tsr_connection_force_off_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
      return tsr_connection_force_off_vm_finish (conn, tsr_test_wait_result (&result, 120),
                                                 error);
    case OP_SETTINGS:
      if (inj == INJ_NET_MISSING)
        return set_one_pref (vm, "netvm", MISSING_NET, error);
      return set_one_pref (vm, "memory", "256", error);
    case OP_RENAME:
      return set_one_pref (vm, "name", NEW, error);
    case OP_CLONE:
    case OP_LINKED:
      {
        g_autoptr(TsrCloneSpec) spec = tsr_clone_spec_new (NEW);

        spec->linked = op == OP_LINKED;
        if (inj == INJ_POOL_MISSING || inj == INJ_POOL_BROKEN)
          spec->pool = g_strdup (inj == INJ_POOL_MISSING ? MISSING_POOL : BROKEN_POOL);
        tsr_connection_clone_vm_async (conn, vm, spec, NULL, NULL, NULL,
                                       tsr_test_store_result_cb, &result);
        name = tsr_connection_clone_vm_finish (conn, tsr_test_wait_result (&result, 120), NULL,
                                               error);
        return name != NULL;
      }
    case OP_IMPORT:
      {
        g_autoptr(TsrCreateSpec) spec = new_spec (inj);

        tsr_connection_import_async (conn, import_info, spec, TSR_IMPORT_FLAGS_NONE, NULL, NULL,
                                     NULL, tsr_test_store_result_cb, &result);
        name = tsr_connection_import_finish (conn, tsr_test_wait_result (&result, 120), NULL,
                                             error);
        return name != NULL;
      }
    case OP_REMOVE:
      {
        g_autoptr(TsrRemovalPlan) plan = NULL;

        tsr_connection_remove_vm_async (conn, vm, NULL, tsr_test_store_result_cb, &result);
        plan = tsr_connection_remove_vm_finish (conn, tsr_test_wait_result (&result, 120), error);
        return plan != NULL;
      }
    case OP_RESERVE:
      tsr_connection_reserve_address_async (conn, inj == INJ_NET_MISSING ? MISSING_NET : NETWORK,
                                            RESERVE_MAC, NEW, NULL, tsr_test_store_result_cb,
                                            &result);
      name = tsr_connection_reserve_address_finish (conn, tsr_test_wait_result (&result, 120),
                                                    error);
      return name != NULL;
    }
  g_assert_not_reached ();
}

static void
inject (Injection inj)
{
  switch (inj)
    {
    case INJ_NET_DOWN:
      set_network_active (FALSE);
      break;
    case INJ_VANISHED:
      {
        g_autoptr(virDomain) dom = virDomainLookupByName (handle, BASE);

        g_assert_nonnull (dom);
        g_assert_cmpint (virDomainUndefineFlags (dom, VIR_DOMAIN_UNDEFINE_NVRAM), ==, 0);
        if (virDomainIsActive (dom) == 1)
          g_assert_cmpint (virDomainDestroy (dom), ==, 0);
        break;
      }
    case INJ_KILLED:
      kill_libvirtd ();
      break;
    case INJ_NET_MISSING:
    case INJ_POOL_MISSING:
    case INJ_POOL_BROKEN:
      break;
    }
}

static gboolean
says_unknown (const char *message)
{
  return strstr (message, "unknown libvirt error") != NULL ||
         strstr (message, "the cause is unknown") != NULL ||
         strstr (message, "unknown error") != NULL;
}

static void
test_matrix (void)
{
  g_autoptr(GString) table = g_string_new ("\noperation     failure            time   message\n");
  g_autoptr(GString) wrong = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(TsrVm) vm = NULL;
      g_autofree char *before = NULL, *after = NULL;
      gint64 start;
      gboolean ok;

      reset_host ();
      before = snapshot ();
      vm = g_object_ref (tsr_connection_lookup_vm (conn, BASE));
      if (c->op == OP_SHUTDOWN || c->op == OP_FORCE_OFF)
        {
          g_autoptr(virDomain) dom = virDomainLookupByName (handle, BASE);

          TsrVm *now;

          g_assert_cmpint (virDomainCreate (dom), ==, 0);
          /* By the list's row for it: a list loaded again after a
           * reconnect has new ones.
           */
          WAIT ((now = tsr_connection_lookup_vm (conn, BASE)) != NULL &&
                tsr_vm_get_state (now) == TSR_VM_STATE_RUNNING);
          g_set_object (&vm, now);
        }
      g_test_message ("%s, %s", op_names[c->op], injection_names[c->inj]);
      start = g_get_monotonic_time ();
      inject (c->inj);
      ok = run_op (c->op, c->inj, vm, &error);
      g_string_append_printf (table, "%-13s %-18s %4.1fs  %s\n", op_names[c->op],
                              injection_names[c->inj],
                              (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC,
                              ok ? "(it worked)" : error->message);
      if (c->inj == INJ_KILLED)
        start_libvirtd ();
      if (c->inj == INJ_VANISHED && !ok)
        {
          /* Defined again from the saved XML: the comparison is of the
           * rest of the host.
           */
          g_autoptr(virDomain) again = virDomainLookupByName (handle, BASE);

          virResetLastError ();
          if (again != NULL)
            g_string_append_printf (wrong, "%s, %s: the vanished VM was defined again; ",
                                    op_names[c->op], injection_names[c->inj]);
        }
      reset_host ();
      after = snapshot ();

      if (ok)
        {
          g_string_append_printf (wrong, "%s, %s: it worked; ", op_names[c->op],
                                  injection_names[c->inj]);
          continue;
        }
      if (says_unknown (error->message))
        g_string_append_printf (wrong, "%s, %s: no reason: %s; ", op_names[c->op],
                                injection_names[c->inj], error->message);
      if (c->inj == INJ_KILLED && strstr (error->message, URI) == NULL &&
          strstr (error->message, "libvirtd") == NULL)
        g_string_append_printf (wrong, "%s, %s: neither the URI nor libvirtd in “%s”; ",
                                op_names[c->op], injection_names[c->inj], error->message);
      for (guint k = 0; c->expect[k] != NULL; k++)
        if (strstr (error->message, c->expect[k]) == NULL)
          g_string_append_printf (wrong, "%s, %s: “%s” not in “%s”; ", op_names[c->op],
                                  injection_names[c->inj], c->expect[k], error->message);
      if (!g_str_equal (before, after))
        g_string_append_printf (wrong, "%s, %s: the host changed:\n%s\n→\n%s\n",
                                op_names[c->op], injection_names[c->inj], before, after);
    }

  g_test_message ("%s", table->str);
  /* Not fatal: the tear-down still removes what the test made. */
  if (wrong->len > 0)
    {
      g_test_message ("wrong: %s", wrong->str);
      g_test_fail ();
    }
}

/* libvirtd killed during an operation: the command stops at a step of its
 * journal (TESSERA_TEST_PAUSE_AT), libvirtd is killed and started again,
 * and the command goes on against its dead connection. It fails with
 * libvirt's reason and what to do, and the next Tessera leaves the host as
 * it was.
 */
typedef struct
{
  const char *step;
  const char *argv[8];   /* after the CLI folder; "@image" is the image */
} During;

static const During during[] = {
  { "create:volume", { "qvm-create", "--label", "red", NEW } },
  { "clone:disk-0", { "qvm-clone", BASE, NEW } },
  { "import:disk-0", { "tessera-cli", "import", "--quiet", "--name", NEW, "@image" } },
};

static char *import_image;

static void
run_killed_during (const During *d)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) rest = g_string_new (NULL);
  g_autofree char *before = NULL, *after = NULL, *line = NULL, *out = NULL, *err = NULL;
  g_autofree char *want = g_strdup_printf ("tessera: paused at %s", d->step);
  g_autofree char *cli = g_build_filename (cli_dir, d->argv[0], NULL);
  g_auto(GStrv) argv = NULL;
  int status;

  g_strv_builder_add (b, cli);
  for (guint i = 1; d->argv[i] != NULL; i++)
    g_strv_builder_add (b, g_str_equal (d->argv[i], "@image") ? import_image : d->argv[i]);
  argv = g_strv_builder_end (b);

  reset_host ();
  before = snapshot ();
  g_subprocess_launcher_setenv (launcher, "TESSERA_TEST_PAUSE_AT", d->step, TRUE);
  g_subprocess_launcher_setenv (launcher, "TESSERA_URI", URI, TRUE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL &&
         !g_str_equal (line, want))
    g_clear_pointer (&line, g_free);
  g_assert_cmpstr (line, ==, want);
  kill_libvirtd ();
  start_libvirtd ();
  kill (atoi (g_subprocess_get_identifier (proc)), SIGCONT);
  while ((line = (g_free (line), g_data_input_stream_read_line (in, NULL, NULL, NULL))) != NULL)
    g_string_append_printf (rest, "%s\n", line);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s, libvirtd killed at %s: %s", argv[0], d->step, rest->str);
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), !=, 0);
  /* libvirtd to start (the call failed), or the URI not connected (the
   * command noticed first). Not fatal: the host is still checked.
   */
  if (says_unknown (rest->str) ||
      (strstr (rest->str, "libvirtd") == NULL && strstr (rest->str, URI) == NULL))
    {
      g_test_message ("wrong: at %s, no reason or no remedy: %s", d->step, rest->str);
      g_test_fail ();
    }

  /* The next Tessera rolls it back. */
  restart_libvirtd_if_crashed ();
  out = tsr_test_run_cli (cli_dir, URI, FALSE, "qvm-ls", &status, &err, NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  wait_connected ();
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
}

static void
test_killed_during (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (during); i++)
    run_killed_during (&during[i]);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *command = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  tsr_test_ensure_libvirtd ();
  tsr_init ();
  signal (SIGPIPE, SIG_IGN);

  cli_dir = g_getenv ("TESSERA_CLI_DIR");
  g_assert_nonnull (cli_dir);
  workdir = g_strdup ("/var/tmp/tessera-inj-XXXXXX");
  g_assert_nonnull (g_mkdtemp_full (workdir, 0755));
  g_chmod (workdir, 0777);
  journal_dir = g_build_filename (workdir, "journal", NULL);
  g_mkdir (journal_dir, 0777);
  g_setenv ("TESSERA_JOURNAL_DIR", journal_dir, TRUE);
  g_setenv ("TESSERA_DEFAULT_NETVM", NETWORK, TRUE);

  handle = virConnectOpen (URI);
  g_assert_nonnull (handle);
  cleanup_everything ();
  define_network ();
  define_broken_pool ();

  media = tsr_test_make_iso (workdir, "INJ_INSTALL", NULL);
  import_image = g_build_filename (workdir, PREFIX "appliance.qcow2", NULL);
  command = g_strdup_printf ("qemu-img create -q -f qcow2 %s 32M", import_image);
  tsr_test_run_command (command);
  tsr_import_inspect_async (import_image, NULL, NULL, NULL, tsr_test_store_result_cb, &result);
  import_info = tsr_import_inspect_finish (tsr_test_wait_result (&result, 60), &error);
  g_assert_no_error (error);

  conn = tsr_test_open_connection (URI, 120);
  tsr_connection_set_reconnect_delays (conn, 200, 1000);
  create_base ();

  g_test_add_func ("/failures/matrix", test_matrix);
  g_test_add_func ("/failures/killed-during", test_killed_during);

  ret = g_test_run ();

  restart_libvirtd_if_crashed ();
  tsr_test_close_connection (conn, 30);
  g_clear_pointer (&import_info, tsr_import_info_unref);
  cleanup_everything ();
  virConnectClose (handle);
  g_unlink (import_image);
  g_free (import_image);
  g_unlink (media);
  g_free (media);
  g_free (base_xml);
  tsr_test_remove_flat_dir (journal_dir);
  tsr_test_remove_flat_dir (workdir);
  return ret;
}
