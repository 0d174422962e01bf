/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "tsr-appliance-name.h"
#include "tsr-archive.h"
#include "tsr-error.h"
#include "tsr-image-sniff.h"
#include "tsr-import-private.h"
#include "tsr-ovf.h"
#include "tsr-qemu-img.h"
#include "tsr-storage-private.h"
#include "tsr-task-steps.h"
#include "tsr-threads.h"

/* Inspecting an import's input: its format, its OVF and its disks' headers, without
 * reading the disks themselves (see tsr-import.c).
 */

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define QCOW2_BLANK_OVERHEAD (2 * MIB)

/* Reading the input */

typedef struct
{
  int         fd;
  guint64     base;
  guint64     size;
  const char *display;
} FileView;

static gboolean
view_read_at (gpointer   user_data,
              guint64    offset,
              void      *buf,
              gsize      len,
              GError   **error)
{
  FileView *view = user_data;
  guint8 *p = buf;

  if (offset > view->size || len > view->size - offset)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is truncated: copy or download it again."), view->display);
      return FALSE;
    }

  while (len > 0)
    {
      ssize_t n = pread (view->fd, p, len, view->base + offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;

          if (n == 0)
            g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                         _("“%s” is truncated: copy or download it again."), view->display);
          else
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                         _("Could not read “%s”: %s"), view->display, g_strerror (saved));
          return FALSE;
        }
      p += n;
      len -= n;
      offset += n;
    }
  return TRUE;
}

/* Where qemu reads a disk from: a whole file, or SIZE bytes at OFFSET in
 * one (a member of an archive).
 */
typedef struct
{
  const char *path;
  guint64     offset;
  guint64     size;
  gboolean    whole;
} Region;

static char *
region_filename (const Region *region,
                 const char   *format)
{
  return tsr_qemu_img_region_filename (format, region->path, region->whole, region->offset,
                                       region->size);
}

/* qemu-img */

/* qemu-img's refusal (TSR_ERROR_FAILED) said in terms of the disk. */
static void
set_qemu_img_error (GError     **error,
                    GError      *local_error,
                    const char  *display)
{
  const char *colon;

  if (!g_error_matches (local_error, TSR_ERROR, TSR_ERROR_FAILED))
    {
      g_propagate_error (error, local_error);
      return;
    }
  /* "qemu-img: Could not open 'json:{…}': reason" → "reason" */
  colon = g_strrstr (local_error->message, "': ");
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("“%s” cannot be read as a disk image: %s. It may be damaged or "
                 "truncated."), display, colon ? colon + 3 : local_error->message);
  g_error_free (local_error);
}

static gboolean
extent_is_local (const char *name,
                 const char *dir,
                 gboolean    in_archive)
{
  g_autofree char *name_dir = NULL;

  if (g_str_has_prefix (name, "json:"))
    return TRUE;
  if (in_archive || strchr (name, '\\') != NULL)
    return FALSE;
  name_dir = g_path_get_dirname (name);
  return g_str_equal (name_dir, dir) &&
         g_ascii_strcasecmp (name + strlen (name) - MIN (strlen (name), 5), ".vmdk") == 0;
}

/* A VMDK descriptor names its extents, and a sparse VMDK of capacity 0
 * carries one too: qemu would read whatever they name into the new disk.
 * Inside an archive the only extent allowed is the member itself (qemu
 * shows it as a json: name); a file on its own may have .vmdk extents
 * beside it (a split or flat VMDK), nothing else.
 */
static gboolean
extents_are_local (const TsrImageInfo *info,
                   const char         *descriptor,
                   gboolean            in_archive)
{
  g_autofree char *dir = g_path_get_dirname (descriptor);

  if (info->filename != NULL && !extent_is_local (info->filename, dir, in_archive))
    return FALSE;
  for (guint i = 0; info->extents != NULL && info->extents[i] != NULL; i++)
    if (!extent_is_local (info->extents[i], dir, in_archive))
      return FALSE;
  return TRUE;
}

