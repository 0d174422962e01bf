/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tsr-archive.h"
#include "tsr-import.h"
#include "tsr-journal.h"
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
  int             name_lock;      /* the VM name's lock on this machine, or -1 */
  TsrJournal     *journal;        /* what a crash would leave, for recovery */
} TsrImportJob;

void           tsr_import_job_free            (TsrImportJob  *job);
void           tsr_import_job_add_notice      (TsrImportJob  *job,
                                               const char    *notice);
gboolean       tsr_import_job_set_cancelled   (GCancellable  *cancellable,
                                               GError       **error);
/* The volumes belong to the VM once it is defined: only forget them. */
void           tsr_import_job_forget_volumes  (TsrImportJob  *job);

/* The steps that block, each a TsrTaskStepFunc on a TsrImportJob. */
gboolean       tsr_import_job_prepare         (gpointer       job,
                                               GError       **error);
gboolean       tsr_import_job_convert         (gpointer       job,
                                               GError       **error);
gboolean       tsr_import_job_delete_volumes  (gpointer       job,
                                               GError       **error);
gboolean       tsr_import_job_remove_input    (gpointer       job,
                                               GError       **error);

TsrImportInfo *tsr_import_info_new     (const char    *path);
TsrImportInfo *tsr_import_inspect_sync (const char    *path,
                                        TsrProgress   *progress,
                                        GCancellable  *cancellable,
                                        GError       **error);


#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define QCOW2_BLANK_OVERHEAD (2 * MIB)

/* Reading the input */

typedef struct
{
  int         fd;
  guint64     base;
  guint64     size;
  const char *display;
} TsrImportView;

gboolean       tsr_import_view_read_at   (gpointer       view,
                                          guint64        offset,
                                          void          *buf,
                                          gsize          len,
                                          GError       **error);

/* Where qemu reads a disk from: a whole file, or SIZE bytes at OFFSET in
 * one (a member of an archive).
 */
typedef struct
{
  const char *path;
  guint64     offset;
  guint64     size;
  gboolean    whole;
} TsrImportRegion;

/* A disk to probe: where it is, and what the appliance says of it. */
typedef struct
{
  int              fd;
  TsrImportRegion  region;
  const char      *display;
  const char      *expected;      /* the format it claims (OVF or name), or NULL */
  gboolean         in_archive;
  guint64          ovf_capacity;  /* 0: not given */
} TsrImportProbe;

/* Decides the disk's format from its header, checks it with qemu-img info
 * and measures the volume it needs.
 */
TsrImportDisk *tsr_import_probe_disk     (const TsrImportProbe  *probe,
                                          GPtrArray             *warnings,
                                          GCancellable          *cancellable,
                                          GError               **error);

/* A member of ARCHIVE unpacked into the import's temporary folder; returns
 * its path.
 */
char          *tsr_import_extract_member (TsrImportInfo           *info,
                                          const char              *archive,
                                          const TsrArchiveMember  *member,
                                          const char              *display,
                                          TsrProgress             *progress,
                                          GCancellable            *cancellable,
                                          GError                 **error);

G_END_DECLS
