/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include <glib/gi18n-lib.h>

#include "tsr-error.h"
#include "tsr-libvirt-private.h"

typedef struct
{
  virConnectPtr        conn;
  TsrConnPrepareFunc   prepare;
  gpointer             data;
} CloseJob;

static void
close_job_run (gpointer job_data,
               gpointer unused)
{
  CloseJob *job = job_data;

  if (job->prepare != NULL)
    job->prepare (job->conn, job->data);
  virConnectClose (job->conn);
  g_free (job);
}

/* Dropping the last reference closes the connection, which on a remote
 * URI is a round trip to a daemon that may be gone. The caller cannot
 * know whether its reference is the last one, nor, from a GDestroyNotify,
 * on which thread it runs, so the release always happens here.
 */
void
tsr_conn_release_full (virConnectPtr       conn,
                       TsrConnPrepareFunc  prepare,
                       gpointer            data)
{
  static gsize created = 0;
  static GThreadPool *closer = NULL;
  CloseJob *job;

  if (conn == NULL)
    return;

  if (g_once_init_enter (&created))
    {
      closer = g_thread_pool_new (close_job_run, NULL, 2, FALSE, NULL);
      g_once_init_leave (&created, 1);
    }

  job = g_new0 (CloseJob, 1);
  job->conn = conn;
  job->prepare = prepare;
  job->data = data;
  g_thread_pool_push (closer, job, NULL);
}

void
tsr_conn_release (virConnectPtr conn)
{
  tsr_conn_release_full (conn, NULL, NULL);
}

/* libvirt URIs name a host only for remote connections: qemu:///system and
 * test:///default are local, qemu+ssh://host/system is not.
 */
gboolean
tsr_uri_is_local (const char *uri)
{
  g_autoptr(GUri) parsed = NULL;
  const char *host;

  if (uri == NULL)
    return FALSE;
  parsed = g_uri_parse (uri, G_URI_FLAGS_NON_DNS, NULL);
  if (parsed == NULL)
    return FALSE;
  host = g_uri_get_host (parsed);
  return host == NULL || *host == '\0';
}

virDomainPtr
tsr_domain_lookup_by_uuid (virConnectPtr   conn,
                           const char     *uuid,
                           const char     *name,
                           GError        **error)
{
  virDomainPtr dom = virDomainLookupByUUIDString (conn, uuid);

  if (dom == NULL)
    {
      gboolean missing = tsr_error_last_is_not_found ();
      g_autofree char *what = NULL;

      if (name != NULL)
        what = missing ? g_strdup_printf (_("Could not find “%s”"), name)
                       : g_strdup_printf (_("Could not look up “%s”"), name);
      tsr_error_set_from_libvirt (error, what ? what : _("Could not find the VM"));
    }
  return dom;
}

virNetworkPtr
tsr_network_lookup_by_name (virConnectPtr   conn,
                            const char     *name,
                            GError        **error)
{
  virNetworkPtr net = virNetworkLookupByName (conn, name);

  if (net == NULL)
    {
      g_autofree char *what = tsr_error_last_is_not_found ()
                              ? g_strdup_printf (_("Could not find the network “%s”"), name)
                              : g_strdup_printf (_("Could not look up the network “%s”"), name);

      tsr_error_set_from_libvirt (error, what);
    }
  return net;
}

/* Local locks */

int
tsr_local_lock_acquire (const char *key)
{
  const char *dir = g_file_test ("/run/lock", G_FILE_TEST_IS_DIR) ? "/run/lock" : "/tmp";
  g_autofree char *path = g_strdup_printf ("%s/tessera-%s.lock", dir, key);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);

  if (fd < 0)
    return -1;
  /* Whoever made it, every account may lock it (the umask took bits). */
  fchmod (fd, 0666);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      {
        close (fd);
        return -1;
      }
  return fd;
}

int
tsr_local_lock_name (const char *name)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, name, -1);
  g_autofree char *key = g_strconcat ("name-", hash, NULL);

  return tsr_local_lock_acquire (key);
}

void
tsr_local_lock_release (int fd)
{
  if (fd < 0)
    return;
  flock (fd, LOCK_UN);
  close (fd);
}
