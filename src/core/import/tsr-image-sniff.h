/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The qemu driver named by a disk image's own header: "vmdk" (hosted
 * sparse or streamOptimized), "vmdk-descriptor" (a text descriptor naming
 * other files), "vdi", "vpc", "vhdx", "qcow2", or NULL when there is no
 * known header (a raw image, or not an image). HEAD is the start of the
 * file (1 KiB is enough), TAIL its last 512 bytes (a fixed VHD's footer).
 */
const char *tsr_image_sniff           (const guint8 *head,
                                       gsize         head_len,
                                       const guint8 *tail,
                                       gsize         tail_len);
/* The qemu driver a file name's extension promises, "raw" for .img, .raw
 * and .bin, or NULL.
 */
const char *tsr_image_format_for_name (const char   *name);

G_END_DECLS
