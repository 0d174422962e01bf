/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  TSR_MEDIA_BLOCK,   /* /dev/... : a host optical drive or block device */
  TSR_MEDIA_FILE,    /* dom0:/path or /path : an ISO on the host */
  TSR_MEDIA_VOLUME,  /* POOL:VOLUME : a volume in a storage pool */
  TSR_MEDIA_VM_FILE, /* VM:/path : a file inside another VM */
} TsrMediaKind;

typedef struct
{
  TsrMediaKind  kind;
  char         *spec;
  char         *path;    /* BLOCK, FILE, VM_FILE; for VOLUME once resolved */
  char         *owner;   /* the pool or VM name */
  char         *volume;
} TsrMedia;

TsrMedia *tsr_media_parse (const char  *spec,
                           GError     **error);
void      tsr_media_free  (TsrMedia    *media);
gboolean  tsr_media_check_local (TsrMedia        *media,
                                 GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrMedia, tsr_media_free)

/* The folder holding the host's own files (/etc, /root, …) that REAL_PATH
 * (symlinks resolved) is in, or NULL: never install media, a root image
 * or a disk to import.
 */
const char *tsr_path_secret_dir (const char *real_path);

/* What the first bytes of an install media file look like: NULL when it
 * is install media (ISO 9660 / UDF, or a raw disk image with an MBR or GPT
 * partition table or boot sector), else what it is instead ("a text
 * file", "a qcow2 disk image", …). LEN bytes from the start of the file.
 */
const char *tsr_media_sniff (const guint8 *head,
                             gsize         len);

G_END_DECLS
