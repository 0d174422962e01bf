/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <libvirt/libvirt.h>

#include "tsr-progress.h"
#include "tsr-qemu-img.h"
#include "tsr-storage.h"

G_BEGIN_DECLS

/* qemu-img info: only raw and qcow2 are accepted. */
gboolean           tsr_image_info          (const char        *path,
                                            char             **format,
                                            guint64           *virtual_size,
                                            GError           **error);
/* tsr_qemu_img_convert() with progress in bytes of TOTAL, and its failure
 * said for the root image.
 */
gboolean           tsr_image_convert       (const TsrQemuImgConvert  *convert,
                                            guint64                   total,
                                            TsrProgress              *progress,
                                            GCancellable             *cancellable,
                                            GError                  **error);

/* The pool NAME, started; the default pool is made when missing. */
virStoragePoolPtr  tsr_storage_ensure_pool (virConnectPtr      conn,
                                            const char        *name,
                                            GError           **error);
char              *tsr_storage_pool_dir    (virStoragePoolPtr  pool);
char              *tsr_storage_volume_xml  (const char        *name,
                                            guint64            capacity,
                                            const char        *format);

G_END_DECLS
