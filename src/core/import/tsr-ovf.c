/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "tsr-error.h"
#include "tsr-ovf.h"
#include "tsr-validate.h"

/* Everything here reads bytes a stranger may have written: every length
 * and offset is checked against what was actually read before it is used,
 * and every refusal says what was wrong with the file.
 */

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)

void
tsr_archive_member_free (TsrArchiveMember *member)
{
  if (member == NULL)
    return;
  g_free (member->name);
  g_free (member);
}

gboolean
tsr_archive_name_is_safe (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (name == NULL || *name == '\0' || *name == '/' || strlen (name) > TSR_ARCHIVE_MAX_NAME)
    return FALSE;
  for (const char *p = name; *p; p++)
    if ((guchar) *p < 0x20 || *p == '\\' || *p == 0x7f)
      return FALSE;
  /* A URL (http://…, file:…) is not a member of the appliance either. */
  if (strchr (name, ':') != NULL)
    return FALSE;

  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_equal (parts[i], ".."))
      return FALSE;
  return TRUE;
}

static char *
normalise_name (const char *name)
{
  while (g_str_has_prefix (name, "./"))
    name += 2;
  while (*name == '/' && name[1] == '/')
    name++;
  return g_strdup (name);
}

const TsrArchiveMember *
tsr_archive_find (GPtrArray  *members,
                  const char *name)
{
  g_autofree char *wanted = NULL;

  g_return_val_if_fail (members != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  wanted = normalise_name (name);
  for (guint i = 0; i < members->len; i++)
    {
      const TsrArchiveMember *member = g_ptr_array_index (members, i);

      if (g_str_equal (member->name, wanted))
        return member;
    }
  return NULL;
}

/* Tar */

#define TAR_BLOCK 512

static gboolean
tar_checksum_ok (const guint8 *h)
{
  guint64 stored = 0;
  guint64 unsigned_sum = 0;
  gint64 signed_sum = 0;
  int i = 148;

  while (i < 156 && h[i] == ' ')
    i++;
  if (i == 156 || h[i] < '0' || h[i] > '7')
    return FALSE;
  for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++)
    stored = stored * 8 + (h[i] - '0');

  for (i = 0; i < TAR_BLOCK; i++)
    {
      guint8 c = (i >= 148 && i < 156) ? ' ' : h[i];

      unsigned_sum += c;
      signed_sum += (gint8) c;
    }
  return stored == unsigned_sum || (gint64) stored == signed_sum;
}

/* Octal, or GNU base-256 when the top bit of the first byte is set. */
static gboolean
tar_number (const guint8 *field,
            gsize         len,
            guint64      *out)
{
  guint64 value = 0;
  gsize i = 0;

  if (field[0] & 0x80)
    {
      if (field[0] & 0x40)
        return FALSE;           /* negative */
      value = field[0] & 0x3f;
      for (i = 1; i < len; i++)
        {
          if (value > (G_MAXUINT64 >> 8))
            return FALSE;
          value = (value << 8) | field[i];
        }
      *out = value;
      return TRUE;
    }

  while (i < len && field[i] == ' ')
    i++;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; i++)
    {
      if (value > (G_MAXUINT64 >> 3))
        return FALSE;
      value = value * 8 + (field[i] - '0');
    }
  for (; i < len; i++)
    if (field[i] != ' ' && field[i] != '\0')
      return FALSE;
  *out = value;
  return TRUE;
}

static gboolean
block_is_zero (const guint8 *h)
{
  for (int i = 0; i < TAR_BLOCK; i++)
    if (h[i] != 0)
      return FALSE;
  return TRUE;
}

/* pax records: "LEN key=value\n", LEN counting the whole record. */
static gboolean
pax_parse (const char  *data,
           gsize        len,
           char       **path,
           gboolean    *have_size,
           guint64     *size)
{
  gsize pos = 0;

  while (pos < len)
    {
      guint64 rec_len = 0;
      gsize p = pos;
      const char *key, *eq, *end;

      while (p < len && g_ascii_isdigit (data[p]))
        {
          if (rec_len > G_MAXUINT32)
            return FALSE;
          rec_len = rec_len * 10 + (data[p] - '0');
          p++;
        }
      if (p == pos || p >= len || data[p] != ' ' || rec_len > len - pos || rec_len < 4)
        return FALSE;
      key = data + p + 1;
      end = data + pos + rec_len - 1;
      if (key >= end || *end != '\n')
        return FALSE;
      eq = memchr (key, '=', end - key);
      if (eq == NULL)
        return FALSE;

      if (eq - key == 4 && memcmp (key, "path", 4) == 0)
        {
          if (end - eq - 1 > TSR_ARCHIVE_MAX_NAME || memchr (eq + 1, '\0', end - eq - 1))
            return FALSE;
          g_free (*path);
          *path = g_strndup (eq + 1, end - eq - 1);
        }
      else if (eq - key == 4 && memcmp (key, "size", 4) == 0)
        {
          guint64 value = 0;

          if (eq + 1 == end)
            return FALSE;
          for (const char *c = eq + 1; c < end; c++)
            {
              if (!g_ascii_isdigit (*c) || value > (G_MAXUINT64 - 9) / 10)
                return FALSE;
              value = value * 10 + (*c - '0');
            }
          *size = value;
          *have_size = TRUE;
        }
      pos += rec_len;
    }
  return TRUE;
}

static char *
read_string (TsrReadAtFunc   read_at,
             gpointer        data,
             guint64         offset,
             gsize           len,
             GError        **error)
{
  g_autofree char *buf = g_malloc (len + 1);

  if (!read_at (data, offset, buf, len, error))
    return NULL;
  buf[len] = '\0';
  return g_steal_pointer (&buf);
}

