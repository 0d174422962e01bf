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
#include "tsr-osinfo.h"
#include "tsr-ovf.h"
#include "tsr-qemu-img.h"
#include "tsr-storage-private.h"
#include "tsr-task.h"
#include "tsr-threads.h"

/* Inspecting an import's input: its format, its OVF and its disks' headers, without
 * reading the disks themselves (see tsr-import.c).
 */

/* Inspection */

static gboolean
read_whole_small (int           fd,
                  const TsrImportRegion *region,
                  const char   *display,
                  char        **out,
                  GError      **error)
{
  TsrImportView view = { fd, region->offset, region->size, display };
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
  if (!tsr_import_view_read_at (&view, 0, buf, region->size, error))
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
  g_free (info->os_id);
  info->os_id = tsr_osinfo_match_ovf_type (ovf->os_type, &info->os_family);
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
             const TsrImportRegion   *region,
             const char     *display,
             GPtrArray      *warnings,
             GCancellable   *cancellable,
             GError        **error)
{
  TsrImportView view = { fd, region->offset, region->size, display };
  g_autoptr(GPtrArray) members = NULL;
  g_autoptr(TsrOvf) ovf = NULL;
  g_autofree char *xml = NULL;
  const TsrArchiveMember *ovf_member = NULL;

  if (!(members = tsr_tar_index (tsr_import_view_read_at, &view, region->size, error)))
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
    TsrImportRegion r = { region->path, region->offset + ovf_member->offset, ovf_member->size, FALSE };

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
      TsrImportProbe probe;

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
      probe = (TsrImportProbe) {
        .fd = fd,
        .region = { region->path, region->offset + m->offset, m->size, FALSE },
        .display = shown,
        .expected = d->format ? d->format : tsr_image_format_for_name (d->href),
        .in_archive = TRUE,
        .ovf_capacity = d->capacity,
      };
      disk = tsr_import_probe_disk (&probe, warnings, cancellable, error);
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
  TsrImportRegion region = { info->path, 0, size, TRUE };
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
      TsrImportProbe probe;

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
      probe = (TsrImportProbe) {
        .fd = disk_fd,
        .region = { path, 0, disk_size, TRUE },
        .display = d->href,
        .expected = d->format ? d->format : tsr_image_format_for_name (d->href),
        .ovf_capacity = d->capacity,
      };
      disk = tsr_import_probe_disk (&probe, warnings, cancellable, error);
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
      TsrImportRegion r = { zip->info->path, member->offset, member->size, FALSE };

      return read_whole_small (zip->fd, &r, shown, xml, error);
    }
  if (member->full_size > TSR_OVF_MAX_SIZE)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance’s OVF descriptor “%s” is larger than %d MiB: the "
                     "appliance is damaged."), shown, TSR_OVF_MAX_SIZE / (1024 * 1024));
      return FALSE;
    }
  if (!(tmp = tsr_import_extract_member (zip->info, zip->info->path, member, shown, zip->progress,
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
      TsrImportProbe probe = {
        .fd = zip->fd,
        .region = { zip->info->path, m->offset, m->size, FALSE },
        .display = shown,
        .expected = expected,
        .in_archive = TRUE,
        .ovf_capacity = d->capacity,
      };

      return tsr_import_probe_disk (&probe, zip->warnings, zip->cancellable, error);
    }

  tmp = tsr_import_extract_member (zip->info, zip->info->path, m, shown, zip->progress,
                                   zip->cancellable, error);
  if (tmp == NULL || (tmp_fd = open_input (tmp, error)) < 0)
    return NULL;
  {
    TsrImportProbe probe = {
      .fd = tmp_fd,
      .region = { tmp, 0, m->full_size, TRUE },
      .display = shown,
      .expected = expected,
      .in_archive = TRUE,
      .ovf_capacity = d->capacity,
    };

    disk = tsr_import_probe_disk (&probe, zip->warnings, zip->cancellable, error);
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
  TsrImportRegion r = { zip->info->path, chosen->offset, chosen->size, FALSE };
  gboolean ok;

  if (chosen->method != 0)
    {
      if (!(tmp = tsr_import_extract_member (zip->info, zip->info->path, chosen, shown, zip->progress,
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
      TsrImportProbe probe = {
        .fd = in_fd,
        .region = r,
        .display = shown,
        .expected = tsr_image_format_for_name (chosen->name),
        .in_archive = TRUE,
      };
      TsrImportDisk *disk = tsr_import_probe_disk (&probe, zip->warnings, zip->cancellable, error);

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
  TsrImportView view = { fd, 0, size, display };
  g_autoptr(GPtrArray) members = NULL;
  ZipInput zip = { info, fd, display, NULL, warnings, progress, cancellable };
  const TsrArchiveMember *chosen;
  InputKind kind = INPUT_DISK;

  if (!(members = tsr_zip_index (tsr_import_view_read_at, &view, size, error)))
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
    TsrImportView view = { fd, 0, size, base };

    if (!tsr_import_view_read_at (&view, 0, head, MIN (size, sizeof head), error))
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
        TsrImportRegion region = { path, 0, size, TRUE };

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
        TsrImportProbe probe = {
          .fd = fd,
          .region = { path, 0, size, TRUE },
          .display = base,
          .expected = tsr_image_format_for_name (base),
        };
        TsrImportDisk *disk = tsr_import_probe_disk (&probe, warnings, cancellable, error);

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