static const char *
format_label (const char *format)
{
  if (g_strcmp0 (format, "vpc") == 0)
    return "VHD";
  if (g_strcmp0 (format, "vmdk") == 0 || g_strcmp0 (format, "vmdk-descriptor") == 0)
    return "VMDK";
  if (g_strcmp0 (format, "vdi") == 0)
    return "VDI";
  if (g_strcmp0 (format, "vhdx") == 0)
    return "VHDX";
  if (g_strcmp0 (format, "qcow2") == 0)
    return "qcow2";
  if (g_strcmp0 (format, "qcow") == 0)
    return "qcow (version 1)";
  return "raw";
}

static void
set_snapshot_error (GError     **error,
                    const char  *display)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
               _("“%s” is a differencing (snapshot) image that holds only the changes to "
                 "another disk: in VirtualBox, clone the VM’s current state or export it as "
                 "an appliance, and import that."), display);
}

/* The disk's format from what it claims (EXPECTED, from the OVF or its
 * name) and its header; NULL when they disagree or it cannot be imported.
 */
static const char *
check_header (int            fd,
              const Region  *region,
              const char    *display,
              const char    *expected,
              gboolean       in_archive,
              GError       **error)
{
  FileView view = { fd, region->offset, region->size, display };
  guint8 head[1024], tail[512];
  gsize head_len = MIN (region->size, sizeof head);
  gsize tail_len = region->size >= sizeof tail ? sizeof tail : 0;
  const char *sniffed, *format;

  if (region->size == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is empty: it is not a disk image."), display);
      return NULL;
    }
  if (!view_read_at (&view, 0, head, head_len, error))
    return NULL;
  if (tail_len > 0 && !view_read_at (&view, region->size - tail_len, tail, tail_len, error))
    return NULL;

  sniffed = tsr_image_sniff (head, head_len, tail_len ? tail : NULL, tail_len);

  if (g_strcmp0 (sniffed, "qcow") == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” is an old qcow (version 1) image: convert it with “qemu-img convert "
                     "-f qcow -O qcow2” and import the result."), display);
      return NULL;
    }
  if (g_strcmp0 (sniffed, "vmdk-descriptor") == 0 && in_archive)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” is a VMDK descriptor that names other files, which an appliance "
                     "never needs: export the appliance again from VirtualBox."), display);
      return NULL;
    }

  if (expected != NULL && !g_str_equal (expected, "raw"))
    {
      const char *actual = g_strcmp0 (sniffed, "vmdk-descriptor") == 0 ? "vmdk" : sniffed;

      if (actual == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("“%s” should be a %s image but does not start like one: it may be a "
                         "raw disk image (then give it the extension .img) or it is "
                         "damaged."), display, format_label (expected));
          return NULL;
        }
      if (!g_str_equal (actual, expected))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("“%s” should be a %s image but its header says %s: rename it to match, "
                         "or export it again."), display, format_label (expected),
                       format_label (actual));
          return NULL;
        }
    }
  else if (expected == NULL && sniffed == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Tessera cannot tell the format of “%s”: if it is a raw disk image, give "
                     "it the extension .img and try again."), display);
      return NULL;
    }

  /* A raw name (.img) with a known header is that format (cloud images are
   * often qcow2 named .img); with no header it is raw, by its name.
   */
  format = sniffed ? sniffed : "raw";
  if (g_str_equal (format, "vmdk-descriptor"))
    format = "vmdk";

  if (g_str_equal (format, "vpc") && head_len >= 64 && memcmp (head, "conectix", 8) == 0 &&
      head[60] == 0 && head[61] == 0 && head[62] == 0 && head[63] == 4)
    {
      set_snapshot_error (error, display);
      return NULL;
    }
  if (g_str_equal (format, "vdi") && head_len >= 80 && (head[76] == 3 || head[76] == 4) &&
      head[77] == 0 && head[78] == 0 && head[79] == 0)
    {
      set_snapshot_error (error, display);
      return NULL;
    }
  return format;
}

