/* SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libvirt/virterror.h>

#include "tsr-error.h"
#include "tsr-libvirt-private.h"
#include "tsr-libvirt.h"
#include "tsr-storage-private.h"
#include "tsr-xml-private.h"

/* Writing a pool's files: directly where this process may, else through
 * libvirt. An ordinary desktop user in the "libvirt" group may manage
 * qemu:///system but not write /var/lib/...: for them an image goes into
 * a new volume as a libvirt stream (virStorageVolUpload), holes skipped,
 * and libvirtd writes the file. Everything here blocks and runs in workers.
 */

/* Route */

gboolean
tsr_storage_route_is_local (virConnectPtr       conn,
                            virStoragePoolPtr   pool,
                            char              **reason)
{
  g_autofree char *uri = virConnectGetURI (conn);
  g_autofree char *dir = tsr_storage_pool_dir (pool);
  const char *forced = g_getenv ("TESSERA_STORAGE_ROUTE");

  virResetLastError ();
  if (forced != NULL && g_str_equal (forced, "stream"))
    {
      *reason = g_strdup (_("TESSERA_STORAGE_ROUTE=stream"));
      return FALSE;
    }
  if (uri == NULL || !tsr_uri_is_local (uri))
    {
      *reason = g_strdup_printf (_("%s is not on this computer"), uri ? uri : "?");
      return FALSE;
    }
  /* Only a refusal sends the data through libvirt: a folder that is not
   * on this machine at all (the test driver's pools) takes the direct
   * route, which says what is wrong.
   */
  if (dir != NULL && g_access (dir, W_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM))
    {
      *reason = g_strdup_printf (_("this account may not write into %s"), dir);
      return FALSE;
    }
  *reason = g_strdup_printf (_("this account may write into %s"), dir ? dir : "?");
  return TRUE;
}

/* Upload */

typedef struct
{
  int            fd;
  guint64        size;
  guint64        offset;
  TsrProgress   *progress;
  const char    *stage;
  guint64        done_before;
  guint64        total;
  GCancellable  *cancellable;
  gboolean       cancelled;
  int            read_errno;
} Upload;

static void
upload_report (Upload *up)
{
  tsr_progress_report (up->progress, up->done_before + up->offset, up->total, up->stage, FALSE);
}

static int
send_cb (virStreamPtr  stream,
         char         *buf,
         size_t        nbytes,
         void         *opaque)
{
  Upload *up = opaque;
  ssize_t got;

  if (g_cancellable_is_cancelled (up->cancellable))
    {
      up->cancelled = TRUE;
      return -1;
    }
  do
    got = read (up->fd, buf, nbytes);
  while (got < 0 && errno == EINTR);
  if (got < 0)
    {
      up->read_errno = errno;
      return -1;
    }
  up->offset += got;
  upload_report (up);
  return got;
}

/* Whether the file is in data or in a hole at the current offset, and for
 * how long (SEEK_DATA / SEEK_HOLE, as libvirt's own virFileInData).
 */
static int
hole_cb (virStreamPtr  stream,
         int          *in_data,
         long long    *length,
         void         *opaque)
{
  Upload *up = opaque;
  off_t cur = up->offset, next;

  if (cur >= (off_t) up->size)
    {
      *in_data = 0;
      *length = 0;
      return 0;
    }

  next = lseek (up->fd, cur, SEEK_DATA);
  if (next < 0 && errno == ENXIO)
    {
      /* Only a hole up to the end. */
      *in_data = 0;
      *length = up->size - cur;
    }
  else if (next < 0)
    {
      /* No SEEK_DATA here: all of it is data. */
      *in_data = 1;
      *length = up->size - cur;
    }
  else if (next > cur)
    {
      *in_data = 0;
      *length = next - cur;
    }
  else
    {
      next = lseek (up->fd, cur, SEEK_HOLE);
      *in_data = 1;
      *length = (next < 0 ? (off_t) up->size : next) - cur;
    }
  if (lseek (up->fd, cur, SEEK_SET) < 0)
    {
      up->read_errno = errno;
      return -1;
    }
  return 0;
}

static int
skip_cb (virStreamPtr  stream,
         long long     length,
         void         *opaque)
{
  Upload *up = opaque;

  if (g_cancellable_is_cancelled (up->cancellable))
    {
      up->cancelled = TRUE;
      return -1;
    }
  if (lseek (up->fd, length, SEEK_CUR) < 0)
    {
      up->read_errno = errno;
      return -1;
    }
  up->offset += length;
  upload_report (up);
  return 0;
}