static gboolean
check_member_name (const char  *name,
                   GError     **error)
{
  if (!tsr_archive_name_is_safe (name))
    {
      g_autofree char *shown = g_strescape (name, NULL);

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The archive holds a file named “%s”, which points outside the archive: "
                     "it is damaged or was made to attack the computer that opens it, so "
                     "nothing was imported."), shown);
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_member (GPtrArray         *members,
            GHashTable        *seen,
            TsrArchiveMember  *member,
            GError           **error)
{
  g_autoptr(TsrArchiveMember) owned = member;

  if (members->len >= TSR_ARCHIVE_MAX_MEMBERS)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The archive holds more than %d files, far more than an appliance has: "
                     "it is not a VM export."), TSR_ARCHIVE_MAX_MEMBERS);
      return FALSE;
    }
  if (member->regular)
    {
      if (g_hash_table_contains (seen, member->name))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The archive holds “%s” twice, so it is not clear which one is meant: "
                         "export the appliance again."), member->name);
          return FALSE;
        }
      g_hash_table_add (seen, g_strdup (member->name));
    }
  g_ptr_array_add (members, g_steal_pointer (&owned));
  return TRUE;
}

static void
set_truncated (GError     **error,
               const char  *member)
{
  if (member != NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                 _("The archive is truncated: it ends inside “%s”. Copy or download it "
                   "again."), member);
  else
    g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                         _("The archive is truncated. Copy or download it again."));
}

GPtrArray *
tsr_tar_index (TsrReadAtFunc   read_at,
               gpointer        data,
               guint64         size,
               GError        **error)
{
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_archive_member_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *long_name = NULL;
  gboolean have_pax_size = FALSE;
  guint64 pax_size = 0;
  guint64 pos = 0;
  guint headers = 0;

  g_return_val_if_fail (read_at != NULL, NULL);

  if (size < TAR_BLOCK)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The file is too short to be an appliance (.ova): it may be "
                             "truncated; copy or download it again."));
      return NULL;
    }

  for (;;)
    {
      guint8 h[TAR_BLOCK];
      guint64 msize, data_off, padded;
      guint8 type;

      /* Some writers leave out the two zero blocks at the end. */
      if (pos == size)
        break;
      if (size - pos < TAR_BLOCK)
        {
          set_truncated (error, NULL);
          return NULL;
        }
      if (!read_at (data, pos, h, TAR_BLOCK, error))
        return NULL;
      if (block_is_zero (h))
        break;

      if (++headers > 3 * TSR_ARCHIVE_MAX_MEMBERS)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The archive holds more than %d files, far more than an appliance "
                         "has: it is not a VM export."), TSR_ARCHIVE_MAX_MEMBERS);
          return NULL;
        }

      if (!tar_checksum_ok (h) || !tar_number (h + 124, 12, &msize))
        {
          if (pos == 0)
            g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                                 _("The file is not a tar archive, so it is not an appliance "
                                   "(.ova): export it from VirtualBox again."));
          else
            g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                         _("The archive is damaged at byte %" G_GUINT64_FORMAT ": copy or "
                           "download it again."), pos);
          return NULL;
        }

      type = h[156];
      data_off = pos + TAR_BLOCK;

      switch (type)
        {
        case 'L':               /* GNU: the next member's long name */
        case 'x':               /* pax: the next member's records */
          if (msize > (type == 'L' ? TSR_ARCHIVE_MAX_NAME : 1024 * 1024))
            {
              g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The archive is damaged at byte %" G_GUINT64_FORMAT ": a file "
                             "name or header record is absurdly long."), pos);
              return NULL;
            }
          if (msize > size - data_off)
            {
              set_truncated (error, NULL);
              return NULL;
            }
          {
            g_autofree char *text = read_string (read_at, data, data_off, msize, error);

            if (text == NULL)
              return NULL;
            if (type == 'L')
              {
                g_free (long_name);
                long_name = g_strdup (text);   /* up to the first NUL */
              }
            else if (!pax_parse (text, msize, &long_name, &have_pax_size, &pax_size))
              {
                g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                             _("The archive is damaged at byte %" G_GUINT64_FORMAT ": a pax "
                               "header cannot be read."), pos);
                return NULL;
              }
          }
          break;

        case 'g':               /* pax global header, and GNU long link names */
        case 'K':
          if (msize > size - data_off)
            {
              set_truncated (error, NULL);
              return NULL;
            }
          break;

        default:
          {
            TsrArchiveMember *member;
            g_autofree char *raw_name = NULL;

            if (long_name != NULL)
              raw_name = g_steal_pointer (&long_name);
            else
              {
                g_autofree char *name = g_strndup ((const char *) h, 100);

                if (memcmp (h + 257, "ustar", 5) == 0 && h[345] != '\0')
                  {
                    g_autofree char *prefix = g_strndup ((const char *) h + 345, 155);

                    raw_name = g_strconcat (prefix, "/", name, NULL);
                  }
                else
                  raw_name = g_steal_pointer (&name);
              }
            if (have_pax_size)
              msize = pax_size;
            have_pax_size = FALSE;

            member = g_new0 (TsrArchiveMember, 1);
            member->name = normalise_name (raw_name);
            member->offset = data_off;
            member->size = msize;
            member->full_size = msize;
            member->regular = type == '0' || type == '\0' || type == '7';

            /* "./" itself names the archive's top folder. */
            if (type == '5' && member->name[0] == '\0')
              {
                tsr_archive_member_free (member);
                break;
              }
            if (type == '5' && g_str_has_suffix (member->name, "/"))
              member->name[strlen (member->name) - 1] = '\0';

            if (!check_member_name (member->name, error))
              {
                tsr_archive_member_free (member);
                return NULL;
              }
            if (msize > size - data_off)
              {
                set_truncated (error, member->name);
                tsr_archive_member_free (member);
                return NULL;
              }
            /* Only regular files have data; a link's size field is ignored. */
            if (!member->regular && type != '5')
              member->size = member->full_size = 0;
            if (type == '1' || type == '2' || type == '5')
              msize = 0;
            if (!add_member (members, seen, member, error))
              return NULL;
          }
          break;
        }

      padded = (msize + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
      if (padded > size - data_off)
        {
          /* The last member's padding may be cut; its data is whole. */
          pos = size;
          continue;
        }
      pos = data_off + padded;
    }

  return g_steal_pointer (&members);
}

/* Zip */

static guint16
le16 (const guint8 *p)
{
  return p[0] | (p[1] << 8);
}

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
le64 (const guint8 *p)
{
  return (guint64) le32 (p) | ((guint64) le32 (p + 4) << 32);
}