/* What qemu-img info says must leave the disk standing alone, and sized. */
static gboolean
check_image_info (const TsrImageInfo  *info,
                  const Region        *region,
                  const char          *display,
                  const char          *format,
                  gboolean             in_archive,
                  GError             **error)
{
  if (info->backing_filename != NULL ||
      (info->has_parent_cid && info->parent_cid != G_MAXUINT32))
    {
      set_snapshot_error (error, display);
      return FALSE;
    }
  if (info->data_file != NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” keeps its data in another file (a qcow2 external data file): "
                     "convert it to a self-contained image with qemu-img first."), display);
      return FALSE;
    }
  if (g_str_equal (format, "vmdk") && !extents_are_local (info, region->path, in_archive))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” is a VMDK that names data files elsewhere (outside its own folder, "
                     "outside the appliance, or not .vmdk files): it is damaged or was made to "
                     "read other files of this computer, so it is refused."), display);
      return FALSE;
    }
  if (info->virtual_size == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("Could not read the size of “%s”."), display);
      return FALSE;
    }
  if (info->virtual_size > TSR_OVF_MAX_CAPACITY)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” claims an absurd size (over 1 PiB): it is damaged."), display);
      return FALSE;
    }
  return TRUE;
}

/* Decides the disk's format from its header, checks it with qemu-img info
 * and measures the volume it needs.
 */
static TsrImportDisk *
probe_disk (int            fd,
            const Region  *region,
            const char    *display,
            const char    *expected,
            gboolean       in_archive,
            guint64        ovf_capacity,
            GPtrArray     *warnings,
            GCancellable  *cancellable,
            GError       **error)
{
  g_autoptr(TsrImageInfo) image = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *filename = NULL;
  TsrImportDisk *disk;
  const char *format;
  guint64 required;

  if (!(format = check_header (fd, region, display, expected, in_archive, error)))
    return NULL;

  filename = region_filename (region, format);
  if (!(image = tsr_qemu_img_info (filename, format, cancellable, &local_error)))
    {
      if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_INVALID_VALUE))
        g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                     _("Could not read the size of “%s”."), display);
      else
        set_qemu_img_error (error, g_steal_pointer (&local_error), display);
      return NULL;
    }
  if (!check_image_info (image, region, display, format, in_archive, error))
    return NULL;
  if (ovf_capacity != 0 && ovf_capacity != image->virtual_size)
    g_ptr_array_add (warnings,
                     g_strdup_printf (_("The appliance gives “%s” a size of %" G_GUINT64_FORMAT
                                        " bytes, the image itself %" G_GUINT64_FORMAT "; the "
                                        "image’s size is used."), display, ovf_capacity,
                                      image->virtual_size));

  if (!tsr_qemu_img_measure (filename, format, "qcow2", &required, cancellable, &local_error))
    {
      if (!g_error_matches (local_error, TSR_ERROR, TSR_ERROR_INVALID_VALUE))
        {
          set_qemu_img_error (error, g_steal_pointer (&local_error), display);
          return NULL;
        }
      required = image->virtual_size;
    }

  disk = g_new0 (TsrImportDisk, 1);
  disk->name = g_strdup (display);
  disk->format = g_strdup (format);
  disk->capacity = image->virtual_size;
  disk->required = required;
  disk->stored_size = region->size;
  disk->source = g_steal_pointer (&filename);
  return disk;
}

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

static char *
extract_member (TsrImportInfo           *info,
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

/* Inspection */

static gboolean
read_whole_small (int           fd,
                  const Region *region,
                  const char   *display,
                  char        **out,
                  GError      **error)
{
  FileView view = { fd, region->offset, region->size, display };
  g_autofree char *buf = NULL;

  if (region->size > TSR_OVF_MAX_SIZE)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance’s OVF descriptor “%s” is larger than %d MiB, far more than "
                     "a descriptor needs: the appliance is damaged."), display,
                   TSR_OVF_MAX_SIZE / (1024 * 1024));
      return FALSE;
    }
  buf = g_malloc (region->size + 1);
  if (!view_read_at (&view, 0, buf, region->size, error))
    return FALSE;
  buf[region->size] = '\0';
  *out = g_steal_pointer (&buf);
  return TRUE;
}

