/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-progress.h"

G_BEGIN_DECLS

/* What `qemu-img info` says of the image itself: its top-level members,
 * never those of the nodes below it ("children" since QEMU 8.0).
 */
typedef struct
{
  char     *format;
  char     *filename;
  guint64   virtual_size;
  guint64   actual_size;
  char     *backing_filename;
  /* qcow2: an external data file, from "format-specific" */
  char     *data_file;
  /* VMDK: the parent's CID (G_MAXUINT32 when there is none), the extents' files */
  gboolean  has_parent_cid;
  guint64   parent_cid;
  GStrv     extents;
} TsrImageInfo;

/* One run of `qemu-img map`: LENGTH bytes at START of the guest's view. */
typedef struct
{
  guint64   start;
  guint64   length;
  guint     depth;
  gboolean  present;
  gboolean  zero;
  gboolean  data;
  gboolean  has_offset;
  guint64   offset;
} TsrImageExtent;

/* Where a conversion's progress goes: DONE_BEFORE plus qemu-img's share of
 * SPAN, of TOTAL, as STAGE.
 */
typedef struct
{
  TsrProgress  *progress;
  const char   *stage;
  guint64       done_before;
  guint64       span;
  guint64       total;
} TsrQemuImgProgress;

typedef enum
{
  TSR_QEMU_IMG_CONVERT_NONE           = 0,
  TSR_QEMU_IMG_CONVERT_TARGET_IS_ZERO = 1 << 0,
} TsrQemuImgConvertFlags;

/* `qemu-img convert -n`: SRC into DST, which exists; both formats are
 * always given.
 */
typedef struct
{
  const char              *src;
  const char              *src_format;
  const char              *dst;
  const char              *dst_format;
  TsrQemuImgConvertFlags   flags;
} TsrQemuImgConvert;

void          tsr_image_info_free           (TsrImageInfo            *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrImageInfo, tsr_image_info_free)

gboolean      tsr_qemu_img_parse_info       (const char              *json,
                                             TsrImageInfo           **out,
                                             GError                 **error);
gboolean      tsr_qemu_img_parse_map        (const char              *json,
                                             GArray                 **out,
                                             GError                 **error);
gboolean      tsr_qemu_img_parse_measure    (const char              *json,
                                             guint64                 *required,
                                             GError                 **error);
double        tsr_qemu_img_take_progress    (GString                 *buffer,
                                             GString                 *messages);

TsrImageInfo *tsr_qemu_img_info             (const char              *filename,
                                             const char              *format,
                                             GCancellable            *cancellable,
                                             GError                 **error);
GArray       *tsr_qemu_img_map              (const char              *filename,
                                             const char              *format,
                                             GCancellable            *cancellable,
                                             GError                 **error);
gboolean      tsr_qemu_img_measure          (const char              *filename,
                                             const char              *format,
                                             const char              *out_format,
                                             guint64                 *required,
                                             GCancellable            *cancellable,
                                             GError                 **error);
gboolean      tsr_qemu_img_create           (const char              *filename,
                                             const char              *format,
                                             guint64                  size,
                                             GCancellable            *cancellable,
                                             GError                 **error);
gboolean      tsr_qemu_img_convert          (const TsrQemuImgConvert  *convert,
                                             const TsrQemuImgProgress *progress,
                                             GCancellable            *cancellable,
                                             GError                 **error);

char         *tsr_qemu_img_region_filename  (const char              *format,
                                             const char              *path,
                                             gboolean                 whole,
                                             guint64                  offset,
                                             guint64                  size);

G_END_DECLS
