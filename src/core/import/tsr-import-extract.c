/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/statvfs.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "tsr-archive.h"
#include "tsr-error.h"
#include "tsr-import-private.h"

/* Temporary files (compressed .zip members) */

static const char *
temp_base (void)
{
  const char *env = g_getenv ("TMPDIR");

  /* /tmp is often in memory: disk images go to /var/tmp. */
  return env && *env ? env : "/var/tmp";
}

/* The import's temporary folder, made on first use, with room for SIZE. */
static gboolean
ensure_temp_dir (TsrImportInfo  *info,
                 const char     *display,
                 guint64         size,
                 GError        **error)
{
  struct statvfs fs;

  if (info->temp_dir == NULL)
    {
      g_autofree char *tmpl = g_build_filename (temp_base (), "tessera-import-XXXXXX", NULL);

      if (g_mkdtemp (tmpl) == NULL)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Could not make a temporary folder in %s to unpack “%s”: %s. Set "
                         "TMPDIR to a folder with room."), temp_base (), display,
                       g_strerror (saved));
          return FALSE;
        }
      info->temp_dir = g_steal_pointer (&tmpl);
    }

  if (statvfs (info->temp_dir, &fs) == 0 && (guint64) fs.f_bavail * fs.f_frsize < size)
    {
      g_autofree char *need = g_format_size_full (size, G_FORMAT_SIZE_IEC_UNITS);
      g_autofree char *have = g_format_size_full ((guint64) fs.f_bavail * fs.f_frsize,
                                                  G_FORMAT_SIZE_IEC_UNITS);

      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED,
                   _("Unpacking “%s” needs %s of temporary space but %s has %s free: set "
                     "TMPDIR to a folder with room, or unzip it yourself."), display, need,
                   temp_base (), have);
      return FALSE;
    }
  return TRUE;
}

/* Writes LEN bytes of BUF at OFFSET of FD, leaving blocks of zeros as
 * holes so that a raw image stays sparse.
 */
static gboolean
write_sparse (int            fd,
              const guint8  *buf,
              gsize          len,
              guint64        offset,
              const char    *path,
              GError       **error)
{
  for (gsize off = 0; off < len; off += 4096)
    {
      gsize block = MIN (4096, len - off);
      gboolean zero = TRUE;

      for (gsize i = 0; i < block && zero; i++)
        zero = buf[off + i] == 0;
      if (zero)
        continue;
      if (pwrite (fd, buf + off, block, offset + off) != (ssize_t) block)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Could not write “%s”: %s"), path, g_strerror (saved));
          return FALSE;
        }
    }
  return TRUE;
}

/* Inflates MEMBER of ARCHIVE into FD (the file PATH). */
static gboolean
inflate_member (const char              *archive,
                const TsrArchiveMember  *member,
                const char              *display,
                int                      fd,
                const char              *path,
                TsrProgress             *progress,
                GCancellable            *cancellable,
                GError                 **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (archive);
  g_autoptr(GFileInputStream) in = NULL;
  g_autoptr(GInputStream) inflated = NULL;
  g_autoptr(GZlibDecompressor) zlib = NULL;
  g_autofree char *stage = NULL;
  g_autofree guint8 *buf = NULL;
  guint64 written = 0;

  in = g_file_read (file, cancellable, error);
  if (in == NULL || !g_seekable_seek (G_SEEKABLE (in), member->offset, G_SEEK_SET, cancellable, error))
    return FALSE;
  zlib = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_RAW);
  inflated = g_converter_input_stream_new (G_INPUT_STREAM (in), G_CONVERTER (zlib));
  stage = g_strdup_printf (_("Unpacking %s"), display);
  buf = g_malloc (1024 * 1024);

  for (;;)
    {
      gsize n = 0;

      if (!g_input_stream_read_all (inflated, buf, 1024 * 1024, &n, cancellable, error))
        return FALSE;
      if (n == 0)
        break;
      if (written + n > member->full_size)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("“%s” is damaged: it unpacks to more than the size the zip archive "
                         "gives. Copy or download it again."), display);
          return FALSE;
        }
      if (!write_sparse (fd, buf, n, written, path, error))
        return FALSE;
      written += n;
      tsr_progress_report (progress, written, member->full_size, stage, FALSE);
    }

  if (written != member->full_size || ftruncate (fd, written) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is damaged: it unpacks to a different size than the zip archive "
                     "gives. Copy or download it again."), display);
      return FALSE;
    }
  tsr_progress_report (progress, written, member->full_size, stage, TRUE);
  return TRUE;
}

char *
tsr_import_extract_member (TsrImportInfo           *info,
                           const char              *archive,
                           const TsrArchiveMember  *member,
                           const char              *display,
                           TsrProgress             *progress,
                           GCancellable            *cancellable,
                           GError                 **error)
{
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  gboolean ok;
  int fd;

  if (member->method != 8)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” is compressed with a method Tessera cannot read (%u): unzip it "
                     "first and import what it holds."), display, member->method);
      return NULL;
    }
  if (!ensure_temp_dir (info, display, member->full_size, error))
    return NULL;

  /* Members of different folders may share a name; their offsets differ. */
  base = g_strdup_printf ("%" G_GUINT64_FORMAT "-%s", member->offset,
                          strrchr (member->name, '/') ? strrchr (member->name, '/') + 1 : member->name);
  path = g_build_filename (info->temp_dir, base, NULL);
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not write “%s”: %s"), path, g_strerror (saved));
      return NULL;
    }

  ok = inflate_member (archive, member, display, fd, path, progress, cancellable, error);
  close (fd);
  if (!ok)
    {
      g_unlink (path);
      return NULL;
    }
  info->temp_size += member->full_size;
  return g_steal_pointer (&path);
}