static void
take_ovf (TsrImportInfo *info,
          TsrOvf        *ovf,
          GPtrArray     *warnings)
{
  g_free (info->appliance_name);
  info->appliance_name = g_strdup (ovf->name);
  if (ovf->name != NULL && *ovf->name != '\0')
    {
      g_free (info->name);
      info->name = tsr_import_suggest_name (ovf->name);
    }
  info->memory = ovf->memory;
  info->vcpus = ovf->vcpus;
  g_free (info->firmware);
  info->firmware = g_strdup (ovf->firmware);
  g_free (info->os_type);
  info->os_type = g_strdup (ovf->os_type);
  g_free (info->os_family);
  info->os_family = g_strdup (ovf->os_family);
  for (guint i = 0; i < ovf->warnings->len; i++)
    g_ptr_array_add (warnings, g_strdup (g_ptr_array_index (ovf->warnings, i)));
}

static TsrImportDisk *
blank_disk (const TsrOvfDisk *ovf_disk)
{
  TsrImportDisk *disk = g_new0 (TsrImportDisk, 1);

  disk->name = g_strdup_printf (_("new blank disk “%s”"), ovf_disk->id);
  disk->capacity = ovf_disk->capacity;
  disk->required = QCOW2_BLANK_OVERHEAD;
  return disk;
}

static char *
member_path (const char *ovf_member,
             const char *href)
{
  g_autofree char *dir = g_path_get_dirname (ovf_member);

  return g_str_equal (dir, ".") ? g_strdup (href) : g_build_filename (dir, href, NULL);
}

/* An .ova, or a tar inside a stored zip member: REGION of the file FD. */
static gboolean
inspect_ova (TsrImportInfo  *info,
             int             fd,
             const Region   *region,
             const char     *display,
             GPtrArray      *warnings,
             GCancellable   *cancellable,
             GError        **error)
{
  FileView view = { fd, region->offset, region->size, display };
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(TsrOvf) ovf = NULL;
  g_autofree char *xml = NULL;
  const TsrArchiveMember *ovf_member = NULL;

  if (!(members = tsr_tar_index (view_read_at, &view, region->size, error)))
    return FALSE;

  for (guint i = 0; i < members->len; i++)
    {
      const TsrArchiveMember *m = g_ptr_array_index (members, i);
      g_autofree char *lower = g_ascii_strdown (m->name, -1);

      if (!m->regular || !g_str_has_suffix (lower, ".ovf"))
        continue;
      if (ovf_member != NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("“%s” holds more than one OVF descriptor (“%s” and “%s”): Tessera "
                         "imports one VM per appliance."), display, ovf_member->name, m->name);
          return FALSE;
        }
      ovf_member = m;
    }
  if (ovf_member == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” holds no OVF descriptor (.ovf), so it is not an appliance: export "
                     "it from VirtualBox again."), display);
      return FALSE;
    }

  {
    Region r = { region->path, region->offset + ovf_member->offset, ovf_member->size, FALSE };

    if (!read_whole_small (fd, &r, display, &xml, error))
      return FALSE;
  }
  if (!(ovf = tsr_ovf_parse (xml, ovf_member->size, error)))
    return FALSE;
  take_ovf (info, ovf, warnings);

  for (guint i = 0; i < ovf->disks->len; i++)
    {
      const TsrOvfDisk *d = g_ptr_array_index (ovf->disks, i);
      g_autofree char *name = NULL;
      g_autofree char *shown = NULL;
      const TsrArchiveMember *m;
      TsrImportDisk *disk;
      Region r;

      if (d->href == NULL)
        {
          g_ptr_array_add (info->disks, blank_disk (d));
          continue;
        }
      name = member_path (ovf_member->name, d->href);
      shown = g_strdup_printf (_("%s in %s"), d->href, display);
      m = tsr_archive_find (members, name);
      if (m == NULL || !m->regular)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The appliance names the disk “%s”, but “%s” does not hold it: the "
                         "appliance is incomplete; export it again."), d->href, display);
          return FALSE;
        }
      if (d->file_size != 0 && d->file_size != m->size)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The disk “%s” should be %" G_GUINT64_FORMAT " bytes but is %"
                         G_GUINT64_FORMAT ": the appliance is damaged; export it again."),
                       shown, d->file_size, m->size);
          return FALSE;
        }
      r.path = region->path;
      r.offset = region->offset + m->offset;
      r.size = m->size;
      r.whole = FALSE;
      disk = probe_disk (fd, &r, shown, d->format ? d->format : tsr_image_format_for_name (d->href),
                         TRUE, d->capacity, warnings, cancellable, error);
      if (disk == NULL)
        return FALSE;
      g_ptr_array_add (info->disks, disk);
    }
  return TRUE;
}

