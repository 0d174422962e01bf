/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-import.h"
#include "tsr-storage-private.h"

G_BEGIN_DECLS

/* An import under way: the task data of tsr_connection_import_async. */
typedef struct
{
  TsrConnection  *self;
  virConnectPtr   conn;
  TsrImportInfo  *info;
  TsrCreateSpec  *spec;
  TsrImportFlags  flags;
  TsrProgress     progress;
  GCancellable   *cancellable;
  GPtrArray      *volume_names;   /* char *, one per disk, the root first */
  GPtrArray      *volumes;        /* virStorageVolPtr made so far */
  char           *notice;
  char           *vm_name;
  GError         *error;          /* kept while rolling back */
} TsrImportJob;

void           tsr_import_job_free     (TsrImportJob  *job);
/* Checks the pool, converts the disks and defines the VM; TASK (its data
 * a TsrImportJob) returns the VM's name.
 */
void           tsr_import_job_start    (GTask         *task);

TsrImportInfo *tsr_import_info_new     (const char    *path);
TsrImportInfo *tsr_import_inspect_sync (const char    *path,
                                        TsrProgress   *progress,
                                        GCancellable  *cancellable,
                                        GError       **error);

G_END_DECLS
