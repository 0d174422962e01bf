/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-archive-private.h"
#include "tsr-error.h"

/* The index of a zip (with zip64), from its central directory: the end
 * record, then each directory entry checked against its local header.
 */

#define ZIP_MAX_DIRECTORY (16 * 1024 * 1024)
#define ZIP_EOCD_SIZE     22
#define ZIP_ENTRY_SIZE    46
#define ZIP_LOCAL_SIZE    30

typedef struct
{
  TsrReadAtFunc  read_at;
  gpointer       data;
  guint64        size;
  /* From the end of central directory record (or its zip64 twin). */
  guint64        entries;
  guint64        dir_size;
  guint64        dir_offset;
} ZipReader;

static void
set_not_zip (GError **error)
{
  g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The file is not a zip archive, or it is truncated: copy or download "
                         "it again."));
}

/* The last end record in TAIL whose comment fits in what follows it. */
static gboolean
find_end_record (const guint8 *tail,
                 gsize         tail_len,
                 gsize        *eocd)
{
  for (gsize i = tail_len - ZIP_EOCD_SIZE + 1; i-- > 0;)
    if (tsr_read_le32 (tail + i) == 0x06054b50
        && i + ZIP_EOCD_SIZE + tsr_read_le16 (tail + i + 20) <= tail_len)
      {
        *eocd = i;
        return TRUE;
      }
  return FALSE;
}

/* The zip64 end record, found through its locator just before the end
 * record at LOCATOR.
 */
static gboolean
read_zip64_end (ZipReader  *zip,
                guint64     locator,
                GError    **error)
{
  guint8 loc[20], rec[56];
  guint64 rec_off;

  if (locator < 20 || !zip->read_at (zip->data, locator - 20, loc, sizeof loc, error))
    {
      if (error == NULL || *error == NULL)
        set_not_zip (error);
      return FALSE;
    }
  if (tsr_read_le32 (loc) != 0x07064b50)
    {
      set_not_zip (error);
      return FALSE;
    }
  rec_off = tsr_read_le64 (loc + 8);
  if (rec_off > zip->size || zip->size - rec_off < sizeof rec)
    {
      set_not_zip (error);
      return FALSE;
    }
  if (!zip->read_at (zip->data, rec_off, rec, sizeof rec, error))
    return FALSE;
  if (tsr_read_le32 (rec) != 0x06064b50)
    {
      set_not_zip (error);
      return FALSE;
    }
  zip->entries = tsr_read_le64 (rec + 32);
  zip->dir_size = tsr_read_le64 (rec + 40);
  zip->dir_offset = tsr_read_le64 (rec + 48);
  return TRUE;
}

/* Where the central directory is and how many entries it has. */
static gboolean
read_end (ZipReader  *zip,
          GError    **error)
{
  gsize tail_len = (gsize) MIN (zip->size, ZIP_EOCD_SIZE + 65535);
  g_autofree guint8 *tail = g_malloc (tail_len);
  const guint8 *end;
  gsize eocd = 0;

  if (!zip->read_at (zip->data, zip->size - tail_len, tail, tail_len, error))
    return FALSE;
  if (!find_end_record (tail, tail_len, &eocd))
    {
      set_not_zip (error);
      return FALSE;
    }

  end = tail + eocd;
  if (tsr_read_le16 (end + 4) != 0
      || (tsr_read_le16 (end + 6) != 0 && tsr_read_le16 (end + 6) != 0xffff))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("The zip archive is split over several files: join it into one "
                             "(zip -s 0 in.zip --out whole.zip) and import that."));
      return FALSE;
    }

  zip->entries = tsr_read_le16 (end + 10);
  zip->dir_size = tsr_read_le32 (end + 12);
  zip->dir_offset = tsr_read_le32 (end + 16);
  if ((zip->entries == 0xffff || zip->dir_size == 0xffffffff || zip->dir_offset == 0xffffffff)
      && !read_zip64_end (zip, zip->size - tail_len + eocd, error))
    return FALSE;

  if (zip->entries > TSR_ARCHIVE_MAX_MEMBERS || zip->dir_size > ZIP_MAX_DIRECTORY)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The zip archive holds more than %d files, far more than an appliance "
                     "has: it is not a VM export."), TSR_ARCHIVE_MAX_MEMBERS);
      return FALSE;
    }
  if (zip->dir_offset > zip->size || zip->dir_size > zip->size - zip->dir_offset)
    {
      set_not_zip (error);
      return FALSE;
    }
  return TRUE;
}

/* zip64 sizes and offset, present only for the fields that overflow. */
static void
apply_zip64_extra (const guint8 *x,
                   guint16       extra_len,
                   guint64      *usize,
                   guint64      *csize,
                   guint64      *local)
{
  const guint8 *x_end = x + extra_len;

  while (x_end - x >= 4)
    {
      guint16 id = tsr_read_le16 (x), len = tsr_read_le16 (x + 2);
      const guint8 *v = x + 4;

      if (len > x_end - v)
        break;
      if (id == 0x0001)
        {
          const guint8 *v_end = v + len;

          if (*usize == 0xffffffff && v_end - v >= 8)
            *usize = tsr_read_le64 (v), v += 8;
          if (*csize == 0xffffffff && v_end - v >= 8)
            *csize = tsr_read_le64 (v), v += 8;
          if (*local == 0xffffffff && v_end - v >= 8)
            *local = tsr_read_le64 (v), v += 8;
        }
      x = x + 4 + len;
    }
}