static int
open_input (const char  *path,
            GError     **error)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("Could not open “%s”: %s. Check the path and its permissions."), path,
                   g_strerror (saved));
    }
  return fd;
}

static gboolean
file_size_of (const char  *path,
              guint64     *size,
              GError     **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || g_access (path, R_OK) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                   _("“%s” does not exist, is not a file, or cannot be read: check the path "
                     "and its permissions."), path);
      return FALSE;
    }
  *size = st.st_size;
  return TRUE;
}

static gboolean
inspect_ovf_file (TsrImportInfo  *info,
                  int             fd,
                  guint64         size,
                  GPtrArray      *warnings,
                  GCancellable   *cancellable,
                  GError        **error)
{
  g_autofree char *dir = g_path_get_dirname (info->path);
  g_autofree char *xml = NULL;
  g_autoptr(TsrOvf) ovf = NULL;
  g_autoptr(GPtrArray) moves = g_ptr_array_new_with_free_func (g_free);
  Region region = { info->path, 0, size, TRUE };
  g_autofree char *display = g_path_get_basename (info->path);

  if (!read_whole_small (fd, &region, display, &xml, error))
    return FALSE;
  if (!(ovf = tsr_ovf_parse (xml, size, error)))
    return FALSE;
  take_ovf (info, ovf, warnings);
  g_ptr_array_add (moves, g_strdup (info->path));

  for (guint i = 0; i < ovf->disks->len; i++)
    {
      const TsrOvfDisk *d = g_ptr_array_index (ovf->disks, i);
      g_autofree char *path = NULL;
      TsrImportDisk *disk;
      guint64 disk_size;
      int disk_fd;
      Region r;

      if (d->href == NULL)
        {
          g_ptr_array_add (info->disks, blank_disk (d));
          continue;
        }
      path = g_build_filename (dir, d->href, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_MEDIA_NOT_FOUND,
                       _("The appliance’s disk “%s” is missing: it should be beside “%s” in "
                         "%s. Copy it there, or import the .ova instead."), d->href, display,
                       dir);
          return FALSE;
        }
      if (!file_size_of (path, &disk_size, error))
        return FALSE;
      if (d->file_size != 0 && d->file_size != disk_size)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The disk “%s” should be %" G_GUINT64_FORMAT " bytes but is %"
                         G_GUINT64_FORMAT ": it is damaged or incomplete; copy it again."),
                       d->href, d->file_size, disk_size);
          return FALSE;
        }
      if ((disk_fd = open_input (path, error)) < 0)
        return FALSE;
      r.path = path;
      r.offset = 0;
      r.size = disk_size;
      r.whole = TRUE;
      disk = probe_disk (disk_fd, &r, d->href, d->format ? d->format : tsr_image_format_for_name (d->href),
                         FALSE, d->capacity, warnings, cancellable, error);
      close (disk_fd);
      if (disk == NULL)
        return FALSE;
      g_ptr_array_add (info->disks, disk);
      g_ptr_array_add (moves, g_steal_pointer (&path));
    }

  g_ptr_array_add (moves, NULL);
  g_strfreev (info->move_paths);
  info->move_paths = (GStrv) g_ptr_array_free (g_steal_pointer (&moves), FALSE);
  return TRUE;
}

typedef enum
{
  INPUT_DISK,
  INPUT_OVA,
  INPUT_OVF,
  INPUT_ZIP,
} InputKind;

