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

/* What libvirt moves per stream message: larger pieces make its stream
 * slower, not faster (1 GiB of data: 1.0 s in 256 KiB pieces, 5.8 s in
 * 1 MiB ones, 11.8 s in 16 MiB ones, on the machine of the README's
 * figures).
 */
#define UPLOAD_PIECE (256 * 1024)

static gboolean
upload_cancelled (Upload *up)
{
  up->cancelled = g_cancellable_is_cancelled (up->cancellable);
  return up->cancelled;
}

/* Sends the data from the offset up to END, in pieces. */
static gboolean
send_data (virStreamPtr  stream,
           Upload       *up,
           char         *buf,
           guint64       end)
{
  while (up->offset < end)
    {
      gsize want = MIN (UPLOAD_PIECE, end - up->offset);
      ssize_t got;

      if (upload_cancelled (up))
        return FALSE;
      do
        got = pread (up->fd, buf, want, up->offset);
      while (got < 0 && errno == EINTR);
      if (got <= 0)
        {
          up->read_errno = got < 0 ? errno : EIO;
          return FALSE;
        }
      for (ssize_t done = 0; done < got;)
        {
          int sent = virStreamSend (stream, buf + done, got - done);

          if (sent < 0)
            return FALSE;
          done += sent;
        }
      up->offset += got;
      upload_report (up);
    }
  return TRUE;
}

/* The whole file: its data sections as data, its holes as holes
 * (SEEK_DATA / SEEK_HOLE), so a sparse 20 GiB image sends only its data.
 */
static gboolean
send_all (virStreamPtr  stream,
          Upload       *up)
{
  g_autofree char *buf = g_malloc (UPLOAD_PIECE);

  while (up->offset < up->size)
    {
      off_t data = lseek (up->fd, up->offset, SEEK_DATA);
      off_t hole;

      if (upload_cancelled (up))
        return FALSE;
      if (data < 0 && errno == ENXIO)
        data = up->size;                     /* a hole up to the end */
      else if (data < 0)
        data = up->offset;                   /* no SEEK_DATA here: all data */
      if ((guint64) data > up->offset)
        {
          if (virStreamSendHole (stream, data - up->offset, 0) < 0)
            return FALSE;
          up->offset = data;
          upload_report (up);
          continue;
        }
      hole = lseek (up->fd, up->offset, SEEK_HOLE);
      if (hole < 0 || (guint64) hole > up->size)
        hole = up->size;
      if (!send_data (stream, up, buf, hole))
        return FALSE;
    }
  return TRUE;
}

static gboolean
send_file (virConnectPtr   conn,
           virStorageVolPtr vol,
           Upload         *up,
           const char     *path,
           GError        **error)
{
  g_autoptr(virStream) stream = virStreamNew (conn, 0);

  if (stream == NULL ||
      virStorageVolUpload (vol, stream, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0)
    {
      tsr_error_set_from_libvirt (error, _("Could not start sending the image to libvirt"));
      return FALSE;
    }

  if (send_all (stream, up) && virStreamFinish (stream) == 0)
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
