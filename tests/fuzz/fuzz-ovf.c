/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer harness for what an untrusted appliance reaches first: the tar
 * and zip indexes, the OVF parser (on the input itself and on any .ovf the
 * tar holds), the image header sniffer and the name suggestion. Built with
 * clang -fsanitize=fuzzer,address,undefined by tests/fuzz/meson.build, and
 * with gcc into fuzz-replay, which runs the seed corpus without libFuzzer.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "tsr-appliance-name.h"
#include "tsr-archive.h"
#include "tsr-image-sniff.h"
#include "tsr-ovf.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

typedef struct
{
  const uint8_t *data;
  size_t         size;
} Buffer;

static gboolean
buffer_read_at (gpointer   user_data,
                guint64    offset,
                void      *buf,
                gsize      len,
                GError   **error)
{
  Buffer *b = user_data;

  if (offset > b->size || len > b->size - offset)
    {
      g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "short read");
      return FALSE;
    }
  memcpy (buf, b->data + offset, len);
  return TRUE;
}

static void
parse_ovf (const char *xml,
           gsize       len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TsrOvf) ovf = tsr_ovf_parse (xml, len, &error);

  g_assert ((ovf == NULL) != (error == NULL));
  if (ovf != NULL)
    {
      g_autofree char *name = tsr_import_suggest_name (ovf->name);

      g_assert (ovf->disks->len > 0);
      g_assert (g_str_equal (ovf->firmware, "bios") || g_str_equal (ovf->firmware, "uefi"));
      for (guint i = 0; i < ovf->disks->len; i++)
        {
          TsrOvfDisk *disk = g_ptr_array_index (ovf->disks, i);

          g_assert (disk->href == NULL || tsr_archive_name_is_safe (disk->href));
          g_assert (disk->capacity <= TSR_OVF_MAX_CAPACITY);
        }
      g_assert (name != NULL && *name != '\0');
    }
}

static void
check_members (GPtrArray *members,
               Buffer    *b)
{
  for (guint i = 0; members != NULL && i < members->len; i++)
    {
      TsrArchiveMember *m = g_ptr_array_index (members, i);

      /* Whatever is accepted lies inside the input and has a safe name. */
      g_assert (m->offset <= b->size && m->size <= b->size - m->offset);
      g_assert (tsr_archive_name_is_safe (m->name));
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  Buffer b = { data, size };
  g_autoptr(GPtrArray) tar = NULL;
  g_autoptr(GPtrArray) zip = NULL;

  tar = tsr_tar_index (buffer_read_at, &b, size, NULL);
  check_members (tar, &b);
  for (guint i = 0; tar != NULL && i < tar->len; i++)
    {
      TsrArchiveMember *m = g_ptr_array_index (tar, i);

      if (m->regular && g_str_has_suffix (m->name, ".ovf") && m->size <= 1024 * 1024)
        parse_ovf ((const char *) data + m->offset, m->size);
    }

  zip = tsr_zip_index (buffer_read_at, &b, size, NULL);
  check_members (zip, &b);

  parse_ovf ((const char *) data, size);

  tsr_image_sniff (data, MIN (size, 1024), size >= 512 ? data + size - 512 : NULL,
                   size >= 512 ? 512 : 0);

  {
    g_autofree char *text = g_strndup ((const char *) data, MIN (size, 256));
    g_autofree char *name = tsr_import_suggest_name (text);

    g_assert (name != NULL && strlen (name) <= 31);
  }
  return 0;
}
