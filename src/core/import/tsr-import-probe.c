/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "tsr-error.h"
#include "tsr-image-sniff.h"
#include "tsr-import-private.h"
#include "tsr-ovf.h"
#include "tsr-qemu-img.h"

/* A disk of the input, read in place: its header decides its format, which
 * qemu-img info must confirm, and qemu-img measure says what its volume
 * needs (see tsr-import.c for why the format is never probed).
 */

/* Reading the input */

gboolean
tsr_import_view_read_at (gpointer   user_data,
                         guint64    offset,
                         void      *buf,
                         gsize      len,
                         GError   **error)
{
  TsrImportView *view = user_data;
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

static char *
region_filename (const TsrImportRegion *region,
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
check_header (int                     fd,
              const TsrImportRegion  *region,
              const char             *display,
              const char             *expected,
              gboolean                in_archive,
              GError                **error)
{
  TsrImportView view = { fd, region->offset, region->size, display };
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
  if (!tsr_import_view_read_at (&view, 0, head, head_len, error))
    return NULL;
  if (tail_len > 0 && !tsr_import_view_read_at (&view, region->size - tail_len, tail, tail_len, error))
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
check_image_info (const TsrImageInfo     *info,
                  const TsrImportRegion  *region,
                  const char             *display,
                  const char             *format,
                  gboolean                in_archive,
                  GError                **error)
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
TsrImportDisk *
tsr_import_probe_disk (const TsrImportProbe  *probe,
                       GPtrArray             *warnings,
                       GCancellable          *cancellable,
                       GError               **error)
{
  const TsrImportRegion *region = &probe->region;
  const char *display = probe->display;
  g_autoptr(TsrImageInfo) image = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *filename = NULL;
  TsrImportDisk *disk;
  const char *format;
  guint64 required;

  if (!(format = check_header (probe->fd, region, display, probe->expected, probe->in_archive, error)))
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
  if (!check_image_info (image, region, display, format, probe->in_archive, error))
    return NULL;
  if (probe->ovf_capacity != 0 && probe->ovf_capacity != image->virtual_size)
    g_ptr_array_add (warnings,
                     g_strdup_printf (_("The appliance gives “%s” a size of %" G_GUINT64_FORMAT
                                        " bytes, the image itself %" G_GUINT64_FORMAT "; the "
                                        "image’s size is used."), display, probe->ovf_capacity,
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