/* The member the directory entry E describes, its data located through
 * its local header.
 */
static TsrArchiveMember *
read_entry (ZipReader     *zip,
            const guint8  *e,
            GError       **error)
{
  guint16 flags = tsr_read_le16 (e + 8);
  guint16 name_len = tsr_read_le16 (e + 28);
  guint64 csize = tsr_read_le32 (e + 20);
  guint64 usize = tsr_read_le32 (e + 24);
  guint32 mode = tsr_read_le32 (e + 38) >> 16;
  guint64 local = tsr_read_le32 (e + 42);
  g_autofree char *name = g_strndup ((const char *) e + ZIP_ENTRY_SIZE, name_len);
  g_autoptr(TsrArchiveMember) member = NULL;
  guint8 lh[ZIP_LOCAL_SIZE];

  if (strlen (name) != name_len)
    {
      set_not_zip (error);
      return NULL;
    }
  apply_zip64_extra (e + ZIP_ENTRY_SIZE + name_len, tsr_read_le16 (e + 30), &usize, &csize,
                     &local);

  if (flags & 0x1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("“%s” in the zip archive is encrypted: unzip it with its password "
                     "first, then import what it holds."), name);
      return NULL;
    }
  if (local > zip->size || zip->size - local < sizeof lh)
    {
      tsr_archive_set_truncated (error, name);
      return NULL;
    }
  if (!zip->read_at (zip->data, local, lh, sizeof lh, error))
    return NULL;
  if (tsr_read_le32 (lh) != 0x04034b50)
    {
      set_not_zip (error);
      return NULL;
    }

  member = g_new0 (TsrArchiveMember, 1);
  member->name = tsr_archive_normalise_name (name);
  member->method = tsr_read_le16 (e + 10);
  member->size = csize;
  member->full_size = usize;
  member->offset = local + ZIP_LOCAL_SIZE + tsr_read_le16 (lh + 26) + tsr_read_le16 (lh + 28);
  /* Unix symlinks are stored as files holding the target. */
  member->regular = !g_str_has_suffix (member->name, "/") &&
                    !((tsr_read_le16 (e + 4) >> 8) == 3 && (mode & 0170000) == 0120000);
  if (g_str_has_suffix (member->name, "/"))
    member->name[strlen (member->name) - 1] = '\0';
  return g_steal_pointer (&member);
}

/* A member from read_entry() that the archive may hold. */
static gboolean
check_member (ZipReader         *zip,
              TsrArchiveMember  *member,
              GError           **error)
{
  if (!tsr_archive_check_name (member->name, error))
    return FALSE;
  if (member->offset > zip->size || member->size > zip->size - member->offset)
    {
      tsr_archive_set_truncated (error, member->name);
      return FALSE;
    }
  if (member->method == 0 && member->full_size != member->size)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The zip archive is damaged: the sizes of “%s” disagree. Copy or "
                     "download it again."), member->name);
      return FALSE;
    }
  return TRUE;
}

GPtrArray *
tsr_zip_index (TsrReadAtFunc   read_at,
               gpointer        data,
               guint64         size,
               GError        **error)
{
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_archive_member_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ZipReader zip = { read_at, data, size };
  g_autofree guint8 *dir = NULL;
  guint64 pos = 0;

  g_return_val_if_fail (read_at != NULL, NULL);

  if (size < ZIP_EOCD_SIZE)
    {
      set_not_zip (error);
      return NULL;
    }
  if (!read_end (&zip, error))
    return NULL;

  dir = g_malloc (zip.dir_size + 1);
  if (!read_at (data, zip.dir_offset, dir, zip.dir_size, error))
    return NULL;

  for (guint64 n = 0; n < zip.entries; n++)
    {
      const guint8 *e = dir + pos;
      g_autoptr(TsrArchiveMember) member = NULL;
      guint64 entry_len;

      if (zip.dir_size - pos < ZIP_ENTRY_SIZE || tsr_read_le32 (e) != 0x02014b50)
        {
          set_not_zip (error);
          return NULL;
        }
      /* The fixed part, then the name, extra field and comment. */
      entry_len = ZIP_ENTRY_SIZE + (guint64) tsr_read_le16 (e + 28) + tsr_read_le16 (e + 30)
                  + tsr_read_le16 (e + 32);
      if (zip.dir_size - pos < entry_len)
        {
          set_not_zip (error);
          return NULL;
        }
      pos += entry_len;

      member = read_entry (&zip, e, error);
      if (member == NULL)
        return NULL;
      if (member->name[0] == '\0' && !member->regular)
        continue;
      if (!check_member (&zip, member, error)
          || !tsr_archive_add_member (members, seen, g_steal_pointer (&member), error))
        return NULL;
    }

  return g_steal_pointer (&members);
}