static gboolean
send_file (virConnectPtr   conn,
           virStorageVolPtr vol,
           Upload         *up,
           const char     *path,
           GError        **error)
{
  g_autoptr(virStream) stream = virStreamNew (conn, 0);
  int rc;

  if (stream == NULL ||
      virStorageVolUpload (vol, stream, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not start sending the image to libvirt"));
      return FALSE;
    }

  rc = virStreamSparseSendAll (stream, send_cb, hole_cb, skip_cb, up);
  if (rc == 0 && virStreamFinish (stream) == 0)
    return TRUE;

  if (up->cancelled)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Cancelled"));
  else if (up->read_errno != 0)
    g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _("Could not read “%s”: %s"), path,
                 g_strerror (up->read_errno));
  else
    tsr_error_set_from_libvirt (error, _("Sending the image to libvirt failed"));
  virStreamAbort (stream);
  virResetLastError ();
  return FALSE;
}

/* After the upload libvirt looks at the file again: it must be what was
 * sent, the format and the size the user's side read.
 */
static gboolean
verify_volume (virStoragePoolPtr  pool,
               virStorageVolPtr  *vol,
               const char        *name,
               const char        *format,
               guint64            virtual_size,
               GError           **error)
{
  g_autofree char *xml = NULL;
  g_autofree char *seen_format = NULL;
  virStorageVolInfo info;

  virStoragePoolRefresh (pool, 0);
  virStorageVolFree (*vol);
  *vol = virStorageVolLookupByName (pool, name);
  if (*vol == NULL || virStorageVolGetInfo (*vol, &info) < 0 ||
      !(xml = virStorageVolGetXMLDesc (*vol, 0)))
    {
      tsr_error_set_from_libvirt (error, _("The uploaded volume could not be read back"));
      return FALSE;
    }
  seen_format = tsr_xml_volume_format (xml);
  if (g_strcmp0 (seen_format, format) != 0 || info.capacity != virtual_size)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("The uploaded volume “%s” is not what was sent (libvirt sees a %s "
                     "image of %" G_GUINT64_FORMAT " bytes, expected %s of %" G_GUINT64_FORMAT
                     "): it was removed. Try again; if it happens again, report it."),
                   name, seen_format ? seen_format : "?", (guint64) info.capacity, format,
                   virtual_size);
      return FALSE;
    }
  return TRUE;
}

virStorageVolPtr
tsr_storage_upload_image (const TsrUpload  *request,
                          GError          **error)
{
  g_autofree char *xml = NULL;
  g_autoptr(GError) local_error = NULL;
  virStorageVolPtr vol;
  struct stat st;
  Upload up = { -1 };

  up.fd = g_open (request->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (up.fd < 0 || fstat (up.fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Could not open “%s”: %s"), request->path,
                   up.fd < 0 ? g_strerror (errno) : _("not a regular file"));
      if (up.fd >= 0)
        close (up.fd);
      return NULL;
    }
  up.size = st.st_size;
  up.progress = request->progress;
  up.stage = request->stage;
  up.done_before = request->done_before;
  up.total = request->total ? request->total : up.size;
  up.cancellable = request->cancellable;

  /* An empty raw file: what arrives is the whole image, whatever its
   * format, and libvirt reads the format back from it afterwards.
   */
  xml = tsr_storage_volume_xml (request->name, 0, "raw");
  vol = virStorageVolCreateXML (request->pool, xml, 0);
  if (vol == NULL)
    {
      g_autofree char *what = g_strdup_printf (_("Could not create the volume “%s”"),
                                               request->name);

      tsr_error_set_from_libvirt (error, what);
      close (up.fd);
      return NULL;
    }

  tsr_progress_report (up.progress, up.done_before, up.total, up.stage, TRUE);
  if (!send_file (request->conn, vol, &up, request->path, &local_error) ||
      !verify_volume (request->pool, &vol, request->name, request->format,
                      request->virtual_size, &local_error))
    {
      close (up.fd);
      if (vol != NULL)
        {
          virStorageVolDelete (vol, 0);
          virStorageVolFree (vol);
        }
      virResetLastError ();
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  close (up.fd);
  tsr_progress_report (up.progress, up.done_before + up.size, up.total, up.stage, TRUE);
  return vol;
}
