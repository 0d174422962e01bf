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
guint64            tsr_storage_pool_capacity (virStoragePoolPtr pool);
char              *tsr_storage_volume_xml  (const char        *name,
                                            guint64            capacity,
                                            const char        *format);

/* Whether this process may write POOL's files itself (a local connection
 * and a pool folder it may write), with the reason in words either way;
 * TESSERA_STORAGE_ROUTE=stream forces the libvirt route (benchmarks).
 */
gboolean           tsr_storage_route_is_local (virConnectPtr       conn,
                                               virStoragePoolPtr   pool,
                                               char              **reason);

/* A local image file sent into a new volume NAME of POOL through libvirt
 * (virStorageVolUpload, holes skipped), checked afterwards against FORMAT
 * and VIRTUAL_SIZE; nothing is left on failure or cancel.
 */
typedef struct
{
  virConnectPtr      conn;
  virStoragePoolPtr  pool;
  const char        *name;
  const char        *path;
  const char        *format;
  guint64            virtual_size;
  TsrProgress       *progress;
  const char        *stage;
  guint64            done_before;   /* progress: bytes done before this file */
  guint64            total;         /* progress: 0 for the file's size */
  GCancellable      *cancellable;
} TsrUpload;

virStorageVolPtr   tsr_storage_upload_image   (const TsrUpload    *request,
                                               GError            **error);

G_END_DECLS