static InputKind
classify (const char   *name,
          const guint8 *head,
          gsize         head_len)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  gsize skip = 0;

  if (g_str_has_suffix (lower, ".ova"))
    return INPUT_OVA;
  if (g_str_has_suffix (lower, ".ovf"))
    return INPUT_OVF;
  if (g_str_has_suffix (lower, ".zip"))
    return INPUT_ZIP;
  if (tsr_image_format_for_name (lower) != NULL)
    return INPUT_DISK;

  if (head_len >= 4 && memcmp (head, "PK\3\4", 4) == 0)
    return INPUT_ZIP;
  if (head_len >= 262 && memcmp (head + 257, "ustar", 5) == 0)
    return INPUT_OVA;
  if (head_len >= 3 && memcmp (head, "\xef\xbb\xbf", 3) == 0)
    skip = 3;
  while (skip < head_len && g_ascii_isspace (head[skip]))
    skip++;
  if (skip < head_len && head[skip] == '<')
    return INPUT_OVF;
  return INPUT_DISK;
}

static const char *
kind_name (InputKind kind)
{
  switch (kind)
    {
    case INPUT_OVA:
      return "ova";
    case INPUT_OVF:
      return "ovf";
    case INPUT_ZIP:
      return "zip";
    case INPUT_DISK:
    default:
      return "disk";
    }
}

/* A .zip being inspected, and what its steps share. */
typedef struct
{
  TsrImportInfo *info;
  int            fd;
  const char    *display;
  GPtrArray     *members;
  GPtrArray     *warnings;
  TsrProgress   *progress;
  GCancellable  *cancellable;
} ZipInput;

static gboolean
zip_member_is (const TsrArchiveMember *member,
               InputKind               want)
{
  g_autofree char *lower = g_ascii_strdown (member->name, -1);

  if (!member->regular)
    return FALSE;
  if (want == INPUT_OVA)
    return g_str_has_suffix (lower, ".ova");
  if (want == INPUT_OVF)
    return g_str_has_suffix (lower, ".ovf");
  return tsr_image_format_for_name (lower) != NULL;
}

/* An .ova first, else an .ovf, else one disk image; more than one of the
 * kind found is refused.
 */
static const TsrArchiveMember *
choose_zip_member (const ZipInput  *zip,
                   InputKind       *kind,
                   GError         **error)
{
  static const InputKind order[] = { INPUT_OVA, INPUT_OVF, INPUT_DISK };

  for (guint k = 0; k < G_N_ELEMENTS (order); k++)
    {
      const TsrArchiveMember *chosen = NULL;
      guint candidates = 0;

      for (guint i = 0; i < zip->members->len; i++)
        {
          const TsrArchiveMember *m = g_ptr_array_index (zip->members, i);

          if (!zip_member_is (m, order[k]))
            continue;
          candidates++;
          if (chosen == NULL)
            chosen = m;
        }
      if (chosen == NULL)
        continue;
      if (candidates > 1 && order[k] != INPUT_OVF)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("“%s” holds %u %s files: unzip it and import them one at a time."),
                       zip->display, candidates, order[k] == INPUT_OVA ? ".ova" : _("disk image"));
          return NULL;
        }
      if (candidates > 1)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("“%s” holds %u OVF descriptors: unzip it and import them one at a "
                         "time."), zip->display, candidates);
          return NULL;
        }
      *kind = order[k];
      return chosen;
    }

  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("“%s” holds no appliance (.ova, .ovf) and no disk image (.vmdk, .vdi, "
                 ".vhd, .vhdx, .qcow2, .img)."), zip->display);
  return NULL;
}

static gboolean
read_zip_ovf (const ZipInput          *zip,
              const TsrArchiveMember  *member,
              const char              *shown,
              char                   **xml,
              GError                 **error)
{
  g_autofree char *tmp = NULL;

  if (member->method == 0)
    {
      Region r = { zip->info->path, member->offset, member->size, FALSE };

      return read_whole_small (zip->fd, &r, shown, xml, error);
    }
  if (member->full_size > TSR_OVF_MAX_SIZE)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance’s OVF descriptor “%s” is larger than %d MiB: the "
                     "appliance is damaged."), shown, TSR_OVF_MAX_SIZE / (1024 * 1024));
      return FALSE;
    }
  if (!(tmp = extract_member (zip->info, zip->info->path, member, shown, zip->progress,
                              zip->cancellable, error)) ||
      !g_file_get_contents (tmp, xml, NULL, error))
    return FALSE;
  g_unlink (tmp);
  return TRUE;
}

