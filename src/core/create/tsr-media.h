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
gboolean  tsr_media_check_local (const TsrMedia  *media,
                                 GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrMedia, tsr_media_free)

G_END_DECLS
