/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "tsr-archive-private.h"
#include "tsr-error.h"

/* The index of a tar (an .ova is one): header by header, each checked
 * against what was actually read before any of its fields is used.
 */

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

typedef struct
{
  TsrReadAtFunc  read_at;
  gpointer       data;
  guint64        size;
  GPtrArray     *members;
  GHashTable    *seen;
  guint          headers;
  /* From a GNU long-name or pax header, for the member that follows. */
  char          *long_name;
  gboolean       have_pax_size;
  guint64        pax_size;
} TarReader;

/* The header block at POS and its member's size; *END at the end of the
 * archive (its zero blocks, or none where some writers leave them out).
 */
static gboolean
read_header (TarReader  *tar,
             guint64     pos,
             guint8     *h,
             guint64    *msize,
             gboolean   *end,
             GError    **error)
{
  *end = pos == tar->size;
  if (*end)
    return TRUE;
  if (tar->size - pos < TAR_BLOCK)
    {
      tsr_archive_set_truncated (error, NULL);
      return FALSE;
    }
  if (!tar->read_at (tar->data, pos, h, TAR_BLOCK, error))
    return FALSE;
  *end = block_is_zero (h);
  if (*end)
    return TRUE;

  if (++tar->headers > 3 * TSR_ARCHIVE_MAX_MEMBERS)
    {
      tsr_archive_set_too_many (error);
      return FALSE;
    }
  if (!tar_checksum_ok (h) || !tar_number (h + 124, 12, msize))
    {
      if (pos == 0)
        g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                             _("The file is not a tar archive, so it is not an appliance "
                               "(.ova): export it from VirtualBox again."));
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                     _("The archive is damaged at byte %" G_GUINT64_FORMAT ": copy or "
                       "download it again."), pos);
      return FALSE;
    }
  return TRUE;
}

/* A GNU long name ('L') or pax records ('x') for the next member. */
static gboolean
read_extension (TarReader  *tar,
                guint8      type,
                guint64     pos,
                guint64     msize,
                GError    **error)
{
  guint64 data_off = pos + TAR_BLOCK;
  g_autofree char *text = NULL;

  if (msize > (type == 'L' ? TSR_ARCHIVE_MAX_NAME : 1024 * 1024))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The archive is damaged at byte %" G_GUINT64_FORMAT ": a file "
                     "name or header record is absurdly long."), pos);
      return FALSE;
    }
  if (msize > tar->size - data_off)
    {
      tsr_archive_set_truncated (error, NULL);
      return FALSE;
    }
  text = read_string (tar->read_at, tar->data, data_off, msize, error);
  if (text == NULL)
    return FALSE;

  if (type == 'L')
    {
      g_free (tar->long_name);
      tar->long_name = g_strdup (text);   /* up to the first NUL */
    }
  else if (!pax_parse (text, msize, &tar->long_name, &tar->have_pax_size, &tar->pax_size))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                   _("The archive is damaged at byte %" G_GUINT64_FORMAT ": a pax "
                     "header cannot be read."), pos);
      return FALSE;
    }
  return TRUE;
}

/* The long name read before, else ustar's prefix and name fields. */
static char *
member_name (TarReader    *tar,
             const guint8 *h)
{
  g_autofree char *name = NULL;

  if (tar->long_name != NULL)
    return g_steal_pointer (&tar->long_name);

  name = g_strndup ((const char *) h, 100);
  if (memcmp (h + 257, "ustar", 5) == 0 && h[345] != '\0')
    {
      g_autofree char *prefix = g_strndup ((const char *) h + 345, 155);

      return g_strconcat (prefix, "/", name, NULL);
    }
  return g_steal_pointer (&name);
}

/* A file, folder or link. *MSIZE becomes the size of the data that
 * follows the header (none for links and folders).
 */
static gboolean
add_entry (TarReader     *tar,
           const guint8  *h,
           guint64        pos,
           guint64       *msize,
           GError       **error)
{
  guint8 type = h[156];
  guint64 data_off = pos + TAR_BLOCK;
  g_autofree char *raw_name = member_name (tar, h);
  g_autoptr(TsrArchiveMember) member = NULL;

  if (tar->have_pax_size)
    *msize = tar->pax_size;
  tar->have_pax_size = FALSE;

  member = g_new0 (TsrArchiveMember, 1);
  member->name = tsr_archive_normalise_name (raw_name);
  member->offset = data_off;
  member->size = *msize;
  member->full_size = *msize;
  member->regular = type == '0' || type == '\0' || type == '7';

  /* "./" itself names the archive's top folder. */
  if (type == '5' && member->name[0] == '\0')
    return TRUE;
  if (type == '5' && g_str_has_suffix (member->name, "/"))
    member->name[strlen (member->name) - 1] = '\0';

  if (!tsr_archive_check_name (member->name, error))
    return FALSE;
  if (*msize > tar->size - data_off)
    {
      tsr_archive_set_truncated (error, member->name);
      return FALSE;
    }
  /* Only regular files have data; a link's size field is ignored. */
  if (!member->regular && type != '5')
    member->size = member->full_size = 0;
  if (type == '1' || type == '2' || type == '5')
    *msize = 0;
  return tsr_archive_add_member (tar->members, tar->seen, g_steal_pointer (&member), error);
}

static void
tar_reader_clear (TarReader *tar)
{
  g_clear_pointer (&tar->members, g_ptr_array_unref);
  g_clear_pointer (&tar->seen, g_hash_table_unref);
  g_clear_pointer (&tar->long_name, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TarReader, tar_reader_clear)

GPtrArray *
tsr_tar_index (TsrReadAtFunc   read_at,
               gpointer        data,
               guint64         size,
               GError        **error)
{
  g_auto(TarReader) tar = { read_at, data, size };
  guint64 pos = 0;

  g_return_val_if_fail (read_at != NULL, NULL);

  if (size < TAR_BLOCK)
    {
      g_set_error_literal (error, TSR_ERROR, TSR_ERROR_INVALID_VALUE,
                           _("The file is too short to be an appliance (.ova): it may be "
                             "truncated; copy or download it again."));
      return NULL;
    }

  tar.members = g_ptr_array_new_with_free_func ((GDestroyNotify) tsr_archive_member_free);
  tar.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (;;)
    {
      guint8 h[TAR_BLOCK];
      guint64 msize = 0, data_off, padded;
      gboolean end;
      gboolean ok;

      if (!read_header (&tar, pos, h, &msize, &end, error))
        return NULL;
      if (end)
        break;

      switch (h[156])
        {
        case 'L':               /* GNU: the next member's long name */
        case 'x':               /* pax: the next member's records */
          ok = read_extension (&tar, h[156], pos, msize, error);
          break;

        case 'g':               /* pax global header, and GNU long link names */
        case 'K':
          ok = msize <= size - (pos + TAR_BLOCK);
          if (!ok)
            tsr_archive_set_truncated (error, NULL);
          break;

        default:
          ok = add_entry (&tar, h, pos, &msize, error);
          break;
        }
      if (!ok)
        return NULL;

      data_off = pos + TAR_BLOCK;
      padded = (msize + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
      if (padded > size - data_off)
        {
          /* The last member's padding may be cut; its data is whole. */
          pos = size;
          continue;
        }
      pos = data_off + padded;
    }

  return g_steal_pointer (&tar.members);
}
