/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "tsr-archive-private.h"
#include "tsr-image-sniff.h"

/* A disk image's format from its own header, not its name: a .vmdk may be
 * a sparse image or a text descriptor, a .vhd may be fixed (a footer only)
 * or dynamic, and a wrong guess makes qemu read garbage.
 */

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
  if (head_len >= 68 && tsr_read_le32 (head + 64) == 0xbeda107f)
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