#define ZIP_MAX_DIRECTORY (16 * 1024 * 1024)

static void
set_not_zip (GError **error)
{
  g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The file is not a zip archive, or it is truncated: copy or download "
                         "it again."));
}

GPtrArray *
tsr_zip_index (TsrReadAtFunc   read_at,
               gpointer        data,
               guint64         size,
               GError        **error)
{
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_archive_member_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree guint8 *tail = NULL;
  g_autofree guint8 *dir = NULL;
  gsize tail_len, eocd = 0;
  guint64 entries, dir_size, dir_offset, pos;
  gboolean found = FALSE;

  g_return_val_if_fail (read_at != NULL, NULL);

  if (size < 22)
    {
      set_not_zip (error);
      return NULL;
    }

  tail_len = (gsize) MIN (size, 22 + 65535);
  tail = g_malloc (tail_len);
  if (!read_at (data, size - tail_len, tail, tail_len, error))
    return NULL;
  for (gsize i = tail_len - 22 + 1; i-- > 0;)
    if (le32 (tail + i) == 0x06054b50 && i + 22 + le16 (tail + i + 20) <= tail_len)
      {
        eocd = i;
        found = TRUE;
        break;
      }
  if (!found)
    {
      set_not_zip (error);
      return NULL;
    }

  if (le16 (tail + eocd + 4) != 0 || (le16 (tail + eocd + 6) != 0 && le16 (tail + eocd + 6) != 0xffff))
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                           _("The zip archive is split over several files: join it into one "
                             "(zip -s 0 in.zip --out whole.zip) and import that."));
      return NULL;
    }

  entries = le16 (tail + eocd + 10);
  dir_size = le32 (tail + eocd + 12);
  dir_offset = le32 (tail + eocd + 16);

  if (entries == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff)
    {
      guint64 locator = size - tail_len + eocd;
      guint8 loc[20], rec[56];
      guint64 rec_off;

      if (locator < 20 || !read_at (data, locator - 20, loc, sizeof loc, error))
        {
          if (error == NULL || *error == NULL)
            set_not_zip (error);
          return NULL;
        }
      if (le32 (loc) != 0x07064b50)
        {
          set_not_zip (error);
          return NULL;
        }
      rec_off = le64 (loc + 8);
      if (rec_off > size || size - rec_off < sizeof rec)
        {
          set_not_zip (error);
          return NULL;
        }
      if (!read_at (data, rec_off, rec, sizeof rec, error))
        return NULL;
      if (le32 (rec) != 0x06064b50)
        {
          set_not_zip (error);
          return NULL;
        }
      entries = le64 (rec + 32);
      dir_size = le64 (rec + 40);
      dir_offset = le64 (rec + 48);
    }

  if (entries > TSR_ARCHIVE_MAX_MEMBERS || dir_size > ZIP_MAX_DIRECTORY)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The zip archive holds more than %d files, far more than an appliance "
                     "has: it is not a VM export."), TSR_ARCHIVE_MAX_MEMBERS);
      return NULL;
    }
  if (dir_offset > size || dir_size > size - dir_offset)
    {
      set_not_zip (error);
      return NULL;
    }

  dir = g_malloc (dir_size + 1);
  if (!read_at (data, dir_offset, dir, dir_size, error))
    return NULL;

  pos = 0;
  for (guint64 n = 0; n < entries; n++)
    {
      const guint8 *e = dir + pos;
      guint16 flags, method, name_len, extra_len, comment_len;
      guint64 csize, usize, local;
      guint32 mode;
      guint8 lh[30];
      TsrArchiveMember *member;
      g_autofree char *name = NULL;

      if (dir_size - pos < 46 || le32 (e) != 0x02014b50)
        {
          set_not_zip (error);
          return NULL;
        }
      flags = le16 (e + 8);
      method = le16 (e + 10);
      csize = le32 (e + 20);
      usize = le32 (e + 24);
      name_len = le16 (e + 28);
      extra_len = le16 (e + 30);
      comment_len = le16 (e + 32);
      mode = le32 (e + 38) >> 16;
      local = le32 (e + 42);
      if (dir_size - pos - 46 < (guint64) name_len + extra_len + comment_len)
        {
          set_not_zip (error);
          return NULL;
        }

      name = g_strndup ((const char *) e + 46, name_len);
      if (strlen (name) != name_len)
        {
          set_not_zip (error);
          return NULL;
        }

      /* zip64 sizes and offset, present only for the fields that overflow */
      {
        const guint8 *x = e + 46 + name_len;
        const guint8 *x_end = x + extra_len;

        while (x_end - x >= 4)
          {
            guint16 id = le16 (x), len = le16 (x + 2);
            const guint8 *v = x + 4;

            if (len > x_end - v)
              break;
            if (id == 0x0001)
              {
                const guint8 *v_end = v + len;

                if (usize == 0xffffffff && v_end - v >= 8)
                  usize = le64 (v), v += 8;
                if (csize == 0xffffffff && v_end - v >= 8)
                  csize = le64 (v), v += 8;
                if (local == 0xffffffff && v_end - v >= 8)
                  local = le64 (v), v += 8;
              }
            x = x + 4 + len;
          }
      }
      pos += 46 + (guint64) name_len + extra_len + comment_len;

      if (flags & 0x1)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("“%s” in the zip archive is encrypted: unzip it with its password "
                         "first, then import what it holds."), name);
          return NULL;
        }

      if (local > size || size - local < sizeof lh)
        {
          set_truncated (error, name);
          return NULL;
        }
      if (!read_at (data, local, lh, sizeof lh, error))
        return NULL;
      if (le32 (lh) != 0x04034b50)
        {
          set_not_zip (error);
          return NULL;
        }

      member = g_new0 (TsrArchiveMember, 1);
      member->name = normalise_name (name);
      member->method = method;
      member->size = csize;
      member->full_size = usize;
      member->offset = local + 30 + le16 (lh + 26) + le16 (lh + 28);
      /* Unix symlinks are stored as files holding the target. */
      member->regular = !g_str_has_suffix (member->name, "/") &&
                        !((le16 (e + 4) >> 8) == 3 && (mode & 0170000) == 0120000);
      if (g_str_has_suffix (member->name, "/"))
        member->name[strlen (member->name) - 1] = '\0';
      if (member->name[0] == '\0' && !member->regular)
        {
          tsr_archive_member_free (member);
          continue;
        }

      if (!check_member_name (member->name, error))
        {
          tsr_archive_member_free (member);
          return NULL;
        }
      if (member->offset > size || member->size > size - member->offset)
        {
          set_truncated (error, member->name);
          tsr_archive_member_free (member);
          return NULL;
        }
      if (method == 0 && member->full_size != member->size)
        {
          g_autofree char *shown = g_strdup (member->name);

          tsr_archive_member_free (member);
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The zip archive is damaged: the sizes of “%s” disagree. Copy or "
                         "download it again."), shown);
          return NULL;
        }
      if (!add_member (members, seen, member, error))
        return NULL;
    }

  return g_steal_pointer (&members);
}