/* The disk D of the OVF member OVF_NAME: read in place when stored,
 * unpacked first when compressed.
 */
static TsrImportDisk *
probe_zip_disk (const ZipInput     *zip,
                const char         *ovf_name,
                const TsrOvfDisk   *d,
                GError            **error)
{
  g_autofree char *name = member_path (ovf_name, d->href);
  g_autofree char *shown = g_strdup_printf (_("%s in %s"), d->href, zip->display);
  g_autofree char *tmp = NULL;
  const char *expected = d->format ? d->format : tsr_image_format_for_name (d->href);
  const TsrArchiveMember *m = tsr_archive_find (zip->members, name);
  TsrImportDisk *disk;
  int tmp_fd;

  if (m == NULL || !m->regular)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance names the disk “%s”, but “%s” does not hold it: "
                     "the archive is incomplete."), d->href, zip->display);
      return NULL;
    }
  if (m->method == 0)
    {
      Region r = { zip->info->path, m->offset, m->size, FALSE };

      return probe_disk (zip->fd, &r, shown, expected, TRUE, d->capacity, zip->warnings,
                         zip->cancellable, error);
    }

  tmp = extract_member (zip->info, zip->info->path, m, shown, zip->progress, zip->cancellable,
                        error);
  if (tmp == NULL || (tmp_fd = open_input (tmp, error)) < 0)
    return NULL;
  {
    Region r = { tmp, 0, m->full_size, TRUE };

    disk = probe_disk (tmp_fd, &r, shown, expected, TRUE, d->capacity, zip->warnings,
                       zip->cancellable, error);
  }
  close (tmp_fd);
  return disk;
}

static gboolean
inspect_zip_ovf (const ZipInput          *zip,
                 const TsrArchiveMember  *chosen,
                 GError                 **error)
{
  g_autofree char *xml = NULL;
  g_autoptr(TsrOvf) ovf = NULL;
  g_autofree char *shown = g_strdup_printf (_("%s in %s"), chosen->name, zip->display);

  if (!read_zip_ovf (zip, chosen, shown, &xml, error))
    return FALSE;
  if (!(ovf = tsr_ovf_parse (xml, strlen (xml), error)))
    return FALSE;
  take_ovf (zip->info, ovf, zip->warnings);

  for (guint i = 0; i < ovf->disks->len; i++)
    {
      const TsrOvfDisk *d = g_ptr_array_index (ovf->disks, i);
      TsrImportDisk *disk;

      if (d->href == NULL)
        {
          g_ptr_array_add (zip->info->disks, blank_disk (d));
          continue;
        }
      if (!(disk = probe_zip_disk (zip, chosen->name, d, error)))
        return FALSE;
      g_ptr_array_add (zip->info->disks, disk);
    }
  return TRUE;
}

/* An .ova or a disk image in the zip, unpacked first when compressed. */
static gboolean
inspect_zip_member (const ZipInput          *zip,
                    const TsrArchiveMember  *chosen,
                    InputKind                kind,
                    GError                 **error)
{
  g_autofree char *shown = g_strdup_printf (_("%s in %s"), chosen->name, zip->display);
  g_autofree char *tmp = NULL;
  int in_fd = zip->fd;
  Region r = { zip->info->path, chosen->offset, chosen->size, FALSE };
  gboolean ok;

  if (chosen->method != 0)
    {
      if (!(tmp = extract_member (zip->info, zip->info->path, chosen, shown, zip->progress,
                                  zip->cancellable, error)) ||
          (in_fd = open_input (tmp, error)) < 0)
        return FALSE;
      r.path = tmp;
      r.offset = 0;
      r.size = chosen->full_size;
      r.whole = TRUE;
    }

  if (kind == INPUT_OVA)
    ok = inspect_ova (zip->info, in_fd, &r, shown, zip->warnings, zip->cancellable, error);
  else
    {
      g_autofree char *base = g_path_get_basename (chosen->name);
      g_autofree char *stem = g_strndup (base, strcspn (base, "."));
      TsrImportDisk *disk = probe_disk (in_fd, &r, shown, tsr_image_format_for_name (chosen->name),
                                        TRUE, 0, zip->warnings, zip->cancellable, error);

      ok = disk != NULL;
      if (ok)
        {
          g_ptr_array_add (zip->info->disks, disk);
          g_free (zip->info->name);
          zip->info->name = tsr_import_suggest_name (stem);
        }
    }
  if (in_fd != zip->fd)
    close (in_fd);
  return ok;
}

