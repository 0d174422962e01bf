/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "tsr-connection.h"
#include "tsr-progress.h"
#include "tsr-storage.h"
#include "tsr-validate.h"

G_BEGIN_DECLS

typedef enum
{
  TSR_SPEC_SET_MEMORY   = 1 << 0,
  TSR_SPEC_SET_VCPUS    = 1 << 1,
  TSR_SPEC_SET_DISK     = 1 << 2,
  TSR_SPEC_SET_FIRMWARE = 1 << 3,
  TSR_SPEC_SET_ALL      = 0xf,
} TsrSpecField;

/* Everything a new VM is made from. Defaults are Qubes': 400 MiB, 2 vCPUs,
 * no balloon, a 20 GiB sparse root disk, virt mode hvm with no kernel.
 */
typedef struct
{
  char     *name;
  char     *label;
  char     *klass;          /* StandaloneVM or TemplateVM */
  char     *template_name;  /* StandaloneVM: copy this TemplateVM's root; AppVM,
                             * DispVM: run from it */
  char     *virt_mode;      /* hvm, pvh, pv */
  char     *kernel;         /* '' = boot what is on the disk or cdrom */
  char     *kernelopts;
  guint64   memory;         /* MiB */
  guint64   maxmem;         /* MiB, 0 = no balloon */
  guint     vcpus;
  char     *netvm;          /* libvirt network, or "none" */
  char     *mac;            /* NULL = a new unique one */
  gboolean  mac_force;      /* accept a MAC another VM uses */
  guint64   disk_size;      /* bytes */
  guint64   private_size;   /* bytes, an AppVM's private disk */
  char     *pool;
  char     *root_copy_from;
  char     *root_move_from;
  char     *firmware;       /* bios or uefi */
  char     *os_family;      /* linux, windows or other: picks the device models */
  char     *os_id;          /* libosinfo short id: its defaults fill what is not in SET */
  char     *drivers_media;  /* a virtio-win ISO: a second cdrom, and virtio for Windows */
  guint     set;            /* TsrSpecField: what the caller chose, not a default */
  /* For import: volumes of POOL the caller already made and filled; they
   * are left in place when creating fails.
   */
  char     *root_volume;    /* the root disk, instead of making one */
  GStrv     extra_volumes;  /* more disks, attached after the root in order */
  gboolean  check_only;     /* validate everything, make nothing */
} TsrCreateSpec;

TsrCreateSpec *tsr_create_spec_new          (const char           *name);
TsrCreateSpec *tsr_create_spec_copy         (const TsrCreateSpec  *spec);
void           tsr_create_spec_free         (TsrCreateSpec        *spec);
gboolean       tsr_create_spec_set_property (TsrCreateSpec        *spec,
                                             const char           *key,
                                             const char           *value,
                                             GError              **error);

void           tsr_connection_create_vm_async  (TsrConnection        *self,
                                                const TsrCreateSpec  *spec,
                                                TsrProgressFunc       progress,
                                                gpointer              progress_data,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
char          *tsr_connection_create_vm_finish (TsrConnection        *self,
                                                GAsyncResult         *result,
                                                char                **notice,
                                                GError              **error);

void           tsr_connection_start_vm_with_media_async  (TsrConnection       *self,
                                                          TsrVm               *vm,
                                                          const char          *media,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
/* The same, with PROGRESS_FUNC told how far a long preparation of the media
 * is (media inside another VM are copied first: tsr-media-vm.h), in the
 * thread-default context of the caller; CANCELLABLE stops that copy.
 * Finish with tsr_connection_start_vm_with_media_finish().
 */
void           tsr_connection_start_vm_with_media_full_async (TsrConnection       *self,
                                                              TsrVm               *vm,
                                                              const char          *media,
                                                              TsrProgressFunc      progress_func,
                                                              gpointer             progress_data,
                                                              GCancellable        *cancellable,
                                                              GAsyncReadyCallback  callback,
                                                              gpointer             user_data);
gboolean       tsr_connection_start_vm_with_media_finish (TsrConnection       *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrCreateSpec, tsr_create_spec_free)

G_END_DECLS