/* Disk image headers */

const char *
tsr_image_sniff (const guint8 *head,
                 gsize         head_len,
                 const guint8 *tail,
                 gsize         tail_len)
{
  static const char descriptor[] = "# Disk DescriptorFile";

  if (head_len >= 4 && (memcmp (head, "KDMV", 4) == 0 || memcmp (head, "COWD", 4) == 0))
    return "vmdk";
  if (head_len >= sizeof descriptor - 1 && memcmp (head, descriptor, sizeof descriptor - 1) == 0)
    return "vmdk-descriptor";
  if (head_len >= 8 && memcmp (head, "QFI\xfb", 4) == 0)
    {
      guint32 version = ((guint32) head[4] << 24) | (head[5] << 16) | (head[6] << 8) | head[7];

      return version >= 2 ? "qcow2" : "qcow";
    }
  if (head_len >= 8 && memcmp (head, "vhdxfile", 8) == 0)
    return "vhdx";
  if (head_len >= 8 && memcmp (head, "conectix", 8) == 0)
    return "vpc";
  if (head_len >= 68 && le32 (head + 64) == 0xbeda107f)
    return "vdi";
  /* A fixed VHD is a raw image with a 512-byte footer. */
  if (tail != NULL && tail_len >= 512 && memcmp (tail + tail_len - 512, "conectix", 8) == 0)
    return "vpc";
  if (tail != NULL && tail_len >= 511 && memcmp (tail + tail_len - 511, "conectix", 8) == 0)
    return "vpc";
  return NULL;
}

const char *
tsr_image_format_for_name (const char *name)
{
  static const struct { const char *ext, *format; } map[] = {
    { ".vmdk", "vmdk" }, { ".vdi", "vdi" }, { ".vhd", "vpc" }, { ".vpc", "vpc" },
    { ".vhdx", "vhdx" }, { ".qcow2", "qcow2" }, { ".img", "raw" }, { ".raw", "raw" },
    { ".bin", "raw" },
  };
  g_autofree char *lower = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  lower = g_ascii_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (map); i++)
    if (g_str_has_suffix (lower, map[i].ext))
      return map[i].format;
  return NULL;
}

char *
tsr_import_suggest_name (const char *text)
{
  g_autoptr(GString) name = g_string_new (NULL);
  gboolean dash = FALSE;

  for (const char *p = text ? text : ""; *p; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '_' || *p == '.' || *p == '-')
        {
          if (name->len == 0 && !g_ascii_isalpha (*p))
            continue;
          if (dash && name->len > 0)
            g_string_append_c (name, '-');
          dash = FALSE;
          g_string_append_c (name, *p);
        }
      else
        dash = TRUE;
    }

  if (name->len > TSR_NAME_MAX_LEN)
    g_string_truncate (name, TSR_NAME_MAX_LEN);
  while (name->len > 0 && (name->str[name->len - 1] == '-' || name->str[name->len - 1] == '.'))
    g_string_truncate (name, name->len - 1);
  if (g_str_has_suffix (name->str, "-dm"))
    g_string_truncate (name, name->len - 3);
  if (name->len == 0)
    g_string_assign (name, "imported");
  if (!tsr_validate_vm_name (name->str, NULL))
    {
      /* reserved words: none, default, dom0… */
      if (name->len > TSR_NAME_MAX_LEN - 3)
        g_string_truncate (name, TSR_NAME_MAX_LEN - 3);
      g_string_append (name, "-vm");
    }
  return g_string_free (g_steal_pointer (&name), FALSE);
}

/* OVF */

static void
ovf_disk_free (TsrOvfDisk *disk)
{
  g_free (disk->id);
  g_free (disk->href);
  g_free (disk->format);
  g_free (disk);
}

void
tsr_ovf_free (TsrOvf *ovf)
{
  if (ovf == NULL)
    return;
  g_free (ovf->name);
  g_free (ovf->firmware);
  g_free (ovf->os_type);
  g_free (ovf->os_family);
  g_clear_pointer (&ovf->disks, g_ptr_array_unref);
  g_clear_pointer (&ovf->warnings, g_ptr_array_unref);
  g_free (ovf);
}

/* Element names compare without their namespace prefix: OVF writers use
 * ovf:, rasd:, vssd:, vbox: and none at all, and OVF 1 and 2 differ only
 * in the namespace.
 */
static gboolean
is_el (xmlNodePtr  node,
       const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE &&
         strcmp ((const char *) node->name, name) == 0;
}

static xmlNodePtr
child_el (xmlNodePtr  node,
          const char *name)
{
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    if (is_el (n, name))
      return n;
  return NULL;
}

/* The first element NAME anywhere below NODE. */
static xmlNodePtr
find_el (xmlNodePtr  node,
         const char *name,
         guint       depth)
{
  if (depth > 64)
    return NULL;
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      xmlNodePtr found;

      if (is_el (n, name))
        return n;
      if (n->type == XML_ELEMENT_NODE && (found = find_el (n, name, depth + 1)) != NULL)
        return found;
    }
  return NULL;
}

/* An attribute by local name, whatever its namespace (ovf:href, href). */
static char *
attr (xmlNodePtr  node,
      const char *name)
{
  for (xmlAttrPtr a = node->properties; a; a = a->next)
    if (strcmp ((const char *) a->name, name) == 0)
      {
        xmlChar *value = xmlNodeListGetString (node->doc, a->children, 1);
        char *ret = g_strdup (value ? (const char *) value : "");

        xmlFree (value);
        return ret;
      }
  return NULL;
}