static gboolean
inspect_zip (TsrImportInfo  *info,
             int             fd,
             guint64         size,
             GPtrArray      *warnings,
             TsrProgress    *progress,
             GCancellable   *cancellable,
             GError        **error)
{
  g_autofree char *display = g_path_get_basename (info->path);
  FileView view = { fd, 0, size, display };
  g_autoptr(GPtrArray) members = NULL;
  ZipInput zip = { info, fd, display, NULL, warnings, progress, cancellable };
  const TsrArchiveMember *chosen;
  InputKind kind = INPUT_DISK;

  if (!(members = tsr_zip_index (view_read_at, &view, size, error)))
    return FALSE;
  zip.members = members;
  if (!(chosen = choose_zip_member (&zip, &kind, error)))
    return FALSE;

  g_free (info->kind);
  info->kind = g_strconcat ("zip/", kind_name (kind), NULL);
  if (kind == INPUT_OVF)
    return inspect_zip_ovf (&zip, chosen, error);
  return inspect_zip_member (&zip, chosen, kind, error);
}

TsrImportInfo *
tsr_import_inspect_sync (const char    *path,
                         TsrProgress   *progress,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autoptr(TsrImportInfo) info = tsr_import_info_new (path);
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *stem = g_strndup (base, strcspn (base, "."));
  guint8 head[1024];
  guint64 size;
  InputKind kind;
  gboolean ok = FALSE;
  int fd;

  tsr_assert_worker_thread ();
  if (!file_size_of (path, &size, error))
    return NULL;
  if ((fd = open_input (path, error)) < 0)
    return NULL;

  {
    FileView view = { fd, 0, size, base };

    if (!view_read_at (&view, 0, head, MIN (size, sizeof head), error))
      {
        close (fd);
        return NULL;
      }
  }

  kind = classify (base, head, MIN (size, sizeof head));
  info->kind = g_strdup (kind_name (kind));
  info->name = tsr_import_suggest_name (stem);
  info->move_paths = g_new0 (char *, 2);
  info->move_paths[0] = g_strdup (path);

  switch (kind)
    {
    case INPUT_OVA:
      {
        Region region = { path, 0, size, TRUE };

        ok = inspect_ova (info, fd, &region, base, warnings, cancellable, error);
      }
      break;

    case INPUT_OVF:
      ok = inspect_ovf_file (info, fd, size, warnings, cancellable, error);
      break;

    case INPUT_ZIP:
      ok = inspect_zip (info, fd, size, warnings, progress, cancellable, error);
      break;

    case INPUT_DISK:
    default:
      {
        Region region = { path, 0, size, TRUE };
        TsrImportDisk *disk = probe_disk (fd, &region, base, tsr_image_format_for_name (base),
                                          FALSE, 0, warnings, cancellable, error);

        ok = disk != NULL;
        if (ok)
          g_ptr_array_add (info->disks, disk);
      }
      break;
    }
  close (fd);
  if (!ok)
    return NULL;

  if (info->disks->len == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("“%s” holds no disk to import."), base);
      return NULL;
    }

  info->required = 0;
  for (guint i = 0; i < info->disks->len; i++)
    info->required += ((TsrImportDisk *) g_ptr_array_index (info->disks, i))->required;
  g_ptr_array_add (warnings, NULL);
  info->warnings = (GStrv) g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
  return g_steal_pointer (&info);
}
