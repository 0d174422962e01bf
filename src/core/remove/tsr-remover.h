/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"

G_BEGIN_DECLS

/* Removing a VM (qvm-remove, the list's "Delete…"): what would go, what
 * stays and why, then removing it — domain, its own volumes, linked bases
 * nobody else uses, NVRAM, TPM state, snapshot metadata, managed save, the
 * address reservation and the serial log Tessera made — under an intent
 * record, so that a crash half way is finished by the next Tessera.
 */

/* Above this much data, the GUI asks for the VM's name to be typed. */
#define TSR_REMOVAL_TYPE_NAME_BYTES (G_GUINT64_CONSTANT (1) << 30)

typedef struct
{
  char    *pool;        /* NULL for a file in no storage pool */
  char    *name;        /* the volume's name, or the file's */
  char    *path;
  guint64  allocation;  /* bytes on disk */
  char    *what;        /* "disk vda", "linked-clone base", "install media"… */
  char    *why_kept;    /* for the kept ones */
} TsrRemovalItem;

typedef struct
{
  char *network;
  char *mac;
  char *ip;
} TsrRemovalAddress;

typedef struct
{
  char      *vm_name;
  char      *uuid;
  gboolean   running;
  GStrv      dependents;   /* why it may not be removed: one sentence each */
  GPtrArray *volumes;      /* TsrRemovalItem: removed with the VM */
  GPtrArray *kept;         /* TsrRemovalItem: left where they are */
  GPtrArray *addresses;    /* TsrRemovalAddress: reservations released */
  GPtrArray *files;        /* TsrRemovalItem: the serial log */
  char      *nvram;
  gboolean   tpm;
  guint      n_snapshots;
  gboolean   managed_save;
  guint64    total_bytes;  /* of volumes */
} TsrRemovalPlan;

void            tsr_removal_plan_free           (TsrRemovalPlan       *plan);
/* Lines for a terminal: what will be removed, then what is kept. */
char           *tsr_removal_plan_describe       (const TsrRemovalPlan *plan);
gboolean        tsr_removal_plan_needs_typed_name (const TsrRemovalPlan *plan);

void            tsr_connection_plan_removal_async  (TsrConnection        *self,
                                                    TsrVm                *vm,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
TsrRemovalPlan *tsr_connection_plan_removal_finish (TsrConnection        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
/* Refused (TSR_ERROR_VM_RUNNING) while the VM runs, and (TSR_ERROR_IN_USE)
 * while other VMs depend on it. Gives back the plan that was carried out.
 */
void            tsr_connection_remove_vm_async     (TsrConnection        *self,
                                                    TsrVm                *vm,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
TsrRemovalPlan *tsr_connection_remove_vm_finish    (TsrConnection        *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);

/* Removes every DisposableVM the list shows halted (they go when they
 * stop): the names of those removed.
 */
void            tsr_connection_remove_disposables_async  (TsrConnection        *self,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
GStrv           tsr_connection_remove_disposables_finish (TsrConnection        *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrRemovalPlan, tsr_removal_plan_free)

G_END_DECLS