static char *
text_of (xmlNodePtr node)
{
  xmlChar *value;
  char *ret;

  if (node == NULL)
    return NULL;
  value = xmlNodeGetContent (node);
  ret = g_strstrip (g_strdup (value ? (const char *) value : ""));
  xmlFree (value);
  return ret;
}

static char *
child_text (xmlNodePtr  node,
            const char *name)
{
  return text_of (child_el (node, name));
}

static gboolean
parse_u64 (const char *text,
           guint64    *out)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  for (const char *p = text; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || value > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      value = value * 10 + (*p - '0');
    }
  *out = value;
  return TRUE;
}

/* "byte", "byte * 2^20", "MegaBytes", "KB"… as a multiplier in bytes. */
static gboolean
parse_units (const char *text,
             guint64    *mult)
{
  g_autoptr(GString) s = g_string_new (NULL);

  if (text == NULL)
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (s, g_ascii_tolower (*p));

  if (g_str_equal (s->str, "byte") || g_str_equal (s->str, "bytes"))
    *mult = 1;
  else if (g_str_has_prefix (s->str, "byte*2^"))
    {
      guint64 exp;

      if (!parse_u64 (s->str + strlen ("byte*2^"), &exp) || exp > 60)
        return FALSE;
      *mult = G_GUINT64_CONSTANT (1) << exp;
    }
  else if (g_str_has_prefix (s->str, "byte*"))
    {
      if (!parse_u64 (s->str + strlen ("byte*"), mult) || *mult == 0 || *mult > (G_GUINT64_CONSTANT (1) << 60))
        return FALSE;
    }
  else if (g_str_equal (s->str, "kilobytes") || g_str_equal (s->str, "kb") || g_str_equal (s->str, "kib"))
    *mult = 1024;
  else if (g_str_equal (s->str, "megabytes") || g_str_equal (s->str, "mb") || g_str_equal (s->str, "mib"))
    *mult = MIB;
  else if (g_str_equal (s->str, "gigabytes") || g_str_equal (s->str, "gb") || g_str_equal (s->str, "gib"))
    *mult = MIB * 1024;
  else if (g_str_equal (s->str, "terabytes") || g_str_equal (s->str, "tb") || g_str_equal (s->str, "tib"))
    *mult = MIB * 1024 * 1024;
  else
    return FALSE;
  return TRUE;
}

static const char *
format_from_uri (const char *uri)
{
  g_autofree char *lower = NULL;

  if (uri == NULL || *uri == '\0')
    return NULL;
  lower = g_ascii_strdown (uri, -1);
  if (strstr (lower, "vmdk"))
    return "vmdk";
  if (strstr (lower, "vhdx"))
    return "vhdx";
  if (strstr (lower, "vhd") || strstr (lower, "virtualserver"))
    return "vpc";
  if (strstr (lower, "vdi") || strstr (lower, "virtualbox"))
    return "vdi";
  if (strstr (lower, "qcow"))
    return "qcow2";
  if (strstr (lower, "raw"))
    return "raw";
  return NULL;
}

static const char *
os_family_for (const char *os_type)
{
  static const char * const linux_words[] = {
    "linux", "ubuntu", "debian", "fedora", "redhat", "rhel", "centos", "suse", "arch",
    "gentoo", "mandriva", "mandrake", "oracle", "xandros", "turbolinux", "mint", "alma",
    "rocky", NULL
  };
  g_autofree char *lower = NULL;

  if (os_type == NULL)
    return "other";
  lower = g_ascii_strdown (os_type, -1);
  if (strstr (lower, "windows") || g_str_has_prefix (lower, "win"))
    return "windows";
  for (guint i = 0; linux_words[i]; i++)
    if (strstr (lower, linux_words[i]))
      return "linux";
  return "other";
}

typedef struct
{
  char    *href;
  guint64  size;
} OvfFile;

static void
ovf_file_free (OvfFile *file)
{
  g_free (file->href);
  g_free (file);
}

typedef struct
{
  char  *disk_id;
  char  *parent;
  gint64 controller;
  gint64 address;
  guint  index;
} Attachment;

static int
attachment_compare (gconstpointer a,
                    gconstpointer b)
{
  const Attachment *x = *(const Attachment * const *) a;
  const Attachment *y = *(const Attachment * const *) b;

  if (x->controller != y->controller)
    return x->controller < y->controller ? -1 : 1;
  if (x->address != y->address)
    return x->address < y->address ? -1 : 1;
  return x->index < y->index ? -1 : (x->index > y->index);
}

static void
attachment_free (Attachment *a)
{
  g_free (a->disk_id);
  g_free (a->parent);
  g_free (a);
}

static void
set_bad_ovf (GError     **error,
             const char  *format,
             ...) G_GNUC_PRINTF (2, 3);

static void
set_bad_ovf (GError     **error,
             const char  *format,
             ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
               _("The appliance’s OVF descriptor is not usable: %s Export the appliance "
                 "again."), what);
}

static gboolean
parse_references (xmlNodePtr    envelope,
                  GHashTable   *files,
                  GError      **error)
{
  g_autoptr(GHashTable) hrefs = g_hash_table_new (g_str_hash, g_str_equal);
  xmlNodePtr refs = child_el (envelope, "References");

  for (xmlNodePtr n = refs ? refs->children : NULL; n; n = n->next)
    {
      g_autofree char *id = NULL;
      g_autofree char *href = NULL;
      g_autofree char *size = NULL;
      g_autofree char *compression = NULL;
      g_autofree char *chunk = NULL;
      OvfFile *file;

      if (!is_el (n, "File"))
        continue;
      id = attr (n, "id");
      href = attr (n, "href");
      size = attr (n, "size");
      compression = attr (n, "compression");
      chunk = attr (n, "chunkSize");

      if (id == NULL || *id == '\0' || href == NULL)
        {
          set_bad_ovf (error, _("a <File> in <References> lacks its id or href."));
          return FALSE;
        }
      if (!tsr_archive_name_is_safe (href))
        {
          g_autofree char *shown = g_strescape (href, NULL);

          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                       _("The appliance refers to the file “%s”, which is outside the "
                         "appliance: only files inside it are imported."), shown);
          return FALSE;
        }
      if (g_hash_table_contains (files, id) || g_hash_table_contains (hrefs, href))
        {
          set_bad_ovf (error, _("it lists the file “%s” twice."), href);
          return FALSE;
        }
      if (compression != NULL && *compression != '\0' && !g_str_equal (compression, "identity"))
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("The appliance’s disk “%s” is %s-compressed, which Tessera cannot "
                         "read in place: export the appliance again without compression."),
                       href, compression);
          return FALSE;
        }
      if (chunk != NULL && *chunk != '\0')
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                       _("The appliance’s disk “%s” is split into chunks, which Tessera cannot "
                         "read: export the appliance again without chunking."), href);
          return FALSE;
        }

      file = g_new0 (OvfFile, 1);
      file->href = g_strdup (href);
      if (size != NULL && !parse_u64 (size, &file->size))
        file->size = 0;
      g_hash_table_add (hrefs, file->href);
      g_hash_table_insert (files, g_steal_pointer (&id), file);
    }
  return TRUE;
}

static gboolean
parse_disks (xmlNodePtr    envelope,
             GHashTable   *files,
             GHashTable   *disks,
             GPtrArray    *disk_order,
             GPtrArray    *warnings,
             GError      **error)
{
  g_autoptr(GHashTable) used_files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (xmlNodePtr section = envelope->children; section; section = section->next)
    {
      if (!is_el (section, "DiskSection"))
        continue;
      for (xmlNodePtr n = section->children; n; n = n->next)
        {
          g_autofree char *id = NULL;
          g_autofree char *file_ref = NULL;
          g_autofree char *capacity = NULL;
          g_autofree char *units = NULL;
          g_autofree char *format = NULL;
          TsrOvfDisk *disk;
          guint64 mult = 1;

          if (!is_el (n, "Disk"))
            continue;
          id = attr (n, "diskId");
          file_ref = attr (n, "fileRef");
          capacity = attr (n, "capacity");
          units = attr (n, "capacityAllocationUnits");
          format = attr (n, "format");

          if (id == NULL || *id == '\0')
            {
              set_bad_ovf (error, _("a <Disk> lacks its diskId."));
              return FALSE;
            }
          if (g_hash_table_contains (disks, id))
            {
              set_bad_ovf (error, _("it describes the disk “%s” twice."), id);
              return FALSE;
            }
          if (g_hash_table_size (disks) >= TSR_OVF_MAX_DISKS)
            {
              set_bad_ovf (error, _("it has more than %d disks."), TSR_OVF_MAX_DISKS);
              return FALSE;
            }

          disk = g_new0 (TsrOvfDisk, 1);
          disk->id = g_strdup (id);
          disk->format = g_strdup (format_from_uri (format));
          g_hash_table_insert (disks, disk->id, disk);
          g_ptr_array_add (disk_order, disk);

          if (file_ref != NULL && *file_ref != '\0')
            {
              OvfFile *file = g_hash_table_lookup (files, file_ref);

              if (file == NULL)
                {
                  set_bad_ovf (error, _("its disk “%s” names the file “%s”, which it does not "
                                        "list in <References>."), id, file_ref);
                  return FALSE;
                }
              if (g_hash_table_contains (used_files, file_ref))
                {
                  set_bad_ovf (error, _("two disks use the same file “%s”."), file->href);
                  return FALSE;
                }
              g_hash_table_add (used_files, g_strdup (file_ref));
              disk->href = g_strdup (file->href);
              disk->file_size = file->size;
            }

          if (units != NULL && !parse_units (units, &mult))
            {
              set_bad_ovf (error, _("the disk “%s” has a capacity in unknown units “%s”."),
                           id, units);
              return FALSE;
            }
          if (capacity != NULL && parse_u64 (capacity, &disk->capacity))
            {
              if (disk->capacity > TSR_OVF_MAX_CAPACITY / mult)
                {
                  set_bad_ovf (error, _("the disk “%s” claims an absurd size (over 1 PiB)."), id);
                  return FALSE;
                }
              disk->capacity *= mult;
            }
          else if (capacity != NULL)
            g_ptr_array_add (warnings, g_strdup_printf (_("The size of disk “%s” (“%s”) is not "
                                                          "a number; the image’s own size is "
                                                          "used."), id, capacity));
          if (disk->href == NULL && disk->capacity == 0)
            {
              set_bad_ovf (error, _("the disk “%s” has neither a file nor a size."), id);
              return FALSE;
            }
        }
    }
  return TRUE;
}

static xmlNodePtr
find_virtual_system (xmlNodePtr   envelope,
                     GError     **error)
{
  xmlNodePtr system = child_el (envelope, "VirtualSystem");
  xmlNodePtr collection = child_el (envelope, "VirtualSystemCollection");
  guint count = 0;

  if (system == NULL && collection != NULL)
    for (xmlNodePtr n = collection->children; n; n = n->next)
      if (is_el (n, "VirtualSystem"))
        {
          if (system == NULL)
            system = n;
          count++;
        }

  if (count > 1)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_SUPPORTED,
                   _("The appliance holds %u VMs; Tessera imports one VM per appliance: export "
                     "them from VirtualBox one by one."), count);
      return NULL;
    }
  if (system == NULL)
    {
      set_bad_ovf (error, _("it describes no virtual machine (<VirtualSystem>)."));
      return NULL;
    }
  return system;
}

static gboolean
parse_hardware (xmlNodePtr    system,
                TsrOvf       *ovf,
                GHashTable   *disks,
                GHashTable   *files,
                GPtrArray    *attachments,
                GError      **error)
{
  xmlNodePtr hw = child_el (system, "VirtualHardwareSection");
  g_autoptr(GHashTable) controllers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint index = 0, nics = 0;
  gboolean sound = FALSE;

  for (xmlNodePtr item = hw ? hw->children : NULL; item; item = item->next, index++)
    {
      g_autofree char *type_text = NULL;
      g_autofree char *quantity_text = NULL;
      g_autofree char *units = NULL;
      g_autofree char *instance = NULL;
      g_autofree char *host = NULL;
      guint64 type = 0, quantity = 0;

      if (!is_el (item, "Item") && !is_el (item, "StorageItem") && !is_el (item, "EthernetPortItem"))
        continue;
      type_text = child_text (item, "ResourceType");
      if (!parse_u64 (type_text, &type))
        continue;
      quantity_text = child_text (item, "VirtualQuantity");
      units = child_text (item, "AllocationUnits");
      instance = child_text (item, "InstanceID");
      host = child_text (item, "HostResource");

      switch (type)
        {
        case 3:                 /* processor */
          if (!parse_u64 (quantity_text, &quantity) || quantity == 0 || quantity > TSR_OVF_MAX_VCPUS)
            {
              set_bad_ovf (error, _("it asks for an impossible number of vCPUs (“%s”)."),
                           quantity_text ? quantity_text : "");
              return FALSE;
            }
          ovf->vcpus = (guint) quantity;
          break;

        case 4:                 /* memory */
          {
            guint64 mult = MIB;

            if (units != NULL && !parse_units (units, &mult))
              {
                set_bad_ovf (error, _("its memory is in unknown units “%s”."), units);
                return FALSE;
              }
            if (!parse_u64 (quantity_text, &quantity) || quantity == 0 ||
                quantity > TSR_OVF_MAX_MEMORY_MIB * MIB / mult)
              {
                set_bad_ovf (error, _("it asks for an absurd amount of memory (“%s”)."),
                             quantity_text ? quantity_text : "");
                return FALSE;
              }
            ovf->memory = MAX (quantity * mult / MIB, 1);
          }
          break;

        case 5: case 6: case 7: case 8: case 20:   /* IDE, SCSI, FC, iSCSI, SATA… */
          if (instance != NULL)
            g_hash_table_insert (controllers, g_strdup (instance), GUINT_TO_POINTER (index + 1));
          break;

        case 10:
          nics++;
          break;

        case 35:
          sound = TRUE;
          break;

        case 15: case 16:       /* CD/DVD */
          if (host != NULL && *host != '\0')
            g_ptr_array_add (ovf->warnings,
                             g_strdup_printf (_("The CD/DVD image “%s” is not attached; attach "
                                                "install media when you start the VM."), host));
          break;

        case 17:                /* disk drive */
          {
            const char *ref = host;
            g_autofree char *parent = child_text (item, "Parent");
            g_autofree char *address = child_text (item, "AddressOnParent");
            Attachment *a;
            guint64 addr = 0;

            if (host == NULL || *host == '\0')
              break;
            if (g_str_has_prefix (ref, "ovf:"))
              ref += strlen ("ovf:");
            if (g_str_has_prefix (ref, "/disk/"))
              ref += strlen ("/disk/");
            else if (g_str_has_prefix (ref, "/file/") && g_hash_table_contains (files, ref + 6))
              {
                set_bad_ovf (error, _("a disk drive uses the file “%s” without a <Disk> "
                                      "describing it."), ref + 6);
                return FALSE;
              }
            if (!g_hash_table_contains (disks, ref))
              {
                set_bad_ovf (error, _("a disk drive uses the disk “%s”, which it does not "
                                      "describe."), host);
                return FALSE;
              }
            for (guint i = 0; i < attachments->len; i++)
              if (g_str_equal (((Attachment *) g_ptr_array_index (attachments, i))->disk_id, ref))
                {
                  set_bad_ovf (error, _("the disk “%s” is attached twice."), ref);
                  return FALSE;
                }
            a = g_new0 (Attachment, 1);
            a->disk_id = g_strdup (ref);
            a->index = index;
            a->parent = g_steal_pointer (&parent);
            a->address = parse_u64 (address, &addr) && addr < G_MAXINT32 ? (gint64) addr : 0;
            g_ptr_array_add (attachments, a);
          }
          break;

        default:
          break;
        }
    }

  /* Disks sort by their controller's place in the list, then by port. */
  for (guint i = 0; i < attachments->len; i++)
    {
      Attachment *a = g_ptr_array_index (attachments, i);
      gpointer place = a->parent ? g_hash_table_lookup (controllers, a->parent) : NULL;

      a->controller = place ? GPOINTER_TO_UINT (place) : G_MAXINT64;
    }

  if (nics > 1)
    g_ptr_array_add (ovf->warnings,
                     g_strdup_printf (_("The appliance has %u network adapters; the VM gets one, "
                                        "on the network you choose."), nics));
  if (sound)
    g_ptr_array_add (ovf->warnings, g_strdup (_("The sound card is not imported.")));
  return TRUE;
}

/* VirtualBox: <vbox:Machine><Hardware><Firmware type="EFI"/>; VMware and
 * others: <vmw:Config vmw:key="firmware" vmw:value="efi"/>.
 */
static gboolean
wants_efi (xmlNodePtr node,
           guint      depth)
{
  if (depth > 64)
    return FALSE;
  for (xmlNodePtr n = node ? node->children : NULL; n; n = n->next)
    {
      if (n->type != XML_ELEMENT_NODE)
        continue;
      if (is_el (n, "Firmware"))
        {
          g_autofree char *type = attr (n, "type");
          g_autofree char *lower = type ? g_ascii_strdown (type, -1) : NULL;

          if (lower != NULL && g_str_has_prefix (lower, "efi"))
            return TRUE;
        }
      else if (is_el (n, "Config"))
        {
          g_autofree char *key = attr (n, "key");
          g_autofree char *value = attr (n, "value");

          if (g_strcmp0 (key, "firmware") == 0 && value != NULL &&
              g_ascii_strncasecmp (value, "efi", 3) == 0)
            return TRUE;
        }
      if (wants_efi (n, depth + 1))
        return TRUE;
    }
  return FALSE;
}

static void
silent_error_cb (void       *context,
                 const char *format,
                 ...)
{
}

TsrOvf *
tsr_ovf_parse (const char  *data,
               gsize        len,
               GError     **error)
{
  g_autoptr(TsrOvf) ovf = NULL;
  g_autoptr(GHashTable) files = NULL;
  g_autoptr(GHashTable) disks = NULL;
  g_autoptr(GPtrArray) disk_order = NULL;
  g_autoptr(GPtrArray) attachments = NULL;
  xmlParserCtxtPtr ctxt;
  xmlGenericErrorFunc old_handler;
  void *old_context;
  xmlDocPtr doc;
  xmlNodePtr envelope, system, machine;
  gboolean ok = FALSE;

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > TSR_OVF_MAX_SIZE)
    {
      set_bad_ovf (error, _("it is larger than %d MiB, far more than a descriptor needs."),
                   TSR_OVF_MAX_SIZE / (1024 * 1024));
      return NULL;
    }
  if (len == 0 || len > G_MAXINT)
    {
      set_bad_ovf (error, _("it is empty."));
      return NULL;
    }

  /* No network, no external entities or DTDs, no entity substitution:
   * libxml2's defaults plus NONET, and its limits against entity bombs.
   * OVF is UTF-8 (VirtualBox writes nothing else), so no other decoder is
   * ever reached, whatever the file declares.
   */
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    {
      set_bad_ovf (error, _("out of memory."));
      return NULL;
    }
  /* libxml2 reports encoding errors on stderr as well; this thread's
   * handler is silenced for the parse, the error comes back as a GError.
   */
  old_handler = xmlGenericError;
  old_context = xmlGenericErrorContext;
  xmlSetGenericErrorFunc (NULL, silent_error_cb);
  doc = xmlCtxtReadMemory (ctxt, data, (int) len, "descriptor.ovf", "UTF-8",
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlSetGenericErrorFunc (old_context, old_handler);
  if (doc == NULL)
    {
      const xmlError *xerr = xmlCtxtGetLastError (ctxt);
      g_autofree char *msg = g_strstrip (g_strdelimit (g_strdup (xerr && xerr->message ? xerr->message : ""),
                                                       "\n", ' '));

      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The appliance’s OVF descriptor is not valid XML (line %d: %s): the "
                     "appliance is damaged; export it again."), xerr ? xerr->line : 0, msg);
      xmlFreeParserCtxt (ctxt);
      return NULL;
    }
  xmlFreeParserCtxt (ctxt);

  /* An OVF needs no DTD; refusing one rules out entity expansion tricks. */
  if (doc->intSubset != NULL || doc->extSubset != NULL)
    {
      set_bad_ovf (error, _("it declares a DTD, which OVF descriptors never do."));
      goto out;
    }

  envelope = xmlDocGetRootElement (doc);
  if (!is_el (envelope, "Envelope"))
    {
      set_bad_ovf (error, _("its root element is <%s>, not <Envelope>."),
                   envelope ? (const char *) envelope->name : "");
      goto out;
    }

  ovf = g_new0 (TsrOvf, 1);
  ovf->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) ovf_disk_free);
  ovf->warnings = g_ptr_array_new_with_free_func (g_free);
  files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) ovf_file_free);
  disks = g_hash_table_new (g_str_hash, g_str_equal);
  disk_order = g_ptr_array_new_with_free_func ((GDestroyNotify) ovf_disk_free);
  attachments = g_ptr_array_new_with_free_func ((GDestroyNotify) attachment_free);

  if (!parse_references (envelope, files, error))
    goto out;
  if (!parse_disks (envelope, files, disks, disk_order, ovf->warnings, error))
    goto out;
  if (!(system = find_virtual_system (envelope, error)))
    goto out;
  if (!parse_hardware (system, ovf, disks, files, attachments, error))
    goto out;

  machine = find_el (system, "Machine", 0);

  ovf->name = child_text (system, "Name");
  if (ovf->name == NULL || *ovf->name == '\0')
    {
      g_free (ovf->name);
      ovf->name = attr (system, "id");
    }
  if ((ovf->name == NULL || *ovf->name == '\0') && machine != NULL)
    {
      g_free (ovf->name);
      ovf->name = attr (machine, "name");
    }

  /* VirtualBox repeats the hardware in its own section; it is the fallback. */
  if (machine != NULL)
    {
      xmlNodePtr hw = child_el (machine, "Hardware");
      xmlNodePtr cpu = child_el (hw, "CPU");
      xmlNodePtr mem = child_el (hw, "Memory");
      g_autofree char *count = cpu ? attr (cpu, "count") : NULL;
      g_autofree char *ram = mem ? attr (mem, "RAMSize") : NULL;
      guint64 value;

      if (ovf->vcpus == 0 && parse_u64 (count, &value) && value > 0 && value <= TSR_OVF_MAX_VCPUS)
        ovf->vcpus = (guint) value;
      if (ovf->memory == 0 && parse_u64 (ram, &value) && value > 0 && value <= TSR_OVF_MAX_MEMORY_MIB)
        ovf->memory = value;
    }

  ovf->firmware = g_strdup (wants_efi (system, 0) ? "uefi" : "bios");

  {
    xmlNodePtr os = child_el (system, "OperatingSystemSection");
    g_autofree char *os_type = child_text (os, "OSType");

    if (os_type == NULL || *os_type == '\0')
      {
        g_free (os_type);
        os_type = child_text (os, "Description");
      }
    if (os_type != NULL && *os_type != '\0')
      ovf->os_type = g_steal_pointer (&os_type);
    ovf->os_family = g_strdup (os_family_for (ovf->os_type));
  }

  /* Attached disks in controller and port order, then any others. */
  g_ptr_array_sort (attachments, attachment_compare);
  for (guint i = 0; i < attachments->len; i++)
    {
      Attachment *a = g_ptr_array_index (attachments, i);
      TsrOvfDisk *disk = g_hash_table_lookup (disks, a->disk_id);
      guint at;

      if (g_ptr_array_find (disk_order, disk, &at))
        g_ptr_array_add (ovf->disks, g_ptr_array_steal_index (disk_order, at));
    }
  while (disk_order->len > 0)
    g_ptr_array_add (ovf->disks, g_ptr_array_steal_index (disk_order, 0));

  if (ovf->disks->len == 0)
    {
      set_bad_ovf (error, _("it lists no disks."));
      goto out;
    }

  ok = TRUE;

out:
  xmlFreeDoc (doc);
  return ok ? g_steal_pointer (&ovf) : NULL;
}
